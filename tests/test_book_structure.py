"""The book's notebooks follow the course's conventions (what a maintainer would check by eye)."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from sphinx_external_toc.parsing import parse_toc_yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import editions  # noqa: E402

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
#: The table of contents as sphinx-external-toc (which the build runs) parses it.
SITE_MAP = parse_toc_yaml(ROOT / "_toc.yml")
NOTEBOOKS = sorted((ROOT / "book").glob("ch*.ipynb"))
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


def toc_files() -> list[str]:
    """Every page of the table of contents but the root, in reading order (parts, sections)."""
    return editions.site_order(SITE_MAP)[1:]


def chapter_pages(path: Path) -> list[Path]:
    """A chapter's notebook, then the notebooks of its sub-pages (``sections:`` of its toc entry)."""
    docname = f"book/{path.stem}"
    sections = SITE_MAP[docname].child_files() if docname in SITE_MAP else []
    return [path, *(ROOT / f"{f}.ipynb" for f in sections if (ROOT / f"{f}.ipynb").is_file())]


#: Every notebook page of a chapter: the chapter files and their sub-pages.
PAGES = [page for path in NOTEBOOKS for page in chapter_pages(path)]


def page_id(path: Path) -> str:
    return path.relative_to(ROOT / "book").with_suffix("").as_posix()


def test_toc_and_notebooks_agree():
    listed = {f for f in toc_files() if Path(f).name.startswith("ch")}
    present = {f"book/{path.stem}" for path in NOTEBOOKS}
    assert listed == present, f"in the toc only: {listed - present}; on disk only: {present - listed}"


def test_every_toc_entry_is_a_page():
    files = editions.site_order(SITE_MAP)
    missing = [f for f in files if not any((ROOT / f).with_suffix(s).is_file() for s in (".md", ".ipynb"))]
    assert not missing, f"listed in _toc.yml but not on disk: {missing}"
    # a page listed twice already failed above: parse_toc_yaml rejects it (MalformedError)
    assert len(files) == len(SITE_MAP), "a page of _toc.yml is not reachable from its root"


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_setup_cell_is_hidden_and_names_no_repository(path):
    """The hidden first cell only imports lessons_src: the Jupyter editions replace it with an
    install cell made at build time from repository.url of _config.yml (book/_ext/editions.py),
    so a fork changes that one line and no notebook."""
    first = nbformat.read(path, as_version=4).cells[0]
    assert "remove-cell" in first.metadata.get("tags", []), "the setup cell must be hidden"
    assert editions.is_setup_cell(first, 0), "the first cell must be the setup cell (imports lessons_src)"
    assert "git+" not in first.source and CONFIG["repository"]["url"] not in first.source, (
        "the setup cell names the repository: the editions make the install cell from _config.yml"
    )


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_notebook_uses_lessons_src_and_stores_only_checked_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert any("from lessons_src" in cell.source for cell in code[:3]), "imports come first"
    for cell in code:
        if not cell.source.startswith(CHECK_MARK):
            assert not cell.outputs, f"cell {cell.get('id')} stores outputs: run `make outputs`"
        else:
            assert cell.outputs, f"checked cell {cell.get('id')} has no stored output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_has_exercises_with_solutions_and_a_summary(path):
    """Checked per chapter: the exercises may sit on the chapter's last sub-page."""
    text = "\n".join(c.source for page in chapter_pages(path)
                     for c in nbformat.read(page, as_version=4).cells if c.cell_type == "markdown")
    assert "## What to remember" in text
    exercises = text.count("{exercise}")
    solutions = text.count("{solution}") + text.count("{solution-start}")
    assert exercises >= 3, f"only {exercises} exercises"
    assert solutions >= exercises, f"{exercises} exercises but {solutions} solutions"


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_slider_code_is_folded_away(path):
    """A slider cell's code is long plumbing; the page shows the widget and folds the code."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and "interact(" in cell.source:
            assert "hide-input" in cell.metadata.get("tags", []), f"cell {cell.get('id')}"
