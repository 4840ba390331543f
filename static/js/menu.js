/* The phone menu: the button in the top bar shows and hides the navigation. No framework; without JavaScript
   the navigation simply stays open (see the <noscript> style in base.html). */
(function () {
  "use strict";

  function setOpen(bar, open) {
    bar.classList.toggle("menu-open", open);
    var button = bar.querySelector(".menu-button");
    if (button) button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  document.addEventListener("click", function (event) {
    var bar = document.querySelector(".topbar");
    if (!bar) return;
    if (event.target.closest(".menu-button")) {
      setOpen(bar, !bar.classList.contains("menu-open"));
    } else if (bar.classList.contains("menu-open") && !event.target.closest(".menu")) {
      setOpen(bar, false); // a tap outside the open menu closes it
    }
  });

  document.addEventListener("keydown", function (event) {
    var bar = document.querySelector(".topbar.menu-open");
    if (bar && event.key === "Escape") {
      setOpen(bar, false);
      bar.querySelector(".menu-button").focus();
    }
  });
})();
