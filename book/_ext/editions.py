"""Plain-Jupyter editions of the chapters, written by Sphinx at the end of the HTML build.

The chapters are written for the Sphinx build: ``{glue:text}`` placeholders, ``{prf:theorem}``
and ``{exercise}`` fences, ``{prf:ref}`` roles. Opened as they are in Jupyter they read badly.
This extension writes two editions of every notebook page of the table of contents (read from
sphinx-external-toc's site map), from the page's *resolved* doctree, the tree the HTML is written
from:

* ``_build/notebooks/full/<page>.ipynb``: glued values as the page shows them, sections,
  theorems, exercises, figures and equations numbered as Sphinx numbered them
  (``env.toc_secnumbers``, ``env.toc_fignumbers``), every cross-reference and citation with the
  text Sphinx and the bibliography gave it and a link to the site page, solutions under their own
  "Solution" headings that open collapsed, the cells that only glue or assert collapsed, and a
  first cell that installs the course's package from ``repository.url`` of ``_config.yml``;
* ``_build/notebooks/student/<page>.ipynb``: the same without the solutions.

The download button of each page (``_sources/<page>.ipynb``) serves the full edition; in the
student site (``hide_solutions``) the student edition. A node the writer does not know (a new
directive or role) stops the build with the page, the cell and the line: nothing becomes a blank.
An edition is rewritten only when its content changes.

    python book/_ext/editions.py branch DIR [--edition student]   # lay out the notebooks branch
"""

from __future__ import annotations

import argparse
import ast
import shutil
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import nbformat
from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

sys.path.insert(0, str(Path(__file__).resolve().parent))
import descent_config

ROOT = Path(__file__).resolve().parents[2]
EDITIONS = ("full", "student")
#: What the `notebooks` branch holds besides the full editions: what Binder needs to build.
BRANCH_FILES = (".binder", "requirements.txt", "pyproject.toml", "lessons_src", "LICENSE",
                "LICENSE-CONTENT")
#: Tags that fold a code cell's source in the editions (the site hides or removes it).
FOLDED = {"remove-cell", "hide-cell", "remove-input", "hide-input"}
#: myst-nb numbers a notebook's lines from (cell index + 1) * LINES_PER_CELL (nb_to_tokens.py).
LINES_PER_CELL = 10000


class EditionError(Exception):
    """A page cannot be turned into a plain notebook; the message names the page and line."""


# --------------------------------------------------------------------------------------------
# The book: its pages (from sphinx-external-toc's site map) and where the editions go
# --------------------------------------------------------------------------------------------


def site_order(site_map: object) -> list[str]:
    """The docnames of a sphinx-external-toc site map, in reading order."""
    order: list[str] = []

    def walk(docname: str) -> None:
        if docname in order or docname not in site_map:
            return
        order.append(docname)
        for child in site_map[docname].child_files():
            walk(child)

    walk(site_map.root.docname)
    return order


def _site_map(root: Path) -> object:
    from sphinx_external_toc.parsing import parse_toc_yaml

    return parse_toc_yaml(root / "_toc.yml")


def notebook_pages(root: Path = ROOT) -> list[str]:
    """Docnames (``book/ch05_momentum``) of every ``.ipynb`` page of ``_toc.yml``, nested ones too."""
    return [name for name in site_order(_site_map(root)) if (root / f"{name}.ipynb").is_file()]


def edition_name(docname: str, root: Path | str = ROOT) -> str:
    """``book/ch05_momentum`` -> ``ch05_momentum``: the page's path below the root page's folder
    (``root`` is the repository or the root page's docname)."""
    root_doc = _site_map(root).root.docname if isinstance(root, Path) else root
    folder = Path(root_doc).parent.as_posix()
    if folder not in ("", ".") and docname.startswith(folder + "/"):
        return docname[len(folder) + 1:]
    return docname


#: The setup cell of every edition, made from ``repository.url`` at build time. Where lessons_src
#: is importable it does nothing; where it cannot be installed (offline, no git, no pip) it prints
#: one line saying what to do, instead of a git error.
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


def setup_cell(docname: str, where: descent_config.Addresses | None = None) -> str:
    """The first cell of the edition of ``docname``: installs lessons_src from the repository."""
    where = where or descent_config.from_config_yml()
    return SETUP_CELL.format(url=where.repository_url, binder=where.binder(docname))


def is_setup_cell(cell: nbformat.NotebookNode, index: int) -> bool:
    """The source notebook's own first cell (hidden, about lessons_src): the edition replaces it."""
    return (index == 0 and cell.cell_type == "code" and "remove-cell" in cell.metadata.get("tags", [])
            and "lessons_src" in cell.source)


def only_checks(source: str) -> bool:
    """True for a cell that asserts or glues (``glue(...)``): its code is folded in the editions."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: not a check cell
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "glue":
            return True
    return False


# --------------------------------------------------------------------------------------------
# Markdown from docutils nodes
# --------------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Plain text as Markdown that Jupyter shows as that text (no emphasis, math or link)."""
    text = text.replace("\\", "\\\\")
    for char in "`*$[]<":
        text = text.replace(char, "\\" + char)
    out = []
    for i, char in enumerate(text):  # an underscore inside a word is no emphasis
        inside = 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
        out.append("\\_" if char == "_" and not inside else char)
    return "".join(out)


def indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line.strip() else line for line in text.split("\n"))


def proof(text: str) -> str:
    """*Proof.* run into the first paragraph and ∎ at the end of the last, as in print."""
    text = text.strip("\n")
    block_starts = ("$$", "- ", "* ", "#", "```", "<", "|", ">")
    starts_block = text.startswith(block_starts) or text[:3].rstrip(".").isdigit()
    text = f"*Proof.*\n\n{text}" if starts_block or not text else f"*Proof.* {text}"
    last = text.rstrip().split("\n")[-1]
    ends_in_block = last.rstrip().endswith(("$$", "```", ">")) or last.startswith("|")
    return text.rstrip() + ("\n\n∎" if ends_in_block else " ∎")


@dataclass
class OutCell:
    kind: str  # "markdown" or "code"
    source: str
    solution: bool = False
    heading_collapsed: bool = False
    source_hidden: bool = False
    tags: list[str] = field(default_factory=list)


class PageWriter:
    """Turns the resolved doctree of one notebook page into the cells of its full edition."""

    def __init__(self, app: Sphinx, docname: str, notebook: nbformat.NotebookNode,
                 where: descent_config.Addresses) -> None:
        self.app = app
        self.env = app.env
        self.docname = docname
        self.notebook = notebook
        self.where_to = where
        self.page_url = where.page(docname)
        self.secnumbers = self.env.toc_secnumbers.get(docname, {})
        self.fignumbers = self.env.toc_fignumbers.get(docname, {})
        self.cells: list[OutCell] = []
        self.chunk: list[str] = []
        self.chunk_cell = -1  # the source cell the pending Markdown comes from
        self.next_cell = 0  # the first source cell not yet accounted for
        self.level = 0  # depth of the current section
        self.in_solution = False
        self.after_solution: tuple[int, str, nodes.Node] | None = None
        self.images = getattr(app.builder, "images", {})
        self.current_line: int | None = None  # of the block being written
        self.problems: list[str] = []
        #: the source cells (first, last) of each gated solution
        self.gates = [(start // LINES_PER_CELL - 1, end // LINES_PER_CELL - 1)
                      for start, end in getattr(self.env, "descent_gates", {}).get(docname, []) if end]

    # -- locations ----------------------------------------------------------------------------
    def line_of(self, node: nodes.Node) -> int | None:
        """The source line of a node, of its first descendant that has one, else of the block
        being written (a role's inline nodes often have none, or a wrong one)."""
        if isinstance(node, nodes.Inline) and self.current_line:
            return self.current_line
        for candidate in (node, *node.findall(include_self=False)):
            if isinstance(candidate, nodes.Element) and candidate.line:
                return candidate.line
        return self.current_line

    def cell_of(self, node: nodes.Node) -> int | None:
        if isinstance(node, nodes.Element) and node.get("nb_element") == "cell_code":
            return node["cell_index"]
        line = self.line_of(node)
        return line // LINES_PER_CELL - 1 if line and line >= LINES_PER_CELL else None

    def where(self, node: nodes.Node) -> str:
        line = self.line_of(node)
        if line and line >= LINES_PER_CELL:
            # myst-nb starts cell i at (i + 1) * 10000 + 1, and docutils counts from 1 on top
            return f"{self.docname}.ipynb, cell {line // LINES_PER_CELL}, line {line % LINES_PER_CELL - 1}"
        return f"{self.docname}.ipynb" + (f", line {line}" if line else "")

    def unknown(self, node: nodes.Node) -> str:
        """Note a node the writer does not know (all of a page's are reported, then the build stops)."""
        self.problems.append(f"{self.where(node)}: {type(node).__name__} is not known to the edition "
                             "writer (book/_ext/editions.py): teach it or use another directive or role")
        return ""

    # -- output ---------------------------------------------------------------------------------
    def write(self, text: str) -> None:
        if text.strip():
            self.chunk.append(text.strip("\n"))

    def flush(self) -> None:
        text = "\n\n".join(self.chunk).strip("\n")
        self.chunk = []
        if text:
            self.add(OutCell("markdown", text, solution=self.in_solution))

    def add(self, cell: OutCell) -> None:
        if self.after_solution is not None and not cell.solution:
            level, title, node = self.after_solution
            heading = cell.source.split(" ", 1)[0] if cell.kind == "markdown" else ""
            if not heading or set(heading) != {"#"} or len(heading) > level:
                raise EditionError(f"{self.where(node)}: what follows the solution ({title}), "
                                   f"{cell.source[:60]!r}, does not start with a heading; in Jupyter the "
                                   "folded solution would hide it")
            self.after_solution = None
        self.cells.append(cell)

    def catch_up(self, node: nodes.Node) -> None:
        """Before a node of source cell ``c``: close the Markdown of an earlier cell, and write the
        code cells the site removed (``remove-cell``), which have no node, in their place."""
        cell = self.cell_of(node)
        if cell is None:
            return
        if cell != self.chunk_cell:
            self.flush()
            self.chunk_cell = cell
        while self.next_cell < cell:
            self.removed_cell(self.next_cell)
            self.next_cell += 1
        self.next_cell = max(self.next_cell, cell + (1 if isinstance(node, nodes.container) else 0))

    def removed_cell(self, index: int) -> None:
        """A code cell the site removed; inside a gated solution (descent_editions.py notes where
        each opens and closes), it belongs to the solution, even where the solution itself was
        taken out of the doctree (the student site)."""
        source = self.notebook.cells[index]
        if source.cell_type == "code" and "remove-cell" in source.metadata.get("tags", []) \
                and not is_setup_cell(source, index):
            self.flush()
            in_gate = any(start <= index <= end for start, end in self.gates)
            self.add(OutCell("code", source.source, solution=self.in_solution or in_gate, source_hidden=True,
                             tags=list(source.metadata.get("tags", []))))

    # -- the page -------------------------------------------------------------------------------
    def convert(self, doctree: nodes.document) -> list[OutCell]:
        if any(c.cell_type == "code" for c in self.notebook.cells):
            self.add(OutCell("code", setup_cell(self.docname, self.where_to), source_hidden=True,
                             tags=["remove-cell"]))
        for child in doctree.children:
            if isinstance(child, nodes.raw) and "html" in child.get("format", "").split():
                continue  # the theme's scripts (thebe's configuration), not the page's text
            self.flow(child)
        self.flush()
        while self.next_cell < len(self.notebook.cells):
            self.removed_cell(self.next_cell)
            self.next_cell += 1
        if self.problems:
            raise EditionError("\n".join(self.problems))
        return self.cells

    def flow(self, node: nodes.Node) -> None:
        """A block at the level where cells are made (sections, exercises, solutions, code)."""
        if isinstance(node, nodes.Invisible | nodes.comment | nodes.substitution_definition):
            return
        self.catch_up(node)
        self.current_line = self.line_of(node)
        if isinstance(node, nodes.section):
            self.section(node)
        elif isinstance(node, nodes.container) and node.get("nb_element") == "cell_code":
            self.code_cell(node)
        elif _is(node, "exercise_enumerable_node", "exercise_node"):
            self.exercise(node)
        elif _is(node, "solution_node"):
            self.solution(node)
        else:
            self.write(self.block(node))

    def section(self, node: nodes.section) -> None:
        titled = bool(node.children) and isinstance(node[0], nodes.title)
        if not titled:  # a directive's content (theorem-content, ...): no heading
            for child in node.children:
                self.flow(child)
            return
        self.level += 1
        self.flush()
        self.write(f"{'#' * min(6, self.level)} {self.section_number(node)}{self.inline(node[0])}")
        for child in node.children[1:]:
            self.flow(child)
        self.level -= 1

    def section_number(self, node: nodes.section) -> str:
        """As Sphinx's HTML writer numbers a section title (add_secnumber)."""
        anchor = "#" + node["ids"][0]
        if anchor not in self.secnumbers:
            anchor = ""  # the page's first heading has no anchor
        numbers = self.secnumbers.get(anchor)
        return ".".join(map(str, numbers)) + self.app.config.html_secnumber_suffix if numbers else ""

    def code_cell(self, node: nodes.container) -> None:
        self.flush()
        index = node["cell_index"]
        source = self.notebook.cells[index]
        tags = list(source.metadata.get("tags", []))
        outputs = [c for c in node.children if isinstance(c, nodes.container)
                   and c.get("nb_element") == "cell_code_output" and c.children]
        hidden = bool(FOLDED & set(tags)) or (only_checks(source.source) and not outputs)
        self.add(OutCell("code", source.source, solution=self.in_solution, source_hidden=hidden, tags=tags))
        for figure in node.findall(nodes.figure):
            self.write(self.figure_caption(figure))
            self.flush()

    def exercise(self, node: nodes.Element) -> None:
        self.flush()
        self.write(f"{'#' * min(6, self.level + 1)} {''.join(self.titled(node, 'exercise'))}")
        for child in node.children[1:]:
            self.flow(child)
        self.flush()

    def solution(self, node: nodes.Element) -> None:
        self.flush()
        title = " ".join(self.inline(node[0], links=False).split())
        level = min(6, self.level + 2)
        self.in_solution = True
        self.add(OutCell("markdown", f"{'#' * level} {title}", solution=True, heading_collapsed=True))
        for child in node.children[1:]:
            self.flow(child)
        self.flush()
        self.in_solution = False
        self.after_solution = (level, title, node)

    # -- titles and numbers ---------------------------------------------------------------------
    def number(self, kind: str, node: nodes.Element) -> str:
        ids = node.get("ids") or [""]
        found = self.fignumbers.get(kind, {}).get(ids[0])
        if not found:
            raise EditionError(f"{self.where(node)}: Sphinx gave the {kind} {ids[0]!r} no number")
        return ".".join(map(str, found))

    def titled(self, node: nodes.Element, kind: str) -> tuple[str, str]:
        """("Exercise 5.1", " (title)") / ("Theorem 5.2", " (title)"): the numbered name, the subtitle."""
        title = node[0] if node.children and isinstance(node[0], nodes.title) else None
        subtitle = self.inline(title).rstrip() if title is not None else ""
        if kind == "exercise":
            name = "Exercise"
            if _is(node, "exercise_enumerable_node"):
                name = self.app.config.numfig_format.get("exercise", "Exercise %s") % self.number(kind, node)
        else:
            name = node["realtype"].title()
            if node.get("countertype"):
                name += " " + self.number(node["countertype"], node)
        if subtitle and not subtitle.startswith(" "):
            subtitle = " " + subtitle
        return name, subtitle

    def figure_caption(self, node: nodes.figure) -> str:
        caption = next((c for c in node.children if isinstance(c, nodes.caption)), None)
        text = self.inline(caption) if caption is not None else ""
        if node.get("ids") and self.fignumbers.get("figure", {}).get(node["ids"][0]):
            label = self.app.config.numfig_format["figure"] % self.number("figure", node)
            return f"**{label.strip()}** {text}".strip()
        return text

    # -- blocks ---------------------------------------------------------------------------------
    def blocks(self, children: list[nodes.Node]) -> str:
        return "\n\n".join(text for child in children if (text := self.block(child).strip("\n")))

    def block(self, node: nodes.Node) -> str:
        if isinstance(node, nodes.Element) and node.line:
            self.current_line = node.line
        if isinstance(node, nodes.Invisible | nodes.comment | nodes.substitution_definition):
            return ""
        if isinstance(node, nodes.paragraph):
            return self.inline(node)
        if isinstance(node, nodes.section):
            if node.children and isinstance(node[0], nodes.title):
                raise EditionError(f"{self.where(node)}: a section inside a directive")
            return self.blocks(node.children)
        if isinstance(node, nodes.bullet_list):
            return "\n".join("- " + indent(self.blocks(item.children), "  ")[2:] for item in node.children)
        if isinstance(node, nodes.enumerated_list):
            start = node.get("start", 1)
            return "\n".join(f"{start + i}. " + indent(self.blocks(item.children), "   ")[3:]
                             for i, item in enumerate(node.children))
        if isinstance(node, nodes.literal_block):
            language = node.get("language", "")
            language = {"ipython3": "python", "ipython": "python", "default": "", "none": ""}.get(language,
                                                                                              language)
            text = node.astext()
            fence = "````" if "```" in text else "```"
            return f"{fence}{language}\n{text.rstrip()}\n{fence}"
        if isinstance(node, nodes.math_block):
            tag = ""
            if node.get("number") is not None and node.get("ids"):
                tag = f" \\tag{{{self.number('displaymath', node)}}}"
            return f"$$\n{node.astext().strip()}{tag}\n$$"
        if isinstance(node, nodes.block_quote):
            return indent(self.blocks(node.children), "> ")
        if _is(node, "proof_node"):
            return proof(self.blocks(node.children))
        if isinstance(node, nodes.admonition) and "proof" in node.get("classes", []):
            inner = self.blocks(node.children)  # sphinx-proof's proof: starts with "Proof. "
            return inner.removeprefix("Proof. ").removeprefix("Proof.")
        if isinstance(node, nodes.Admonition) and node.get("realtype"):  # sphinx-proof's theorems
            name, subtitle = self.titled(node, "proof")
            return f"**{name}**{subtitle}\n\n{self.blocks(node.children[1:])}"
        if isinstance(node, nodes.Admonition) and not _is(node, "exercise_enumerable_node", "exercise_node",
                                                          "solution_node"):
            return self.admonition(node)
        if isinstance(node, nodes.figure):
            image = next((c for c in node.findall(nodes.image)), None)
            shown = self.inline(image) if image is not None else ""
            return f"{shown}\n\n{self.figure_caption(node)}".strip()
        if isinstance(node, nodes.image):
            return self.inline(node)
        if isinstance(node, nodes.table):
            return self.table(node)
        if isinstance(node, nodes.container) and node.get("literal_block"):  # code with a caption
            caption = next((c for c in node.children if isinstance(c, nodes.caption)), None)
            code = self.blocks([c for c in node.children if not isinstance(c, nodes.caption)])
            return f"*{self.inline(caption)}*\n\n{code}" if caption is not None else code
        if isinstance(node, nodes.rubric):
            return f"**{self.inline(node)}**"
        if isinstance(node, nodes.transition):
            return "---"
        if isinstance(node, nodes.raw) and "html" in node.get("format", "").split():
            return node.astext()
        if isinstance(node, nodes.definition_list):
            return "\n\n".join(
                f"**{self.inline(item[0])}**  \n{self.blocks(item[-1].children)}" for item in node.children)
        if isinstance(node, nodes.compound):
            return self.blocks(node.children)
        if isinstance(node, nodes.container) and node.get("nb_element") == "cell_code":
            raise EditionError(f"{self.where(node)}: a code cell inside a theorem, admonition or list")
        return self.unknown(node)

    def admonition(self, node: nodes.Admonition) -> str:
        titled = bool(node.children) and isinstance(node[0], nodes.title)
        kind = type(node).__name__.replace("seealso", "see also").capitalize()  # note -> Note
        label = self.inline(node[0]) if titled else kind
        body = self.blocks(node.children[1:] if titled else node.children)
        if "dropdown" in node.get("classes", []):
            return f"<details><summary>{label}</summary>\n\n{body}\n\n</details>"
        return f"**{label}**\n\n{body}" if label.endswith((".", "?", "!", ":")) else f"**{label}.**\n\n{body}"

    def table(self, node: nodes.table) -> str:
        title = next((c for c in node.children if isinstance(c, nodes.title)), None)
        group = next(c for c in node.children if isinstance(c, nodes.tgroup))
        rows = []
        for part in group.children:
            if isinstance(part, nodes.thead | nodes.tbody):
                for row in part.children:
                    rows.append([self.blocks(entry.children).replace("\n", " ").replace("|", "\\|")
                                 for entry in row.children])
        head = bool(group.children) and any(isinstance(p, nodes.thead) for p in group.children)
        width = max(len(r) for r in rows) if rows else 0
        header = rows[0] if head else [""] * width
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * width]
        lines += ["| " + " | ".join(row) + " |" for row in (rows[1:] if head else rows)]
        caption = self.inline(title) if title is not None else ""
        if node.get("ids") and self.fignumbers.get("table", {}).get(node["ids"][0]):
            label = self.app.config.numfig_format["table"] % self.number("table", node)
            caption = f"**{label.strip()}** {caption}"
        return (caption.strip() + "\n\n" if caption.strip() else "") + "\n".join(lines)

    # -- inline ---------------------------------------------------------------------------------
    def inline(self, node: nodes.Node, links: bool = True) -> str:
        return "".join(self.span(child, links) for child in node.children)

    def span(self, node: nodes.Node, links: bool) -> str:
        if isinstance(node, nodes.Text):
            return escape(node.astext())
        if isinstance(node, nodes.math):
            return f"${node.astext().strip()}$"
        if isinstance(node, nodes.literal):
            text = node.astext()
            return f"`` {text} ``" if "`" in text else f"`{text}`"
        if isinstance(node, nodes.emphasis):
            return f"*{self.inline(node, links)}*"
        if isinstance(node, nodes.strong):
            return f"**{self.inline(node, links)}**"
        if isinstance(node, addnodes.download_reference) and node.get("filename"):
            url = urljoin(self.page_url, "../" * self.docname.count("/") + "_downloads/" + node["filename"])
            return f"[{self.inline(node, False).strip()}]({url})" if links else self.inline(node, False)
        if isinstance(node, nodes.reference):
            text = self.inline(node, False)
            return f"[{text.strip()}]({self.url(node)})" if links else text
        if isinstance(node, addnodes.pending_xref):
            raise EditionError(f"{self.where(node)}: the reference {node.get('reftarget')!r} is unresolved")
        if isinstance(node, nodes.subscript | nodes.superscript):
            tag = "sub" if isinstance(node, nodes.subscript) else "sup"
            return f"<{tag}>{self.inline(node, links)}</{tag}>"
        if isinstance(node, nodes.image):
            uri = node["uri"]
            up = "../" * self.docname.count("/")
            url = uri if urlsplit(uri).scheme else urljoin(
                self.page_url, f"{up}_images/{self.images.get(uri, Path(uri).name)}")
            return f"![{escape(node.get('alt', ''))}]({url})"
        if isinstance(node, nodes.raw) and "html" in node.get("format", "").split():
            return node.astext()
        if isinstance(node, nodes.target | nodes.Invisible):
            return ""
        if isinstance(node, nodes.inline | nodes.abbreviation | nodes.title_reference | nodes.caption
                      | nodes.title | nodes.term | addnodes.literal_emphasis | addnodes.literal_strong):
            return self.inline(node, links)
        if isinstance(node, nodes.problematic | nodes.system_message):
            raise EditionError(f"{self.where(node)}: the build left an error here: {node.astext()[:80]!r}")
        return self.unknown(node)

    def url(self, node: nodes.reference) -> str:
        if node.get("refuri"):
            return urljoin(self.page_url, node["refuri"])
        if node.get("refid"):
            return f"{self.page_url}#{node['refid']}"
        raise EditionError(f"{self.where(node)}: a link without a target")


def _is(node: nodes.Node, *names: str) -> bool:
    """Is ``node`` one of these node classes of sphinx-exercise or sphinx-proof (by class name:
    the writer needs them only where they are installed)?"""
    return type(node).__name__ in names


# --------------------------------------------------------------------------------------------
# Notebooks out
# --------------------------------------------------------------------------------------------


def to_notebook(cells: list[OutCell], source: nbformat.NotebookNode, slug: str,
                with_solutions: bool) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    collapsed: list[str] = []
    for index, cell in enumerate(c for c in cells if with_solutions or not c.solution):
        cell_id = f"{slug}-{index:03d}"[-64:]
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


def page_editions(app: Sphinx, docname: str) -> dict[str, str]:
    """The editions of one page, as notebook JSON text by edition name (only the student edition
    in a build that hides the solutions)."""
    source = nbformat.read(app.env.doc2path(docname), as_version=4)
    doctree = app.env.get_and_resolve_doctree(docname, app.builder)
    where = descent_config.from_sphinx(app.config)
    cells = PageWriter(app, docname, source, where).convert(doctree)
    slug = "".join(c if c.isalnum() or c in "_-" else "-" for c in edition_name(docname, app.config.root_doc))
    hidden = getattr(app.config, "hide_solutions", False)
    texts = {}
    for edition in EDITIONS:
        if hidden and edition == "full":
            continue
        own = cells
        if edition == "student" and not hidden and cells and cells[0].source == setup_cell(docname, where):
            # its setup cell sends a learner to Binder on the student editions' branch
            student = replace(where, branch=descent_config.STUDENT_BRANCH)
            own = [replace(cells[0], source=setup_cell(docname, student)), *cells[1:]]
        texts[edition] = nbformat.writes(to_notebook(own, source, slug, edition == "full")) + "\n"
    return texts


def write_editions(app: Sphinx, exception: Exception | None) -> None:
    """At the end of an HTML build: both editions of every notebook page of the site map into
    ``<build>/notebooks/<edition>/``, and the page's download (``_sources/``) the edition it offers."""
    if exception is not None or app.builder.format != "html":
        return
    site_map = getattr(app.env, "external_site_map", None)
    if site_map is None:
        raise ExtensionError("editions: no sphinx-external-toc site map (is this a Jupyter Book build?)")
    pages = [d for d in site_order(site_map) if d in app.env.found_docs
             and app.env.doc2path(d).endswith(".ipynb")]
    build_dir = Path(app.outdir).parent
    problems, changed = [], 0
    for docname in pages:
        try:
            texts = page_editions(app, docname)
        except EditionError as exc:
            problems.append(str(exc))
            continue
        name = edition_name(docname, app.config.root_doc)
        for edition, text in texts.items():
            changed += write_if_changed(build_dir / "notebooks" / edition / f"{name}.ipynb", text)
        offered = texts.get("full", texts["student"])
        write_if_changed(Path(app.outdir) / "_sources" / f"{docname}.ipynb", offered)
    if problems:
        raise ExtensionError("the Jupyter editions cannot be written:\n" + "\n".join(problems))
    print(f"editions: {len(pages)} pages, {changed} notebooks rewritten in {build_dir / 'notebooks'}")


def setup(app: Sphinx) -> dict:
    # after descent_editions' handler, which strips the student site's Markdown downloads
    app.connect("build-finished", write_editions, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# --------------------------------------------------------------------------------------------
# The notebooks branch
# --------------------------------------------------------------------------------------------


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
            raise EditionError(f"no {edition}: build the book first (make book)")
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
    parser = argparse.ArgumentParser(description="Lay out the notebooks branch from the last build "
                                     "(the build itself writes the editions).")
    parser.add_argument("command", choices=["branch"])
    parser.add_argument("target", help="the folder to fill")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "_build",
                        help="the jupyter-book build folder (default: _build)")
    parser.add_argument("--edition", choices=EDITIONS, default="full",
                        help="which editions the branch holds (default: full)")
    args = parser.parse_args(argv)
    try:
        lay_out_branch(args.build_dir, Path(args.target), edition_kind=args.edition)
    except EditionError as exc:
        print(f"editions: {exc}", file=sys.stderr)
        return 1
    print(f"notebooks branch laid out in {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
