"""The Jupyter editions of the chapters (book/_ext/editions.py) and how learners reach them.

Checks the editions that ``make book`` wrote into ``_build/notebooks`` against the built site
(skips without a build): no MyST-only syntax, the site's numbers where the placeholders were, no
solution text in the student edition, byte-identical on a rebuild; the built pages' Binder, Colab
and download links open the full edition of their page; the Book workflow is valid and does
what the README says; bad input stops the converter with the page and line.
"""

from __future__ import annotations

import functools
import json
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
import editions  # noqa: E402

#: The build to check (`make book` writes _build; DESCENT_BUILD_DIR names another, e.g. one made
#: with `jupyter-book build --path-output DIR`, then `editions.py --build-dir DIR/_build`).
BUILD = Path(os.environ.get("DESCENT_BUILD_DIR", ROOT / "_build"))
HTML = BUILD / "html"
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
PAGES = editions.notebook_pages(ROOT)

#: MyST that plain Jupyter cannot render.
MYST_ONLY = re.compile(
    r"\{glue|\{prf:|\{(?:numref|ref|eq|doc|cite(?::\w+)?)\}`|^\s*(?:`{3,}|:{3,})\{|solution-start"
    r"|solution-end|^\([\w-]+\)=\s*$",
    re.M,
)
PLACEHOLDER = re.compile(r"\{glue(?::text)?\}`[^`]+`")
UNESCAPE = re.compile(r"\\([\\`*_\[\]<>|$])")

needs_build = pytest.mark.skipif(
    not (BUILD / "notebooks" / "full").is_dir(),
    reason="no editions in _build/notebooks: run `make book` first",
)


def edition_path(docname: str, edition: str = "full") -> Path:
    return BUILD / "notebooks" / edition / f"{editions.edition_name(docname, ROOT)}.ipynb"


@functools.cache
def site_page(docname: str) -> BeautifulSoup:
    return BeautifulSoup((HTML / f"{docname}.html").read_text(encoding="utf-8"), "html.parser")


def markdown_text(notebook: nbformat.NotebookNode) -> str:
    return "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


# ------------------------------------------------------------------------------------------
# The editions
# ------------------------------------------------------------------------------------------


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
def test_no_myst_only_syntax(docname):
    for edition in editions.EDITIONS:
        notebook = nbformat.read(edition_path(docname, edition), as_version=4)
        nbformat.validate(notebook)
        for index, cell in enumerate(notebook.cells):
            found = MYST_ONLY.search(cell.source)
            assert found is None, f"{edition} cell {index}: {found.group(0)!r} in {cell.source[:200]!r}"


def _solution_sources(source: nbformat.NotebookNode) -> list[str]:
    """The text of every solution in a source notebook: bodies of ``{solution}`` fences and the
    cells between ``solution-start`` and ``solution-end``."""
    found: list[str] = []
    inside = False
    for cell in source.cells:
        text = cell.source
        if inside:
            found.append(text.split("{solution-end}")[0])
        if "{solution-start}" in text:
            found.append(text.split("{solution-start}", 1)[1].split("```", 1)[1])
            inside = True
        if "{solution-end}" in text:
            inside = False
        found += re.findall(r"^(`{3,}|:{3,})\{solution\}.*?\n(.*?)^\1\s*$", text, re.S | re.M)
    return [body if isinstance(body, str) else body[1] for body in found]


@needs_build
@pytest.mark.parametrize("docname", PAGES)
def test_student_edition_has_no_solution_text(docname):
    source = nbformat.read(ROOT / f"{docname}.ipynb", as_version=4)
    full = nbformat.read(edition_path(docname, "full"), as_version=4)
    student = nbformat.read(edition_path(docname, "student"), as_version=4)
    full_text = "\n".join(cell.source for cell in full.cells)
    student_text = "\n".join(cell.source for cell in student.cells)
    lines = [line.strip() for body in _solution_sources(source) for line in body.split("\n")
             if len(line.strip()) > 25 and not re.search(r"[{}\[\]`:]", line)]
    solutions = len(re.findall(r"\{solution(?:-start)?\}", "\n".join(c.source for c in source.cells)))
    headings = [c for c in full.cells if c.cell_type == "markdown" and c.source.startswith("#")
                and "Solution to" in c.source]
    assert len(headings) == solutions
    assert all(c.metadata.get("jp-MarkdownHeadingCollapsed") for c in headings)
    assert sorted(full.metadata["colab"]["collapsed_sections"]) == sorted(c.metadata["id"] for c in headings)
    if solutions:
        assert lines, "found no solution text to look for"
    for line in lines:
        assert line in full_text, f"the full edition lacks the solution line {line!r}"
        assert line not in student_text, f"the student edition shows the solution line {line!r}"
    assert "Solution to" not in student_text
    exercises = len(re.findall(r"\{exercise\}", "\n".join(c.source for c in source.cells)))
    assert len(re.findall(r"^#+ Exercise \d", student_text, re.M)) == exercises


@needs_build
@pytest.mark.parametrize("docname", PAGES)
def test_numbers_are_the_sites_and_stand_where_their_placeholders_were(docname):
    """Each glued value the site shows (its ``pasted-text``) appears in the full edition
    followed by the source text that follows its placeholder, in page order."""
    soup = site_page(docname)
    shown = [span.get_text() for span in soup.find("article").select("span.pasted-text")]
    source = nbformat.read(ROOT / f"{docname}.ipynb", as_version=4)
    texts = []
    for cell in source.cells:
        if cell.cell_type == "markdown":
            texts.append(cell.source)
        caption = ((cell.metadata.get("mystnb") or {}).get("figure") or {}).get("caption")
        if caption:
            texts.append(str(caption))
    placeholders = [(m, text) for text in texts for m in PLACEHOLDER.finditer(text)]
    assert len(shown) == len(placeholders), "the site shows another number of glued values"
    edition = UNESCAPE.sub(r"\1", markdown_text(nbformat.read(edition_path(docname), as_version=4)))
    at = 0
    for (match, text), value in zip(placeholders, shown, strict=True):
        after = re.match(r"[^{`$\[\]*_\\<>\n|]{0,15}", text[match.end():]).group(0)
        found = edition.find(value + after, at)
        assert found >= 0, f"{match.group(0)} = {value!r} followed by {after!r} is not in the edition"
        at = found + len(value)


@needs_build
@pytest.mark.parametrize("docname", PAGES)
def test_theorems_and_exercises_are_numbered_as_on_the_site(docname):
    soup = site_page(docname)
    article = soup.find("article")
    numbers = [" ".join(span.get_text().split()) for span in article.select(
        "div.proof span.caption-number, div.exercise span.caption-number")]
    edition = markdown_text(nbformat.read(edition_path(docname), as_version=4))
    kinds = "|".join(kind.capitalize() for kind in editions.PROOF_TYPES)
    shown = re.findall(rf"\*\*((?:{kinds}) [\d.]+)\*\*|^#+ (Exercise [\d.]+)", edition, re.M)
    assert [a or b for a, b in shown] == numbers


@needs_build
@pytest.mark.parametrize("docname", PAGES)
def test_citations_and_references_read_as_on_the_site_and_link_to_it(docname):
    article = site_page(docname).find("article")
    edition = markdown_text(nbformat.read(edition_path(docname), as_version=4))
    link = re.compile(r"\[((?:\\.|[^\]\\])*)\]\(([^)\s]+)\)")  # link text may hold \[ \]
    links = [(UNESCAPE.sub(r"\1", text), url) for text, url in link.findall(edition)]
    plain = UNESCAPE.sub(r"\1", re.sub(r"(?<!\\)\*", "", link.sub(r"\1", edition)))  # no emphasis
    for span in article.select("span.bibtex-citation"):
        text = " ".join(span.get_text().split())
        assert text in plain, f"the citation {text!r} is not in the edition"
        for a in span.find_all("a"):
            target = urljoin(editions.site_url(ROOT) + f"{docname}.html", a["href"])
            assert (" ".join(a.get_text().split()), target) in [(t.replace("*", ""), u) for t, u in links]
    source = "\n".join(c.source for c in nbformat.read(ROOT / f"{docname}.ipynb", as_version=4).cells)
    roles = len(re.findall(r"\{(?:prf:ref|ref|numref|eq|doc)\}`", source))
    site = editions.site_url(ROOT)
    assert sum(url.startswith(site) for _, url in links) >= roles


@needs_build
@pytest.mark.parametrize("docname", PAGES)
def test_check_cells_and_the_install_cell_are_kept_but_collapsed(docname):
    source = nbformat.read(ROOT / f"{docname}.ipynb", as_version=4)
    full = nbformat.read(edition_path(docname), as_version=4)
    code = [c for c in full.cells if c.cell_type == "code"]
    source_code = [c.source for c in source.cells if c.cell_type == "code"]
    if code:  # Colab fetches only the notebook: a page with code starts by installing the package,
        # with the edition's setup cell, which says what to do where it cannot install
        assert code[0].source == editions.setup_cell(source_code[0], docname, ROOT)
        assert "pip" in code[0].source and code[0].metadata["jupyter"]["source_hidden"]
    assert [c.source for c in code[1:]] == source_code[1:]
    only_checks = [c for c in code if re.fullmatch(r"(\s*(glue\(.*\)|assert .*)\s*)+", c.source)]
    assert all(c.metadata.get("jupyter", {}).get("source_hidden") for c in only_checks)
    assert not any(c.get("outputs") for c in code), "editions are stored without outputs"


@needs_build
@pytest.mark.parametrize("docname", PAGES)
def test_a_rebuild_writes_the_same_bytes(docname):
    texts = editions.convert_page(docname, BUILD, ROOT)
    for edition, text in texts.items():
        assert edition_path(docname, edition).read_text(encoding="utf-8") == text


def test_an_unchanged_edition_is_not_rewritten(tmp_path):
    path = tmp_path / "a.ipynb"
    assert editions.write_if_changed(path, "{}\n")
    before = path.stat().st_mtime_ns
    assert not editions.write_if_changed(path, "{}\n")
    assert path.stat().st_mtime_ns == before
    assert editions.write_if_changed(path, "{\n}\n")


# ------------------------------------------------------------------------------------------
# Bad input stops the converter, naming the page and line
# ------------------------------------------------------------------------------------------


def _tiny_book(tmp_path: Path, markdown: str, glued: dict[str, float]) -> Path:
    """A one-page book and a fake build of it (executed notebook, glue values, HTML)."""
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/page\n")
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/someone/course\n")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell(markdown)]
    nbformat.write(notebook, tmp_path / "book" / "page.ipynb")
    build = tmp_path / "_build"
    (build / "jupyter_execute" / "book").mkdir(parents=True)
    (build / "html" / "book").mkdir(parents=True)
    nbformat.write(notebook, build / "jupyter_execute" / "book" / "page.ipynb")
    (build / "jupyter_execute" / "book" / "page.glue.json").write_text(json.dumps(
        {name: {"output_type": "display_data", "metadata": {"scrapbook": {"name": name}},
                "data": {"text/plain": repr(value)}} for name, value in glued.items()}))
    (build / "html" / "book" / "page.html").write_text("<html><article><p>page</p></article></html>")
    return tmp_path


def test_a_glue_name_no_cell_defines_stops_the_build_with_page_and_line(tmp_path):
    markdown = "# Page\n\nFine: {glue:text}`a:.2f`.\nBroken: {glue:text}`b:.2f`."
    root = _tiny_book(tmp_path, markdown, {"a": 1.5})
    with pytest.raises(editions.EditionError, match=r"book/page\.ipynb, cell 2, line 4: glue name 'b'"):
        editions.build_editions(root / "_build", root)
    assert not (root / "_build" / "notebooks" / "full" / "page.ipynb").exists()


def test_an_unknown_directive_stops_the_build_with_page_and_line(tmp_path):
    root = _tiny_book(tmp_path, "# Page\n\nText.\n\n```{mystery} arg\nbody\n```\n", {})
    with pytest.raises(editions.EditionError, match=r"page\.ipynb, cell 2, line 5: directive \{mystery\}"):
        editions.build_editions(root / "_build", root)


def test_an_unknown_role_stops_the_build(tmp_path):
    root = _tiny_book(tmp_path, "# Page\n\nSee {mystery}`x`.", {})
    with pytest.raises(editions.EditionError, match=r"line 3: role \{mystery\}"):
        editions.build_editions(root / "_build", root)


def test_the_script_exits_non_zero_with_the_message(tmp_path):
    _tiny_book(tmp_path, "# Page\n\n{glue:text}`missing`", {})
    script = tmp_path / "book" / "_ext" / "editions.py"
    script.parent.mkdir()
    shutil.copyfile(ROOT / "book" / "_ext" / "editions.py", script)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "book/page.ipynb, cell 2, line 3: glue name 'missing'" in result.stderr


def test_a_tiny_page_converts_glue_and_math(tmp_path):
    markdown = "# Page\n\nIt is {glue:text}`a:.3f` and $x_1$ (see [p](page.ipynb))."
    root = _tiny_book(tmp_path, markdown, {"a": 2.0})
    editions.build_editions(root / "_build", root)
    notebook = nbformat.read(root / "_build" / "notebooks" / "full" / "page.ipynb", as_version=4)
    assert notebook.cells[1].source == ("# Page\n\nIt is 2.000 and $x_1$ (see "
                                        "[p](https://someone.github.io/course/book/page.html)).")


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
    owner, repo = urlsplit(CONFIG["repository"]["url"]).path.strip("/").split("/")[:2]
    _, branch = _published_branch()
    editions.lay_out_branch(BUILD, tmp_path, ROOT)
    edition = edition_path(docname).read_bytes()
    soup = site_page(docname)

    binder = soup.select_one('a[href*="mybinder.org"]')["href"]
    parts = urlsplit(binder)
    assert parts.path == f"/v2/gh/{owner}/{repo}/{branch}"
    path = parse_qs(parts.query)["urlpath"][0].removeprefix("lab/tree/")
    assert (tmp_path / path).read_bytes() == edition

    colab = soup.select_one('a[href*="colab.research.google.com"]')["href"]
    prefix = f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/"
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
