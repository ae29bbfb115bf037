/* One datastream's recent readings as a line chart (ECharts), read from the SensorThings API. */
(function () {
  "use strict";

  var dataBlock = document.getElementById("ds-data");
  var container = document.getElementById("ds-chart");
  if (!dataBlock || !container) { return; }
  var config = JSON.parse(dataBlock.textContent);
  var large = document.body.classList.contains("large-text");

  function status(text, state) {
    container.setAttribute("data-state", state);
    container.innerHTML = "";
    var p = document.createElement("p");
    p.className = "map-status";
    p.textContent = text;
    container.appendChild(p);
  }

  if (typeof window.echarts === "undefined") { status(config.empty, "error"); return; }

  fetch(config.observations, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
    .then(function (page) {
      // Shanghai wall-clock time whatever the browser's zone: drawn as UTC, shifted by Shanghai's +08:00
      // (no summer time since 1991), so the axis and the tooltip read like the times printed on the page
      var SHANGHAI_MS = 8 * 3600 * 1000;
      var points = page.value.map(function (o) {
        return [Date.parse(o.phenomenonTime.split("/")[0]) + SHANGHAI_MS, o.result];
      }).reverse();
      if (!points.length) { status(config.empty, "empty"); return; }
      container.innerHTML = "";
      var chart = echarts.init(container, null, { renderer: "canvas" });
      chart.on("finished", function () { container.setAttribute("data-state", "ready"); });
      chart.setOption({
        useUTC: true,
        textStyle: { fontFamily: getComputedStyle(document.body).fontFamily, fontSize: large ? 18 : 12 },
        grid: { left: 60, right: 24, top: 24, bottom: 60 },
        tooltip: { trigger: "axis" },
        xAxis: { type: "time", axisLabel: { hideOverlap: true } },  // a phone has room for a few hours only
        yAxis: { type: "value", name: config.unit, scale: true },
        dataZoom: [{ type: "inside" }, { type: "slider" }],
        series: [{ type: "line", name: config.name, data: points, showSymbol: points.length < 60,
                   lineStyle: { width: 2, color: "#0b3d91" }, itemStyle: { color: "#0b3d91" },
                   areaStyle: { color: "rgba(11,61,145,0.08)" } }]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    })
    .catch(function () { status(config.empty, "error"); });
})();
