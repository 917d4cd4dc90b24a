// Tell require.js where the widget manager's own files are (its icon fonts), so that they load
// from this site's _static folder rather than from a path relative to each page.
(function () {
  var here = document.currentScript.src;
  var folder = here.slice(0, here.lastIndexOf("/") + 1) + "html-manager";
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": folder } });
})();
