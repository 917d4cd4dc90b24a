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
  root.querySelectorAll(".widget-slider").forEach((slider) => {
    const label = slider.querySelector(".widget-label");
    const name = label ? label.textContent.trim() : "";
    slider.querySelectorAll(".noUi-handle:not([aria-label])").forEach((handle) => {
      handle.setAttribute("aria-label", name || "slider");
    });
  });
}
new MutationObserver(() => descentNameSliderHandles(document)).observe(document.documentElement, {
  childList: true,
  subtree: true,
});
