/* Copy buttons: <button data-copy="#input-id"> copies that input's value and says "Copied" for a moment.
   Without the clipboard API (an http:// page) it selects the text instead, so Ctrl+C still works. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    field.focus();
    field.select();
    function done() {
      button.classList.add("copied");
      setTimeout(function () { button.classList.remove("copied"); }, 2000);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
})();
