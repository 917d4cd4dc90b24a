"""Sphinx extension and script: the student edition of the site, and what printing needs.

**Student edition.** ``python book/_ext/descent_editions.py student-config OUT.yml`` writes a copy
of ``_config.yml`` with sphinx-exercise's ``hide_solutions: true`` (``make student-site`` builds
with it). sphinx-exercise drops ``{solution}`` blocks itself but, for a gated solution
(``{solution-start}`` ... ``{solution-end}``), only the opening directive: this extension removes
everything up to the matching ``{solution-end}`` (the solution's text and code cells). After the
build it also rewrites the Markdown pages offered for download (``_sources/``) without their
solutions, found by MyST's own parser (myst-parser's markdown-it-py set-up), not by pattern
matching (a notebook page's download is its student edition, written by ``editions.py``), so
that the solutions are nowhere in the student site.

**Printing** (every HTML build): a print style sheet (``static/descent-print.css``) and, under
every slider, a line shown only on paper: "Interactive figure: move the slider at <page URL>".
The page URL starts with ``descent_site_url`` (default: ``html.baseurl``, else the GitHub Pages
address of ``repository.url``, ``https://OWNER.github.io/REPO/``; see ``descent_config.py``).
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx_exercise.directive import SolutionEndDirective, SolutionStartDirective
from sphinx_exercise.nodes import solution_end_node

sys.path.insert(0, str(Path(__file__).resolve().parent))
import descent_config

STATIC = Path(__file__).resolve().parent / "static"
WIDGET_VIEW = re.compile(r'(<script type="application/vnd\.jupyter\.widget-view\+json">.*?</script>)', re.S)


# --- student edition: gated solutions ------------------------------------------------------------


class HiddenSolution(nodes.Element):
    """Marks where a gated solution started; removed with everything up to its end."""


class HiddenGateSolutionStart(SolutionStartDirective):
    """``solution-start`` that leaves a marker when solutions are hidden, and notes where the
    gate opens (``env.descent_gates``)."""

    def run(self) -> list[nodes.Node]:
        result = super().run()
        gates = self.env.descent_gates.setdefault(self.env.docname, [])
        gates.append((self.lineno, None))
        if self.env.app.config.hide_solutions:
            return [HiddenSolution()]
        return result


class GateSolutionEnd(SolutionEndDirective):
    """``solution-end`` that notes where the gate closes: ``env.descent_gates[docname]`` lists the
    (start, end) source lines of a page's gated solutions, so that the Jupyter editions
    (editions.py) know which cells, the hidden ones too, belong to a solution."""

    def run(self) -> list[nodes.Node]:
        gates = self.env.descent_gates.get(self.env.docname)
        if gates and gates[-1][1] is None:
            gates[-1] = (gates[-1][0], self.lineno)
        return super().run()


def _init_gates(app: Sphinx, env: object, docnames: list[str]) -> None:
    if not hasattr(env, "descent_gates"):
        env.descent_gates = {}


def _purge_gates(app: Sphinx, env: object, docname: str) -> None:
    getattr(env, "descent_gates", {}).pop(docname, None)


def _merge_gates(app: Sphinx, env: object, docnames: set[str], other: object) -> None:
    env.descent_gates.update({d: g for d, g in getattr(other, "descent_gates", {}).items() if d in docnames})


class RemoveHiddenGatedSolutions(SphinxTransform):
    """Remove each hidden gated solution: the marker, what follows it, and its ``solution-end``."""

    default_priority = 5  # before sphinx-exercise merges gated solutions (10)

    def apply(self, **kwargs: object) -> None:
        for marker in list(self.document.findall(HiddenSolution)):
            parent = marker.parent
            start = parent.index(marker)
            end = next(
                (i for i in range(start, len(parent.children)) if isinstance(parent[i], solution_end_node)),
                None,
            )
            if end is None:
                raise ValueError(f"{self.env.docname}: solution-start without solution-end in its section")
            for child in parent.children[start : end + 1]:
                parent.remove(child)


# --- student edition: downloadable sources --------------------------------------------------------


def _markdown_parser():
    """MyST's own Markdown parser (myst-parser's markdown-it-py set-up, with colon fences)."""
    from markdown_it.renderer import RendererHTML
    from myst_parser.config.main import MdParserConfig
    from myst_parser.parsers.mdit import create_md_parser

    return create_md_parser(MdParserConfig(enable_extensions={"colon_fence", "dollarmath"}), RendererHTML)


def _solution_lines(text: str, parser, offset: int = 0) -> set[int]:
    """The numbers of the lines of ``text`` (counted from ``offset``) that belong to a solution:
    a ``{solution}`` fence, or everything from a ``{solution-start}`` fence to the end of its
    ``{solution-end}`` fence (to the end of the text if it has none). Inside any other directive's
    fence (an exercise, an admonition) the directive's content is parsed in turn."""
    dropped: set[int] = set()
    gate: int | None = None
    for token in parser.parse(text):
        if token.type not in {"fence", "colon_fence"} or token.map is None:
            continue
        first, after = token.map[0] + offset, token.map[1] + offset
        name = token.info.split(maxsplit=1)[0] if token.info.strip() else ""
        if name == "{solution-start}":
            gate = first if gate is None else gate
        elif name == "{solution-end}":
            dropped.update(range(first if gate is None else gate, after))
            gate = None
        elif name == "{solution}":
            dropped.update(range(first, after))
        elif name.startswith("{") and gate is None:
            dropped |= _solution_lines(token.content, parser, first + 1)
    if gate is not None:
        dropped.update(range(gate, offset + len(text.splitlines())))
    return dropped


def strip_solutions(text: str) -> str:
    """MyST text without its solutions, found by MyST's own parser (:func:`_solution_lines`).

    >>> strip_solutions("A\\n\\n```{solution} x\\nsecret\\n```\\nB\\n")
    'A\\n\\nB\\n'
    >>> strip_solutions("A\\n\\n```{solution-start} x\\n:class: dropdown\\n```\\nsecret\\n\\n"
    ...                 "```{solution-end}\\n```\\nC\\n")
    'A\\n\\nC\\n'
    >>> strip_solutions("````{exercise} e\\nQ\\n:::{solution} x\\nsecret\\n:::\\n````\\n")
    '````{exercise} e\\nQ\\n````\\n'
    >>> strip_solutions("```python\\n```{solution} not a directive, code\\n```\\n")
    '```python\\n```{solution} not a directive, code\\n```\\n'
    """
    lines = text.splitlines(keepends=True)
    dropped = _solution_lines(text, _markdown_parser())
    return "".join(line for number, line in enumerate(lines) if number not in dropped)


def _strip_sources(outdir: Path) -> None:
    """The Markdown pages' downloads without solutions (a notebook page's download is its student
    edition, which editions.py writes from the doctree the solutions were taken out of)."""
    for path in (outdir / "_sources").rglob("*"):
        if path.suffix in {".md", ".txt"} and path.is_file():
            path.write_text(strip_solutions(path.read_text(encoding="utf-8")), encoding="utf-8")


# --- printing -----------------------------------------------------------------------------------


def site_url(app: Sphinx) -> str:
    """The public address of the site, ending with a slash (descent_config.py makes it)."""
    return descent_config.from_sphinx(app.config).site_url


def _add_print_notes(app: Sphinx, outdir: Path) -> None:
    base = site_url(app)
    for docname in app.env.found_docs:
        page = outdir / f"{docname}.html"
        if not page.is_file():
            continue
        text = page.read_text(encoding="utf-8")
        if "widget-view+json" not in text or "descent-print-only" in text:
            continue
        url = html.escape(f"{base}{docname}.html") if base else ""
        where = f'<a href="{url}">{url}</a>' if url else "on the course website"
        note = f'<p class="descent-print-only">Interactive figure: move the slider at {where}.</p>'
        page.write_text(WIDGET_VIEW.sub(lambda m, note=note: m.group(1) + note, text), encoding="utf-8")


def _finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    if app.builder.name == "html":
        _add_print_notes(app, outdir)
    if app.config.hide_solutions:
        _strip_sources(outdir)


def _unlink_instructors_only(app: Sphinx, env: object, node: nodes.Element,
                             contnode: nodes.Node) -> nodes.Node | None:
    """In the student edition, a link to a page left out of it (INSTRUCTORS_ONLY) becomes its
    plain text: "graded by the {doc}`rubrics`" reads "graded by the rubrics", with no link."""
    if not app.config.hide_solutions or node.get("reftype") != "doc":
        return None
    import posixpath

    target = node.get("reftarget", "")
    if target.startswith("/"):
        docname = target[1:]
    else:
        docname = posixpath.normpath(posixpath.join(posixpath.dirname(node.get("refdoc", "")), target))
    return contnode if docname in INSTRUCTORS_ONLY else None


def _add_static(app: Sphinx, config: object) -> None:
    app.config.html_static_path.append(str(STATIC))
    if getattr(config, "hide_solutions", False):  # for {only} not student_edition
        app.tags.add("student_edition")


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx_exercise")
    app.add_config_value("descent_site_url", "", "html")
    app.add_node(HiddenSolution)
    app.add_directive("solution-start", HiddenGateSolutionStart, override=True)
    app.add_directive("solution-end", GateSolutionEnd, override=True)
    app.connect("env-before-read-docs", _init_gates)
    app.connect("env-purge-doc", _purge_gates)
    app.connect("env-merge-info", _merge_gates)
    app.add_transform(RemoveHiddenGatedSolutions)
    app.connect("config-inited", _add_static)
    app.connect("missing-reference", _unlink_instructors_only)
    app.add_css_file("descent-print.css")
    app.connect("build-finished", _finished)
    # env_version: an environment pickled before descent_gates existed is read afresh
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}


# --- the student configuration ------------------------------------------------------------------

STUDENT_BRANCH = descent_config.STUDENT_BRANCH
#: Pages that give answers away, left out of the student edition (and of its table of contents).
INSTRUCTORS_ONLY = ("book/instructors/rubrics",)


def student_toc(source: Path, target: Path) -> None:
    """Write ``source`` (a ``_toc.yml``) to ``target`` without the instructors-only pages."""
    import yaml

    toc = yaml.safe_load(source.read_text(encoding="utf-8"))

    def keep(entries: list[dict]) -> list[dict]:
        kept = []
        for entry in entries:
            if entry.get("file") in INSTRUCTORS_ONLY:
                continue
            for key in ("chapters", "sections", "parts"):
                if key in entry:
                    entry[key] = keep(entry[key])
            kept.append(entry)
        return kept

    for key in ("parts", "chapters"):
        if key in toc:
            toc[key] = keep(toc[key])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("# Generated by book/_ext/descent_editions.py from _toc.yml: do not edit.\n"
                      + yaml.safe_dump(toc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def student_config(source: Path, target: Path) -> None:
    """Write ``source`` (a ``_config.yml``) to ``target`` with solutions hidden.

    ``local_extensions`` paths are made absolute: Jupyter Book reads them relative to the
    configuration file, which now lives elsewhere.
    """
    import yaml

    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["hide_solutions"] = True
    root = source.resolve().parent
    sphinx["local_extensions"] = {
        name: str((root / path).resolve()) for name, path in (sphinx.get("local_extensions") or {}).items()
    }
    if config.get("execute", {}).get("execute_notebooks") == "cache":
        # the notebooks the full site's build (`make book`) ran, not a second run of them
        config["execute"]["cache"] = str(root / "_build" / ".jupyter_cache")
    config["title"] = f"{config.get('title', '')} (student edition)".strip()
    # the launch buttons open the student editions (no solutions), published by the Book
    # workflow to this branch (book/_ext/editions.py branch DIR --edition student)
    config.setdefault("repository", {})["branch"] = STUDENT_BRANCH
    config["exclude_patterns"] = [*config.get("exclude_patterns", []), *(f"{p}.md" for p in INSTRUCTORS_ONLY)]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("# Generated by book/_ext/descent_editions.py from _config.yml: do not edit.\n"
                      + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "student-config":
        sys.exit("usage: python book/_ext/descent_editions.py student-config OUT.yml")
    root = Path(__file__).resolve().parents[2]
    student_config(root / "_config.yml", Path(sys.argv[2]))
    student_toc(root / "_toc.yml", Path(sys.argv[2]).with_name("_toc.yml"))
