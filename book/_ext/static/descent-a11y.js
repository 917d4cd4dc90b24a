// Accessibility fixes for the theme's markup (registered by book/_ext/descent_build.py).
// Each makes a control's accessible name agree with what it shows (WCAG 2.5.3), gives a
// control that has none a name (WCAG 4.1.2), or gives an element the role its parent needs.
// The fixes are idempotent: they run when the page is parsed and again when it has loaded,
// because Font Awesome swaps the theme's <i> icons for <svg> ones at an unpredictable moment.
function descentA11yFixes() {
  // The search buttons show "Search Ctrl+K" but were named only "Search": let the text name them.
  document.querySelectorAll(".search-button-field[aria-label]").forEach((button) => {
    button.removeAttribute("aria-label");
  });
  // "Show code cell source" toggles were named "Toggle hidden content": let the text name them.
  document.querySelectorAll('details > summary[aria-label="Toggle hidden content"]').forEach((summary) => {
    summary.removeAttribute("aria-label");
  });
  // The colour-mode button is named "Color mode"; its icons' titles ("Light", "Dark", as a title
  // attribute or, once Font Awesome has run, an SVG <title>) read as other visible text.
  // The icons are decoration.
  document.querySelectorAll(".theme-switch-button .theme-switch").forEach((icon) => {
    icon.removeAttribute("title");
    icon.removeAttribute("aria-labelledby");
    icon.querySelectorAll("title").forEach((title) => title.remove());
    icon.setAttribute("aria-hidden", "true");
  });
  // The sidebar's arrows that fold a chapter's sections have no text: say what they do.
  document.querySelectorAll("nav details > summary").forEach((summary) => {
    if (!summary.textContent.trim() && !summary.getAttribute("aria-label")) {
      summary.setAttribute("aria-label", "Show or hide this chapter's sections");
    }
  });
  // Matplotlib's HTML animations have a frame slider with no label.
  document.querySelectorAll("input.anim-slider:not([aria-label])").forEach((slider) => {
    slider.setAttribute("aria-label", "Animation frame");
  });
  // The references page: a role="list" must hold list items; docutils marks each entry with
  // the deprecated role "doc-biblioentry".
  document.querySelectorAll('.citation-list[role="list"] > [role="doc-biblioentry"]').forEach((entry) => {
    entry.setAttribute("role", "listitem");
  });
}
document.addEventListener("DOMContentLoaded", descentA11yFixes);
window.addEventListener("load", descentA11yFixes);

// Slider widgets render after the page has loaded (require.js loads the widget manager): name
// each slider handle after the slider's visible description, so a screen reader announces
// "step size η, slider" and the handle can be found and moved with the keyboard.
function descentNameSliderHandles(root) {
  // the target of the skip link "Skip to the first interactive figure" (descent_build.py)
  const first = root.querySelector(".widget-vbox");
  if (first && !document.getElementById("descent-first-figure")) {
    first.id = "descent-first-figure";
    first.setAttribute("tabindex", "-1");
  }
  root.querySelectorAll(".widget-slider").forEach((slider) => {
    const label = slider.querySelector(".widget-label");
    const name = label ? label.textContent.trim() : "";
    slider.querySelectorAll(".noUi-handle:not([aria-label])").forEach((handle) => {
      handle.setAttribute("aria-label", name || "slider");
    });
    slider.querySelectorAll(".noUi-handle").forEach((handle) => {
      if (!descentLastValue.has(handle) && handle.hasAttribute("aria-valuenow")) {
        descentLastValue.set(handle, handle.getAttribute("aria-valuenow"));  // at load: no news
        const figure = handle.closest(".widget-vbox");
        if (figure) {
          descentFrameStatus(figure);
        }
      }
    });
  });
}
new MutationObserver(() => descentNameSliderHandles(document)).observe(document.documentElement, {
  childList: true,
  subtree: true,
});

// Each slider handle says what it shows: "step size η = 0.25", not the frame index that
// noUiSlider puts in aria-valuetext. The value is the text of the readout beside the slider
// (the label that the slider's position selects); noUiSlider rewrites aria-valuetext on every
// move, so this runs again whenever a handle or a readout changes.
function descentSliderValueText(root) {
  root.querySelectorAll(".widget-hbox").forEach((row) => {
    const slider = row.querySelector(":scope > .widget-slider");
    const readout = row.querySelector(":scope > .widget-box");
    if (!slider || !readout) {
      return;
    }
    const label = slider.querySelector(".widget-label");
    const name = label ? label.textContent.trim() : "";
    const value = readout.textContent.trim();
    slider.querySelectorAll(".noUi-handle").forEach((handle) => {
      const text = value ? (name ? `${name} = ${value}` : value) : "";
      if (text && handle.getAttribute("aria-valuetext") !== text) {
        handle.setAttribute("aria-valuetext", text);
      }
    });
  });
}

// Screen readers: what the figure shows now. Each slider figure gets a polite live region
// (role="status") after it; when a slider has settled, DESCENT_SETTLE_MS after its last change,
// the region says the alt text of the frame now shown, so a drag or a run of arrow presses
// across several frames is announced once, with the frame it ends on. Nothing is announced
// when the page loads.
const DESCENT_SETTLE_MS = 600;
const descentAnnounceTimers = new WeakMap();
const descentLastValue = new WeakMap();

function descentFrameStatus(figure) {
  let status = figure.nextElementSibling;
  if (!status || !status.classList.contains("descent-frame-status")) {
    status = document.createElement("div");
    status.className = "descent-frame-status visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    status.setAttribute("aria-atomic", "true");
    figure.after(status);
  }
  return status;
}

function descentAnnounceFrame(handle) {
  const figure = handle.closest(".widget-vbox");
  if (!figure) {
    return;
  }
  const value = handle.getAttribute("aria-valuenow");
  if (descentLastValue.get(handle) === value) {
    return;
  }
  descentLastValue.set(handle, value);
  clearTimeout(descentAnnounceTimers.get(figure));
  descentAnnounceTimers.set(figure, setTimeout(() => {
    const shown = [...figure.querySelectorAll("img")].find((img) => img.offsetParent !== null);
    if (shown && shown.alt) {
      descentFrameStatus(figure).textContent = shown.alt;
    }
  }, DESCENT_SETTLE_MS));
}

// Boxes that scroll sideways (display formulas, long inline formulas, tables, code): a shadow
// marks each edge that hides more (descent-a11y.css), and a box that scrolls can be reached and
// scrolled with the keyboard (WCAG 2.1.1). Measured again when the window changes size.
const DESCENT_SCROLLERS = [
  "div.math mjx-container",
  "span.math",
  ".pst-scrollable-table-container",
  ".table-wrapper",
  "div.highlight pre",
  ".cell_output pre",
].map((selector) => `.bd-article ${selector}`).join(", ");

function descentScrollerState(box) {
  // MathJax's italic glyphs overhang their box by a pixel or two: that is not "more to see".
  const wide = box.scrollWidth > box.clientWidth + 6;
  return {
    wide,
    start: wide && box.scrollLeft > 1,
    end: wide && box.scrollLeft + box.clientWidth < box.scrollWidth - 1,
  };
}

function descentApplyScrollerState(box, { wide, start, end }) {
  box.classList.toggle("descent-scroll-start", start);
  box.classList.toggle("descent-scroll-end", end);
  if (wide && !box.hasAttribute("tabindex")) {
    box.setAttribute("tabindex", "0");
    box.dataset.descentScrollFocus = "1";
  } else if (!wide && box.dataset.descentScrollFocus) {
    box.removeAttribute("tabindex");
    delete box.dataset.descentScrollFocus;
  }
  if (!box.dataset.descentScrollWatch) {
    box.dataset.descentScrollWatch = "1";
    box.addEventListener("scroll", () => descentMarkScroller(box), { passive: true });
  }
}

function descentMarkScroller(box) {
  descentApplyScrollerState(box, descentScrollerState(box));
}

// Every box is measured before any is marked, in two rounds (the inline formulas' widths, then the
// boxes that scroll): a class set between two measurements would make the browser lay the page
// out again for the next one, hundreds of times on a chapter.
function descentMarkScrollers() {
  const boxes = [...document.querySelectorAll(DESCENT_SCROLLERS)].filter(
    // the formula inside a display-math box scrolls, not the box around it
    (box) => !(box.matches("span.math") && box.closest("div.math")));
  const inline = boxes.filter((box) => box.matches("span.math"));
  const wideMath = inline.map((box) => {
    const formula = box.querySelector("mjx-container");
    return formula !== null && formula.getBoundingClientRect().width > box.clientWidth + 2;
  });
  inline.forEach((box, i) => box.classList.toggle("descent-wide-math", wideMath[i]));
  const scrollers = boxes.filter((box) => !box.matches("span.math")
    || box.classList.contains("descent-wide-math") || box.dataset.descentScrollWatch);
  const states = scrollers.map(descentScrollerState);
  scrollers.forEach((box, i) => descentApplyScrollerState(box, states[i]));
}

let descentScrollTimer = null;
function descentMarkScrollersSoon() {
  clearTimeout(descentScrollTimer);
  descentScrollTimer = setTimeout(descentMarkScrollers, 100);
}
window.addEventListener("load", descentMarkScrollers);
window.addEventListener("resize", descentMarkScrollersSoon);

new MutationObserver((records) => {
  if (records.some((r) => r.target.closest && r.target.closest(".widget-slider, .widget-hbox"))) {
    descentSliderValueText(document);
  }
  records.forEach((r) => {
    if (r.type === "attributes" && r.attributeName === "aria-valuenow" && r.target.classList.contains("noUi-handle")) {
      descentAnnounceFrame(r.target);
    }
  });
  if (records.some((r) => r.type === "childList" && r.target.closest && r.target.closest(".bd-article"))) {
    descentMarkScrollersSoon();
  }
}).observe(document.documentElement, {
  childList: true,
  subtree: true,
  characterData: true,
  attributes: true,
  attributeFilter: ["aria-valuetext", "aria-valuenow"],
});
