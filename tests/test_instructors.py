"""The instructors' part: exercise metadata, the generated tables, and the build failing without them.

Three levels: every exercise of the chapters carries valid metadata (read from the notebooks);
``book/_ext/exercise_table.py`` builds correct tables, and stops a build, on a two-chapter book
made here (a real Sphinx build, about two seconds); and in the built site (``_build/html``, skips
if absent) the table lists exactly the exercises the chapter pages show, under the same numbers.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import exercise_table  # noqa: E402
from test_book_structure import chapter_pages  # noqa: E402

NOTEBOOKS = sorted((ROOT / "book").glob("ch*.ipynb"))
SITE = Path(os.environ.get("DESCENT_BUILD_DIR", ROOT / "_build")) / "html"
#: An exercise directive's opening line and its options, in MyST source.
DIRECTIVE = re.compile(r"^(`{3,}|:{3,})\{exercise(?:-start)?\}([^\n]*)\n((?::[\w-]+:[^\n]*\n)*)", re.M)


def _exercises(path: Path) -> list[tuple[str, str, list[str]]]:
    """(label, title, classes) of every exercise in a notebook's Markdown cells."""
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        for match in DIRECTIVE.finditer(cell.source + "\n"):
            options = dict(re.findall(r"^:([\w-]+):[ \t]*(.*)$", match.group(3), re.M))
            found.append((options.get("label", ""), match.group(2).strip(), options.get("class", "").split()))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_has_a_title_and_metadata(path):
    exercises = [e for page in chapter_pages(path) for e in _exercises(page)]
    assert exercises, "no exercises found"
    for label, title, classes in exercises:
        exercise = exercise_table.Exercise(path.stem, label, title, None)
        parsed = exercise_table.parse_metadata(exercise, classes)
        assert not parsed.problems, f"{label}: {parsed.problems}"


def test_metadata_parser_rejects_what_the_convention_forbids():
    def problems(classes: list[str], title: str = "T") -> list[str]:
        return exercise_table.parse_metadata(exercise_table.Exercise("d", "x", title, None), classes).problems

    assert problems(["type-code", "difficulty-3", "minutes-5", "autograded"]) == []
    assert problems(["type-essay", "difficulty-1", "minutes-5"]) != []
    assert problems(["type-code", "type-proof", "difficulty-1", "minutes-5"]) != []
    assert problems(["type-code", "difficulty-1", "minutes-0"]) != []
    assert problems(["type-code", "difficulty-1"]) != []
    assert problems(["type-code", "difficulty-1", "minutes-5"], title="") != []


# --- a small book built here ---------------------------------------------------------------------

CHAPTER = """\
# Chapter {n}

Some prose words here.

```{{exercise}} First of chapter {n}
:label: c{n}-a
:class: type-code difficulty-{n} minutes-1{n}
Do it.
```

```{{solution}} c{n}-a
Done.
```

```{{exercise}} Second of chapter {n}
:label: c{n}-b
:class: {classes}
Prove it.
```
"""


def _build(tmp_path: Path, second_classes: str) -> tuple[int, Path, str]:
    from io import StringIO

    from sphinx.application import Sphinx

    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / "book" / "_ext")!r})
        extensions = ["myst_parser", "sphinx_exercise", "exercise_table"]
        numfig = True
        exclude_patterns = ["_build"]
    """))
    (src / "index.md").write_text(
        "# Book\n\n```{toctree}\n:numbered:\nch01_one\nch02_two\n```\n\n"
        "```{toctree}\nexercises\n```\n"
    )
    (src / "ch01_one.md").write_text(CHAPTER.format(n=1, classes="type-proof difficulty-2 minutes-30"))
    (src / "ch02_two.md").write_text(CHAPTER.format(n=2, classes=second_classes)
                                     + "\n```{toctree}\nch02/sub\n```\n")
    (src / "ch02").mkdir()
    (src / "ch02" / "sub.md").write_text(  # a sub-page: its exercise belongs to chapter 2
        "# A sub-page\n\nMore prose.\n\n```{exercise} Third of chapter 2\n:label: c2-c\n"
        ":class: type-computation difficulty-1 minutes-5\nCompute it.\n```\n"
    )
    (src / "exercises.md").write_text("# Table\n\n```{exercise-table}\n```\n\n```{chapter-times}\n```\n")
    out = tmp_path / "out"
    warnings = StringIO()
    try:
        app = Sphinx(str(src), str(src), str(out), str(tmp_path / "doctrees"), "html",
                     status=None, warning=warnings, freshenv=True)
        app.build()
        status = app.statuscode
    except Exception as error:  # the extension stops the build with an ExtensionError
        return 1, out, f"{type(error).__name__}: {error}"
    return status, out, warnings.getvalue()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_table_lists_every_exercise_with_the_numbers_the_pages_show(tmp_path):
    status, out, log = _build(tmp_path, "type-proof difficulty-3 minutes-25 autograded")
    assert status == 0, log
    table = _text((out / "exercises.html").read_text())
    for n in (1, 2):
        page = _text((out / f"ch0{n}_{'one' if n == 1 else 'two'}.html").read_text())
        assert f"Exercise {n}.1 (First of chapter {n})" in page
        assert f"Exercise {n}.1 First of chapter {n} code {'●' * n} 1{n} no" in table
    assert "Exercise 2.2 Second of chapter 2 proof/derivation ●●● 25 yes" in table
    sub = _text((out / "ch02" / "sub.html").read_text())
    number = re.search(r"Exercise (2\.\d) \(Third of chapter 2\)", sub).group(1)
    assert f"2 Exercise {number} Third of chapter 2 computation ● 5 no" in table
    # chapter times: minutes summed per chapter with its sub-page (11 + 30, 12 + 25 + 5)
    assert re.search(r"1\. Chapter 1 \d+ 5 2 41 0", table), table
    assert re.search(r"2\. Chapter 2 \d+ 5 3 42 1", table), table
    assert re.search(r"Total \d+ 10 5 83 1", table), table


def test_build_fails_when_an_exercise_lacks_metadata(tmp_path):
    status, _, log = _build(tmp_path, "difficulty-2")
    assert status != 0
    assert "c2-b" in log and "no type-* class" in log and "no minutes-N class" in log


# --- the real site -------------------------------------------------------------------------------


def _site_exercises(page: Path) -> dict[str, str]:
    """label -> 'Exercise N.M (Title)' as the chapter page shows it."""
    html = page.read_text(encoding="utf-8")
    found = {}
    for match in re.finditer(r'<div class="exercise[^"]*" id="([^"]+)">(.*?)</p>', html, re.S):
        found[match.group(1)] = _text(match.group(2)).strip()
    return found


@pytest.fixture(scope="module")
def site() -> Path:
    if not (SITE / "book" / "instructors" / "exercises.html").is_file():
        pytest.skip(f"no instructors' pages in {SITE}: run `make book` first")
    return SITE


def test_site_table_matches_the_chapter_pages(site):
    table_html = (site / "book" / "instructors" / "exercises.html").read_text(encoding="utf-8")
    rows = re.findall(r'href="\.\./ch\d+[\w/]*\.html#([\w-]+)"[^>]*>(?:<[^>]+>)*([^<]+)<', table_html)
    listed = dict(rows)
    shown = {}
    for page in sorted([*(site / "book").glob("ch*.html"), *(site / "book").glob("ch*/*.html")]):
        shown.update(_site_exercises(page))
    assert len(shown) >= 3 * len(NOTEBOOKS), "too few exercises found on the chapter pages"
    assert set(listed) == set(shown), set(listed) ^ set(shown)
    for label, number in listed.items():
        assert shown[label].startswith(number + " "), (label, number, shown[label])


#: A rubric's heading: ``**Title** ({ref}`label`), type, N points.``
RUBRIC = re.compile(r"^\*\*[^*\n]+\*\* \(\{ref\}`([\w-]+)`\), ([\w ]+), (\d+) points\.$", re.M)


def test_every_hand_graded_exercise_has_a_rubric_worth_its_difficulty():
    """An exercise with no autograded test is graded by hand from ``book/instructors/rubrics.md``:
    each has its rubric there, with the exercise's type and the points its difficulty gives
    (4, 6 or 8 for difficulty 1, 2 or 3, as the page says)."""
    rubrics = {label: (kind, int(points)) for label, kind, points in
               RUBRIC.findall((ROOT / "book" / "instructors" / "rubrics.md").read_text(encoding="utf-8"))}
    missing, wrong = [], []
    for path in NOTEBOOKS:
        for page in chapter_pages(path):
            for label, _title, classes in _exercises(page):
                if "autograded" in classes:
                    continue
                kind = next(c.removeprefix("type-") for c in classes if c.startswith("type-"))
                difficulty = int(next(c.removeprefix("difficulty-") for c in classes
                                      if c.startswith("difficulty-")))
                if label not in rubrics:
                    missing.append(label)
                elif rubrics[label] != (kind, 2 + 2 * difficulty):
                    wrong.append((label, rubrics[label], (kind, 2 + 2 * difficulty)))
    assert not missing, f"hand-graded exercises with no rubric: {missing}"
    assert not wrong, f"rubrics whose type or points differ from the exercise's: {wrong}"
