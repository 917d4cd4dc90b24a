"""Every slider of every chapter still works in a live kernel after the whole notebook has run.

A reader in Binder or Colab runs all cells, then plays with the sliders; a later cell that
rebinds a name the slider's update function uses breaks it only then, which running the cells
alone cannot see.

In ``make test`` the probe below runs inside nbval's run of each page (the repository's
``conftest.py`` adds it as one more cell after the page's last one), in the kernel that has just
run the page, so the page is not executed again for this test. Without nbval (``pytest
tests/test_live_sliders.py``) the stand-alone test executes each page itself and probes it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"
NOTEBOOKS = sorted(BOOK.glob("ch*.ipynb"))
#: The name of the probe's item in nbval's run: ``book/chNN_x.ipynb::sliders redraw after Run all``.
PROBE_NAME = "sliders redraw after Run all"
#: The stand-alone test, which ``conftest.py`` deselects for the chapters whose pages nbval probes.
STANDALONE = "test_every_slider_redraws_after_the_notebook_has_run"

PROBE = r"""
import json
import ipywidgets as widgets
from ipywidgets.widgets.widget import _instances
from lessons_src.viz.sliders import slider_mode

assert slider_mode() == "live", f"the kernel runs with {slider_mode()} sliders: unset DESCENT_SLIDERS"
report = []
for slider in [w for w in list(_instances.values()) if isinstance(w, widgets.SelectionSlider)]:
    output = next(w for w in list(_instances.values())
                  if isinstance(w, widgets.VBox) and slider in getattr(w, "sliders", ())).children[-1]
    before = output.outputs[0]["data"]["image/png"]
    slider.index = (slider.index + 1) % len(slider.options)
    report.append({"slider": slider.description,
                   "changed": output.outputs[0]["data"]["image/png"] != before})
print("SLIDERS", json.dumps(report))
assert report, "the page calls interact( but no slider exists after Run all"
unchanged = [entry["slider"] for entry in report if not entry["changed"]]
assert not unchanged, f"moving these sliders did not change their figure: {unchanged}"
"""


def probe_cell() -> nbformat.NotebookNode:
    """The probe as a code cell, to run after a page's last cell in the kernel that ran it."""
    return nbformat.v4.new_code_cell(PROBE)


def has_slider(page: Path) -> bool:
    """Whether a page's code makes a slider (calls ``interact(``)."""
    notebook = nbformat.read(page, as_version=4)
    return any("interact(" in cell.source for cell in notebook.cells if cell.cell_type == "code")


def slider_pages(chapter: Path) -> list[Path]:
    """The pages of a chapter (its notebook and its sub-pages) that make a slider."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_book_structure import chapter_pages

    return [page for page in chapter_pages(chapter) if has_slider(page)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_has_a_slider(path):
    assert slider_pages(path), "the chapter has no slider"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_slider_redraws_after_the_notebook_has_run(path, monkeypatch):
    """Each page of the chapter (sub-pages too) that has a slider runs on its own, as in Colab.

    Deselected when nbval runs the same pages (``pytest --nbval-lax ... book``): the probe then
    runs in nbval's kernel instead.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("DESCENT_SLIDERS", "live")
    for page in slider_pages(path):
        notebook = nbformat.read(page, as_version=4)
        notebook.cells.append(probe_cell())
        try:
            NotebookClient(notebook, timeout=300,
                           resources={"metadata": {"path": str(page.parent)}}).execute()
        except CellExecutionError as error:
            pytest.fail(f"{page.relative_to(BOOK)}: {error}")
