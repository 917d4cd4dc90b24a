"""Every slider of every chapter still works in a live kernel after the whole notebook has run.

A reader in Binder or Colab runs all cells, then plays with the sliders; a later cell that
rebinds a name the slider's update function uses breaks it only then, which nbval cannot see.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from test_book_structure import chapter_pages

BOOK = Path(__file__).resolve().parent.parent / "book"
NOTEBOOKS = sorted(BOOK.glob("ch*.ipynb"))

PROBE = r"""
import json
import ipywidgets as widgets
from ipywidgets.widgets.widget import _instances

report = []
for slider in [w for w in list(_instances.values()) if isinstance(w, widgets.SelectionSlider)]:
    output = next(w for w in list(_instances.values())
                  if isinstance(w, widgets.VBox) and slider in getattr(w, "sliders", ())).children[-1]
    before = output.outputs[0]["data"]["image/png"]
    slider.index = (slider.index + 1) % len(slider.options)
    report.append({"slider": slider.description,
                   "changed": output.outputs[0]["data"]["image/png"] != before})
print("SLIDERS", json.dumps(report))
"""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_slider_redraws_after_the_notebook_has_run(path, monkeypatch):
    """Each page of the chapter (sub-pages too) that has a slider runs on its own, as in Colab."""
    monkeypatch.setenv("DESCENT_SLIDERS", "live")
    report = []
    for page in chapter_pages(path):
        notebook = nbformat.read(page, as_version=4)
        if not any("interact(" in cell.source for cell in notebook.cells if cell.cell_type == "code"):
            continue
        notebook.cells.append(nbformat.v4.new_code_cell(PROBE))
        NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(page.parent)}}).execute()
        text = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
        report += json.loads(text.split("SLIDERS ", 1)[1])
    assert report, "the chapter has no slider"
    unchanged = [entry["slider"] for entry in report if not entry["changed"]]
    assert not unchanged, f"moving these sliders did not change their figure: {unchanged}"
