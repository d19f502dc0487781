// Optional conveniences for the moderation queue; every action also works without JavaScript.
(function () {
  "use strict";
  document.querySelectorAll("[data-select-all]").forEach(function (toggle) {
    var formId = toggle.getAttribute("data-select-all");
    var label = toggle.closest("label");
    if (label) { label.hidden = false; }
    toggle.addEventListener("change", function () {
      document.querySelectorAll('input[type="checkbox"][name="ids"][form="' + formId + '"]').forEach(function (box) {
        box.checked = toggle.checked;
      });
    });
  });
  // Ask before a bulk action that cannot be taken back in one click.
  var bulk = document.getElementById("bulk-form");
  if (bulk) {
    bulk.addEventListener("submit", function (event) {
      var chosen = document.querySelectorAll('input[name="ids"][form="bulk-form"]:checked').length;
      var action = bulk.querySelector('select[name="action"]');
      var label = action ? action.options[action.selectedIndex].text : "Apply";
      if (chosen && !window.confirm(label + ": " + chosen + " stories?")) { event.preventDefault(); }
    });
  }
})();
