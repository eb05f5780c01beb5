// OpenGP: behaviour shared by every page. Pages work without scripts; this only helps.
// - An error summary takes focus, so screen reader and keyboard users land on it.
// - "/" focuses the page's main search box (not while typing in a field).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) { return; }
    var search = document.querySelector("[data-main-search]");
    if (search) { event.preventDefault(); search.focus(); }
  });
})();
