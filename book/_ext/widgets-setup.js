// Set up the page for the ipywidgets HTML manager (loaded right after this file).
(function () {
  // Tell require.js where the manager's own files are. Its chunks load from
  // ".../html-manager/dist"; and the CSS of each @jupyter-widgets module names its icon fonts
  // relative to the address require.js gives that module, so "@jupyter-widgets" maps to the same
  // folder: unmapped, those fonts were asked for next to each page, and not found there.
  var here = document.currentScript.src;
  var folder = here.slice(0, here.lastIndexOf("/") + 1) + "html-manager";
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": folder, "@jupyter-widgets": folder } });

  // The manager typesets widget labels with MathJax when the page has it; no page does (the
  // formulas are typeset when the book is built), and no label holds a formula.
})();
