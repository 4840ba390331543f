/* Bulk selection on a run's items: "All failures on this page" ticks every item checkbox tied to the bulk form,
   the bar counts the selection, and its buttons stay off until something is selected. Event delegation on the
   document, so it keeps working after htmx swaps the items in. Without JavaScript every checkbox still works. */
(function () {
  "use strict";

  function boxes(form) {
    return document.querySelectorAll('input[type=checkbox][name=item][form="' + form.id + '"]');
  }

  function refresh(form) {
    var picked = 0;
    boxes(form).forEach(function (box) { if (box.checked) picked += 1; });
    var label = form.querySelector("[data-selected-count]");
    if (label) label.textContent = picked + " selected";
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = picked === 0; });
    var all = form.querySelector("[data-select-all]");
    if (all) all.checked = picked > 0 && picked === boxes(form).length;
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      var form = target.closest("form");
      boxes(form).forEach(function (box) { box.checked = target.checked; });
      refresh(form);
    } else if (target.matches("input[type=checkbox][name=item][form]")) {
      var owner = document.getElementById(target.getAttribute("form"));
      if (owner) refresh(owner);
    }
  });

  function init() {
    document.querySelectorAll("form#items-bulk").forEach(refresh);
  }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", init);
})();
