"""Formulas typeset when the book is built, not in the reader's browser.

Sphinx's HTML math renderer ``descent_chtml`` (``html_math_renderer`` in ``_config.yml``) hands
each formula's TeX to MathJax 3 running in Node.js (``tex2chtml.js`` next to this file, MathJax
from ``book/_ext/node_modules``, fetched by ``vendor.sh``) and writes the CommonHTML it returns
into the page: the same markup MathJax used to write in the browser, with the MathML a screen
reader reads. A page carries no MathJax script: it shows its formulas as soon as its HTML and
the shared stylesheet ``_static/descent/mathjax/chtml.css`` (MathJax's rules, for the glyphs the
site uses) have loaded, and spends no second of script typesetting a chapter at every load. A
TeX error, or a control sequence TeX does not know, stops the build with the page and line (a
warning, which ``-W`` makes an error).

The markup around each formula is Sphinx's own for MathJax (``sphinx.ext.mathjax``): the
``span.math`` and ``div.math`` boxes, the equation number and its permalink, and several
paragraphs of one ``math`` block set as an ``align``.
"""

from __future__ import annotations

import atexit
import json
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

HERE = Path(__file__).resolve().parent
RENDERER = "descent_chtml"
#: Where the stylesheet is written in the built site, and the fonts it names, relative to it
#: (``book/_vendor/descent/mathjax/``, copied with the other static files).
STYLESHEET = "descent/mathjax/chtml.css"
FONTS = "output/chtml/fonts/woff-v2"
#: MathJax's TeX fonts have an x-height of 0.442 em. In the browser MathJax scaled each formula
#: so that its x-height matched its text's (``matchFontHeight``); ``ex`` in ``font-size`` is the
#: text's x-height, so this rule does the same without measuring.
MATCH_FONT_HEIGHT = 'mjx-container[jax="CHTML"] { font-size: calc(1ex / 0.442); }\n'

logger = logging.getLogger(__name__)


class MathJaxError(RuntimeError):
    """Node.js or MathJax could not be started, or stopped answering."""


class Typesetter:
    """One Node.js process running ``tex2chtml.js``, asked a page's formulas at a time (or
    one), with each formula typeset once per build."""

    def __init__(self, script: Path = HERE / "tex2chtml.js") -> None:
        self.script = script
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, bool], tuple[str, list[str]]] = {}

    def _start(self) -> subprocess.Popen[str]:
        node = shutil.which("node")
        if node is None:
            raise MathJaxError("Node.js is needed to typeset the formulas: apt-get install nodejs")
        if not (HERE / "node_modules" / "mathjax" / "package.json").is_file():
            raise MathJaxError(f"no MathJax in {HERE / 'node_modules'}: run `bash book/_ext/vendor.sh`")
        process = subprocess.Popen(
            [node, str(self.script), FONTS],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # MathJax's notices; a failure to start comes as an answer
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        atexit.register(process.kill)
        return process

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = self._start()
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise MathJaxError("MathJax (book/_ext/tex2chtml.js) stopped without an answer")
        reply = json.loads(line)
        if "fatal" in reply:
            raise MathJaxError(f"MathJax (book/_ext/tex2chtml.js) did not start: {reply['fatal']}")
        return reply

    def typeset(self, tex: str, display: bool) -> tuple[str, list[str]]:
        """The CommonHTML of ``tex`` and the TeX errors MathJax reported (none if it is fine)."""
        key = (tex, display)
        if key not in self._cache:
            reply = self._ask({"tex": tex, "display": display})
            self._cache[key] = (reply["html"], list(reply["errors"]))
        return self._cache[key]

    def typeset_all(self, formulas: list[tuple[str, bool]]) -> None:
        """Typeset the formulas not yet typeset, in one request (a page's, before it is written)."""
        wanted = list(dict.fromkeys(key for key in formulas if key not in self._cache))
        if wanted:
            reply = self._ask({"batch": [{"tex": tex, "display": display} for tex, display in wanted]})
            for key, one in zip(wanted, reply["batch"], strict=True):
                self._cache[key] = (one["html"], list(one["errors"]))

    def stylesheet(self) -> str:
        """The stylesheet every formula needs: MathJax's rules for all of its TeX font's glyphs."""
        return MATCH_FONT_HEIGHT + self._ask({"stylesheet": True})["css"]


TYPESETTER = Typesetter()


def _formula(node: nodes.Element, tex: str, display: bool) -> str:
    """The typeset formula; each TeX error a warning at the formula's page and line."""
    html, errors = TYPESETTER.typeset(tex, display)
    for error in errors:
        shown = tex if len(tex) < 120 else tex[:117] + "..."
        logger.warning('TeX error in "%s": %s', shown, error, location=node, type="descent", subtype="tex")
    return html


def visit_math(translator: Any, node: nodes.math) -> None:
    translator.body.append(translator.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    translator.body.append(_formula(node, node.astext(), display=False) + "</span>")
    raise nodes.SkipNode


def display_tex(node: nodes.math_block) -> str:
    """The TeX of a display formula as ``sphinx.ext.mathjax`` hands it to MathJax: a ``nowrap``
    block as it is; otherwise each paragraph one equation (``split`` if it has ``\\\\``), and
    several set as an ``align``."""
    if node.get("nowrap"):
        return node.astext()
    parts = [part for part in node.astext().split("\n\n") if part.strip()]
    body = r"\\".join(rf"\begin{{split}}{part}\end{{split}}" if r"\\" in part else part for part in parts)
    return rf"\begin{{align}}\begin{{aligned}}{body}\end{{aligned}}\end{{align}}" if len(parts) > 1 else body


def visit_displaymath(translator: Any, node: nodes.math_block) -> None:
    translator.body.append(translator.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node.get("number") and not node.get("nowrap"):
        number = get_node_equation_number(translator, node)
        translator.body.append(f'<span class="eqno">({number})')
        translator.add_permalink_ref(node, _("Link to this equation"))
        translator.body.append("</span>")
    translator.body.append(_formula(node, display_tex(node), display=True) + "</div>\n")
    raise nodes.SkipNode


def typeset_page(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Typeset a page's formulas in one request before it is written (one at a time, the build
    would wait on a round trip to Node.js per formula)."""
    if app.builder.format != "html" or getattr(app.builder, "math_renderer_name", None) != RENDERER:
        return
    formulas = [(node.astext(), False) for node in doctree.findall(nodes.math)]
    formulas += [(display_tex(node), True) for node in doctree.findall(nodes.math_block)]
    TYPESETTER.typeset_all(formulas)


#: A glyph of MathJax's font, as a class of the markup (``mjx-c1D702``) and in its CSS rule.
GLYPH = re.compile(r"mjx-c([0-9A-F]+)\b")
#: One rule of the stylesheet; a glyph's ``content`` may be a brace (``content: "{"``).
RULE = re.compile(r'(?:[^{}"]|"(?:\\.|[^"\\])*")+\{(?:[^{}"]|"(?:\\.|[^"\\])*")*\}')


def glyphs_used(site: Path) -> set[str]:
    """The glyphs the formulas of every page written into ``site`` use (their navigation too)."""
    return {code for page in site.rglob("*.html") for code in GLYPH.findall(page.read_text(encoding="utf-8"))}


def only_glyphs(css: str, glyphs: set[str]) -> str:
    """MathJax's stylesheet without the rules of the glyphs no page uses (about 1,900 of 2,800)."""
    rules = RULE.findall(css)
    if "".join(rules) != re.sub(r"\s+$", "", css):  # every character of the stylesheet is in a rule
        raise ValueError("cannot split MathJax's stylesheet into rules")
    return "".join(rule for rule in rules
                   if (codes := GLYPH.findall(rule.split("{")[0])) == [] or any(c in glyphs for c in codes))


def write_stylesheet(app: Sphinx, exception: Exception | None) -> None:
    """Write the formulas' stylesheet: MathJax's rules, and of its glyphs those the site's pages
    use (every page, read back once all are written: an incremental build keeps the others)."""
    if exception is not None or app.builder.format != "html":
        return
    path = Path(app.outdir) / "_static" / STYLESHEET
    path.parent.mkdir(parents=True, exist_ok=True)
    css = only_glyphs(TYPESETTER.stylesheet(), glyphs_used(Path(app.outdir)))
    if not path.is_file() or path.read_text(encoding="utf-8") != css:
        path.write_text(css, encoding="utf-8")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_html_math_renderer(RENDERER, (visit_math, None), (visit_displaymath, None))
    app.add_css_file(STYLESHEET)
    app.connect("doctree-resolved", typeset_page)
    app.connect("build-finished", write_stylesheet)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": False}
