"""The built website on a phone and with only a keyboard (issue 20).

* At 390 x 844 and 320 x 700 (mobile, touch): no element of the article reaches past the screen
  or is cut by a box that cannot scroll, and the page does not scroll sideways; wide formulas,
  tables and code scroll in their own box.
* At 390 px every control (buttons, slider handles, the sidebar's arrows) is at least
  24 x 24 CSS px (WCAG 2.2, 2.5.8); inline links in text are exempt, as WCAG exempts them.
* At 390 px the smallest text in every slider figure shown is at least 9 CSS px: each frame's
  image says its smallest font size in points and the dpi it was drawn at, and the test scales
  that by the width the browser gives the image over its width in pixels.
* axe-core at 390 px finds no serious or critical violation (``tests/test_site.py`` runs it at
  desktop width).
* With the keyboard, on every page with sliders: the first Tab reaches the skip link; the first
  slider is at most 25 presses from page load (Tab, Tab, Enter on "Skip to the first
  interactive figure", Tab) and at most ``MAIN_CONTENT_BUDGET`` via "Skip to main content"
  (every link, copy button and folded cell before the figure is a stop); every stop on the way
  shows a focus indicator of at least 2 px; arrow keys, Home and End move the slider and change
  its figure; ``aria-valuetext`` names the parameter and the value the readout shows; a polite
  live region after the figure announces the shown frame's alt text once per settled change.

Uses the fixtures of ``tests/test_site.py`` (the built site served locally, Debian's Chromium);
skips where they skip.
"""

from __future__ import annotations

import re

import pytest
from test_site import AXE, PAGES, SITE, axe_violations, browser, describe_violations, server  # noqa: F401

#: Presses from page load to the first slider through "Skip to main content": the links, copy
#: buttons and "Show code cell source" toggles of the text before the first figure (chapter 7
#: has the most, 44, measured 2026-12-06); formulas are not stops.
MAIN_CONTENT_BUDGET = 50
#: ... and through "Skip to the first interactive figure".
FIGURE_BUDGET = 25

#: An element of the article that reaches past the screen, or is cut off by an ancestor that
#: clips without scrolling. Elements inside a box that scrolls sideways and itself fits are fine.
CUT_OFF_JS = """() => {
  const vw = document.documentElement.clientWidth;
  const out = [];
  const bad = new Set();
  const article = document.querySelector('.bd-article') || document.body;
  const scrolls = (s) => s.overflowX === 'auto' || s.overflowX === 'scroll';
  for (const el of article.querySelectorAll('*')) {
    if (el.closest('mjx-assistive-mml, .visually-hidden, .sr-only, [hidden]')) continue;
    if (el.parentElement && bad.has(el.parentElement)) { bad.add(el); continue; }
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) continue;
    let verdict = null;
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      const ar = a.getBoundingClientRect();
      if (scrolls(s)) break;
      if ((s.overflowX === 'hidden' || s.overflowX === 'clip')
          && (r.right > ar.right + 2 || r.left < ar.left - 2)) { verdict = 'cut off'; break; }
    }
    if (!verdict && (r.right > vw + 1 || r.left < -1)) {
      let inScroller = false;
      for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
        const ar = a.getBoundingClientRect();
        if (scrolls(getComputedStyle(a)) && ar.right <= vw + 1 && ar.left >= -1) { inScroller = true; break; }
      }
      if (!inScroller) verdict = 'past the screen';
    }
    if (verdict) {
      bad.add(el);
      out.push(`${verdict}: <${el.tagName.toLowerCase()}> "${el.textContent.trim().slice(0, 60)}"`);
    }
  }
  return {sideways: document.documentElement.scrollWidth - vw, offenders: out};
}"""

#: Controls smaller than 24 x 24 CSS px, among those the reader can see.
SMALL_TARGETS_JS = """() => {
  const out = [];
  const selector = 'button, summary, input, select, .noUi-handle, [role="button"], .btn';
  for (const e of document.querySelectorAll(selector)) {
    const r = e.getBoundingClientRect();
    const s = getComputedStyle(e);
    if (r.width === 0 || r.height === 0 || s.visibility === 'hidden') continue;
    // 24 CSS px, less a twentieth of a pixel of layout rounding (a 24 px handle can measure 23.98)
    if (r.width < 23.95 || r.height < 23.95) {
      out.push(`${e.tagName.toLowerCase()}.${String(e.className).split(' ')[0]} `
               + `${r.width.toFixed(2)}x${r.height.toFixed(2)}`);
    }
  }
  return out;
}"""

#: The slider figures the reader sees: for each, the image the browser picked (the ``<picture>``'s
#: narrow source or its own image), the smallest text in it in CSS px as shown, and how wide.
FIGURE_TEXT_JS = """() => {
  const out = [];
  for (const img of document.querySelectorAll('.bd-article .widget-vbox picture img')) {
    if (img.offsetParent === null || !img.naturalWidth) continue;
    const source = img.parentElement.querySelector('source');
    const picked = source && img.currentSrc === source.srcset ? source : img;
    const points = parseFloat(picked.dataset.minFontPt), dpi = parseFloat(picked.dataset.dpi);
    const shown = img.getBoundingClientRect().width;
    out.push({narrow: picked === source, css_px: points * dpi / 72 * shown / img.naturalWidth,
              shown: shown, natural: img.naturalWidth});
  }
  return out;
}"""

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


def _phone(browser, width: int = 390, height: int = 844):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=True,
                                  has_touch=True, device_scale_factor=1)
    return context


def _load(context, url: str):
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(800)  # MathJax, the widgets, then descent-a11y.js's measurements
    return page


def _has_sliders(page_path: str) -> bool:
    return (SITE / page_path).is_file() and "widget-view+json" in (SITE / page_path).read_text()


#: One phone load per page, measured at 390 px and again after narrowing to 320 px (the page's
#: scripts re-measure on resize): every phone test reads from it, so `make test` loads each page
#: once instead of four times.
_PHONE: dict[str, dict] = {}


def _phone_measurements(browser, server, page_path: str) -> dict:  # noqa: F811
    if page_path not in _PHONE:
        context = _phone(browser)
        page = _load(context, f"{server}/{page_path}")
        found = {390: page.evaluate(CUT_OFF_JS), "small": page.evaluate(SMALL_TARGETS_JS),
                 "figures": page.evaluate(FIGURE_TEXT_JS),
                 "violations": axe_violations(page) if AXE.is_file() else None}
        page.set_viewport_size({"width": 320, "height": 700})
        page.wait_for_timeout(500)
        found[320] = page.evaluate(CUT_OFF_JS)
        context.close()
        _PHONE[page_path] = found
    return _PHONE[page_path]


@pytest.mark.parametrize("width", [390, 320])
@pytest.mark.parametrize("page_path", PAGES)
def test_nothing_is_cut_off_on_a_phone(browser, server, page_path, width):  # noqa: F811
    if not (SITE / page_path).is_file():
        pytest.skip(f"no built page {page_path}: run `make book` first")
    result = _phone_measurements(browser, server, page_path)[width]
    assert result["sideways"] <= 0, f"the page scrolls sideways by {result['sideways']} px"
    assert not result["offenders"], "\n".join(result["offenders"][:20])


@pytest.mark.parametrize("page_path", PAGES)
def test_targets_are_at_least_24_px_on_a_phone(browser, server, page_path):  # noqa: F811
    if not (SITE / page_path).is_file():
        pytest.skip(f"no built page {page_path}: run `make book` first")
    small = _phone_measurements(browser, server, page_path)["small"]
    assert not small, f"controls smaller than 24 x 24 px: {sorted(set(small))}"


@pytest.mark.parametrize("page_path", [p for p in PAGES if "/ch" in p])
def test_slider_figure_text_is_at_least_9_px_on_a_phone(browser, server, page_path):  # noqa: F811
    if not _has_sliders(page_path):
        pytest.skip("no slider on this page")
    figures = _phone_measurements(browser, server, page_path)["figures"]
    assert figures, "no slider figure was shown at 390 px"
    assert all(f["narrow"] for f in figures), f"a 390 px screen was given a wide frame: {figures}"
    small = [f for f in figures if not f["css_px"] >= 9]
    assert not small, f"slider figure text under 9 CSS px at 390 px: {small}"


@pytest.mark.parametrize("page_path", PAGES)
def test_no_serious_accessibility_violations_on_a_phone(browser, server, page_path):  # noqa: F811
    if not AXE.is_file():
        pytest.skip(f"no axe-core at {AXE}: run `bash book/_ext/vendor.sh`")
    if not (SITE / page_path).is_file():
        pytest.skip(f"no built page {page_path}: run `make book` first")
    violations = _phone_measurements(browser, server, page_path)["violations"]
    serious = [v for v in violations if v["impact"] in {"serious", "critical"}]
    assert not serious, f"{page_path} at 390 px\n" + describe_violations(serious)


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


@pytest.mark.parametrize("page_path", [p for p in PAGES if "/ch" in p])
def test_keyboard_reaches_and_moves_the_first_slider(browser, server, page_path):  # noqa: F811
    if not _has_sliders(page_path):
        pytest.skip("no slider on this page")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/{page_path}", wait_until="networkidle")
    page.wait_for_selector(".widget-vbox .noUi-handle", timeout=20_000)
    page.wait_for_timeout(500)

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Shift+Tab")
    presses, unringed = _tabs_to_first_slider(page, 1, MAIN_CONTENT_BUDGET)
    assert page.evaluate(FOCUS_JS)["handle"], "Skip to main content never led to a slider"
    assert presses <= MAIN_CONTENT_BUDGET, f"{presses} presses to the first slider via the main content"
    assert not unringed, f"stops with no visible focus indicator: {sorted(set(unringed))}"

    page.reload(wait_until="networkidle")
    page.wait_for_selector(".widget-vbox .noUi-handle", timeout=20_000)
    page.wait_for_timeout(500)
    presses, _ = _tabs_to_first_slider(page, 2, FIGURE_BUDGET)
    focus = page.evaluate(FOCUS_JS)
    assert focus["handle"] and presses <= FIGURE_BUDGET, f"{presses} presses to the first slider"

    # aria-valuetext: the parameter and the value the readout shows, not the frame index
    assert focus["label"] and focus["readout"]
    assert focus["valuetext"] == f"{focus['label']} = {focus['readout']}", focus

    def frame() -> str:
        return page.evaluate("""() => [...document.querySelectorAll('.widget-vbox')[0]
            .querySelectorAll('img')].filter(img => img.offsetParent !== null)
            .map(img => img.src.slice(-80)).join()""")

    moved = {}
    for key in ["End", "Home", "ArrowRight", "ArrowLeft"]:
        before_frame, before_index = frame(), focus["valuenow"]
        page.keyboard.press(key)
        page.wait_for_timeout(200)
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
    page.wait_for_timeout(1000)  # the presses above have been announced
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
    page.close()


@pytest.mark.parametrize("page_path", [p for p in PAGES if "/ch" in p])
def test_each_slider_frame_has_its_own_alt_text(page_path):
    """A screen reader hears what the frame shown says, so no two frames of a page share an alt
    text (the text names the slider values and what the run did, not only what the figure is)."""
    if not _has_sliders(page_path):
        pytest.skip("no slider on this page")
    state = (SITE / page_path).read_text()
    alts = re.findall(r'<img src=\\"data:image/png;base64,[^"\\]+\\" alt=\\"([^"\\]*)\\"', state)
    assert alts, "no slider frame with alt text"
    repeated = sorted({alt for alt in alts if alts.count(alt) > 1})
    assert not repeated, f"{len(repeated)} alt texts shared by several frames: {repeated[:2]}"
