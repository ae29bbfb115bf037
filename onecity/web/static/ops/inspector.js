/* The grid inspector's phone page: fill the location from the phone, list the registry's components
   nearby, and pick the case type from the chosen component's class. */
(function () {
  "use strict";
  var block = document.getElementById("inspector-data");
  if (!block) { return; }
  var config = JSON.parse(block.textContent);
  var lon = document.getElementById("inspector-lon");
  var lat = document.getElementById("inspector-lat");
  var select = document.getElementById("inspector-component");
  var subtype = document.getElementById("inspector-subtype");

  function near() {
    if (!lon.value || !lat.value) { return; }
    var url = "/ops/components/near?lon=" + encodeURIComponent(lon.value) + "&lat=" + encodeURIComponent(lat.value);
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : []; }).then(function (rows) {
      while (select.options.length > 1) { select.remove(1); }
      rows.forEach(function (c) {
        var o = document.createElement("option");
        o.value = String(c.id);
        o.textContent = (config.lang === "zh" ? c.name : c.name_en) + " · " + c.code + " · " + Math.round(c.distance_m) + " m";
        o.setAttribute("data-service", c.service_code);
        select.appendChild(o);
      });
      select.setAttribute("data-count", String(rows.length));
    });
  }

  document.getElementById("inspector-locate").addEventListener("click", function () {
    if (!navigator.geolocation) { return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      lon.value = pos.coords.longitude.toFixed(6);
      lat.value = pos.coords.latitude.toFixed(6);
      near();
      document.getElementById("inspector-locate").dispatchEvent(new CustomEvent("located"));  // the map follows
    });
  });
  document.getElementById("inspector-near").addEventListener("click", near);
  select.addEventListener("change", function () {
    var o = select.options[select.selectedIndex];
    var code = o && o.getAttribute("data-service");
    if (code) { subtype.value = code; }
  });
})();
