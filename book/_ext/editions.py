"""Plain-Jupyter editions of the chapters, for Jupyter, JupyterLab, Colab and Binder.

The chapters are written for the Sphinx build: ``{glue:text}`` placeholders, ``{prf:theorem}``
and ``{exercise}`` fences, ``{prf:ref}`` roles. Opened as they are in Jupyter they read badly.
After ``jupyter-book build``, this script writes two editions of every notebook page of
``_toc.yml``:

* ``_build/notebooks/full/<page>.ipynb``: every glued value replaced by the value the build
  computed (formatted as the site formats it), every directive turned into Markdown that Jupyter
  renders (numbered as on the site), every cross-reference and citation as the site's text with
  a link to the site page, solutions under their own "Solution" headings that open collapsed,
  and the cells that only glue or assert (and the install cell) collapsed;
* ``_build/notebooks/student/<page>.ipynb``: the same without the solutions.

Numbers (theorems, exercises, equations, sections) and cross-reference texts are read from the
built HTML pages, glued values from the executed notebooks in ``_build/jupyter_execute``. A glue
name no cell defines, a role or directive the converter does not know, or a build older than
its source stops the script with the page and line. So does text after a solution that does not
start with a heading (an exercise is one): in Jupyter the folded solution would hide it. An
edition is rewritten only when its content changes.

    python book/_ext/editions.py                       # after jupyter-book build (make book does both)
    python book/_ext/editions.py --build-dir /tmp/x/_build
    python book/_ext/editions.py branch DIR            # lay out the `notebooks` branch in DIR
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import nbformat
import yaml
from bs4 import BeautifulSoup, NavigableString, Tag
from myst_nb.core.variables import format_plain_text

ROOT = Path(__file__).resolve().parents[2]
EDITIONS = ("full", "student")
#: What the `notebooks` branch holds besides the full editions: what Binder needs to build.
BRANCH_FILES = (".binder", "requirements.txt", "pyproject.toml", "lessons_src", "LICENSE",
                "LICENSE-CONTENT")

PROOF_TYPES = {
    "algorithm", "assumption", "axiom", "conjecture", "corollary", "criterion", "definition",
    "example", "lemma", "notation", "observation", "problem", "property", "proposition",
    "remark", "theorem",
}
ADMONITIONS = {
    "attention", "caution", "danger", "error", "hint", "important", "note", "seealso", "tip",
    "warning", "admonition", "margin", "sidebar", "topic", "dropdown",
}
CODE_DIRECTIVES = {"code", "code-block", "sourcecode"}
REF_ROLES = {"ref", "numref", "prf:ref", "eq", "doc", "term", "any", "std:ref", "std:doc"}
CITE_ROLE = re.compile(r"^(cite|footcite)(:[a-z]+)?$")

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})(?P<rest>.*)$")
INLINE = re.compile(
    r"(?P<role>\{(?P<name>[A-Za-z][\w:.+-]*)\}(?P<ticks>`+)(?P<content>.+?)(?P=ticks))"
    r"|(?P<code>(?P<cticks>`+).+?(?P=cticks))"
    r"|(?P<link>(?P<bang>!?)\[(?P<ltext>[^\]\n]*)\]\((?P<target>[^)\s]+)(?P<ltitle>\s+\"[^\"]*\")?\))",
    re.S,
)
LABELLED_MATH = re.compile(r"\$\$(?P<body>.+?)\$\$[ \t]*\((?P<label>[^)\s]+)\)[ \t]*$", re.S | re.M)
TARGET_LINE = re.compile(r"^\s*\([^()\s]+\)=\s*$")
HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<text>.*)$")
EXPLICIT = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|$])")


class EditionError(Exception):
    """A page cannot be turned into a plain notebook; the message names the page and line."""


# --------------------------------------------------------------------------------------------
# The book: its pages, its site address, its build
# --------------------------------------------------------------------------------------------


def notebook_pages(root: Path = ROOT) -> list[str]:
    """Docnames (``book/ch05_momentum``) of every ``.ipynb`` page of ``_toc.yml``, nested ones too."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    files.append(node[key])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(toc)
    docnames = [re.sub(r"\.(ipynb|md)$", "", name) for name in files]
    return [name for name in docnames if (root / f"{name}.ipynb").is_file()]


def book_dir(root: Path = ROOT) -> str:
    """The folder of the root page (``book``): edition paths are relative to it."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    return Path(toc["root"]).parent.as_posix()


def edition_name(docname: str, root: Path = ROOT) -> str:
    """``book/ch05_momentum`` -> ``ch05_momentum``: the page's path below the book's folder."""
    folder = book_dir(root)
    if folder not in ("", ".") and docname.startswith(folder + "/"):
        return docname[len(folder) + 1:]
    return docname


def site_url(root: Path = ROOT) -> str:
    """Where the website lives: ``descent_site_url`` (Sphinx config, as descent_editions.py reads
    it) or ``html.baseurl`` of ``_config.yml``, else the repository's GitHub Pages address
    (``https://<owner>.github.io/<repo>/``), where the Book workflow publishes it."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    sphinx_config = (config.get("sphinx") or {}).get("config") or {}
    base = sphinx_config.get("descent_site_url") or (config.get("html") or {}).get("baseurl")
    if base:
        return base.rstrip("/") + "/"
    url = (config.get("repository") or {}).get("url", "")
    match = re.match(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$", url)
    if not match:
        raise EditionError(f"_config.yml: set html.baseurl (repository.url {url!r} is not on GitHub)")
    owner, repo = match.groups()
    return f"https://{owner.lower()}.github.io/{repo}/"


def binder_url(docname: str, root: Path = ROOT) -> str:
    """The Binder address that opens this chapter's edition (the launch button's address)."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    repository = config.get("repository") or {}
    hub = ((config.get("launch_buttons") or {}).get("binderhub_url") or "https://mybinder.org").rstrip("/")
    match = re.match(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$", repository.get("url", ""))
    if not match:
        return hub
    owner, repo = match.groups()
    return f"{hub}/v2/gh/{owner}/{repo}/{repository.get('branch', 'main')}?labpath={docname}.ipynb"


#: The setup cell of every edition: the notebook's own install cell made safe for the learner's
#: first minute. Where lessons_src is importable it does nothing; where it cannot be installed
#: (offline, no git, no pip) it prints one line saying what to do, instead of a git error.
SETUP_CELL = """\
# Setup: Colab and a plain Jupyter fetch only this notebook, so install the course's package,
# lessons_src, when it is missing (like `pip install "lessons_src @ git+{url}"`).
try:
    import lessons_src  # noqa: F401
except ImportError:
    import importlib
    import shutil
    import subprocess
    import sys

    _problem = None
    if shutil.which("git") is None:
        _problem = "git is not installed"
    else:
        _pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                               "lessons_src @ git+{url}"], capture_output=True, text=True)
        if "No module named pip" in _pip.stderr:
            _problem = "pip is not available"
        elif _pip.returncode != 0:
            _problem = "pip could not download it (offline?)"
    if _problem is None:
        importlib.invalidate_caches()
        try:
            from google.colab import output

            output.enable_custom_widget_manager()  # ipywidgets 8 sliders in Colab
        except ImportError:
            pass
    else:
        print(f"The course's package lessons_src is not installed and cannot be installed here "
              f"({{_problem}}): in a clone of the repository run `pip install -r requirements.txt`, "
              f"or open this notebook in Binder: {binder}")
"""


def setup_cell(source: str, docname: str, root: Path = ROOT) -> str:
    """The edition's setup cell for a notebook whose first cell installs from ``git+URL``."""
    match = re.search(r"git\+(https://[^\s\"']+)", source)
    if not match:
        return source
    return SETUP_CELL.format(url=match.group(1), binder=binder_url(docname, root))


# --------------------------------------------------------------------------------------------
# What the build computed: glued values and the rendered pages
# --------------------------------------------------------------------------------------------


def load_glue(build_dir: Path, docname: str) -> dict[str, dict]:
    """The glued outputs of a page, by name: myst-nb moves them out of the executed notebook
    into ``<page>.glue.json`` next to it."""
    executed = build_dir / "jupyter_execute" / f"{docname}.ipynb"
    stored = executed.with_name(executed.stem + ".glue.json")
    found = json.loads(stored.read_text(encoding="utf-8")) if stored.is_file() else {}
    if executed.is_file():
        found |= glue_outputs(nbformat.read(executed, as_version=4))
    return found


def glue_outputs(notebook: nbformat.NotebookNode) -> dict[str, dict]:
    """The glued outputs left in an executed notebook, by name."""
    found: dict[str, dict] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None:
                found[name] = output
    return found


def is_glue_output(output: dict) -> bool:
    return "scrapbook" in output.get("metadata", {})


def _html_inline(node: Tag | NavigableString, base: str) -> str:
    """Markdown for rendered inline HTML: math back to ``$…$``, links made absolute."""
    if isinstance(node, NavigableString):
        return MARKDOWN_SPECIAL.sub(r"\\\1", str(node))
    classes = node.get("class") or []
    if "math" in classes:
        text = node.get_text()
        return "$" + re.sub(r"^\\\(|\\\)$", "", text).strip() + "$"
    if "headerlink" in classes:
        return ""
    inner = "".join(_html_inline(child, base) for child in node.children)
    if node.name == "a" and node.get("href"):
        return f"[{inner.strip()}]({urljoin(base, node['href'])})"
    if node.name == "code":
        return "`" + node.get_text() + "`"
    if node.name in ("em", "i"):
        return f"*{inner}*"
    if node.name in ("strong", "b"):
        return f"**{inner}**"
    return inner


def _fragment(href: str) -> str:
    return urlsplit(href).fragment.lower()


class RenderedPage:
    """The built HTML of one page: numbers, cross-reference texts and citations, in page order."""

    def __init__(self, path: Path, url: str) -> None:
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        self.url = url
        self.article = soup.find("article") or soup
        self.links = [a for a in self.article.find_all("a", href=True)
                      if "reference" in (a.get("class") or []) and "headerlink" not in a["class"]]
        self.cites = self.article.select("span.bibtex-citation")
        self.headings = [h for h in self.article.find_all(["h1", "h2", "h3", "h4", "h5", "h6"])
                         if h.parent is not None and h.parent.name == "section"]
        self._link_at = 0
        self._cite_at = 0
        self._heading_at = 0
        self._block_at: dict[str, int] = {}
        self._figure_at = 0
        self._table_at = 0

    def absolute(self, href: str) -> str:
        return urljoin(self.url, href)

    def link(self, matches: Callable[[Tag], bool]) -> Tag | None:
        """The next rendered link that ``matches``, in page order (else any that matches)."""
        for i in range(self._link_at, len(self.links)):
            if matches(self.links[i]):
                self._link_at = i + 1
                return self.links[i]
        return next((a for a in self.links if matches(a)), None)

    def cite(self) -> Tag | None:
        if self._cite_at >= len(self.cites):
            return None
        self._cite_at += 1
        return self.cites[self._cite_at - 1]

    def heading_number(self, level: int) -> str:
        """The section number the site gives the next heading (``5.6.1. ``), or ''."""
        for i in range(self._heading_at, len(self.headings)):
            if self.headings[i].name == f"h{level}":
                self._heading_at = i + 1
                number = self.headings[i].find("span", class_="section-number")
                return number.get_text() if number else ""
        return ""

    def block(self, kind: str, label: str | None, where: str) -> Tag:
        """The rendered admonition of a directive (``theorem``, ``exercise``, ``solution``)."""
        selector = "div.exercise" if kind == "exercise" else \
            "div.solution" if kind == "solution" else f"div.proof.{kind}"
        blocks = self.article.select(selector)
        start = self._block_at.get(kind, 0)
        index = None
        if label is not None and kind != "solution":
            index = next((i for i, b in enumerate(blocks) if (b.get("id") or "").lower() == label.lower()),
                         None)
        elif start < len(blocks):
            index = start
        if index is None:
            raise EditionError(f"{where}: no rendered {kind} {label or ''} in {self.url}: "
                               "is the build older than the page? (make book)")
        self._block_at[kind] = index + 1
        return blocks[index]

    def cell_figure(self, name: str | None, where: str) -> Tag:
        """The rendered figure of a code cell whose metadata gives it a caption."""
        figures = [f for f in self.article.find_all("figure") if f.find_parent("div", class_="cell")]
        if name:
            found = self.article.find(id=name)
            if found is not None:
                self._figure_at = figures.index(found) + 1 if found in figures else self._figure_at
                return found
        elif self._figure_at < len(figures):
            self._figure_at += 1
            return figures[self._figure_at - 1]
        raise EditionError(f"{where}: the site has no captioned figure for this cell")

    def captioned_table(self, name: str | None) -> Tag | None:
        """The rendered table of a ``{table}`` with a caption: by its name, else the next one."""
        tables = [t for t in self.article.find_all("table") if t.find("caption")]
        found = self.article.find(id=name) if name else None
        if found is None and self._table_at < len(tables):
            found = tables[self._table_at]
        if found in tables:
            self._table_at = tables.index(found) + 1
        return found

    def equation_number(self, label: str, where: str) -> str:
        target = self.article.find(id=f"equation-{label}")
        number = target.find("span", class_="eqno") if target else None
        if number is None:
            raise EditionError(f"{where}: equation {label!r} has no number on the site")
        return re.sub(r"[()\s#]", "", number.get_text())


def proof(text: str) -> str:
    """*Proof.* run into the first paragraph and ∎ at the end of the last, as in print."""
    text = text.strip("\n")
    block_start = re.compile(r"^\s*(\$\$|[-*+] |\d+[.)] |#|`{3,}|<|\||>)")
    text = f"*Proof.* {text}" if text and not block_start.match(text) else f"*Proof.*\n\n{text}"
    last = text.rstrip().split("\n")[-1]
    ends_in_block = last.rstrip().endswith(("$$", "```", ">")) or last.startswith("|")
    return text.rstrip() + ("\n\n∎" if ends_in_block else " ∎")


def caption_number(block: Tag, fallback: str) -> str:
    number = block.find("span", class_="caption-number")
    return number.get_text().strip() if number else fallback


# --------------------------------------------------------------------------------------------
# MyST blocks
# --------------------------------------------------------------------------------------------


@dataclass
class Directive:
    name: str
    argument: str
    options: dict[str, str]
    body: list[str]
    line: int  # 1-based line of the opening fence within the cell
    body_line: int  # 1-based line of the first body line


@dataclass
class Fence:
    lines: list[str]


@dataclass
class Text:
    lines: list[str]
    line: int


Block = Directive | Fence | Text


def _closing(lines: list[str], start: int, fence: str) -> int:
    char = fence[0]
    pattern = re.compile(r"^ {0,3}" + re.escape(char) + "{" + str(len(fence)) + r",}\s*$")
    for j in range(start, len(lines)):
        if pattern.match(lines[j]):
            return j
    return -1


def _split_options(body: list[str]) -> tuple[dict[str, str], list[str], int]:
    """Directive options (``:key: value`` lines or a ``---`` YAML block) and the content."""
    options: dict[str, str] = {}
    i = 0
    if body and body[0].strip() == "---":
        end = next((j for j in range(1, len(body)) if body[j].strip() == "---"), None)
        if end is not None:
            loaded = yaml.safe_load("\n".join(body[1:end])) or {}
            options = {str(k): "" if v is None else str(v) for k, v in loaded.items()}
            i = end + 1
    else:
        while i < len(body):
            match = re.match(r"^:([\w-]+):\s*(.*)$", body[i])
            if not match:
                break
            options[match.group(1)] = match.group(2).strip()
            i += 1
    while i < len(body) and not body[i].strip():
        i += 1
    return options, body[i:], i


def parse_blocks(lines: list[str], first_line: int, where: Callable[[int], str]) -> list[Block]:
    """Split Markdown lines into text, plain code fences and directives (nested ones stay in
    their directive's body)."""
    blocks: list[Block] = []
    text: list[str] = []
    text_line = first_line
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            if not text:
                text_line = first_line + i
            text.append(lines[i])
            i += 1
            continue
        if text:
            blocks.append(Text(text, text_line))
            text = []
        fence, rest = match.group("fence"), match.group("rest").strip()
        end = _closing(lines, i + 1, fence)
        if end < 0:
            raise EditionError(f"{where(first_line + i)}: the fence {fence} is never closed")
        directive = re.match(r"^\{([^}\s]+)\}\s*(.*)$", rest)
        if directive:
            options, body, skipped = _split_options(lines[i + 1:end])
            blocks.append(Directive(directive.group(1), directive.group(2).strip(), options, body,
                                    first_line + i, first_line + i + 1 + skipped))
        elif fence.startswith(":"):
            raise EditionError(f"{where(first_line + i)}: a ::: fence without a {{directive}}")
        else:
            blocks.append(Fence(lines[i:end + 1]))
        i = end + 1
    if text:
        blocks.append(Text(text, text_line))
    return blocks


# --------------------------------------------------------------------------------------------
# The converter
# --------------------------------------------------------------------------------------------


@dataclass
class OutCell:
    kind: str  # "markdown" or "code"
    source: str
    solution: bool = False
    heading_collapsed: bool = False
    source_hidden: bool = False
    tags: list[str] = field(default_factory=list)


class PageConverter:
    """Turns one source notebook into its full edition (as a list of cells)."""

    def __init__(self, docname: str, source: nbformat.NotebookNode, executed: nbformat.NotebookNode,
                 page: RenderedPage, root: Path, html_dir: Path, glue: dict[str, dict],
                 glue_of: Callable[[str], dict]) -> None:
        self.docname = docname
        self.source = source
        self.executed = executed
        self.page = page
        self.root = root
        self.html_dir = html_dir
        self.glue = glue
        self.glue_of = glue_of
        self.cells: list[OutCell] = []
        self.buffer: list[str] = []
        self.in_solution: str | None = None
        self.section_level = 1
        self.cell_index = 0
        self.after_solution: str | None = None  # "level:title" of the solution just closed
        self.solution_heading = ""

    # -- locations -------------------------------------------------------------------------
    def where(self, line: int) -> str:
        return f"{self.docname}.ipynb, cell {self.cell_index + 1}, line {line}"

    # -- output ----------------------------------------------------------------------------
    def write(self, text: str) -> None:
        self.buffer.append(text)

    def flush(self) -> None:
        text = "\n".join(self.buffer).strip("\n")
        self.buffer = []
        text = re.sub(r"\n{3,}", "\n\n", text)
        if text.strip():
            self._check_after_solution(text)
            self.cells.append(OutCell("markdown", text, solution=self.in_solution is not None))

    def _check_after_solution(self, text: str) -> None:
        """A collapsed solution heading hides everything up to the next heading of its level or
        above: what follows a solution must start with such a heading."""
        if self.after_solution is None or self.in_solution is not None:
            return
        match = HEADING.match(text.lstrip("\n").split("\n", 1)[0])
        level = int(self.after_solution.split(":")[0])
        if not match or len(match.group("hashes")) > level:
            raise EditionError(f"{self.where(1)}: text follows the solution "
                               f"({self.after_solution.split(':', 1)[1]}) without a heading; in "
                               "Jupyter the collapsed solution would hide it (start it with a heading)")
        self.after_solution = None

    def heading_cell(self, text: str, solution: bool, collapsed: bool) -> None:
        self.flush()
        if not solution:
            self._check_after_solution(text)
        self.cells.append(OutCell("markdown", text, solution=solution, heading_collapsed=collapsed))

    # -- the page --------------------------------------------------------------------------
    def convert(self) -> list[OutCell]:
        if len(self.executed.cells) != len(self.source.cells) or any(
                a.source != b.source for a, b in zip(self.executed.cells, self.source.cells, strict=True)):
            raise EditionError(f"{self.docname}.ipynb changed after the last build: build the book "
                               "first (make book)")
        for index, cell in enumerate(self.source.cells):
            self.cell_index = index
            if cell.cell_type == "markdown":
                self.markdown_cell(cell.source)
            elif cell.cell_type == "code":
                self.flush()
                self.code_cell(cell, self.executed.cells[index])
            # raw cells are for other outputs (LaTeX): left out
        self.flush()
        if self.in_solution is not None:
            raise EditionError(f"{self.docname}.ipynb: solution-start {self.in_solution} has no solution-end")
        return self.cells

    def code_cell(self, cell: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> None:
        tags = list(cell.metadata.get("tags", []))
        visible = [out for out in executed.get("outputs", []) if not is_glue_output(out)]
        checks = re.search(r"^\s*assert\b|\bglue\(", cell.source, re.M) is not None
        hidden = bool({"remove-cell", "hide-cell", "remove-input", "hide-input"} & set(tags)) or (
            checks and not visible)
        if self.after_solution is not None and self.in_solution is None:
            raise EditionError(f"{self.where(1)}: a code cell follows the solution "
                               f"({self.after_solution.split(':', 1)[1]}) without a heading")
        source = cell.source
        if self.cell_index == 0 and "remove-cell" in tags and "pip install" in source:
            source = setup_cell(source, self.docname, self.root)
        self.cells.append(OutCell("code", source, solution=self.in_solution is not None,
                                  source_hidden=hidden, tags=tags))
        figure = (cell.metadata.get("mystnb") or cell.metadata.get("myst") or {}).get("figure") or {}
        if figure.get("caption"):
            rendered = self.page.cell_figure(figure.get("name"), self.where(1))
            number = caption_number(rendered, "")
            caption = self.inline(str(figure["caption"]), 1)
            self.write(f"**{number}** {caption}" if number else caption)
            self.flush()

    def markdown_cell(self, text: str) -> None:
        lines = text.split("\n")
        for block in parse_blocks(lines, 1, self.where):
            self.top_block(block)
        self.flush()

    def top_block(self, block: Block) -> None:
        """A block at the top level of a cell: exercises and solutions get cells of their own."""
        if isinstance(block, Directive) and block.name == "exercise":
            self.flush()
            level = min(6, self.section_level + 1)
            self.write(f"{'#' * level} {self.exercise_title(block)}")
            self.write("")
            self.write(self.render_lines(block.body, block.body_line))
            self.flush()
        elif isinstance(block, Directive) and block.name == "solution":
            title = self.solution_title(block)
            level = min(6, self.section_level + 2)
            self.heading_cell(f"{'#' * level} {title}", solution=True, collapsed=True)
            self.in_solution = block.argument
            self.write(self.render_lines(block.body, block.body_line))
            self.flush()
            self.in_solution = None
            self.after_solution = f"{level}:{title}"
        elif isinstance(block, Directive) and block.name == "solution-start":
            if self.in_solution is not None:
                raise EditionError(f"{self.where(block.line)}: solution-start inside the solution to "
                                   f"{self.in_solution}")
            title = self.solution_title(block)
            level = min(6, self.section_level + 2)
            self.heading_cell(f"{'#' * level} {title}", solution=True, collapsed=True)
            self.in_solution = block.argument
            self.solution_heading = f"{level}:{title}"
        elif isinstance(block, Directive) and block.name == "solution-end":
            if self.in_solution is None:
                raise EditionError(f"{self.where(block.line)}: solution-end without solution-start")
            self.flush()
            self.in_solution = None
            self.after_solution = self.solution_heading
        elif isinstance(block, Text):
            for line in block.lines:
                match = HEADING.match(line)
                if match:
                    self.section_level = len(match.group("hashes"))
            self.write(self.render_text(block, top=True))
        else:
            self.write(self.render_block(block))

    # -- titles ----------------------------------------------------------------------------
    def exercise_title(self, block: Directive) -> str:
        rendered = self.page.block("exercise", block.options.get("label"), self.where(block.line))
        title = caption_number(rendered, "Exercise")
        if block.argument:
            title += f" ({self.inline(block.argument, block.line)})"
        return title

    def solution_title(self, block: Directive) -> str:
        rendered = self.page.block("solution", None, self.where(block.line))
        link = rendered.find("p", class_="admonition-title")
        target = link.find("a") if link else None
        if target is None or _fragment(target["href"]) != block.argument.lower():
            raise EditionError(f"{self.where(block.line)}: the site's solution here does not belong to "
                               f"{block.argument!r}: is the build older than the page? (make book)")
        return "Solution to " + " ".join(target.get_text().split())

    # -- rendering to Markdown ---------------------------------------------------------------
    def render_lines(self, lines: list[str], first_line: int) -> str:
        return "\n".join(self.render_block(b) for b in parse_blocks(lines, first_line, self.where))

    def render_block(self, block: Block) -> str:
        if isinstance(block, Text):
            return self.render_text(block)
        if isinstance(block, Fence):
            return "\n".join(block.lines)
        return self.render_directive(block)

    def render_text(self, block: Text, top: bool = False) -> str:
        """Markdown of a text block; ``top``: outside directives, where headings are sections
        (numbered as on the site)."""
        kept: list[str] = []
        in_math = False
        for line in block.lines:
            if line.strip().startswith("$$") or line.strip().endswith("$$"):
                if line.strip().count("$$") == 1:
                    in_math = not in_math
            if not in_math:
                if TARGET_LINE.match(line) or re.match(r"^%", line) or line.strip() == "+++":
                    continue
                heading = HEADING.match(line) if top else None
                if heading:
                    level = len(heading.group("hashes"))
                    number = self.page.heading_number(level)
                    line = f"{heading.group('hashes')} {number}{heading.group('text')}"
            kept.append(line)
        text = "\n".join(kept)
        text = LABELLED_MATH.sub(lambda m: self.labelled_math(m, block.line), text)
        return self.inline(text, block.line)

    def labelled_math(self, match: re.Match, line: int) -> str:
        number = self.page.equation_number(match.group("label"), self.where(line))
        body = match.group("body").rstrip()
        return f"$${body} \\tag{{{number}}}\n$$" if "\n" in body else f"$${body} \\tag{{{number}}}$$"

    def render_directive(self, block: Directive) -> str:
        name = block.name
        where = self.where(block.line)
        body = lambda: self.render_lines(block.body, block.body_line)  # noqa: E731
        if name.startswith("prf:"):
            kind = name.split(":", 1)[1]
            if kind == "proof":
                return proof(body())
            if kind not in PROOF_TYPES:
                raise EditionError(f"{where}: directive {{{name}}} is not known to the converter "
                                   "(book/_ext/editions.py)")
            rendered = self.page.block(kind, block.options.get("label"), where)
            title = f"**{caption_number(rendered, kind.capitalize())}**"
            if block.argument:
                title += f" ({self.inline(block.argument, block.line)})"
            return f"{title}\n\n{body()}"
        if name in ADMONITIONS:
            label = block.argument if name in ("admonition", "dropdown", "sidebar", "topic", "margin") \
                else name.capitalize() if name != "seealso" else "See also"
            label = self.inline(label, block.line) if label else name.capitalize()
            dropdown = name == "dropdown" or "dropdown" in block.options.get("class", "").split()
            if dropdown:
                return f"<details><summary>{label}</summary>\n\n{body()}\n\n</details>"
            return f"**{label}.**\n\n{body()}" if not label.endswith((".", "?", "!", ":")) \
                else f"**{label}**\n\n{body()}"
        if name in CODE_DIRECTIVES:
            return f"```{block.argument}\n" + "\n".join(block.body) + "\n```"
        if name == "math":
            text = "\n".join(block.body).strip()
            label = block.options.get("label") or block.options.get("name")
            tag = f" \\tag{{{self.page.equation_number(label, where)}}}" if label else ""
            return f"$$\n{text}{tag}\n$$"
        if name == "literalinclude":
            return self.literalinclude(block, where)
        if name in ("figure", "image"):
            return self.figure(block, where)
        if name in ("epigraph", "pull-quote", "highlights"):
            return "\n".join(f"> {line}".rstrip() for line in body().split("\n"))
        if name in ("table", "list-table"):
            return self.table(block, where, body)
        if name == "raw" and block.argument.strip() == "html":
            return "\n".join(block.body)
        if name in ("exercise", "solution", "solution-start", "solution-end"):
            raise EditionError(f"{where}: {{{name}}} must stand at the top level of a cell")
        raise EditionError(f"{where}: directive {{{name}}} is not known to the converter "
                           "(book/_ext/editions.py): teach it or use another directive")

    def table(self, block: Directive, where: str, body: Callable[[], str]) -> str:
        """A ``{table}`` (caption + Markdown table) or a ``{list-table}``, numbered as on the site."""
        if block.name == "list-table":
            rows = re.split(r"^\* - ", "\n".join(block.body), flags=re.M)[1:]
            cells = [[" ".join(c.split()) for c in re.split(r"^\s+- ", row, flags=re.M)] for row in rows]
            if not cells or len({len(r) for r in cells}) != 1:
                raise EditionError(f"{where}: list-table rows must be `* - a` / `  - b` items, "
                                   "all of one length")
            cells = [[self.inline(c, block.line) for c in row] for row in cells]
            header = int(block.options.get("header-rows", "0") or 0)
            head = cells[0] if header else [""] * len(cells[0])
            rest = cells[1:] if header else cells
            lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            text = "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rest])
        else:
            text = body()
        rendered = self.page.captioned_table(block.options.get("name")) if block.argument else None
        number = caption_number(rendered, "") if rendered is not None else ""
        caption = self.inline(block.argument, block.line) if block.argument else ""
        title = " ".join(part for part in (f"**{number}**" if number else "", caption) if part)
        return f"{title}\n\n{text}" if title else text

    def literalinclude(self, block: Directive, where: str) -> str:
        from sphinx.directives.code import LiteralInclude, LiteralIncludeReader

        page_dir = (self.root / self.docname).parent
        path = (self.root / block.argument.lstrip("/")) if block.argument.startswith("/") \
            else page_dir / block.argument
        if not path.is_file():
            raise EditionError(f"{where}: literalinclude: no file {path}")

        class _Config:
            source_encoding = "utf-8-sig"
            highlight_language = "python"

        options = {}
        try:  # typed as the directive types them (`:dedent: 4` is a number)
            for key, value in block.options.items():
                if key not in ("lineno-start", "lineno-match", "linenos", "emphasize-lines", "caption",
                               "name", "class", "force"):
                    options[key] = LiteralInclude.option_spec[key](value or None)
            text, _ = LiteralIncludeReader(str(path), options, _Config()).read()
        except Exception as exc:
            raise EditionError(f"{where}: literalinclude {block.argument}: {exc}") from exc
        language = block.options.get("language", "python" if path.suffix == ".py" else "")
        caption = block.options.get("caption")
        head = f"*{self.inline(caption, block.line)}*\n\n" if caption else ""
        return f"{head}```{language}\n{text.rstrip()}\n```"

    def figure(self, block: Directive, where: str) -> str:
        image = self.html_dir / "_images" / Path(block.argument).name
        if not image.is_file():
            raise EditionError(f"{where}: {{{block.name}}} {block.argument}: no {image} in the build")
        url = urljoin(self.page.url, f"{'../' * self.docname.count('/')}_images/{image.name}")
        alt = block.options.get("alt", "")
        text = f"![{alt}]({url})"
        if block.name == "figure" and block.body:
            caption = self.render_lines(block.body, block.body_line)
            name = block.options.get("name")
            number = ""
            if name:
                rendered = self.page.article.find(id=name)
                tag = rendered.find("span", class_="caption-number") if rendered else None
                number = f"**{tag.get_text().strip()}** " if tag else ""
            text += f"\n\n{number}{caption}"
        return text

    # -- inline roles and links ------------------------------------------------------------
    def inline(self, text: str, line: int) -> str:
        def replace(match: re.Match) -> str:
            if match.group("code"):
                return match.group(0)
            here = line + text.count("\n", 0, match.start())
            if match.group("link"):
                return self.link(match, here)
            return self.role(match.group("name"), match.group("content"), here)

        return INLINE.sub(replace, text)

    def link(self, match: re.Match, line: int) -> str:
        target = match.group("target")
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            return match.group(0)
        path, _, fragment = target.partition("#")
        if match.group("bang"):
            image = self.html_dir / "_images" / Path(path).name
            if not image.is_file():
                raise EditionError(f"{self.where(line)}: image {path}: no {image} in the build")
            url = urljoin(self.page.url, f"{'../' * self.docname.count('/')}_images/{image.name}")
            return f"![{match.group('ltext')}]({url})"
        if not path:
            url = self.page.url + (f"#{fragment}" if fragment else "")
        else:
            url = urljoin(self.page.url, Path(path).with_suffix(".html").as_posix()) \
                if re.search(r"\.(ipynb|md)$", path) else urljoin(self.page.url, path)
            if fragment:
                url += f"#{fragment}"
        return f"[{self.inline(match.group('ltext'), line)}]({url})"

    def role(self, name: str, content: str, line: int) -> str:
        where = self.where(line)
        if name in ("glue:text", "glue", "glue:", "glue:any", "glue:md"):
            return self.glue_text(name, content, where)
        if name in REF_ROLES:
            return self.reference(name, content, where)
        if CITE_ROLE.match(name):
            cite = self.page.cite()
            if cite is None:
                raise EditionError(f"{where}: {{{name}}}`{content}` has no citation on the site page")
            return " ".join(_html_inline(cite, self.page.url).split())
        if name == "math":
            return f"${content}$"
        if name in ("sub", "sup"):
            return f"<{name}>{content}</{name}>"
        if name == "abbr":
            return re.sub(r"\s*\(.*\)$", "", content)
        if name == "kbd":
            return f"<kbd>{content}</kbd>"
        if name in ("code", "literal", "samp", "file", "command", "py:func", "py:class", "py:mod",
                    "py:meth", "py:attr", "py:obj", "func", "class", "mod", "meth", "attr", "obj"):
            return f"`{content}`"
        if name in ("emphasis",):
            return f"*{content}*"
        if name in ("strong",):
            return f"**{content}**"
        raise EditionError(f"{where}: role {{{name}}} is not known to the converter "
                           "(book/_ext/editions.py)")

    def glue_text(self, name: str, content: str, where: str) -> str:
        # as myst-nb reads it: `name:format`, the format defaulting to "s"
        key, fmt = content.rsplit(":", 1) if ":" in content else (content, "s")
        doc, _, key = key.rpartition("::")
        outputs = self.glue if not doc else self.glue_of(doc)
        if key not in outputs:
            raise EditionError(f"{where}: glue name {key!r} is used but no cell of "
                               f"{doc or self.docname} glues it")
        data = outputs[key].get("data", {})
        if name == "glue:md":
            if "text/markdown" not in data:
                raise EditionError(f"{where}: glue {key!r} has no text/markdown to paste")
            return str(data["text/markdown"]).strip()
        if "text/plain" not in data:
            raise EditionError(f"{where}: glue {key!r} has no text/plain value; the converter "
                               "pastes only text")
        if name != "glue:text" and set(data) - {"text/plain"}:
            raise EditionError(f"{where}: {{{name}}}`{content}` pastes a rich output; use glue:text")
        try:
            value = format_plain_text(data["text/plain"], fmt)
        except Exception as exc:
            raise EditionError(f"{where}: glue {key!r} cannot be formatted as {fmt!r}: {exc}") from exc
        return MARKDOWN_SPECIAL.sub(r"\\\1", value)

    def reference(self, name: str, content: str, where: str) -> str:
        explicit = EXPLICIT.match(content)
        target = (explicit.group("target") if explicit else content).strip()
        target = target.lstrip("~!")
        if name == "eq":
            wanted = f"equation-{target}".lower()

            def matches(a: Tag) -> bool:
                return _fragment(a["href"]) == wanted
        elif name in ("doc", "std:doc"):
            page = urljoin(self.page.url, (re.sub(r"\.(ipynb|md)$", "", target) + ".html")
                           if not target.startswith("/") else
                           "../" * self.docname.count("/") + target.lstrip("/") + ".html")

            def matches(a: Tag) -> bool:
                return self.page.absolute(a["href"]).split("#")[0] == page
        elif name == "term":
            wanted = "term-" + re.sub(r"[^a-z0-9]+", "-", target.lower()).strip("-")

            def matches(a: Tag) -> bool:
                term = a.find(class_="std-term")
                return _fragment(a["href"]) == wanted or (
                    term is not None and " ".join(term.get_text().split()).lower() == target.lower())
        else:
            wanted = target.lower()

            def matches(a: Tag) -> bool:
                return _fragment(a["href"]) == wanted
        rendered = self.page.link(matches)
        if rendered is None:
            raise EditionError(f"{where}: {{{name}}}`{content}` has no link on the site page: is the "
                               "build older than the page? (make book)")
        text = " ".join(_html_inline(rendered, self.page.url).split())
        inner = re.sub(r"^\[(.*)\]\(.*\)$", r"\1", text, flags=re.S)
        return f"[{inner.strip()}]({self.page.absolute(rendered['href'])})"


# --------------------------------------------------------------------------------------------
# Notebooks out
# --------------------------------------------------------------------------------------------


def _cell_id(slug: str, index: int) -> str:
    return f"{slug}-{index:03d}"[-64:]


def to_notebook(cells: list[OutCell], source: nbformat.NotebookNode, slug: str,
                with_solutions: bool) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    collapsed: list[str] = []
    for index, cell in enumerate(c for c in cells if with_solutions or not c.solution):
        cell_id = _cell_id(slug, index)
        metadata: dict = {"id": cell_id}
        if cell.kind == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source, id=cell_id)
            if cell.heading_collapsed:
                metadata["jp-MarkdownHeadingCollapsed"] = True
                collapsed.append(cell_id)
        else:
            new = nbformat.v4.new_code_cell(cell.source, id=cell_id)
            if cell.source_hidden:
                metadata["jupyter"] = {"source_hidden": True}
                metadata["cellView"] = "form"
            if cell.tags:
                metadata["tags"] = cell.tags
        new.metadata = metadata
        notebook.cells.append(new)
    notebook.metadata = {
        "kernelspec": dict(source.metadata.get("kernelspec")
                           or {"display_name": "Python 3", "language": "python", "name": "python3"}),
        "language_info": {"name": "python"},
        "colab": {"provenance": [], "collapsed_sections": collapsed},
    }
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    nbformat.validate(notebook)
    return notebook


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` unless the file already holds exactly it; True when written."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def convert_page(docname: str, build_dir: Path, root: Path = ROOT) -> dict[str, str]:
    """The editions of one page, as notebook JSON text by edition name."""
    html_dir = build_dir / "html"
    executed_path = build_dir / "jupyter_execute" / f"{docname}.ipynb"
    html_path = html_dir / f"{docname}.html"
    for needed in (executed_path, html_path):
        if not needed.is_file():
            raise EditionError(f"{docname}: no {needed}: build the book first (make book)")
    source = nbformat.read(root / f"{docname}.ipynb", as_version=4)
    executed = nbformat.read(executed_path, as_version=4)
    page = RenderedPage(html_path, site_url(root) + f"{docname}.html")

    def glue_of(other: str) -> dict:
        doc = (Path(docname).parent / other).as_posix() if not other.startswith("/") else other[1:]
        doc = re.sub(r"\.(ipynb|md)$", "", doc)
        if not (build_dir / "jupyter_execute" / f"{doc}.ipynb").is_file():
            raise EditionError(f"{docname}: glue from {other}, which the build did not execute")
        return load_glue(build_dir, doc)

    cells = PageConverter(docname, source, executed, page, root, html_dir,
                          load_glue(build_dir, docname), glue_of).convert()
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", edition_name(docname, root))
    return {
        edition: nbformat.writes(to_notebook(cells, source, slug, edition == "full")) + "\n"
        for edition in EDITIONS
    }


def build_editions(build_dir: Path, root: Path = ROOT) -> list[Path]:
    """Write both editions of every notebook page; return the files that changed. The download
    button of each built page gets the full edition too."""
    changed: list[Path] = []
    for docname in notebook_pages(root):
        texts = convert_page(docname, build_dir, root)
        name = edition_name(docname, root)
        for edition, text in texts.items():
            path = build_dir / "notebooks" / edition / f"{name}.ipynb"
            if write_if_changed(path, text):
                changed.append(path)
        # the page's ".ipynb" download button serves _sources/<page>.ipynb
        write_if_changed(build_dir / "html" / "_sources" / f"{docname}.ipynb", texts["full"])
    return changed


def lay_out_branch(build_dir: Path, target: Path, root: Path = ROOT, edition_kind: str = "full") -> None:
    """Fill ``target`` with what a notebooks branch holds: the editions of kind ``edition_kind``
    at their pages' paths (where the launch buttons look) and what Binder needs to build (see
    BRANCH_FILES). The full site's buttons open `notebooks` (full editions), the student site's
    `notebooks-student` (student editions, without solutions)."""
    if edition_kind not in EDITIONS:
        raise EditionError(f"unknown edition {edition_kind!r}; choose from {', '.join(EDITIONS)}")
    target.mkdir(parents=True, exist_ok=True)
    for docname in notebook_pages(root):
        edition = build_dir / "notebooks" / edition_kind / f"{edition_name(docname, root)}.ipynb"
        if not edition.is_file():
            raise EditionError(f"no {edition}: run `python book/_ext/editions.py` first")
        (target / docname).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(edition, target / f"{docname}.ipynb")
    for name in BRANCH_FILES:
        path = root / name
        if path.is_dir():
            shutil.copytree(path, target / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif path.is_file():
            shutil.copyfile(path, target / name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="build", choices=["build", "branch"],
                        help="build: write the editions (default); branch: lay out the notebooks branch")
    parser.add_argument("target", nargs="?", help="for `branch`: the folder to fill")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "_build",
                        help="the jupyter-book build folder (default: _build)")
    parser.add_argument("--edition", choices=EDITIONS, default="full",
                        help="for `branch`: which editions the branch holds (default: full)")
    args = parser.parse_args(argv)
    try:
        if args.command == "branch":
            if not args.target:
                parser.error("branch needs the folder to fill")
            lay_out_branch(args.build_dir, Path(args.target), edition_kind=args.edition)
            print(f"notebooks branch laid out in {args.target}")
            return 0
        changed = build_editions(args.build_dir)
    except EditionError as exc:
        print(f"editions: {exc}", file=sys.stderr)
        return 1
    pages = len(notebook_pages())
    print(f"editions: {pages} pages, {len(changed)} notebooks rewritten under "
          f"{args.build_dir / 'notebooks'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
