"""Sphinx extension for building the Descent book.

* Tells the notebook kernels that the build starts to precompute slider frames
  (``DESCENT_SLIDERS=static``), so sliders still move their figures on the static site.
* Stops the build early, with the fix, when the self-hosted JavaScript is missing.
* Drops the second copy of inline scripts that the theme writes twice into every page under
  Jupyter Book 1 (sphinx-thebe's configuration among them, whose second copy throws
  "THEBE_JS_URL has already been declared" in the browser).
* Serves ``book/_ext/static/descent-a11y.{css,js}`` on every page: accessibility fixes for the
  theme (link contrast, controls whose accessible name hides their visible text, unlabelled
  animation sliders, the roles of the references list), checked by the axe test in
  ``tests/test_site.py``.
* Writes a skip link into every page, the first thing the Tab key reaches, that jumps past the
  header and the sidebar to the article (WCAG 2.4.1), and on pages with sliders a second one to
  the first slider.
"""

import os
import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

VENDOR = Path(__file__).resolve().parent.parent / "_vendor" / "descent"
STATIC = Path(__file__).resolve().parent / "static"


def _serve_static(app: Sphinx, config: Config) -> None:
    """Add this extension's own static folder to the site's static path."""
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def _drop_duplicate_inline_scripts(app: Sphinx, exception: Exception | None) -> None:
    """Keep only the first copy of each inline ``<script>`` line in every written page."""
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        lines = page.read_text(encoding="utf-8").splitlines(keepends=True)
        seen: set[str] = set()
        kept = []
        for line in lines:
            text = line.strip()
            if text.startswith("<script>") and text.endswith("</script>"):
                if text in seen:
                    continue
                seen.add(text)
            kept.append(line)
        if len(kept) != len(lines):
            page.write_text("".join(kept), encoding="utf-8")


SKIP_LINK = '<a class="descent-skip-link" href="#descent-main">Skip to main content</a>'
#: On a page with sliders, a second skip link to the first one (descent-a11y.js gives the
#: figure the target id once the widgets have rendered).
SKIP_TO_FIGURE = ('<a class="descent-skip-link" href="#descent-first-figure">'
                  "Skip to the first interactive figure</a>")


def add_skip_link(html: str) -> str:
    """``html`` with a skip link right after ``<body>`` to the article, which gets its target id."""
    if "descent-skip-link" in html or '<article class="bd-article"' not in html:
        return html
    html = html.replace('<article class="bd-article"',
                        '<article class="bd-article" id="descent-main" tabindex="-1"', 1)
    links = SKIP_LINK + (SKIP_TO_FIGURE if "application/vnd.jupyter.widget-view+json" in html else "")
    return re.sub(r"(<body\b[^>]*>)", lambda m: m.group(1) + links, html, count=1)


def _add_skip_links(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        changed = add_skip_link(text)
        if changed != text:
            page.write_text(changed, encoding="utf-8")


def setup(app: Sphinx) -> dict:
    app.connect("build-finished", _drop_duplicate_inline_scripts)
    app.connect("build-finished", _add_skip_links)
    app.connect("config-inited", _serve_static)
    app.add_css_file("descent-a11y.css")
    app.add_js_file("descent-a11y.js")
    # Forced, not defaulted: a site built with live sliders (say, DESCENT_SLIDERS=live left in
    # the shell) would show sliders that move nothing, since no kernel runs behind the page.
    os.environ["DESCENT_SLIDERS"] = "static"
    if not (VENDOR / ".complete").is_file():
        raise ExtensionError(
            f"{VENDOR} is missing: run `bash book/_ext/vendor.sh` (or `make book`) first"
        )
    return {"parallel_read_safe": True, "parallel_write_safe": True}
