"""The built website on a phone (issue 20).

* At 390 x 844 and 320 x 700 (mobile, touch): no element of the article reaches past the screen
  or is cut by a box that cannot scroll, and the page does not scroll sideways; wide formulas,
  tables and code scroll in their own box.
* At 390 px every control (buttons, slider handles, the sidebar's arrows) is at least
  24 x 24 CSS px (WCAG 2.2, 2.5.8); inline links in text are exempt, as WCAG exempts them.
* At 390 px the smallest text in every slider figure shown is at least 9 CSS px: each frame's
  image says its smallest font size in points and the dpi it was drawn at, and the test scales
  that by the width the browser gives the image over its width in pixels.
* axe-core at 390 px finds no serious or critical violation (``tests/test_site.py`` runs it at
  desktop width, and walks each page with the keyboard).

Each page is loaded once at 390 px for all of these (``LoadedPage`` in ``tests/test_site.py``):
the checks at 390 px read it as loaded, in the order they are defined, and the last one narrows
the window to 320 px (the page's scripts re-measure on resize) and looks again.

Uses the fixtures of ``tests/test_site.py`` (the built site served locally, Debian's Chromium);
skips where they skip.
"""

from __future__ import annotations

import re

import pytest
from test_site import (  # noqa: F401 (the fixtures browser, server, tabs)
    AXE,
    PAGES,
    PHONE,
    QUIET_AFTER_RESIZE_MS,
    SITE,
    axe_violations,
    browser,
    describe_violations,
    has_sliders,
    server,
    tabs,
)

#: An element of the article that reaches past the screen, or is cut off by an ancestor that
#: clips without scrolling. Elements inside a box that scrolls sideways and itself fits are fine.
CUT_OFF_JS = """() => {
  const vw = document.documentElement.clientWidth;
  const out = [];
  const bad = new Set();
  const article = document.querySelector('.bd-article') || document.body;
  // Every element's ancestors are walked, and they share most of them: each ancestor's box and
  // overflow are read once (nothing changes the page while this runs).
  const boxes = new Map();
  const box = (a) => {
    let b = boxes.get(a);
    if (!b) {
      const s = getComputedStyle(a);
      b = {rect: a.getBoundingClientRect(), scrolls: s.overflowX === 'auto' || s.overflowX === 'scroll',
           clips: s.overflowX === 'hidden' || s.overflowX === 'clip'};
      boxes.set(a, b);
    }
    return b;
  };
  for (const el of article.querySelectorAll('*')) {
    if (el.closest('mjx-assistive-mml, .visually-hidden, .sr-only, [hidden]')) continue;
    if (el.parentElement && bad.has(el.parentElement)) { bad.add(el); continue; }
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) continue;
    let verdict = null;
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const b = box(a);
      if (b.scrolls) break;
      if (b.clips && (r.right > b.rect.right + 2 || r.left < b.rect.left - 2)) { verdict = 'cut off'; break; }
    }
    if (!verdict && (r.right > vw + 1 || r.left < -1)) {
      let inScroller = false;
      for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
        const b = box(a);
        if (b.scrolls && b.rect.right <= vw + 1 && b.rect.left >= -1) { inScroller = true; break; }
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

CHAPTER_PAGES = [p for p in PAGES if "/ch" in p]


def _at_390(tabs, page_path: str, name: str, script: str):  # noqa: F811
    """What ``script`` finds on the page as it loaded at 390 px (measured once per page)."""
    loaded = tabs.open(page_path, PHONE)
    return loaded.measure(name, lambda: loaded.as_loaded().evaluate(script))


def _cut_off_at_320(loaded) -> dict:
    page = loaded.to_change()
    page.set_viewport_size({"width": 320, "height": 700})
    loaded.settle(QUIET_AFTER_RESIZE_MS)  # descent-a11y.js measures the scrolling boxes again
    return page.evaluate(CUT_OFF_JS)


# The checks of a page run in the order they are defined: at 390 px first, then at 320 px.


@pytest.mark.parametrize("page_path", PAGES, scope="module")
def test_every_request_succeeds_on_a_phone(tabs, page_path):  # noqa: F811
    """Every file the page asks for at 390 px is there."""
    if not (SITE / page_path).is_file():
        pytest.skip(f"no built page {page_path}: run `make book` first")
    loaded = tabs.open(page_path, PHONE)
    loaded.as_loaded()
    assert not loaded.failed, f"requests that failed: {loaded.failed}"


@pytest.mark.parametrize("page_path", PAGES, scope="module")
def test_targets_are_at_least_24_px_on_a_phone(tabs, page_path):  # noqa: F811
    if not (SITE / page_path).is_file():
        pytest.skip(f"no built page {page_path}: run `make book` first")
    small = _at_390(tabs, page_path, "small targets", SMALL_TARGETS_JS)
    assert not small, f"controls smaller than 24 x 24 px: {sorted(set(small))}"


@pytest.mark.parametrize("page_path", CHAPTER_PAGES, scope="module")
def test_slider_figure_text_is_at_least_9_px_on_a_phone(tabs, page_path):  # noqa: F811
    if not has_sliders(page_path):
        pytest.skip("no slider on this page")
    figures = _at_390(tabs, page_path, "figure text", FIGURE_TEXT_JS)
    assert figures, "no slider figure was shown at 390 px"
    assert all(f["narrow"] for f in figures), f"a 390 px screen was given a wide frame: {figures}"
    small = [f for f in figures if not f["css_px"] >= 9]
    assert not small, f"slider figure text under 9 CSS px at 390 px: {small}"


@pytest.mark.parametrize("page_path", PAGES, scope="module")
def test_no_serious_accessibility_violations_on_a_phone(tabs, page_path):  # noqa: F811
    if not AXE.is_file():
        pytest.skip(f"no axe-core at {AXE}: run `bash book/_ext/vendor.sh`")
    if not (SITE / page_path).is_file():
        pytest.skip(f"no built page {page_path}: run `make book` first")
    loaded = tabs.open(page_path, PHONE)
    violations = loaded.measure("axe", lambda: axe_violations(loaded.as_loaded()))
    serious = [v for v in violations if v["impact"] in {"serious", "critical"}]
    assert not serious, f"{page_path} at 390 px\n" + describe_violations(serious)


@pytest.mark.parametrize("width", [390, 320])
@pytest.mark.parametrize("page_path", PAGES, scope="module")
def test_nothing_is_cut_off_on_a_phone(tabs, page_path, width):  # noqa: F811
    if not (SITE / page_path).is_file():
        pytest.skip(f"no built page {page_path}: run `make book` first")
    loaded = tabs.open(page_path, PHONE)
    if width == 390:
        result = _at_390(tabs, page_path, "cut off", CUT_OFF_JS)
    else:
        result = loaded.measure("cut off at 320", lambda: _cut_off_at_320(loaded))
    assert result["sideways"] <= 0, f"the page scrolls sideways by {result['sideways']} px"
    assert not result["offenders"], "\n".join(result["offenders"][:20])


@pytest.mark.parametrize("page_path", CHAPTER_PAGES)
def test_each_slider_frame_has_its_own_alt_text(page_path):
    """A screen reader hears what the frame shown says, so no two frames of a page share an alt
    text (the text names the slider values and what the run did, not only what the figure is)."""
    if not has_sliders(page_path):
        pytest.skip("no slider on this page")
    state = (SITE / page_path).read_text()
    alts = re.findall(r'<img src=\\"data:image/png;base64,[^"\\]+\\" alt=\\"([^"\\]*)\\"', state)
    assert alts, "no slider frame with alt text"
    repeated = sorted({alt for alt in alts if alts.count(alt) > 1})
    assert not repeated, f"{len(repeated)} alt texts shared by several frames: {repeated[:2]}"
