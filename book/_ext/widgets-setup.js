// Set up the page for the ipywidgets HTML manager (loaded right after this file).
(function () {
  // Tell require.js where the manager's own files are (its icon fonts), so they load from
  // this site's _static folder rather than from a path relative to each page.
  var here = document.currentScript.src;
  var folder = here.slice(0, here.lastIndexOf("/") + 1) + "html-manager";
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": folder, "@jupyter-widgets": folder } });

  // The manager typesets widget labels with MathJax when the page has it; no page does (the
  // formulas are typeset when the book is built), and no label holds a formula.
})();
