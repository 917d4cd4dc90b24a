"""The student website (``make student-site``) has every exercise and no solution anywhere.

Compares it with the full website: every exercise of ``_build/html`` is in
``_build/student-html`` under the same number and title, and no trace of a solution is left,
neither on the pages, nor in the sources offered for download (``_sources/``), nor in the search
index. The solutions' text is taken from the full site, and each check first confirms that the
full site does contain what the student site must not (so that the test can fail).

``make test`` builds both sites first; the test skips when either is missing. It reuses the
builds rather than building here: a build executes every notebook (one to two minutes).
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from sphinx.search.en import SearchEnglish
from test_editions import FORMULA_TEX, TYPESET  # a formula in MyST, a typeset formula

ROOT = Path(__file__).resolve().parent.parent
#: The builds to check (`make test` writes _build; DESCENT_BUILD_DIR names another).
BUILD = Path(os.environ.get("DESCENT_BUILD_DIR", ROOT / "_build"))
FULL = BUILD / "html"
STUDENT = BUILD / "student-html"
PLAIN_WORD = re.compile(r"^[A-Za-z][a-z]*[,.;]?$")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _pages(site: Path) -> list[Path]:
    """The chapter pages and their sub-pages (``book/chNN_topic.html``, ``book/chNN/*.html``)."""
    return sorted([*site.glob("book/ch*.html"), *site.glob("book/ch*/**/*.html")])


def _key(page: Path, site: Path) -> str:
    """A page's path in its site, e.g. ``book/ch03/ripples.html``."""
    return page.relative_to(site).as_posix()


@functools.cache
def _page(path: Path) -> dict:
    """What the tests read from one page (each page is parsed once)."""
    # a formula comes typeset (book/_ext/descent_math.py): its text is MathML's, not prose, and
    # its markup, dropped before parsing, a third of a chapter's HTML
    soup = BeautifulSoup(TYPESET.sub(" ", path.read_text(encoding="utf-8")), "lxml")
    data = {
        "exercises": {div["id"]: _squash(div.find(class_="admonition-title").get_text())
                      for div in soup.select("div.exercise[id]")},
        "solutions": [_squash(div.get_text(" ")) for div in soup.select("div.solution")],
        "text": _squash(soup.get_text(" ")),
    }
    for div in soup.select("div.solution"):
        div.decompose()
    data["rest"] = _squash(soup.get_text(" "))
    return data


def _tex_words(page: Path, site: Path) -> set[str]:
    """The words of the TeX of every formula of a page, read from the source the site offers."""
    source = next((site / "_sources").glob(_key(page, site).removesuffix(".html") + ".*"))
    text = source.read_text(encoding="utf-8")
    if source.suffix == ".ipynb":
        text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
    return set(re.findall(r"[a-z]+", " ".join(m.group(0) for m in FORMULA_TEX.finditer(text)).lower()))


def _index(site: Path) -> dict:
    text = (site / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1 : text.rindex(")")])


def _docs_of(index: dict, stem: str) -> set[int]:
    found = index["terms"].get(stem, [])
    return set(found) if isinstance(found, list) else {found}


@pytest.fixture(scope="module")
def sites() -> tuple[Path, Path]:
    for site, command in ((FULL, "make book"), (STUDENT, "make student-site")):
        if not (site / "index.html").is_file():
            pytest.skip(f"no built site at {site}: run `{command}` first")
    return FULL, STUDENT


@pytest.fixture(scope="module")
def solutions(sites) -> dict[str, tuple[list[str], str]]:
    """Per chapter page of the full site: the text of each solution, and the page's other text."""
    full, _ = sites
    found = {_key(page, full): (_page(page)["solutions"], _page(page)["rest"]) for page in _pages(full)}
    chapters = list(full.glob("book/ch*.html"))
    assert sum(len(texts) for texts, _ in found.values()) >= 3 * len(chapters), "too few solutions"
    return found


def _fragments(solution: str, rest: str, length: int = 10) -> list[str]:
    """Windows of ``length`` words of a solution (stepping by half) that the rest of its page lacks."""
    words = solution.split()
    windows = (" ".join(words[i : i + length]) for i in range(0, max(1, len(words) - length), length // 2))
    return [fragment for fragment in windows if fragment not in rest]


def test_every_exercise_is_on_the_student_site(sites):
    full, student = sites
    chapters = list(full.glob("book/ch*.html"))
    assert sum(len(_page(page)["exercises"]) for page in _pages(full)) >= 3 * len(chapters)
    for page in _pages(full):
        expected = _page(page)["exercises"]
        assert _page(student / _key(page, full))["exercises"] == expected, _key(page, full)


def test_no_solution_on_the_student_pages(sites, solutions):
    _, student = sites
    for page in _pages(student):
        assert not _page(page)["solutions"], _key(page, student)
        text = _page(page)["text"]
        texts, rest = solutions[_key(page, student)]
        for solution in texts:
            for fragment in _fragments(solution, rest):
                assert fragment not in text, f"{_key(page, student)}: {fragment!r}"


def _plain_fragments(solution: str, length: int = 6) -> list[str]:
    """Runs of plain words (no mathematics or code) that read the same in the Markdown source."""
    runs, current = [], []
    for word in solution.split():
        if PLAIN_WORD.match(word):
            current.append(word)
            if len(current) == length:
                runs.append(" ".join(current))
                current = []
        else:
            current = []
    return runs


def test_no_solution_in_the_downloadable_sources(sites, solutions):
    full, student = sites
    checked = 0
    for name, (texts, rest) in solutions.items():
        stem, folder = Path(name).stem, Path("_sources") / Path(name).parent
        full_sources = [_squash(p.read_text(encoding="utf-8").replace("\\n", " "))
                        for p in (full / folder).glob(f"{stem}.*")]
        student_paths = list((student / folder).glob(f"{stem}.*"))
        assert student_paths, f"no downloadable source of {stem} on the student site"
        student_sources = [_squash(p.read_text(encoding="utf-8").replace("\\n", " ")) for p in student_paths]
        assert not any("{solution" in source for source in student_sources), stem
        for solution in texts:
            for fragment in _plain_fragments(solution):
                if fragment not in rest and any(fragment in source for source in full_sources):
                    checked += 1
                    assert not any(fragment in source for source in student_sources), (stem, fragment)
    assert checked >= 20, f"only {checked} solution fragments found in the full site's sources"


def test_no_solution_in_the_search_index(sites):
    """Words that only a page's solutions use are indexed for that page on the full site only."""
    full, student = sites
    stemmer = SearchEnglish({})
    full_index, student_index = _index(full), _index(student)
    checked = 0
    for page in _pages(full):
        solution_words = set(re.findall(r"[a-z]{4,}", " ".join(_page(page)["solutions"]).lower()))
        # the index holds the TeX of the page's formulas too, which the typeset page does not show
        other_words = set(re.findall(r"[a-z]+", _page(page)["rest"].lower())) | _tex_words(page, full)
        stems = {stemmer.stem(w) for w in solution_words} - {stemmer.stem(w) for w in other_words}
        docname = _key(page, full).removesuffix(".html")
        full_doc = full_index["docnames"].index(docname)
        student_doc = student_index["docnames"].index(docname)
        for stem in stems:
            if full_doc in _docs_of(full_index, stem):
                checked += 1
                assert student_doc not in _docs_of(student_index, stem), (docname, stem)
    assert checked >= 10, f"only {checked} solution-only words found in the full site's index"


def test_launch_buttons_open_the_student_editions(sites):
    """The full site's Binder and Colab buttons open `notebooks`; the student site's open
    `notebooks-student`, the editions without solutions (published by the Book workflow)."""
    full, student = sites
    pattern = re.compile(r'href="(https://(?:mybinder\.org|colab\.research\.google\.com)/[^"]+)"')
    for site, branch in ((full, "notebooks"), (student, "notebooks-student")):
        links = [link for page in _pages(site) for link in pattern.findall(page.read_text(encoding="utf-8"))]
        assert links, f"no launch buttons on {site}"
        for link in links:
            assert re.search(rf"/{branch}(?=[/?])", link), (site, link)


def test_the_student_branch_holds_the_student_editions(tmp_path):
    """`editions.py branch DIR --edition student` lays out the notebooks without solutions."""
    import subprocess
    import sys

    if not (BUILD / "notebooks" / "student").is_dir():
        pytest.skip("no editions: run `make book` first")
    target = tmp_path / "branch-student"
    subprocess.run([sys.executable, str(ROOT / "book" / "_ext" / "editions.py"), "branch", str(target),
                    "--build-dir", str(BUILD), "--edition", "student"], check=True)
    chapters = sorted(target.glob("book/ch*.ipynb"))
    assert len(chapters) >= 14
    solutions = 0
    for chapter in chapters:
        laid_out = chapter.read_text(encoding="utf-8")
        assert laid_out == (BUILD / "notebooks" / "student" / chapter.name).read_text(encoding="utf-8")
        full = (BUILD / "notebooks" / "full" / chapter.name).read_text(encoding="utf-8")
        solutions += full.count("Solution") - laid_out.count("Solution")
    assert solutions > len(chapters), "the student branch should hold fewer solutions than the full one"


def test_the_rubrics_are_on_the_full_site_only(sites):
    """The rubrics give answers away: the student edition has neither the page nor a link to it."""
    full, student = sites
    assert (full / "book" / "instructors" / "rubrics.html").is_file()
    assert "rubrics.html" in (full / "book" / "instructors" / "index.html").read_text(encoding="utf-8")
    assert not (student / "book" / "instructors" / "rubrics.html").exists()
    assert not list((student / "_sources").rglob("rubrics*"))
    for page in student.rglob("*.html"):
        assert "rubrics.html" not in page.read_text(encoding="utf-8"), page
    full_rubrics = _squash(BeautifulSoup((full / "book" / "instructors" / "rubrics.html").read_text(
        encoding="utf-8"), "lxml").find("h1").get_text()).rstrip("#").strip()
    assert full_rubrics in (full / "searchindex.js").read_text(encoding="utf-8")
    assert full_rubrics not in (student / "searchindex.js").read_text(encoding="utf-8")
