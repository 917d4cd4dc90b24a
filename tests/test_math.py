"""Formulas are typeset when the book is built (``book/_ext/descent_math.py``), by MathJax 3 in
Node.js: the page gets MathJax's CommonHTML and the MathML a screen reader reads, and a TeX
error stops a strict build with its page and line.

Needs Node.js and MathJax in ``book/_ext/node_modules`` (``bash book/_ext/vendor.sh``, which
``make book`` runs); skips without them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import descent_math  # noqa: E402

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (descent_math.HERE / "node_modules" / "mathjax").is_dir(),
    reason="no Node.js or no MathJax in book/_ext/node_modules: bash book/_ext/vendor.sh",
)


@pytest.fixture(scope="module")
def typesetter() -> descent_math.Typesetter:
    return descent_math.Typesetter()


def test_a_formula_comes_as_commonhtml_with_its_mathml(typesetter):
    html, errors = typesetter.typeset(r"\hat m_t = \frac{m_t}{1 - \beta_1^t}", display=True)
    assert errors == []
    assert html.startswith('<mjx-container class="MathJax" jax="CHTML" display="true"')
    # what the eye sees is hidden from screen readers, which read the MathML copy instead
    assert '<mjx-math display="true"' in html and 'aria-hidden="true"' in html
    mathml = re.search(r"<mjx-assistive-mml[^>]*>(.*)</mjx-assistive-mml>", html).group(1)
    assert "<mfrac>" in mathml and "<msubsup>" in mathml and "<mi>β</mi>" in mathml


def test_inline_and_display_differ(typesetter):
    inline, _ = typesetter.typeset(r"\sum_i x_i", display=False)
    display, _ = typesetter.typeset(r"\sum_i x_i", display=True)
    assert 'display="true"' not in inline and 'display="true"' in display


@pytest.mark.parametrize(
    ("tex", "error"),
    [
        (r"\undefinedmacro x", r"Undefined control sequence \undefinedmacro"),
        (r"x^{2", "missing close brace"),
        (r"\frac{1}", "Missing argument for \\frac"),
    ],
)
def test_a_tex_error_is_reported_not_drawn(typesetter, tex, error):
    _, errors = typesetter.typeset(tex, display=False)
    assert any(error in e for e in errors), errors


def test_macros_from_an_extension_load_on_demand(typesetter):
    """``\\boldsymbol`` and ``\\cancel`` live in extensions MathJax loads when first used."""
    html, errors = typesetter.typeset(r"\boldsymbol{x} + \cancel{y}", display=False)
    assert errors == [] and "mjx-merror" not in html


def test_the_stylesheet_holds_every_glyph_and_follows_the_text_size(typesetter):
    css = typesetter.stylesheet()
    assert css.startswith(descent_math.MATCH_FONT_HEIGHT)
    assert f'url("{descent_math.FONTS}/MathJax_Main-Regular.woff")' in css
    # glyphs no formula has used are there too (aleph, U+2135): one stylesheet serves every page
    assert "mjx-c.mjx-c2135::before" in css
    assert css.count("@font-face") >= 20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = b", "a = b"),
        ("a &= b \\\\ c &= d", r"\begin{split}a &= b \\ c &= d\end{split}"),
        ("a = b\n\nc = d", r"\begin{align}\begin{aligned}a = b\\c = d\end{aligned}\end{align}"),
    ],
)
def test_display_tex_is_what_sphinx_gave_mathjax(text, expected):
    from docutils import nodes

    assert descent_math.display_tex(nodes.math_block(text, text, nowrap=False)) == expected


def _sphinx_project(folder: Path, body: str) -> Path:
    folder.mkdir()
    (folder / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
        "extensions = ['descent_math']\nhtml_math_renderer = 'descent_chtml'\nmath_number_all = False\n"
    )
    (folder / "index.rst").write_text(body)
    return folder


def _build(source: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(source), str(out)],
        capture_output=True, text=True, timeout=300,
    )


def test_a_page_gets_its_formulas_typeset_and_no_mathjax_script(tmp_path):
    source = _sphinx_project(tmp_path / "ok", (
        "Title\n=====\n\nInline :math:`\\eta < 2/L`.\n\n"
        ".. math::\n   :label: step\n\n   x_{t+1} = x_t - \\eta f'(x_t)\n\nSee :eq:`step`.\n"
    ))
    result = _build(source, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "out" / "index.html").read_text()
    assert page.count("<mjx-container") == 2
    assert '<span class="eqno">(1)' in page and 'id="equation-step"' in page
    assert "_static/descent/mathjax/chtml.css" in page
    assert not re.search(r"<script[^>]*mathjax", page, re.I)
    css = (tmp_path / "out" / "_static" / descent_math.STYLESHEET).read_text()
    # the rules of the glyphs the page uses (eta, L), not of those no page uses (aleph)
    assert "mjx-c.mjx-c1D702.TEX-I::before" in css and "mjx-c.mjx-c1D43F.TEX-I::before" in css
    assert "mjx-c2135" not in css and "@font-face" in css


SITE = ROOT / "_build" / "html"


@pytest.mark.skipif(not (SITE / "_static" / descent_math.STYLESHEET).is_file(),
                    reason="no built site: run `make book` first")
def test_every_glyph_a_built_page_uses_has_its_rule():
    css = (SITE / "_static" / descent_math.STYLESHEET).read_text()
    ruled = set(descent_math.GLYPH.findall(css))
    used = descent_math.glyphs_used(SITE)
    assert used, "no typeset formula in the built site"
    assert used <= ruled, f"glyphs without a rule in chtml.css: {sorted(used - ruled)[:10]}"


def test_a_tex_error_stops_a_strict_build_with_page_and_line(tmp_path):
    body = "Title\n=====\n\nFine :math:`x`.\n\nBroken :math:`\\frac{1}`.\n"
    source = _sphinx_project(tmp_path / "bad", body)
    result = _build(source, tmp_path / "out")
    assert result.returncode != 0
    where = r"index\.rst:6: ?(WARNING: )?TeX error in \"\\frac\{1\}\": Missing argument"
    assert re.search(where, result.stderr), result.stderr


def test_a_page_is_typeset_in_one_request_with_the_same_result(typesetter):
    """The build sends a page's formulas together (``typeset_all``); each comes out as it does
    alone, errors included, and repeated formulas are typeset once."""
    formulas = [(r"\sqrt{\hat v_t} + \varepsilon", True), (r"\eta_t", False), (r"\nosuchmacro", False)]
    batched = descent_math.Typesetter()
    batched.typeset_all(formulas + formulas[:1])
    assert len(batched._cache) == 3
    for tex, display in formulas:
        assert batched.typeset(tex, display) == typesetter.typeset(tex, display)


def test_mathjax_that_cannot_start_says_why(tmp_path):
    """A MathJax that fails to start (here, asked for a component it does not have) is an error
    with MathJax's reason, not a build that hangs or says only that Node.js stopped."""
    script = (descent_math.HERE / "tex2chtml.js").read_text(encoding="utf-8")
    mathjax = descent_math.HERE / "node_modules" / "mathjax"
    broken = script.replace('require("mathjax")', f"require({str(mathjax)!r})").replace(
        '"input/tex"', '"input/no-such-jax"')
    assert broken != script
    (tmp_path / "tex2chtml.js").write_text(broken, encoding="utf-8")
    with pytest.raises(descent_math.MathJaxError, match=r"did not start: .*no-such-jax"):
        descent_math.Typesetter(tmp_path / "tex2chtml.js").typeset("x", display=False)
