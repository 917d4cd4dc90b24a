// Set up the page for the ipywidgets HTML manager (loaded right after this file).
(function () {
  // 1. Tell require.js where the manager's own files are (its icon fonts), so they load from
  //    this site's _static folder rather than from a path relative to each page.
  var here = document.currentScript.src;
  var folder = here.slice(0, here.lastIndexOf("/") + 1) + "html-manager";
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": folder } });

  // 2. The manager typesets widget labels with MathJax 2's MathJax.Hub.Queue; the site runs
  //    MathJax 3. Give it a MathJax.Hub that forwards to MathJax 3, before and after MathJax
  //    has loaded (MathJax 3 replaces the global object when it starts).
  var waiting = [];
  function hub() {
    return {
      Queue: function (job) {
        var element = job && job[2];
        var mj = window.MathJax;
        if (mj && mj.typesetPromise) {
          mj.typesetPromise(element ? [element] : undefined).catch(function () {});
        } else if (element) {
          waiting.push(element);
        }
      },
    };
  }
  var config = window.MathJax || {};
  config.Hub = hub();
  config.startup = config.startup || {};
  var ready = config.startup.ready;
  config.startup.ready = function () {
    if (ready) { ready(); } else { window.MathJax.startup.defaultReady(); }
    window.MathJax.Hub = hub();
    if (waiting.length) { window.MathJax.typesetPromise(waiting.splice(0)).catch(function () {}); }
  };
  window.MathJax = config;
})();
