"""The Jupyter editions of the chapters (book/_ext/editions.py) and how learners reach them.

Two sources of builds:

* a fixture book (``tests/data/edition_book``: two notebooks with sections, a theorem, a proof,
  a figure, an equation, glued values, citations, exercises with a solution and a gated solution,
  cross-references between the pages), built here in seconds: every test on it runs on every run;
* the course's own build (``make test`` builds it first; ``DESCENT_BUILD_DIR`` names another):
  page by page, every numbered object (section, theorem, exercise, figure, equation) and every
  link and citation text of the website must be the edition's, in the same order.

The numbers are read from the built HTML (the site the learner compares with), never from the
writer: a changed number in one edition fails :func:`test_site_and_editions_agree`.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import descent_config  # noqa: E402
import editions  # noqa: E402

#: The build to check (`make test` writes _build; DESCENT_BUILD_DIR names another, e.g. one made
#: with `jupyter-book build --path-output DIR`).
BUILD = Path(os.environ.get("DESCENT_BUILD_DIR", ROOT / "_build"))
HTML = BUILD / "html"
FIXTURE = ROOT / "tests" / "data" / "edition_book"
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
PAGES = editions.notebook_pages(ROOT)
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"

#: MyST that plain Jupyter cannot render.
MYST_ONLY = re.compile(
    r"\{glue|\{prf:|\{(?:numref|ref|eq|doc|term|cite(?::\w+)?)\}`|^\s*(?:`{3,}|:{3,})\{|solution-start"
    r"|solution-end|^\([\w-]+\)=\s*$",
    re.M,
)
UNESCAPE = re.compile(r"\\([\\`*_\[\]<>|$])")
LINK = re.compile(r"(?<!!)\[((?:\\.|[^\]\\])*)\]\(([^)\s]+)\)")  # link text may hold \[ \]
# Math spans, which Jupyter renders before Markdown: a bracket in a formula ($\beta \in [0, 1)$) is
# not the start of a link, so links are read with the formulas' brackets made round. An escaped
# \$ starts no formula.
MATH = re.compile(r"(?<!\\)\$\$.*?(?<!\\)\$\$|(?<!\\)\$(?:\\.|[^$\\\n])*\$", re.S)
#: What a formula reads as when an edition's text (TeX) and the site's (typeset) are compared.
FORMULA = " [formula] "
#: A formula in Markdown: ``$$...$$``, ``$...$`` (over lines), an amsmath environment on its own,
#: or (in a MyST source) a ``{math}`...``` role.
FORMULA_TEX = re.compile(
    r"(?<!\\)\$\$.*?(?<!\\)\$\$|(?<!\\)\$(?:\\.|[^$\\])+?\$|\\begin\{(\w+\*?)\}.*?\\end\{\1\}"
    r"|\{math\}`[^`]*`", re.S)


def edition_text(notebook: nbformat.NotebookNode) -> str:
    """An edition's text for comparing with the site's: each formula of its Markdown one
    placeholder (the site has it typeset, not as TeX), links read as their text."""
    cells = (FORMULA_TEX.sub(FORMULA, c.source) if c.cell_type == "markdown" else c.source
             for c in notebook.cells)
    return squash(LINK.sub(r"\1", "\n".join(cells)))

needs_build = pytest.mark.skipif(
    not (BUILD / "notebooks" / "full").is_dir() or not HTML.is_dir(),
    reason="no site and editions in _build: run `make book` first",
)


# ------------------------------------------------------------------------------------------
# Reading a site page and an edition the same way
# ------------------------------------------------------------------------------------------


def squash(text: str) -> str:
    """Text for comparing: no Markdown escapes, emphasis or math delimiters, single spaces."""
    text = UNESCAPE.sub(r"\1", text)
    text = text.replace("\\(", "").replace("\\)", "").replace("$", "").replace("*", "").replace("`", "")
    return " ".join(text.split())


def markdown_of(notebook: nbformat.NotebookNode) -> str:
    return "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


#: A typeset formula (MathJax's markup, book/_ext/descent_math.py; containers do not nest).
TYPESET = re.compile(r"<mjx-container\b.*?</mjx-container>", re.S)


@functools.cache
def parsed_page(path: Path) -> BeautifulSoup:
    """A built page, parsed once per test process (by lxml), each typeset formula's markup left
    out: a formula reads as its ``span.math`` or ``div.math``, with no text. That markup is a third
    of a chapter's HTML, and none of it is prose, a number or a link. Callers that change the tree
    change a copy."""
    return BeautifulSoup(TYPESET.sub("", path.read_text(encoding="utf-8")), "lxml")


def site_objects(html_path: Path, page_url: str) -> dict[str, list]:
    """The numbered objects and links of a built page, in page order."""
    soup = parsed_page(html_path)
    article = copy.copy(soup.find("article") or soup)
    for removed in article.select("a.headerlink"):
        removed.decompose()
    sections = []
    for heading in article.find_all(["h1", "h2", "h3", "h4", "h5", "h6"]):
        number = heading.find("span", class_="section-number")
        if heading.parent is not None and heading.parent.name == "section" and number is not None:
            sections.append(number.get_text().strip())
    blocks = [squash(span.get_text()) for span in article.select(
        "div.proof span.caption-number, div.exercise span.caption-number")]
    solutions = [squash(p.get_text()) for p in article.select("div.solution > p.admonition-title")]
    figures = [squash(span.get_text()) for span in article.select(
        "figure span.caption-number, table > caption span.caption-number")]
    equations = [span.get_text().strip("() \n") for span in article.select("span.eqno")]
    links = []
    for a in article.find_all("a", href=True):
        classes = a.get("class") or []
        if "reference" not in classes or "image-reference" in classes:
            continue
        if a.find_parent("p", class_="admonition-title") is not None:
            continue  # a solution's "Exercise N" title: the edition's heading, compared above
        links.append((squash(a.get_text()), urljoin(page_url, a["href"])))
    citations = [squash(span.get_text()) for span in article.select("span.bibtex-citation")]
    glued = [squash(span.get_text()) for span in article.select("span.pasted-text")]
    return {"sections": sections, "blocks": [b for b in blocks if any(c.isdigit() for c in b)],
            "solutions": solutions, "figures": figures, "equations": equations, "links": links,
            "citations": citations, "glued": glued}


def edition_objects(notebook: nbformat.NotebookNode) -> dict[str, list]:
    """The same objects as :func:`site_objects`, read from an edition's Markdown."""
    text = markdown_of(notebook)
    sections = re.findall(r"^#{1,6} (\d+(?:\.\d+)*\.)\s", text, re.M)
    kinds = "|".join(k.title() for k in (
        "algorithm", "assumption", "axiom", "conjecture", "corollary", "criterion", "definition",
        "example", "lemma", "notation", "observation", "problem", "property", "proposition",
        "remark", "theorem"))
    blocks = [a or b for a, b in re.findall(
        rf"^\*\*((?:{kinds}) [\d.]+)\*\*|^#+ (Exercise [\d.]+)", text, re.M)]
    solutions = [squash(h) for h in re.findall(r"^#+ (Solution to .*)$", text, re.M)]
    figures = re.findall(r"^\*\*((?:Fig\.|Table) [\d.]+)\*\*", text, re.M)
    equations = re.findall(r"\\tag\{([^}]*)\}", text)
    unbracketed = MATH.sub(lambda m: m.group(0).replace("[", "(").replace("]", ")"), text)
    links = [(squash(label), url) for label, url in LINK.findall(unbracketed)]
    plain = squash(LINK.sub(r"\1", text))
    return {"sections": sections, "blocks": blocks, "solutions": solutions, "figures": figures,
            "equations": equations, "links": links, "plain": plain}


def compare(html_path: Path, page_url: str, notebook: nbformat.NotebookNode) -> list[str]:
    """Every difference between a site page and its edition (empty when they agree)."""
    site, edition = site_objects(html_path, page_url), edition_objects(notebook)
    problems = []
    for key in ("sections", "blocks", "solutions", "figures", "equations", "links"):
        if site[key] != edition[key]:
            first = next((i for i, (a, b) in enumerate(zip(site[key], edition[key], strict=False)) if a != b),
                         min(len(site[key]), len(edition[key])))
            problems.append(f"{key}: site {site[key][first:first + 3]} != edition "
                            f"{edition[key][first:first + 3]} (at {first}, {len(site[key])} on the site, "
                            f"{len(edition[key])} in the edition)")
    at = 0
    for key in ("citations", "glued"):
        at = 0
        for text in site[key]:
            found = edition["plain"].find(text, at)
            if found < 0:
                problems.append(f"{key}: {text!r} of the site is not in the edition (after {at})")
                break
            at = found + len(text)
    return problems


# ------------------------------------------------------------------------------------------
# The fixture book, built here
# ------------------------------------------------------------------------------------------


def build_book(source: Path, target: Path, **config: object) -> subprocess.CompletedProcess:
    """Copy a book to ``target`` with this repository's extensions (and ``config`` added to its
    Sphinx configuration) and build it with warnings as errors."""
    shutil.copytree(source, target)
    settings = yaml.safe_load((target / "_config.yml").read_text())
    settings["sphinx"]["local_extensions"] = {name: str(ROOT / "book" / "_ext")
                                              for name in settings["sphinx"]["local_extensions"]}
    settings["sphinx"]["config"].update(config)
    (target / "_config.yml").write_text(yaml.safe_dump(settings))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([str(JUPYTER_BOOK), "build", "-W", "-n", "--keep-going", str(target)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)


@pytest.fixture(scope="module")
def fixture_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = tmp_path_factory.mktemp("fixture") / "book"
    result = build_book(FIXTURE, book)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return book


@pytest.fixture(scope="module")
def fixture_student_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = tmp_path_factory.mktemp("fixture-student") / "book"
    result = build_book(FIXTURE, book, hide_solutions=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return book


def fixture_edition(book: Path, name: str, edition: str = "full") -> nbformat.NotebookNode:
    return nbformat.read(book / "_build" / "notebooks" / edition / f"{name}.ipynb", as_version=4)


FIXTURE_PAGES = editions.notebook_pages(FIXTURE)
FIXTURE_SITE = descent_config.from_config_yml(FIXTURE / "_config.yml")


def test_the_fixture_pages_come_from_the_site_map():
    assert FIXTURE_PAGES == ["one", "two"]  # intro.md and refs.md are not notebooks


def test_fixture_editions_are_written_for_every_notebook_page(fixture_build):
    for edition in editions.EDITIONS:
        written = sorted(p.stem for p in (fixture_build / "_build" / "notebooks" / edition).glob("*.ipynb"))
        assert written == FIXTURE_PAGES


@pytest.mark.parametrize("name", FIXTURE_PAGES)
def test_fixture_site_and_editions_agree(fixture_build, name):
    """The comparison the course's site gets, on a book with every kind of numbered object."""
    notebook = fixture_edition(fixture_build, name)
    html = fixture_build / "_build" / "html" / f"{name}.html"
    assert compare(html, FIXTURE_SITE.page(name), notebook) == []
    site = site_objects(html, FIXTURE_SITE.page(name))
    assert site["sections"] and site["blocks"] and site["links"] and site["glued"]  # it can fail


def test_fixture_numbers_follow_the_book_order(fixture_build):
    """One's objects are numbered 1.x, two's 2.x (chapter order of _toc.yml), as designed."""
    one = edition_objects(fixture_edition(fixture_build, "one"))
    two = edition_objects(fixture_edition(fixture_build, "two"))
    assert one["sections"] == ["1.", "1.1.", "1.1.1.", "1.2.", "1.3."]
    assert one["blocks"] == ["Theorem 1.1", "Proposition 1.1", "Exercise 1.1", "Exercise 1.2"]
    assert one["figures"] == ["Fig. 1.1"] and one["equations"] == ["1.1"]
    assert two["sections"] == ["2.", "2.1."] and two["blocks"] == ["Corollary 2.1"]
    texts = [label for label, _ in two["links"]]
    assert texts[:4] == ["Theorem 1.1", "Fig. 1.1", "(1.1)", "the bowl section"]
    assert (f"{FIXTURE_SITE.page('one')}#thm-bowl") in [url for _, url in two["links"]]


def test_fixture_glued_values_are_the_computed_ones(fixture_build):
    """{glue:text}`one_half:.2f` of 1/2 reads 0.50; the caption's `:.1f` reads 0.5."""
    plain = edition_objects(fixture_edition(fixture_build, "one"))["plain"]
    assert "A page with a 0.50 glued value" in plain and "with a value of 0.5." in plain
    assert "Text with a 2.000 value" in edition_objects(fixture_edition(fixture_build, "two"))["plain"]


def test_fixture_setup_cell_comes_from_the_config(fixture_build):
    for name in FIXTURE_PAGES:
        notebook = fixture_edition(fixture_build, name)
        first = notebook.cells[0]
        assert first.cell_type == "code" and first.source == editions.setup_cell(name, FIXTURE_SITE)
        assert "git+https://github.com/someone/course" in first.source
        assert f"mybinder.org/v2/gh/someone/course/notebooks?labpath={name}.ipynb" in first.source
        assert first.metadata["jupyter"]["source_hidden"]
        source = nbformat.read(FIXTURE / f"{name}.ipynb", as_version=4)
        assert all(cell.source != source.cells[0].source for cell in notebook.cells)
        student = fixture_edition(fixture_build, name, "student").cells[0].source
        assert f"mybinder.org/v2/gh/someone/course/notebooks-student?labpath={name}.ipynb" in student


def test_fixture_code_cells_keep_their_order_and_fold_checks(fixture_build):
    for name in FIXTURE_PAGES:
        source = nbformat.read(FIXTURE / f"{name}.ipynb", as_version=4)
        notebook = fixture_edition(fixture_build, name)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert [c.source for c in code[1:]] == [c.source for c in source.cells[1:] if c.cell_type == "code"]
        for cell in code:
            folded = cell.metadata.get("jupyter", {}).get("source_hidden", False)
            checks = "glue(" in cell.source or "assert " in cell.source
            tags = set(cell.metadata.get("tags", []))
            assert folded == (checks or bool(tags & {"hide-input", "remove-cell"})), cell.source
        assert not any(c.get("outputs") for c in code), "editions are stored without outputs"
        assert not any(MYST_ONLY.search(c.source) for c in notebook.cells)


def test_fixture_solutions_fold_and_the_student_edition_has_none(fixture_build):
    full = fixture_edition(fixture_build, "one")
    student = fixture_edition(fixture_build, "one", "student")
    headings = [c for c in full.cells if c.cell_type == "markdown" and c.source.lstrip("#").startswith(
        " Solution to")]
    assert [squash(c.source.lstrip("# ")) for c in headings] == site_objects(
        fixture_build / "_build" / "html" / "one.html", FIXTURE_SITE.page("one"))["solutions"]
    assert all(c.metadata.get("jp-MarkdownHeadingCollapsed") for c in headings)
    assert full.metadata["colab"]["collapsed_sections"] == [c.metadata["id"] for c in headings]
    full_text = "\n".join(c.source for c in full.cells)
    student_text = "\n".join(c.source for c in student.cells)
    for secret in ("one step lands on the minimum", "The factor, computed", "factor = abs(1 - 1.0)",
                   "assert factor == 0.0"):  # the last, a hidden check inside the gated solution
        assert secret in full_text and secret not in student_text
    assert "Solution to" not in student_text
    assert "### Exercise 1.1 (Shrinking)" in student_text and "### Exercise 1.2" in student_text
    assert "## 1.3. What to remember" in student_text


def test_fixture_student_site_offers_the_student_edition(fixture_student_build, fixture_build):
    """Built with hide_solutions (make student-site), the download is the student edition."""
    html = fixture_student_build / "_build" / "html"
    offered = (html / "_sources" / "one.ipynb").read_text(encoding="utf-8")
    edition = fixture_student_build / "_build" / "notebooks" / "student" / "one.ipynb"
    assert offered == edition.read_text(encoding="utf-8")
    assert "Exercise 1.2" in offered and "Solution" not in offered and "lands on the minimum" not in offered
    assert "assert factor" not in offered, "a hidden check of a gated solution outlived the solution"
    assert not (fixture_student_build / "_build" / "notebooks" / "full").exists()
    # a Markdown page's download: its solutions, plain and gated, are taken out by MyST's parser
    markdown = (html / "_sources" / "intro.md").read_text(encoding="utf-8")
    assert "A warm-up" in markdown and "How many steps" in markdown
    assert "{solution" not in markdown and "answer" not in markdown, markdown
    with_solutions = (fixture_build / "_build" / "html" / "_sources" / "intro.md").read_text(encoding="utf-8")
    assert "plain answer" in with_solutions and "gated answer" in with_solutions


def test_fixture_download_is_the_full_edition_and_a_rebuild_rewrites_nothing(fixture_build):
    html = fixture_build / "_build" / "html"
    notebooks = fixture_build / "_build" / "notebooks"
    for name in FIXTURE_PAGES:
        offered = (html / "_sources" / f"{name}.ipynb").read_bytes()
        assert offered == (notebooks / "full" / f"{name}.ipynb").read_bytes()
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in notebooks.rglob("*.ipynb")}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([str(JUPYTER_BOOK), "build", "-W", "-n", str(fixture_build)],
                            capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in notebooks.rglob("*.ipynb")} == before


def _with_cells(source: Path, target: Path, markdown: list[str]) -> Path:
    """A copy of the fixture whose page two ends with more Markdown cells."""
    shutil.copytree(source, target)
    notebook = nbformat.read(target / "two.ipynb", as_version=4)
    notebook.cells += [nbformat.v4.new_markdown_cell(text) for text in markdown]
    nbformat.write(notebook, target / "two.ipynb")
    return target


def test_an_unknown_directive_or_role_stops_the_build_with_page_and_line(tmp_path):
    """A directive (topic) and a role (footcite) the writer does not know: one build names both,
    each with its page, cell and line."""
    unknown = {
        "```{topic} A topic\nA docutils topic, which the writer does not know.\n```": "topic",
        "A footnote citation {footcite:p}`polyak1964`.": "footnote_reference",
    }
    cells = [f"## More {i}\n\n{text}" for i, text in enumerate(unknown)]
    book = _with_cells(FIXTURE, tmp_path / "source", cells)
    result = build_book(book, tmp_path / "book")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    first = len(nbformat.read(book / "two.ipynb", as_version=4).cells) - len(unknown) + 1
    for offset, name in enumerate(unknown.values()):
        assert re.search(rf"two\.ipynb, cell {first + offset}, line 3: {name} is not known", output), \
            output[-6000:]


def test_an_unchanged_edition_is_not_rewritten(tmp_path):
    path = tmp_path / "a.ipynb"
    assert editions.write_if_changed(path, "{}\n")
    before = path.stat().st_mtime_ns
    assert not editions.write_if_changed(path, "{}\n")
    assert path.stat().st_mtime_ns == before
    assert editions.write_if_changed(path, "{\n}\n")


def test_the_addresses_come_from_one_line_of_the_config(tmp_path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["repository"]["url"] = "https://github.com/AFork/descent-copy"
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    fork = descent_config.from_config_yml(tmp_path / "_config.yml")
    assert fork.site_url == "https://afork.github.io/descent-copy/"
    assert fork.binder("book/ch01").startswith("https://mybinder.org/v2/gh/AFork/descent-copy/notebooks?")
    assert "git+https://github.com/AFork/descent-copy" in editions.setup_cell("book/ch01", fork)
    with pytest.raises(ValueError, match=r"repository\.url"):
        descent_config.addresses("https://gitlab.com/a/b")


# ------------------------------------------------------------------------------------------
# The course's build
# ------------------------------------------------------------------------------------------


def edition_path(docname: str, edition: str = "full") -> Path:
    return BUILD / "notebooks" / edition / f"{editions.edition_name(docname, ROOT)}.ipynb"


def site_page(docname: str) -> BeautifulSoup:
    return parsed_page(HTML / f"{docname}.html")


def test_the_pages_come_from_the_toc_nested_ones_included():
    toc_text = (ROOT / "_toc.yml").read_text()
    assert PAGES, "no notebook page in _toc.yml"
    for docname in PAGES:
        assert (ROOT / f"{docname}.ipynb").is_file() and docname in toc_text


@needs_build
@pytest.mark.parametrize("edition", editions.EDITIONS)
def test_one_edition_per_notebook_page(edition):
    written = {p.relative_to(BUILD / "notebooks" / edition).as_posix()
               for p in (BUILD / "notebooks" / edition).rglob("*.ipynb")}
    expected = {f"{editions.edition_name(d, ROOT)}.ipynb" for d in PAGES}
    assert written == expected


@needs_build
@pytest.mark.parametrize("docname", PAGES)
def test_site_and_editions_agree(docname):
    """Page by page: section, theorem, exercise, solution, figure and equation numbers, every link
    and its text, every citation and glued value of the site are the full edition's."""
    problems = compare(HTML / f"{docname}.html", descent_config.from_config_yml().page(docname),
                       nbformat.read(edition_path(docname), as_version=4))
    assert problems == [], "\n".join(problems)


#: What `make student-site` builds: the site without solutions, with its own student editions.
STUDENT_BUILD = BUILD / "student" / "_build"


@pytest.mark.skipif(not (STUDENT_BUILD / "notebooks" / "student").is_dir(),
                    reason="no student site: run `make student-site` first")
@pytest.mark.parametrize("docname", PAGES)
def test_student_site_and_its_editions_agree(docname):
    """The student site's pages and the student editions its build wrote (which its download
    button offers) agree as the full ones do, and hold no solution."""
    edition = STUDENT_BUILD / "notebooks" / "student" / f"{editions.edition_name(docname, ROOT)}.ipynb"
    where = descent_config.from_config_yml(BUILD / "student" / "_config.yml")
    notebook = nbformat.read(edition, as_version=4)
    problems = compare(STUDENT_BUILD / "html" / f"{docname}.html", where.page(docname), notebook)
    assert problems == [], "\n".join(problems)
    assert (STUDENT_BUILD / "html" / "_sources" / f"{docname}.ipynb").read_bytes() == edition.read_bytes()
    assert not any("Solution to" in cell.source for cell in notebook.cells)


@needs_build
@pytest.mark.parametrize("docname", PAGES)
def test_no_myst_only_syntax(docname):
    for edition in editions.EDITIONS:
        notebook = nbformat.read(edition_path(docname, edition), as_version=4)
        nbformat.validate(notebook)
        for index, cell in enumerate(notebook.cells):
            found = MYST_ONLY.search(cell.source)
            assert found is None, f"{edition} cell {index}: {found.group(0)!r} in {cell.source[:200]!r}"


@needs_build
@pytest.mark.parametrize("docname", PAGES)
def test_student_edition_has_no_solution_text(docname):
    """The solutions' text, read from the site, is in the full edition and not the student one."""
    full = nbformat.read(edition_path(docname, "full"), as_version=4)
    student = nbformat.read(edition_path(docname, "student"), as_version=4)
    full_text, student_text = edition_text(full), edition_text(student)
    article = copy.copy(site_page(docname).find("article"))  # the parsed page is shared
    for formula in article.select("span.math, div.math"):
        formula.replace_with(FORMULA)
    lines = [squash(p.get_text()) for div in article.select("div.solution") for p in div.find_all("p")
             if "admonition-title" not in (p.get("class") or [])]
    lines = [line for line in lines if len(line) > 25]
    exercises = len(article.select("div.exercise"))
    headings = [c for c in full.cells
                if c.cell_type == "markdown" and "Solution to" in c.source.split("\n")[0]]
    assert len(headings) == len(article.select("div.solution"))
    assert all(c.metadata.get("jp-MarkdownHeadingCollapsed") for c in headings)
    assert sorted(full.metadata["colab"]["collapsed_sections"]) == sorted(c.metadata["id"] for c in headings)
    if headings:
        assert lines, "found no solution text to look for"
    for line in lines:
        assert line in full_text, f"the full edition lacks the solution line {line!r}"
        assert line not in student_text, f"the student edition shows the solution line {line!r}"
    assert "Solution to" not in student_text
    assert len(re.findall(r"^#+ Exercise \d", "\n".join(c.source for c in student.cells), re.M)) == exercises


@needs_build
@pytest.mark.parametrize("docname", PAGES)
def test_setup_cell_and_code_cells(docname):
    source = nbformat.read(ROOT / f"{docname}.ipynb", as_version=4)
    full = nbformat.read(edition_path(docname), as_version=4)
    code = [c for c in full.cells if c.cell_type == "code"]
    assert code[0].source == editions.setup_cell(docname, descent_config.from_config_yml())
    assert code[0].metadata["jupyter"]["source_hidden"]
    source_code = [c.source for i, c in enumerate(source.cells)
                   if c.cell_type == "code" and not editions.is_setup_cell(c, i)]
    assert [c.source for c in code[1:]] == source_code
    only_checks = [c for c in code if re.fullmatch(r"(\s*(glue\(.*\)|assert .*)\s*)+", c.source)]
    assert all(c.metadata.get("jupyter", {}).get("source_hidden") for c in only_checks)
    assert not any(c.get("outputs") for c in code), "editions are stored without outputs"


# ------------------------------------------------------------------------------------------
# Launch buttons, download button, publishing
# ------------------------------------------------------------------------------------------


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _steps() -> list[dict]:
    return [step for job in _workflow()["jobs"].values() for step in job.get("steps", [])]


def _published_branch() -> tuple[str, str]:
    """(folder laid out, branch pushed) by the workflow's publishing steps."""
    runs = [step.get("run", "") for step in _steps()]
    layout = next(re.search(r"editions\.py branch (\S+)", r) for r in runs if "editions.py branch" in r)
    push = next(re.search(r"publish_notebooks\.sh (\S+) (\S+)", r) for r in runs if "publish_notebooks" in r)
    assert layout.group(1) == push.group(1), "the workflow publishes another folder than it lays out"
    return layout.group(1), push.group(2)


@needs_build
@pytest.mark.parametrize("docname", PAGES)
def test_launch_and_download_links_open_the_edition_of_the_page(docname, tmp_path):
    where = descent_config.from_config_yml()
    _, branch = _published_branch()
    editions.lay_out_branch(BUILD, tmp_path, ROOT)
    edition = edition_path(docname).read_bytes()
    soup = site_page(docname)

    binder = soup.select_one('a[href*="mybinder.org"]')["href"]
    parts = urlsplit(binder)
    assert parts.path == f"/v2/gh/{where.owner}/{where.name}/{branch}"
    path = parse_qs(parts.query)["urlpath"][0].removeprefix("lab/tree/")
    assert (tmp_path / path).read_bytes() == edition

    colab = soup.select_one('a[href*="colab.research.google.com"]')["href"]
    prefix = f"https://colab.research.google.com/github/{where.owner}/{where.name}/blob/{branch}/"
    assert colab.startswith(prefix) and (tmp_path / colab.removeprefix(prefix)).read_bytes() == edition

    download = soup.select_one("a.btn-download-source-button, a.btn-download-notebook-button")["href"]
    page_url = f"http://site/{docname}.html"
    local = urlsplit(urljoin(page_url, download)).path.removeprefix("/")
    assert local.endswith(".ipynb") and (HTML / local).read_bytes() == edition


def test_the_branch_the_buttons_open_is_the_one_the_workflow_publishes():
    _, branch = _published_branch()
    assert CONFIG["repository"]["branch"] == branch
    assert CONFIG["repository"].get("path_to_book", "") == ""
    # the theme would point these at the generated branch too: they must stay off
    html = CONFIG.get("html") or {}
    assert not html.get("use_edit_page_button") and not html.get("use_source_button")


def test_the_workflow_builds_with_the_readme_command_and_publishes_site_and_editions():
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    runs = [step.get("run", "") for step in _steps()]
    uses = {step.get("uses", "").split("@")[0]: step for step in _steps()}
    build = next(r for r in runs if r.startswith("make "))
    assert build == "make book" and "make book" in quick_start
    assert uses["actions/upload-pages-artifact"]["with"]["path"] == "_build/html"
    assert "actions/deploy-pages" in uses
    folder, _ = _published_branch()
    assert folder.startswith("_build/notebooks/")
    python = uses["actions/setup-python"]["with"]["python-version"]
    assert (ROOT / ".binder" / "runtime.txt").read_text().strip() == f"python-{python}"
    permissions = _workflow()["permissions"]
    assert permissions["contents"] == "write" and permissions["pages"] == "write"
    assert (ROOT / "book" / "_ext" / "publish_notebooks.sh").is_file()


def test_the_workflow_is_valid():
    jsonschema_cli = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    if jsonschema_cli is None:
        pytest.skip("check-jsonschema is not installed: pip install -r tests/requirements.txt")
    result = subprocess.run([jsonschema_cli, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def test_publishing_commits_only_when_an_edition_changed(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    remote, work, branch_dir = tmp_path / "remote.git", tmp_path / "work", tmp_path / "branch"
    _git("init", "--quiet", "--bare", str(remote), cwd=tmp_path)
    _git("clone", "--quiet", str(remote), str(work), cwd=tmp_path)
    env_id = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    _git(*env_id, "commit", "--quiet", "--allow-empty", "-m", "main", cwd=work)
    (branch_dir / "book").mkdir(parents=True)
    (branch_dir / "book" / "ch.ipynb").write_text("{}\n")
    script = str(ROOT / "book" / "_ext" / "publish_notebooks.sh")

    def publish() -> str:
        subprocess.run(["bash", script, str(branch_dir), "notebooks"], cwd=work, check=True,
                       capture_output=True, text=True)
        return _git("rev-parse", "notebooks", cwd=remote)

    first = publish()
    assert _git("ls-tree", "-r", "--name-only", "notebooks", cwd=remote) == "book/ch.ipynb"
    assert publish() == first, "an unchanged rebuild made a commit"
    (branch_dir / "book" / "ch.ipynb").write_text('{"changed": true}\n')
    second = publish()
    assert second != first and _git("rev-parse", "notebooks^", cwd=remote) == first
