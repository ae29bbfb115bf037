/* City sensing overview: devices on the city's district outlines coloured by health, and the live
   warning list refreshed every five seconds from /sensing/alerts.json, which names the township and
   the observed property in the page's language. Other words come from the page's JSON block. */
(function () {
  "use strict";

  var dataBlock = document.getElementById("sensing-data");
  if (!dataBlock) { return; }
  var config = JSON.parse(dataBlock.textContent);
  var container = document.getElementById("sensing-map");
  var large = document.body.classList.contains("large-text");

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); });
  }

  function fail() {
    if (!container) { return; }
    container.setAttribute("data-state", "error");
    container.innerHTML = "";
    var p = document.createElement("p");
    p.className = "map-status";
    p.textContent = config.labels["map.unavailable"];
    container.appendChild(p);
  }

  function drawMap(outline, devices) {
    container.innerHTML = "";
    var groups = { ok: [], down: [], alert: [] };
    devices.features.forEach(function (f) {
      var p = f.properties;
      var key = p.alerting ? "alert" : (p.available ? "ok" : "down");
      groups[key].push({ name: p.name, value: f.geometry.coordinates.concat([p.id]), props: p });
    });
    var chart = echarts.init(container, null, { renderer: "canvas" });
    chart.on("finished", function () { container.setAttribute("data-state", "ready"); });
    var option = {
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          if (!p.data || !p.data.props) { return ""; }
          var box = document.createElement("div");
          var title = document.createElement("strong");
          title.textContent = p.data.props.name;
          box.appendChild(title);
          p.data.props.datastreams.forEach(function (d) {
            var line = document.createElement("div");
            line.textContent = (config.properties[d.property] || d.property) + ": " + (d.last === null ? "–" : Number(d.last).toFixed(2)) + " " + (d.unit || "");
            box.appendChild(line);
          });
          return box.innerHTML;
        }
      },
      series: []
    };
    var colours = { ok: "#2e8b57", down: "#8a8f98", alert: "#d7263d" };
    if (outline) {
      echarts.registerMap("sensing-city", outline);
      option.geo = {
        map: "sensing-city", roam: true, aspectScale: 0.86, layoutCenter: ["50%", "50%"], layoutSize: "94%",
        itemStyle: { areaColor: "#eef3fa", borderColor: "#9dbde6" }, emphasis: { disabled: true }, select: { disabled: true }
      };
    }
    ["ok", "down", "alert"].forEach(function (key) {
      var s = {
        name: config.labels["legend." + key], type: "scatter", data: groups[key],
        symbolSize: key === "alert" ? (large ? 16 : 12) : (large ? 9 : 6),
        itemStyle: { color: colours[key], borderColor: "#ffffff", borderWidth: 0.5 }, z: key === "alert" ? 5 : 3
      };
      if (outline) { s.coordinateSystem = "geo"; }
      option.series.push(s);
    });
    if (!outline) {
      option.xAxis = { type: "value", scale: true, show: false };
      option.yAxis = { type: "value", scale: true, show: false };
    }
    chart.setOption(option);
    chart.on("click", function (p) {
      if (p.data && p.data.props && p.data.props.datastreams.length) {
        window.location.href = "/sensing/datastreams/" + p.data.props.datastreams[0].id;
      }
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  if (container) {
    if (typeof window.echarts === "undefined") { fail(); } else {
      getJson(config.devices).then(function (devices) {
        return getJson(config.outline).then(function (o) { drawMap(o, devices); }, function () { drawMap(null, devices); });
      }).catch(fail);
    }
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
