/* The traffic page: the city's TPI as a gauge and its trend. Words come from the page's JSON block; data
   from the traffic API. The map (segments coloured by grade on the base map) is static/traffic/traffic-map.js. */
(function () {
  "use strict";

  var block = document.getElementById("traffic-data");
  if (!block) { return; }
  var config = JSON.parse(block.textContent);
  var colours = { 1: "#2e8b57", 2: "#9acd32", 3: "#f2c200", 4: "#f07f13", 5: "#c0182a", none: "#b8bec8" };
  var font = getComputedStyle(document.body).fontFamily;

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); });
  }

  function drawGauge() {
    var el = document.getElementById("traffic-gauge");
    if (!el || !config.city) { return; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: font },
      series: [{
        type: "gauge", min: 0, max: 10, splitNumber: 5,
        axisLine: { lineStyle: { width: 14, color: [[0.2, colours[1]], [0.4, colours[2]], [0.6, colours[3]], [0.8, colours[4]], [1, colours[5]]] } },
        detail: { formatter: function (v) { return v.toFixed(1); }, fontSize: 22 },
        title: { show: true, offsetCenter: [0, "75%"] },
        data: [{ value: config.city.tpi, name: config.labels["grade." + config.city.grade] }]
      }]
    });
  }

  function drawTrend(series) {
    var el = document.getElementById("traffic-trend");
    if (!el) { return; }
    // the city's clock, whatever the reader's machine is set to
    var hhmm = new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit" });
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: font },
      grid: { left: 36, right: 12, top: 12, bottom: 28 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", boundaryGap: false,
               data: series.points.map(function (p) { return hhmm.format(new Date(p.at)); }) },
      yAxis: { type: "value", min: 0, max: 10 },
      series: [{ type: "line", showSymbol: series.points.length < 30, name: config.labels.city_tpi,
                 data: series.points.map(function (p) { return p.tpi; }) }]
    });
  }

  if (typeof window.echarts === "undefined") { return; }  // the page's figures are in its tables
  drawGauge();
  getJson(config.series).then(drawTrend).catch(function () { /* the table above says the figures */ });
})();
