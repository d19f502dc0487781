// The change list's autocomplete filters apply as soon as a value is chosen or cleared;
// without JavaScript their Filter button does the same.
(function () {
  "use strict";
  var $ = window.django && window.django.jQuery;
  if (!$) { return; }
  $(document).on("select2:select select2:clear", ".autocomplete-filter select", function () {
    this.form.submit();
  });
})();
