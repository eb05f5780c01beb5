// record: the journal's filters and "Older consultations" load in place (the page
// works without this: both are ordinary links and GET forms). The new journal is
// announced by moving focus to its heading.
(function () {
  "use strict";
  function journal() { return document.getElementById("journal"); }

  function load(url) {
    var current = journal();
    if (!current || !window.fetch || !window.DOMParser) { window.location.href = url; return; }
    current.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("journal");
        if (!fresh) { throw new Error("no journal"); }
        current.replaceWith(fresh);
        history.pushState(null, "", url);
        var heading = document.getElementById("journal-title");
        if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
      })
      .catch(function () { window.location.href = url; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("journal-filter")) { return; }
    event.preventDefault();
    var params = new URLSearchParams(new FormData(form));
    Array.from(params.keys()).forEach(function (k) { if (!params.get(k)) { params.delete(k); } });
    var query = params.toString();
    load(form.action.split("#")[0].split("?")[0] + (query ? "?" + query : "") + "#journal");
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("#journal a[href*='before=']");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    event.preventDefault();
    load(link.href);
  });

  window.addEventListener("popstate", function () { window.location.reload(); });
})();
