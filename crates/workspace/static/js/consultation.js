// The consultation form. It works without this script (a spare row of each kind is
// always there); the script adds:
// - "Add" and "Remove" buttons for entries, topics, allergies and immunisations;
// - the BMI worked out as weight and height are typed, and a hint when a value is
//   outside its usual range (the server decides what is saved);
// - autosave of the draft to the server 2 s after the last change and when the page is
//   hidden or closed. Drafts go to the record store, never to localStorage: clinical PCs
//   are shared, and what a browser keeps the next user could read;
// - Ctrl+Enter saves.
(function () {
  "use strict";

  var AUTOSAVE_DELAY_MS = 2000;

  function ready(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  function enhance(root) {
    if (window.OpenGP && window.OpenGP.enhancePickers) { window.OpenGP.enhancePickers(root); }
  }

  // A copy of a <template>, with its placeholders replaced.
  function fromTemplate(id, replacements) {
    var template = document.getElementById(id);
    if (!template) { return null; }
    var html = template.innerHTML;
    Object.keys(replacements).forEach(function (key) {
      html = html.split(key).join(String(replacements[key]));
    });
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  }

  function focusFirstField(root) {
    var field = root.querySelector("select, input:not([type=hidden]), textarea");
    if (field) { field.focus(); }
  }

  function timeNow() {
    var d = new Date();
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  ready(function () {
    var form = document.getElementById("consultation-form");
    if (!form) { return; }
    var status = document.getElementById("draft-status");
    var draftUrl = form.getAttribute("data-draft-url");
    var timer = null;
    var dirty = false;
    var submitting = false;

    Array.prototype.forEach.call(form.querySelectorAll("[data-add-entry], #add-topic, [data-add-row]"), function (b) {
      b.hidden = false;
    });

    function addEntry(topic) {
      var entries = topic.querySelector("[data-entries]");
      var next = Number(entries.getAttribute("data-next-entry") || "0");
      var row = fromTemplate("entry-template", { "__T__": topic.getAttribute("data-topic"), "__E__": next });
      if (!row) { return; }
      entries.setAttribute("data-next-entry", String(next + 1));
      entries.appendChild(row);
      enhance(row);
      focusFirstField(row);
    }

    function addTopic() {
      var topics = document.getElementById("topics");
      var next = Number(topics.getAttribute("data-next-topic") || "0");
      var topic = fromTemplate("topic-template", { "__T__": next });
      if (!topic) { return; }
      topic.setAttribute("data-topic", String(next));
      var legend = topic.querySelector("legend");
      if (legend) { legend.textContent = "Topic " + (topics.querySelectorAll("[data-topic]").length + 1); }
      topics.setAttribute("data-next-topic", String(next + 1));
      topics.appendChild(topic);
      topic.querySelector("[data-add-entry]").hidden = false;
      enhance(topic);
      focusFirstField(topic);
    }

    function addRow(kind) {
      var container = document.getElementById(kind);
      var next = Number(container.getAttribute("data-next-row") || "0");
      var row = fromTemplate(kind + "-template", { "__N__": next });
      if (!row) { return; }
      var legend = row.querySelector("legend");
      if (legend) { legend.textContent = legend.textContent + " " + (container.children.length + 1); }
      container.setAttribute("data-next-row", String(next + 1));
      container.appendChild(row);
      enhance(row);
      focusFirstField(row);
    }

    form.addEventListener("click", function (event) {
      var target = event.target.closest("button");
      if (!target) { return; }
      if (target.hasAttribute("data-add-entry")) {
        addEntry(target.closest("[data-topic]"));
      } else if (target.id === "add-topic") {
        addTopic();
      } else if (target.hasAttribute("data-add-row")) {
        addRow(target.getAttribute("data-add-row"));
      } else if (target.hasAttribute("data-remove-row")) {
        var topic = target.closest("[data-topic]");
        target.closest("[data-entry-row]").remove();
        var add = topic && topic.querySelector("[data-add-entry]");
        if (add) { add.focus(); }
        changed();
      } else {
        return;
      }
      event.preventDefault();
    });

    // BMI as weight and height are typed.
    var weight = document.getElementById("obs_weight");
    var height = document.getElementById("obs_height");
    var bmi = document.getElementById("bmi");
    function updateBmi() {
      if (!weight || !height || !bmi) { return; }
      var w = parseFloat(weight.value);
      var h = parseFloat(height.value);
      if (w > 0 && h > 0) {
        var m = h / 100;
        bmi.textContent = (Math.round((w / (m * m)) * 10) / 10).toFixed(1);
      } else {
        bmi.textContent = "-";
      }
    }

    // A quiet hint when a number is outside its usual range.
    function rangeHint(input) {
      var usual = input.getAttribute("data-usual");
      var hint = document.getElementById(input.id + "-range");
      if (!usual || !hint) { return; }
      var parts = usual.split("-").map(Number);
      var value = parseFloat(input.value);
      if (input.value.trim() === "" || isNaN(value)) {
        hint.textContent = "";
      } else if (value < parts[0] || value > parts[1]) {
        hint.textContent = "Outside the usual range (" + parts[0] + "–" + parts[1] + "): check it.";
      } else {
        hint.textContent = "";
      }
    }

    // The form's fields as a urlencoded body (files are never part of a draft).
    function draftBody() {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, key) {
        if (typeof value === "string") { params.append(key, value); }
      });
      return params;
    }

    function saveDraft() {
      timer = null;
      if (submitting || !dirty) { return; }
      dirty = false;
      fetch(draftUrl, { method: "POST", body: draftBody(), credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 204) {
            status.textContent = "Draft saved " + timeNow();
          } else {
            dirty = true;
            status.textContent = "The draft could not be saved. Your typing is still on this page.";
          }
        })
        .catch(function () {
          dirty = true;
          status.textContent = "The draft could not be saved: check the connection.";
        });
    }

    function changed() {
      dirty = true;
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(saveDraft, AUTOSAVE_DELAY_MS);
    }

    // On leaving, the beacon survives the page closing.
    function saveOnLeave() {
      if (submitting || !dirty || !navigator.sendBeacon) { return; }
      if (navigator.sendBeacon(draftUrl, draftBody())) {
        dirty = false;
        if (timer) { clearTimeout(timer); timer = null; }
      }
    }

    form.addEventListener("input", function (event) {
      var target = event.target;
      if (target === weight || target === height) { updateBmi(); }
      if (target.hasAttribute && target.hasAttribute("data-usual")) { rangeHint(target); }
      if (target.type !== "file") { changed(); }
    });
    form.addEventListener("change", function (event) {
      if (event.target.type !== "file") { changed(); }
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { saveOnLeave(); }
    });
    window.addEventListener("pagehide", saveOnLeave);

    form.addEventListener("submit", function () {
      // The save deletes the draft: a late autosave must not bring it back.
      submitting = true;
      if (timer) { clearTimeout(timer); timer = null; }
    });

    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      }
    });

    updateBmi();
    Array.prototype.forEach.call(form.querySelectorAll("[data-usual]"), rangeHint);
  });
})();
