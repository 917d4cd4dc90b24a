"""Re-execute notebooks and store only the outputs that nbval compares.

The notebooks are kept without outputs (the book build executes them), except cells whose first
line is ``# NBVAL_CHECK_OUTPUT``: their text output is stored so that ``pytest --nbval-lax``
can check that it has not changed. Run after editing such a cell (``make outputs``):

    python book/_ext/store_outputs.py book/*.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARKER = "# NBVAL_CHECK_OUTPUT"


def store_checked_outputs(path: Path) -> int:
    """Execute ``path`` in a fresh kernel; keep the outputs of marked cells only. Returns their count."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(path.parent)}}).execute()
    kept = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if cell.source.startswith(MARKER):
            cell.outputs = [o for o in cell.outputs if o.output_type == "stream"]
            kept += 1
        else:
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, path)
    return kept


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: stored the outputs of {store_checked_outputs(Path(name))} checked cells")
