// The draft's checks before submission: each upload's check result appears when the workers are done
// (the materials are fetched again while one says "checking…"), and each form field is checked as it
// is typed against the server's own rules (POST /api/v1/services/fields/check), its problem said beside it.
(function () {
  "use strict";
  var lang = (document.documentElement.lang || "zh").indexOf("zh") === 0 ? "zh" : "en";

  var tries = 0;
  function refreshMaterials() {
    if (!document.querySelector('[data-check="checking"]') || tries >= 60) return;
    tries += 1;
    window.setTimeout(function () {
      fetch(window.location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var id = document.getElementById("case-materials") ? "case-materials" : "bundle-materials";
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(id);
          var here = document.getElementById(id);
          if (fresh && here && !here.contains(document.activeElement)) here.replaceWith(fresh);
          refreshMaterials();
        })
        .catch(function () { refreshMaterials(); });
    }, 2000);
  }
  refreshMaterials();

  var timers = {};
  function show(input, message) {
    var name = input.name.slice(2);
    var id = "live-err-" + name;
    var p = document.getElementById(id);
    if (!message) {
      if (p) p.remove();
      if (!document.getElementById("err-" + name)) input.removeAttribute("aria-invalid");
      return;
    }
    if (!p) {
      p = document.createElement("p");
      p.className = "field-error";
      p.id = id;
      p.setAttribute("data-field-live", name);
      p.setAttribute("aria-live", "polite");
      input.insertAdjacentElement("afterend", p);
    }
    p.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
  }
  function check(input) {
    var values = {};
    values[input.name.slice(2)] = input.value;
    fetch("/api/v1/services/fields/check", {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ values: values }),
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (problems) {
        if (!problems) return;
        var wrong = problems[input.name.slice(2)];
        show(input, wrong ? wrong[lang] : "");
      })
      .catch(function () { /* offline: the save still checks every field */ });
  }
  document.querySelectorAll('main input[name^="f."], form input[name^="f."]').forEach(function (input) {
    input.addEventListener("input", function () {
      window.clearTimeout(timers[input.name]);
      timers[input.name] = window.setTimeout(function () { check(input); }, 400);
    });
  });
})();
