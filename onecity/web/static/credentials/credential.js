// The holder's credential page: a print button (scripts live in files: CSP script-src 'self').
(function () {
  "use strict";
  var button = document.getElementById("print-credential");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
})();
