"""The built website, read in a real browser at desktop width (1280 x 900): math renders, no
script fails and no request leaves the local host; every slider moves its figure with no kernel;
axe-core finds no serious accessibility violation; and the keyboard reaches and moves the first
slider (issue 20):

* the first Tab reaches the skip link; the first slider is at most ``FIGURE_BUDGET`` presses from
  page load (Tab, Tab, Enter on "Skip to the first interactive figure", Tab) and at most
  ``MAIN_CONTENT_BUDGET`` via "Skip to main content" (every link, copy button and folded cell
  before the figure is a stop); every stop on the way shows a focus indicator of at least 2 px;
* arrow keys, Home and End move the slider and change its figure; ``aria-valuetext`` names the
  parameter and the value the readout shows; a polite live region after the figure announces the
  shown frame's alt text once per settled change.

**One load per page.** The checks of a page share one open tab (``LoadedPage``, from the
``tabs`` fixture), and pytest runs them one after the other, because their ``page_path`` is
parametrized with module scope; ``tests/test_site_phone.py`` does the same at 390 px. A page is
ready when its fonts have loaded, its sliders are drawn, its images are decoded and nothing has
changed in it for ``QUIET_MS``, and at least ``AFTER_IDLE_MS`` after ``networkidle``
(``LoadedPage.settle``). The checks that only read the page come
first, then the keyboard walk, which needs the page as it loaded; a check that moves a slider or
presses a key takes the page with ``to_change()``, and a later check that needs the page as it
loaded gets it reloaded. The slider check comes last and works on the page as the walk left it.
So every run (``make test``: math, sliders; ``make test-slow``: axe, keyboard; CI: all four)
loads a page once.
Under pytest-xdist a page is one unit of ``conftest.py``'s ``work_unit`` (as a page at 390 px is
in ``tests/test_site_phone.py``): the pages spread over the workers and each page's checks stay on one.

Needs the book built into ``_build/html`` (``make book``; set ``DESCENT_SITE`` to test a build
elsewhere) and Debian's Chromium at ``/usr/bin/chromium`` (``.ci/run`` installs it); the
accessibility test also needs axe-core in ``tests/_vendor`` (``bash book/_ext/vendor.sh``, which
``make book`` runs). Each skips with a message when what it needs is missing.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import http.server
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
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


#: Presses from page load to the first slider through "Skip to main content": the links, copy
#: buttons and "Show code cell source" toggles of the text before the first figure (chapter 7
#: has the most, 44, measured 2026-12-06); formulas are not stops.
MAIN_CONTENT_BUDGET = 50
#: ... and through "Skip to the first interactive figure".
FIGURE_BUDGET = 25

#: A page is ready to be checked once its fonts have loaded, its sliders are drawn and nothing
#: in it has changed for ``QUIET_MS``: descent-a11y.js measures the boxes that scroll 100 ms
#: after the last change. And not before ``AFTER_IDLE_MS`` after ``networkidle``, the time late
#: requests and script errors had to show up before (the phone checks waited a fixed 800 ms).
QUIET_MS = 150
AFTER_IDLE_MS = 500
#: After the window is resized, the page has not changed for this long: the resize event may
#: come a frame late, then descent-a11y.js measures 100 ms later (the fixed wait was 500 ms).
QUIET_AFTER_RESIZE_MS = 500
#: The handles of the slider widgets, drawn after the page has loaded (require.js loads the
#: widget manager).
SLIDER_HANDLE = ".widget-vbox .noUi-handle"

#: Resolves when the page is ready: its fonts loaded (the formulas come typeset in the page),
#: then ``quiet`` ms with no change to the document, then its images loaded; at most
#: ``cap`` ms in all, so that a page that never settles is checked as it is.
SETTLE_JS = """async ([quiet, cap]) => {
  const ready = (async () => {
    await document.fonts.ready;
    await new Promise((resolve) => {
      let timer = setTimeout(done, quiet);
      const observer = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(done, quiet); });
      function done() { observer.disconnect(); resolve(); }
      observer.observe(document.documentElement,
                       {childList: true, subtree: true, attributes: true, characterData: true});
    });
    await Promise.all([...document.images].filter((img) => !img.complete && img.loading !== 'lazy')
      .map((img) => img.decode().catch(() => null)));
  })();
  await Promise.race([ready, new Promise((resolve) => setTimeout(resolve, cap))]);
}"""


@dataclasses.dataclass(frozen=True)
class Viewport:
    """The browser window a page is read in; ``phone``: a touch screen laid out as a phone's."""

    name: str
    width: int
    height: int
    phone: bool = False


DESKTOP = Viewport("desktop", 1280, 900)
PHONE = Viewport("phone", 390, 844, phone=True)


def has_sliders(page_path: str) -> bool:
    return (SITE / page_path).is_file() and "widget-view+json" in (SITE / page_path).read_text()




class LoadedPage:
    """One page of the site open in a browser tab at one viewport (in ``Tabs``'s context for
    that viewport), shared by the checks of that page.

    ``measure(name, how)`` runs ``how()`` once and keeps what it returns, for the checks that
    read the same measurement. ``as_loaded()`` gives the page as it loaded, reloading it first if
    a check has changed it; ``to_change()`` gives it to a check that will (move a slider, press a
    key, resize the window). ``requests``, ``failed`` and ``errors`` hold every request the page
    made, every one that failed or was answered with an error status, and every uncaught script
    error since it was opened, reloads included.
    """

    def __init__(self, context, url: str, viewport: Viewport, sliders: bool) -> None:
        self.url, self.viewport, self.sliders = url, viewport, sliders
        self.page = context.new_page()
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("requestfailed",
                     lambda request: self.failed.append(f"{request.url} ({request.failure})"))
        self.page.on("response", lambda response: self.failed.append(f"{response.url} ({response.status})")
                     if response.status >= 400 else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self._measured: dict[str, object] = {}
        self.page.goto(url, wait_until="networkidle")
        self._settle_after_load()
        self.changed = False

    def _settle_after_load(self) -> None:
        idle = time.monotonic()
        self.settle()
        self.page.wait_for_timeout(max(0.0, AFTER_IDLE_MS - 1000 * (time.monotonic() - idle)))

    def settle(self, quiet_ms: float = QUIET_MS) -> None:
        """Wait until the page is ready (``SETTLE_JS``): on a page with sliders, their handles
        first (a page whose sliders never appear is left to the checks that look for them)."""
        if self.sliders:
            try:
                self.page.wait_for_selector(SLIDER_HANDLE, timeout=20_000)
            except playwright_sync.TimeoutError:
                pass
        self.page.evaluate(SETTLE_JS, [quiet_ms, 20_000])

    def as_loaded(self):
        if self.changed:
            self.page.set_viewport_size({"width": self.viewport.width, "height": self.viewport.height})
            self.page.reload(wait_until="networkidle")
            self._settle_after_load()
            self.changed = False
        return self.page

    def to_change(self, *, as_loaded: bool = True):
        """The page, for a check that will change it: as it loaded, or (``as_loaded=False``, for a
        check that needs only working sliders) as the checks before left it."""
        page = self.as_loaded() if as_loaded else self.page
        self.changed = True
        return page

    def measure(self, name: str, how: Callable[[], object]) -> object:
        if name not in self._measured:
            self._measured[name] = how()
        return self._measured[name]

    def close(self) -> None:
        self.page.close()


class Tabs:
    """The page open at each viewport: the checks of one page share it, and opening another
    page at that viewport closes it, so a worker holds one page per viewport at a time. The
    pages of one viewport open in one browser context, as a reader's tabs do: the site's scripts
    come from its cache, compiled once, not fetched and compiled again for every page. The
    fixtures are module-scoped: one Playwright (and one browser) at a time per process, as the
    sync API requires, and ``tests/test_site_phone.py`` imports them."""

    def __init__(self, browser, server: str) -> None:
        self.browser, self.server = browser, server
        self._open: dict[Viewport, tuple[str, LoadedPage]] = {}
        self._contexts: dict[Viewport, object] = {}

    def _context(self, viewport: Viewport):
        if viewport not in self._contexts:
            self._contexts[viewport] = self.browser.new_context(
                viewport={"width": viewport.width, "height": viewport.height},
                is_mobile=viewport.phone, has_touch=viewport.phone, device_scale_factor=1,
            )
        return self._contexts[viewport]

    def open(self, page_path: str, viewport: Viewport) -> LoadedPage:
        path, loaded = self._open.get(viewport, (None, None))
        if path != page_path:
            if loaded is not None:
                loaded.close()
            loaded = LoadedPage(self._context(viewport), f"{self.server}/{page_path}", viewport,
                                has_sliders(page_path))
            self._open[viewport] = (page_path, loaded)
        return loaded

    def close(self) -> None:
        for _, loaded in self._open.values():
            loaded.close()
        self._open.clear()
        for context in self._contexts.values():
            context.close()
        self._contexts.clear()


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


@pytest.fixture(scope="module")
def tabs(browser, server) -> Iterator[Tabs]:
    tabs = Tabs(browser, server)
    yield tabs
    tabs.close()


def wait_until(page, predicate: str, arg: object, timeout_ms: float) -> bool:
    """Wait until ``predicate(arg)`` is true in the page, at most ``timeout_ms`` (at least the
    fixed wait it replaced, so a check sees no less than it did); whether it came true."""
    try:
        page.wait_for_function(predicate, arg=arg, timeout=timeout_ms)
    except playwright_sync.TimeoutError:
        return False
    return True


#: The image data shown by the ``index``-th slider widget on the page.
VISIBLE_FRAME_JS = """(index) => {
  const widget = document.querySelectorAll('.widget-vbox')[index];
  const images = [...widget.querySelectorAll('img')].filter(img => img.offsetParent !== null);
  return images.length === 1 ? images[0].src : `${images.length} visible images`;
}"""


FRAME_CHANGED_JS = f"([index, before]) => ({VISIBLE_FRAME_JS})(index) !== before"


def _visible_frame(page, widget_index: int) -> str:
    return page.evaluate(VISIBLE_FRAME_JS, widget_index)


#: Whether a glyph of MathJax's TeX fonts (the ``MJXTEX`` families the stylesheet names) loaded.
MATH_FONT_LOADED_JS = """async () => {
  await document.fonts.ready;
  return [...document.fonts].some((face) => face.family.startsWith('MJXTEX') && face.status === 'loaded');
}"""
#: The files named by the page's ``@font-face`` rules that are not there. A browser asks for a font
#: only when some text needs it, and which of two rules for one font wins can depend on the order
#: scripts ran in, so the rules are read, not the requests.
MISSING_FONT_FILES_JS = r"""async () => {
  const urls = new Set();
  const read = (rules, base) => {
    for (const rule of rules) {
      if (rule instanceof CSSFontFaceRule) {
        for (const m of rule.style.getPropertyValue('src').matchAll(/url\(\s*["']?([^"')]+)["']?\s*\)/g)) {
          if (!m[1].startsWith('data:')) urls.add(new URL(m[1], base).href);
        }
      } else if (rule.cssRules) {
        read(rule.cssRules, base);
      }
    }
  };
  for (const sheet of document.styleSheets) {
    try { read(sheet.cssRules, sheet.href || document.baseURI); } catch (e) { /* another origin */ }
  }
  const missing = [];
  for (const url of urls) {
    if (!(await fetch(url, {method: 'HEAD'})).ok) missing.push(url);
  }
  return missing;
}"""
#: The glyphs of the formulas that ``chtml.css`` gives no character to draw (their classes).
GLYPHS_WITHOUT_RULE_JS = """() => [...new Set([...document.querySelectorAll('mjx-c')]
  .filter((c) => getComputedStyle(c, '::before').content === 'none').map((c) => c.className))]"""
#: Text of the article, outside code and formulas, that holds TeX a typesetter should have read.
RAW_TEX_JS = r"""() => {
  const walker = document.createTreeWalker(document.querySelector('.bd-article') || document.body,
                                           NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest('pre, code, script, style, mjx-container')) continue;
    const match = node.textContent.match(/\\[(\[]|\$\$|\\(frac|begin|mathbf|sum)\b/);
    if (match) found.push(node.textContent.trim().slice(0, 80));
  }
  return found;
}"""


# The checks of a page run in the order they are defined: those that only read the page first.


@pytest.mark.parametrize("page_path", ["book/intro.html", *CHAPTERS], scope="module")
def test_the_page_loads_cleanly(tabs, page_path):
    """The formulas come typeset and drawn in MathJax's fonts, no TeX is left as text, every request
    stays on this host and succeeds, every font the style sheets name is there, and no script
    fails."""
    loaded = tabs.open(page_path, DESKTOP)
    page = loaded.as_loaded()
    # the formulas come typeset in the page (book/_ext/descent_math.py): no script draws them
    assert page.locator("mjx-container").count() > 0
    assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
    assert page.evaluate(MATH_FONT_LOADED_JS), "MathJax's TeX fonts did not load"
    bare = page.evaluate(GLYPHS_WITHOUT_RULE_JS)
    assert not bare, f"glyphs the stylesheet draws nothing for: {bare[:10]}"
    leftover = page.evaluate(RAW_TEX_JS)
    assert not leftover, f"TeX shown as text, not typeset: {leftover[:5]}"
    # the load waited AFTER_IDLE_MS after networkidle
    foreign = [u for u in loaded.requests if urlparse(u).scheme in {"http", "https"}
               and urlparse(u).hostname not in LOCAL_HOSTS]
    assert not foreign, f"requests left the local host: {foreign}"
    assert not loaded.failed, f"requests that failed: {loaded.failed}"
    assert not loaded.errors, f"uncaught script errors: {loaded.errors}"
    missing = page.evaluate(MISSING_FONT_FILES_JS)
    assert not missing, f"fonts named by the page's style sheets that are not there: {missing}"


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


@pytest.mark.parametrize("page_path", BUILT_PAGES, scope="module")
def test_no_serious_accessibility_violations(tabs, page_path):
    """axe-core (WCAG 2.1 A and AA) finds nothing serious or critical on the page."""
    if not AXE.is_file():
        pytest.skip(f"no axe-core at {AXE}: run `bash book/_ext/vendor.sh`")
    if not (SITE / page_path).is_file():
        pytest.skip(f"no built page {page_path}: run `make book` first")
    page = tabs.open(page_path, DESKTOP).as_loaded()  # the fonts have loaded and the sliders have rendered
    violations = axe_violations(page)
    named_by_file = page.evaluate(
        """() => [...document.querySelectorAll('.bd-article img')]
            .filter(img => /\\.(png|jpe?g|gif|svg|webp)$/i.test(img.getAttribute('alt') || ''))
            .map(img => `image in section #${img.closest('section[id]')?.id ?? '?'}`)"""
    )
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


FOCUS_JS = """() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  return {
    name: `${e.tagName.toLowerCase()}.${String(e.className?.baseVal ?? e.className).split(' ')[0]}`,
    ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
    handle: e.classList.contains('noUi-handle'),
    valuetext: e.getAttribute('aria-valuetext'),
    valuenow: e.getAttribute('aria-valuenow'),
    readout: e.closest('.widget-hbox')?.querySelector(':scope > .widget-box')?.textContent.trim() ?? null,
    label: e.closest('.widget-slider')?.querySelector('.widget-label')?.textContent.trim() ?? null,
  };
}"""


def _tabs_to_first_slider(page, skip_links: int, limit: int) -> tuple[int, list[str]]:
    """Presses from load to the first slider handle, Tab-ing ``skip_links`` times to choose a skip
    link and Enter; the stops on the way that showed no focus indicator."""
    presses, unringed = 0, []
    for _ in range(skip_links):
        page.keyboard.press("Tab")
        presses += 1
    page.keyboard.press("Enter")
    presses += 1
    while presses < limit + 40:
        page.keyboard.press("Tab")
        presses += 1
        focus = page.evaluate(FOCUS_JS)
        if not focus["ring"]:
            unringed.append(focus["name"])
        if focus["handle"]:
            return presses, unringed
    return presses, unringed


@pytest.mark.parametrize("page_path", [p for p in PAGES if "/ch" in p], scope="module")
def test_keyboard_reaches_and_moves_the_first_slider(tabs, page_path):
    if not has_sliders(page_path):
        pytest.skip("no slider on this page")
    loaded = tabs.open(page_path, DESKTOP)
    page = loaded.to_change()
    page.wait_for_selector(SLIDER_HANDLE, timeout=20_000)

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    first_stop = page.evaluate_handle("document.activeElement").as_element()
    page.keyboard.press("Shift+Tab")
    presses, unringed = _tabs_to_first_slider(page, 1, MAIN_CONTENT_BUDGET)
    assert page.evaluate(FOCUS_JS)["handle"], "Skip to main content never led to a slider"
    assert presses <= MAIN_CONTENT_BUDGET, f"{presses} presses to the first slider via the main content"
    assert not unringed, f"stops with no visible focus indicator: {sorted(set(unringed))}"

    # the second route counts presses from where the first began: nothing focused, as at page
    # load; so the page's first stop is focused again and Shift+Tab leaves it, as above
    first_stop.focus()
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement === document.body"), "something is still focused"
    presses, _ = _tabs_to_first_slider(page, 2, FIGURE_BUDGET)
    focus = page.evaluate(FOCUS_JS)
    assert focus["handle"] and presses <= FIGURE_BUDGET, f"{presses} presses to the first slider"

    # aria-valuetext: the parameter and the value the readout shows, not the frame index
    assert focus["label"] and focus["readout"]
    assert focus["valuetext"] == f"{focus['label']} = {focus['readout']}", focus

    first_frame_js = """() => [...document.querySelectorAll('.widget-vbox')[0]
        .querySelectorAll('img')].filter(img => img.offsetParent !== null)
        .map(img => img.src.slice(-80)).join()"""
    # a key has moved the slider once its value, its figure and its valuetext have all changed
    settled_js = f"""([index, shown]) => {{
      const focus = ({FOCUS_JS})();
      return focus.valuenow !== index && ({first_frame_js})() !== shown
        && focus.valuetext === `${{focus.label}} = ${{focus.readout}}`;
    }}"""

    def frame() -> str:
        return page.evaluate(first_frame_js)

    moved = {}
    for key in ["End", "Home", "ArrowRight", "ArrowLeft"]:
        before_frame, before_index = frame(), focus["valuenow"]
        page.keyboard.press(key)
        # at most a second: a key that cannot move the slider (End at its end) changes nothing
        wait_until(page, settled_js, [before_index, before_frame], 1000)
        focus = page.evaluate(FOCUS_JS)
        moved[key] = focus["valuenow"] != before_index
        if moved[key]:
            assert frame() != before_frame, f"{key} moved the slider but not its figure"
            assert focus["valuetext"] == f"{focus['label']} = {focus['readout']}", focus
    # End may find the slider at its end already; then Home moves it, and the arrows always do
    assert (moved["End"] or moved["Home"]) and moved["ArrowRight"] and moved["ArrowLeft"], moved
    assert focus["ring"], "the focused slider handle shows no focus indicator"

    # the live region after the figure says what the frame shown now shows, once per settled
    # change: three quick presses, one announcement, of the frame they end on
    # the presses above have been announced: the status shows the alt text of the frame they
    # ended on (nothing is announced at load, and one timer per figure, so it comes once)
    wait_until(page, """() => {
      const figure = document.querySelectorAll('.widget-vbox')[0];
      const shown = [...figure.querySelectorAll('img')].find(img => img.offsetParent !== null);
      return figure.nextElementSibling?.textContent === shown?.alt;
    }""", None, 1000)
    page.evaluate("""() => {
      const status = document.querySelectorAll('.widget-vbox')[0].nextElementSibling;
      window.descentAnnouncements = [];
      new MutationObserver(() => window.descentAnnouncements.push(status.textContent))
        .observe(status, {childList: true, characterData: true, subtree: true});
    }""")
    page.keyboard.press("Home")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_timeout(1500)
    said = page.evaluate("""() => {
      const figure = document.querySelectorAll('.widget-vbox')[0];
      const status = figure.nextElementSibling;
      const shown = [...figure.querySelectorAll('img')].find(img => img.offsetParent !== null);
      return {role: status.getAttribute('role'), live: status.getAttribute('aria-live'),
              text: status.textContent, alt: shown.alt, announcements: window.descentAnnouncements};
    }""")
    assert said["role"] == "status" and said["live"] == "polite", said
    assert said["announcements"] == [said["alt"]], said


@pytest.mark.parametrize("page_path", CHAPTERS, scope="module")
def test_every_slider_changes_its_figure(tabs, page_path):
    if (SITE / page_path).is_file() and not has_sliders(page_path):
        pytest.skip("no slider on this page (tests/test_live_sliders.py: one per chapter)")
    page = tabs.open(page_path, DESKTOP).to_change(as_loaded=False)  # after the keyboard walk
    page.wait_for_selector(SLIDER_HANDLE, timeout=20_000)
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
            wait_until(page, FRAME_CHANGED_JS, [index, before], 2000)
            after = _visible_frame(page, index)
            assert after.startswith("data:image/png"), after
            assert after != before, f"slider {h} of widget {index} did not change its figure"


#: What a reader downloads for a chapter page, at most: its HTML as a static host sends it,
#: compressed (gzip, as GitHub Pages does); the slider frames are most of it, and do not compress.
PAGE_BUDGET_BYTES = 2_000_000


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_is_light(chapter):
    """A chapter page downloads in under 2 MB. Compressed, because the formulas' markup, typeset
    in the HTML (book/_ext/descent_math.py), adds much to the stored page and little to what a
    static host sends (README, Accessibility: the numbers)."""
    if not (SITE / chapter).is_file():
        pytest.skip(f"no built page {chapter}: run `make book` first")
    sent = len(gzip.compress((SITE / chapter).read_bytes(), compresslevel=6, mtime=0))
    assert sent < PAGE_BUDGET_BYTES, f"{chapter} weighs {sent / 1e6:.2f} MB compressed"
