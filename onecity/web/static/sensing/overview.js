/* City sensing overview: the live warning list refreshed every five seconds from /sensing/alerts.json,
   which names the township and the observed property in the page's language. The map of devices is
   static/sensing/overview-map.js (on the platform's base map). */
(function () {
  "use strict";

  var dataBlock = document.getElementById("sensing-data");
  if (!dataBlock) { return; }
  var config = JSON.parse(dataBlock.textContent);

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); });
  }

  // the live warning list
  var rows = document.getElementById("alert-rows");
  var none = document.getElementById("no-alerts");
  var count = document.getElementById("active-count");

  function localTime(iso) {
    // the same "YYYY-MM-DD HH:MM:SS" in Shanghai time as the server renders (Sweden's locale writes ISO)
    return new Date(iso).toLocaleString("sv-SE", { timeZone: "Asia/Shanghai", hour12: false });
  }

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function refresh() {
    getJson(config.alerts).then(function (data) {
      var alerts = data.alerts;
      rows.innerHTML = "";
      alerts.forEach(function (a) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-alert", a.id);
        var td = cell(tr, "");
        var badge = document.createElement("span");
        badge.className = "level level-" + a.level;
        badge.textContent = a.level_name;
        td.appendChild(badge);
        cell(tr, a.message);
        cell(tr, a.place);
        cell(tr, localTime(a.raised_at), "nowrap");
        rows.appendChild(tr);
      });
      if (none) { none.hidden = alerts.length > 0; }
      if (count) { count.textContent = String(alerts.length); }
    }).catch(function () { /* keep the last list; try again on the next tick */ });
  }
  if (rows) { window.setInterval(refresh, 5000); }
})();
