// Suggestions for the filter forms' text boxes (input[data-suggest]): as one types, the
// names the server suggests for the prefix fill the box's <datalist>. Without JavaScript
// the box still takes a name or domain as typed. With data-suggest-separator, a box that
// holds a list (e.g. "Sport, Climate") suggests for the last part.
(function () {
  "use strict";
  var DELAY = 200;

  function suggest(input, list) {
    var separator = input.getAttribute("data-suggest-separator");
    var parts = separator ? input.value.split(separator) : [input.value];
    var prefix = parts.pop().trim();
    var before = parts.map(function (part) { return part.trim(); }).filter(Boolean);
    if (!prefix) { list.replaceChildren(); return; }
    var url = input.getAttribute("data-suggest") + "?q=" + encodeURIComponent(prefix);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : { results: [] }; })
      .then(function (data) {
        var options = (data.results || []).map(function (result) {
          var option = document.createElement("option");
          option.value = before.concat([result.value]).join(separator ? separator + " " : "");
          option.textContent = result.label;
          return option;
        });
        list.replaceChildren.apply(list, options);
      })
      .catch(function () { list.replaceChildren(); });
  }

  document.querySelectorAll("input[data-suggest]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) { return; }
    var timer = null;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { suggest(input, list); }, DELAY);
    });
  });
})();
