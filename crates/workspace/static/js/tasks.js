// Tasks: small helps on top of forms that work without scripts.
// - A description box shows how many characters are left (announced politely).
// - A button with data-confirm asks before it submits (cancelling a task).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-counted][maxlength]").forEach(function (box) {
      var limit = parseInt(box.getAttribute("maxlength"), 10);
      var count = document.createElement("span");
      count.className = "char-count";
      count.id = box.id + "-count";
      count.setAttribute("aria-live", "polite");
      box.insertAdjacentElement("afterend", count);
      var update = function () {
        var left = limit - box.value.length;
        count.textContent = left + (left === 1 ? " character" : " characters") + " left";
      };
      box.addEventListener("input", update);
      update();
    });
    document.querySelectorAll("button[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  });
})();
