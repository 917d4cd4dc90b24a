"""Sphinx extension for building the Descent book.

* Tells the notebook kernels that the build starts to precompute slider frames
  (``DESCENT_SLIDERS=static``), so sliders still move their figures on the static site.
* Stops the build early, with the fix, when the self-hosted JavaScript is missing.
"""

import os
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

VENDOR = Path(__file__).resolve().parent.parent / "_vendor" / "descent"


def setup(app: Sphinx) -> dict:
    os.environ.setdefault("DESCENT_SLIDERS", "static")
    if not (VENDOR / ".complete").is_file():
        raise ExtensionError(
            f"{VENDOR} is missing: run `bash book/_ext/vendor.sh` (or `make book`) first"
        )
    return {"parallel_read_safe": True, "parallel_write_safe": True}
