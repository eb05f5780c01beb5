// SNOMED CT picker: turns every
//   <input type="text" data-snomed-picker data-code-field="HIDDEN_ID" data-categories="disorder,finding">
// into an accessible autocomplete (WAI-ARIA 1.2 combobox with a listbox popup) over
// /terminology/search. Choosing a term puts its concept id in the hidden input named by
// data-code-field and the term in the text box; editing the text again clears the code.
// Without JavaScript the text box still submits, and the form asks for a coded term.
// Pages that add rows later call OpenGP.enhancePickers(newRow).
(function () {
  "use strict";
  var DEBOUNCE_MS = 100;
  var LIMIT = 10;
  var counter = 0;

  function enhance(input) {
    if (input.getAttribute("data-picker-ready")) { return; }
    input.setAttribute("data-picker-ready", "true");
    counter += 1;
    var base = (input.id || "picker") + "-picker" + counter;
    var codeField = document.getElementById(input.getAttribute("data-code-field") || "");
    var categories = input.getAttribute("data-categories") || "";

    var wrapper = document.createElement("div");
    wrapper.className = "picker";
    input.parentNode.insertBefore(wrapper, input);
    wrapper.appendChild(input);

    var list = document.createElement("ul");
    list.id = base + "-listbox";
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    var label = input.labels && input.labels[0];
    if (label) {
      if (!label.id) { label.id = base + "-label"; }
      list.setAttribute("aria-labelledby", label.id);
    } else {
      list.setAttribute("aria-label", "Suggested terms");
    }
    list.hidden = true;
    wrapper.appendChild(list);

    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    wrapper.appendChild(status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("autocomplete", "off");

    var results = [];
    var active = -1;
    var timer = null;
    var sequence = 0;
    var controller = null;
    // The term that goes with the code now in the hidden field (a re-shown form keeps both).
    var chosenTerm = codeField && codeField.value ? input.value : null;

    function announce(text) {
      // Re-setting the same text is not re-announced; clear first.
      status.textContent = "";
      window.setTimeout(function () { status.textContent = text; }, 50);
    }

    function setActive(index) {
      var options = list.children;
      for (var i = 0; i < options.length; i++) {
        options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function open() {
      if (!results.length) { return; }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      setActive(-1);
    }

    function render() {
      list.textContent = "";
      results.forEach(function (result, i) {
        var option = document.createElement("li");
        option.id = base + "-option-" + i;
        option.className = "picker-option";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        var term = document.createElement("span");
        term.className = "picker-term";
        term.textContent = result.term;
        option.appendChild(term);
        if (result.preferred && result.preferred !== result.term) {
          var preferred = document.createElement("span");
          preferred.className = "picker-preferred";
          preferred.textContent = result.preferred;
          option.appendChild(preferred);
        }
        // Keep focus in the text box so the click lands as a choice.
        option.addEventListener("mousedown", function (event) { event.preventDefault(); });
        option.addEventListener("click", function () { choose(i); });
        list.appendChild(option);
      });
      setActive(-1);
    }

    function setCode(value) {
      if (!codeField || codeField.value === value) { return; }
      codeField.value = value;
      codeField.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function choose(index) {
      var result = results[index];
      if (!result) { return; }
      input.value = result.term;
      chosenTerm = result.term;
      setCode(result.code);
      close();
      input.dispatchEvent(new Event("change", { bubbles: true }));
      input.dispatchEvent(new CustomEvent("opengp:picked", { bubbles: true, detail: result }));
      announce(result.term + " chosen");
    }

    function search(query) {
      sequence += 1;
      var mine = sequence;
      if (controller) { controller.abort(); }
      controller = window.AbortController ? new AbortController() : null;
      var url = "/terminology/search?q=" + encodeURIComponent(query) + "&limit=" + LIMIT;
      if (categories) { url += "&category=" + encodeURIComponent(categories); }
      fetch(url, {
        credentials: "same-origin",
        headers: { "Accept": "application/json" },
        signal: controller ? controller.signal : undefined
      })
        .then(function (response) {
          if (!response.ok) { throw new Error("search failed"); }
          return response.json();
        })
        .then(function (found) {
          if (mine !== sequence) { return; }
          results = Array.isArray(found) ? found : [];
          render();
          if (results.length) {
            open();
            announce(results.length + (results.length === 1 ? " term" : " terms") +
              " found. Use the up and down arrows to review and Enter to choose.");
          } else {
            close();
            announce("No matching terms");
          }
        })
        .catch(function (error) {
          if (error && error.name === "AbortError") { return; }
          if (mine !== sequence) { return; }
          results = [];
          render();
          close();
          announce("Coded terms could not be searched just now");
        });
    }

    input.addEventListener("input", function () {
      if (chosenTerm !== null && input.value !== chosenTerm) {
        chosenTerm = null;
        setCode("");
      }
      window.clearTimeout(timer);
      var query = input.value.trim();
      if (!query) {
        sequence += 1;
        results = [];
        render();
        close();
        return;
      }
      timer = window.setTimeout(function () { search(query); }, DEBOUNCE_MS);
    });

    input.addEventListener("keydown", function (event) {
      var expanded = !list.hidden;
      switch (event.key) {
        case "ArrowDown":
          if (!results.length) { return; }
          event.preventDefault();
          if (!expanded) { open(); setActive(0); return; }
          setActive(active + 1 >= results.length ? 0 : active + 1);
          break;
        case "ArrowUp":
          if (!results.length) { return; }
          event.preventDefault();
          if (!expanded) { open(); setActive(results.length - 1); return; }
          setActive(active <= 0 ? results.length - 1 : active - 1);
          break;
        case "Enter":
          // Choosing a term must not submit the form.
          if (expanded && active >= 0) { event.preventDefault(); choose(active); }
          break;
        case "Escape":
          if (expanded) {
            event.preventDefault();
            close();
          } else if (input.value) {
            event.preventDefault();
            input.value = "";
            chosenTerm = null;
            setCode("");
          }
          break;
        case "Tab":
          close();
          break;
      }
    });

    input.addEventListener("blur", function () { close(); });
  }

  function enhancePickers(root) {
    var scope = root || document;
    var inputs = scope.querySelectorAll ? scope.querySelectorAll("input[data-snomed-picker]") : [];
    for (var i = 0; i < inputs.length; i++) { enhance(inputs[i]); }
    if (scope.matches && scope.matches("input[data-snomed-picker]")) { enhance(scope); }
  }

  window.OpenGP = window.OpenGP || {};
  window.OpenGP.enhancePickers = enhancePickers;

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhancePickers(document); });
  } else {
    enhancePickers(document);
  }
})();
