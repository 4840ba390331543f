// Behaviour that the Content-Security-Policy keeps out of the templates (no inline script, no eval).
(function () {
  "use strict";
  // Live views poll only while the tab is visible (was the htmx trigger filter, which needs eval).
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.hasAttribute("data-poll-when-visible") && document.visibilityState !== "visible") {
      event.preventDefault();
    }
  });
  // <form data-confirm="Delete this channel?">: ask before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  // <select data-submit-on-change>: a filter that applies as soon as it is picked (a <noscript> button covers no-JS).
  document.addEventListener("change", function (event) {
    var elt = event.target;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-submit-on-change") && elt.form) {
      elt.form.submit();
    }
  });
  // <button data-tick-all="fieldset">: ticks every checkbox inside the closest such container.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-tick-all]");
    var box = button && button.closest(button.getAttribute("data-tick-all"));
    if (box) {
      box.querySelectorAll("input[type=checkbox]").forEach(function (c) { c.checked = true; });
    }
  });
  // <input data-select-on-click>: one click selects the whole value for copying.
  document.addEventListener("click", function (event) {
    var elt = event.target;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-select-on-click")) {
      elt.select();
    }
  });
})();
