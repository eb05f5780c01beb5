// Find a patient as you type. The page works without this: the form is a GET that
// renders results on the server. This fetches the same results part while typing
// (debounced, stale requests cancelled), announces the count politely, and lets the
// arrow keys move through the results (Enter opens the one with focus).
(function () {
  "use strict";
  var DEBOUNCE_MS = 80;

  function init() {
    var form = document.querySelector("[data-patient-search]");
    var input = form && form.querySelector("[data-main-search]");
    var results = document.getElementById("patient-results");
    var status = document.getElementById("results-status");
    if (!form || !input || !results || !window.fetch) { return; }
    var timer = null;
    var inflight = null;
    var lastQuery = input.value;

    function links() {
      return Array.prototype.slice.call(results.querySelectorAll("a[data-result]"));
    }

    function announce() {
      var body = results.querySelector("[data-count-text]");
      var text = body ? body.getAttribute("data-count-text") : "";
      if (status) { status.textContent = text || ""; }
      var problem = results.querySelector("#q-problem");
      var described = "q-hint" + (problem ? " q-problem" : "");
      input.setAttribute("aria-describedby", described);
    }

    function search() {
      var q = input.value;
      if (q === lastQuery) { return; }
      lastQuery = q;
      if (inflight) { inflight.abort(); }
      var controller = window.AbortController ? new AbortController() : null;
      inflight = controller;
      var url = "/patients/search?q=" + encodeURIComponent(q);
      fetch(url, { credentials: "same-origin", signal: controller ? controller.signal : undefined })
        .then(function (response) {
          if (!response.ok) { throw new Error("search failed"); }
          return response.text();
        })
        .then(function (html) {
          if (inflight !== controller) { return; }
          inflight = null;
          results.innerHTML = html;
          announce();
          if (window.history && window.history.replaceState) {
            var next = q ? "/patients?q=" + encodeURIComponent(q) : "/patients";
            window.history.replaceState(null, "", next);
          }
        })
        .catch(function (error) {
          if (error && error.name === "AbortError") { return; }
          if (status) { status.textContent = "Search is not answering. Press Enter to try again."; }
        });
    }

    input.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(search, DEBOUNCE_MS);
    });

    input.addEventListener("keydown", function (event) {
      var found = links();
      if (event.key === "ArrowDown" && found.length) {
        event.preventDefault();
        found[0].focus();
      } else if (event.key === "Enter" && found.length === 1 && input.value === lastQuery) {
        event.preventDefault();
        window.location.href = found[0].href;
      }
    });

    results.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowDown" && event.key !== "ArrowUp") { return; }
      var found = links();
      var at = found.indexOf(document.activeElement);
      if (at < 0) { return; }
      event.preventDefault();
      if (event.key === "ArrowDown") {
        (found[at + 1] || found[at]).focus();
      } else if (at === 0) {
        input.focus();
      } else {
        found[at - 1].focus();
      }
    });

    announce();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

// Contact details: while the PDS update is queued, fetch its part again every few
// seconds (the page works without this: reloading shows the same), announcing the
// outcome through its status paragraph.
(function () {
  "use strict";
  var EVERY_MS = 3000;

  function poll() {
    var part = document.getElementById("pds-status");
    var url = part && part.getAttribute("data-poll");
    if (!url || !window.fetch) { return; }
    window.setTimeout(function () {
      fetch(url, { credentials: "same-origin" }).then(function (r) {
        return r.status === 200 ? r.text() : null;
      }).then(function (html) {
        if (html === null) { return; }
        var now = document.getElementById("pds-status");
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("pds-status");
        if (now && fresh) {
          // The same live region, new content: screen readers announce the change.
          now.className = fresh.className;
          if (fresh.hasAttribute("data-poll")) {
            now.setAttribute("data-poll", fresh.getAttribute("data-poll"));
          } else {
            now.removeAttribute("data-poll");
          }
          now.innerHTML = fresh.innerHTML;
          poll();
        }
      }).catch(function () { poll(); });
    }, EVERY_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", poll);
  } else {
    poll();
  }
})();
