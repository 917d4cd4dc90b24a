"""Sphinx extension for building the Descent book.

* Tells the notebook kernels that the build starts to precompute slider frames
  (``DESCENT_SLIDERS=static``), so sliders still move their figures on the static site.
* Stops the build early, with the fix, when the self-hosted JavaScript is missing.
* Drops the second copy of inline scripts that the theme writes twice into every page under
  Jupyter Book 1 (sphinx-thebe's configuration among them, whose second copy throws
  "THEBE_JS_URL has already been declared" in the browser).
* Serves ``book/_ext/static/descent-a11y.{css,js}`` on every page: accessibility fixes for the
  theme (link contrast, controls whose accessible name hides their visible text, unlabelled
  animation sliders, the roles of the references list), checked by the axe test in
  ``tests/test_site.py``.
"""

import os
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

VENDOR = Path(__file__).resolve().parent.parent / "_vendor" / "descent"
STATIC = Path(__file__).resolve().parent / "static"


def _serve_static(app: Sphinx, config: Config) -> None:
    """Add this extension's own static folder to the site's static path."""
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def _drop_duplicate_inline_scripts(app: Sphinx, exception: Exception | None) -> None:
    """Keep only the first copy of each inline ``<script>`` line in every written page."""
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
        seen: set[str] = set()
        kept = []
        for line in lines:
            text = line.strip()
            if text.startswith("<script>") and text.endswith("</script>"):
                if text in seen:
                    continue
                seen.add(text)
            kept.append(line)
        if len(kept) != len(lines):
            page.write_text("".join(kept), encoding="utf-8")


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", _drop_duplicate_inline_scripts)
    app.connect("config-inited", _serve_static)
    app.add_css_file("descent-a11y.css")
    app.add_js_file("descent-a11y.js")
    # Forced, not defaulted: a site built with live sliders (say, DESCENT_SLIDERS=live left in
    # the shell) would show sliders that move nothing, since no kernel runs behind the page.
    os.environ["DESCENT_SLIDERS"] = "static"
    if not (VENDOR / ".complete").is_file():
        raise ExtensionError(
            f"{VENDOR} is missing: run `bash book/_ext/vendor.sh` (or `make book`) first"
        )
    return {"parallel_read_safe": True, "parallel_write_safe": True}
