"""The built website, read in a real browser: sliders move figures with no kernel, math renders,
no request leaves the local host, and axe-core finds no serious accessibility violation.

Needs the book built into ``_build/html`` (``make book``; set ``DESCENT_SITE`` to test a build
elsewhere) and Debian's Chromium at ``/usr/bin/chromium`` (``.ci/run`` installs it); the
accessibility test also needs axe-core in ``tests/_vendor`` (``bash book/_ext/vendor.sh``, which
``make book`` runs). Each skips with a message when what it needs is missing.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("DESCENT_SITE") or ROOT / "_build" / "html").resolve()
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _toc_files(node: object) -> list[str]:
    """Every ``file:`` of the table of contents, in order, at any depth (parts, sections)."""
    if isinstance(node, dict):
        own = [node["file"]] if "file" in node else []
        return own + [f for key, value in node.items() if key != "file" for f in _toc_files(value)]
    if isinstance(node, list):
        return [f for item in node for f in _toc_files(item)]
    return []


TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
#: Every page of the book (the root page first), in the order of the table of contents.
PAGES = [f"{file}.html" for file in [TOC["root"], *_toc_files(TOC)]]
#: Every chapter notebook of the book and its sub-pages (``book/ch03/...``), in toc order.
CHAPTERS = [page for page in PAGES
            if Path(page).name.startswith("ch") or Path(page).parent.name.startswith("ch")]
#: The toc's pages, then every other page the build wrote (search, indexes), but not the
#: root ``index.html``, which only redirects to the first page.
BUILT_PAGES = PAGES + sorted(
    page.name for page in (SITE.glob("*.html") if SITE.is_dir() else [])
    if page.name != "index.html" and page.name not in PAGES
)

AXE = ROOT / "tests" / "_vendor" / "axe-core" / "axe.min.js"
#: WCAG 2.0 and 2.1, levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

playwright_sync = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: pip install -r tests/requirements.txt"
)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    if not (SITE / "index.html").is_file():
        pytest.skip(f"no built site at {SITE}: run `make book` first")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (CI does)")
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def _open(browser, url: str):
    """Open a page, recording every request it makes and every uncaught script error."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(url, wait_until="networkidle")
    return page, requests


def _visible_frame(page, widget_index: int) -> str:
    """The image data shown by the ``widget_index``-th slider widget on the page."""
    return page.evaluate(
        """(index) => {
            const widget = document.querySelectorAll('.widget-vbox')[index];
            const images = [...widget.querySelectorAll('img')].filter(img => img.offsetParent !== null);
            return images.length === 1 ? images[0].src : `${images.length} visible images`;
        }""",
        widget_index,
    )


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_slider_changes_its_figure(browser, server, chapter):
    if (SITE / chapter).is_file() and "widget-view+json" not in (SITE / chapter).read_text():
        pytest.skip("no slider on this page (tests/test_live_sliders.py: one per chapter)")
    page, _ = _open(browser, f"{server}/{chapter}")
    page.wait_for_selector(".widget-vbox .noUi-handle", timeout=20_000)
    widgets = page.locator(".widget-vbox")
    assert widgets.count() >= 1, "the chapter shows no slider widget"
    for index in range(widgets.count()):
        handles = widgets.nth(index).locator(".noUi-handle")
        assert handles.count() >= 1
        for h in range(handles.count()):
            before = _visible_frame(page, index)
            assert before.startswith("data:image/png"), before
            handle = handles.nth(h)
            at_start = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemin")
            handle.focus()
            page.keyboard.press("ArrowRight" if at_start else "ArrowLeft")
            page.wait_for_timeout(200)
            after = _visible_frame(page, index)
            assert after.startswith("data:image/png"), after
            assert after != before, f"slider {h} of widget {index} did not change its figure"
    page.close()


@pytest.mark.parametrize("chapter", ["book/intro.html", *CHAPTERS])
def test_math_renders_no_script_fails_and_nothing_leaves_the_host(browser, server, chapter):
    page, requests = _open(browser, f"{server}/{chapter}")
    page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
    assert page.locator("mjx-container").count() > 0
    assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
    page.wait_for_timeout(500)
    foreign = [u for u in requests if urlparse(u).scheme in {"http", "https"}
               and urlparse(u).hostname not in LOCAL_HOSTS]
    assert not foreign, f"requests left the local host: {foreign}"
    assert not page.errors, f"uncaught script errors: {page.errors}"
    page.close()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_is_light(chapter):
    if not (SITE / chapter).is_file():
        pytest.skip(f"no built page {chapter}: run `make book` first")
    size = (SITE / chapter).stat().st_size
    assert size < 3_000_000, f"{chapter} weighs {size / 1e6:.1f} MB"


def axe_violations(page) -> list[dict]:
    """Run axe-core with the WCAG 2.1 A/AA rules on an open page; return its violations.

    axe is injected as an inline script with ``define`` hidden, so that the page's require.js
    does not take it for an anonymous AMD module; the page itself never loads axe.
    """
    source = AXE.read_text(encoding="utf-8")
    page.add_script_tag(content=f"(function () {{ var define, module, exports;\n{source}\n}})();")
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return results["violations"]


def describe_violations(violations: list[dict], limit: int = 8) -> str:
    """One paragraph per rule: id, impact, what it asks, and the CSS targets of the nodes."""
    lines = []
    for v in violations:
        targets = [" ".join(map(str, node["target"])) for node in v["nodes"]]
        more = f"; ... ({len(targets) - limit} more)" if len(targets) > limit else ""
        shown = "; ".join(targets[:limit]) + more
        lines.append(f"{v['id']} [{v['impact']}] {v['help']}: {len(targets)} node(s): {shown}")
    return "\n".join(lines)


@pytest.mark.parametrize("page_path", BUILT_PAGES)
def test_no_serious_accessibility_violations(browser, server, page_path):
    """axe-core (WCAG 2.1 A and AA) finds nothing serious or critical on the page."""
    if not AXE.is_file():
        pytest.skip(f"no axe-core at {AXE}: run `bash book/_ext/vendor.sh`")
    if not (SITE / page_path).is_file():
        pytest.skip(f"no built page {page_path}: run `make book` first")
    page, _ = _open(browser, f"{server}/{page_path}")
    page.wait_for_timeout(500)  # let MathJax and the slider widgets finish rendering
    violations = axe_violations(page)
    named_by_file = page.evaluate(
        """() => [...document.querySelectorAll('.bd-article img')]
            .filter(img => /\\.(png|jpe?g|gif|svg|webp)$/i.test(img.getAttribute('alt') || ''))
            .map(img => `image in section #${img.closest('section[id]')?.id ?? '?'}`)"""
    )
    page.close()
    serious = [v for v in violations if v["impact"] in {"serious", "critical"}]
    if named_by_file:
        # axe accepts any alt text; Sphinx's default, the image's file name, describes nothing.
        serious.append({
            "id": "alt-is-file-name", "impact": "serious",
            "help": "Alt text must describe the image, not be its file name (code cells: cell "
                    "metadata mystnb.image.alt)",
            "nodes": [{"target": [alt]} for alt in named_by_file],
        })
    assert not serious, f"{page_path}: accessibility violations\n" + describe_violations(serious)
