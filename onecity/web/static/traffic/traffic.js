/* The traffic page: segments coloured by GB/T 33171 grade over the district outlines, the city's
   TPI as a gauge and its trend. Words come from the page's JSON block; data from the traffic API. */
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

  function fail(container) {
    container.setAttribute("data-state", "error");
    container.innerHTML = "";
    var p = document.createElement("p");
    p.className = "map-status";
    p.textContent = config.labels["map.unavailable"];
    container.appendChild(p);
  }

  function drawMap(outline, segments) {
    var container = document.getElementById("traffic-map");
    container.innerHTML = "";
    var lonMin = 180, lonMax = -180, latMin = 90, latMax = -90;
    var groups = { 1: [], 2: [], 3: [], 4: [], 5: [], none: [] };
    segments.features.forEach(function (f) {
      var p = f.properties;
      f.geometry.coordinates.forEach(function (c) {
        lonMin = Math.min(lonMin, c[0]); lonMax = Math.max(lonMax, c[0]);
        latMin = Math.min(latMin, c[1]); latMax = Math.max(latMax, c[1]);
      });
      var name = (config.lang === "zh" ? p.name : p.name_en);
      groups[p.grade || "none"].push({ name: name, coords: f.geometry.coordinates, props: p });
    });
    var chart = echarts.init(container, null, { renderer: "canvas" });
    chart.on("finished", function () { container.setAttribute("data-state", "ready"); });
    echarts.registerMap("traffic-city", outline);
    var width = { expressway: 3, arterial: 2, secondary: 1.2, local: 0.8 };
    var series = Object.keys(groups).map(function (g) {
      return {
        type: "lines", coordinateSystem: "geo", polyline: true, name: config.labels["grade." + g],
        data: groups[g].map(function (d) {
          return { name: d.name, coords: d.coords, props: d.props,
                   lineStyle: { width: width[d.props.road_class] || 1, color: colours[g] } };
        }),
        lineStyle: { opacity: 0.9 }, silent: false
      };
    });
    chart.setOption({
      textStyle: { fontFamily: font },
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          if (!p.data || !p.data.props) { return ""; }
          var box = document.createElement("div");
          var b = document.createElement("strong");
          b.textContent = p.data.name;
          box.appendChild(b);
          var line = document.createElement("div");
          var s = p.data.props.speed_kmh;
          line.textContent = config.labels.speed + ": " + (s === null ? "–" : s.toFixed(0)) + " · " +
            config.labels["grade." + (p.data.props.grade || "none")];
          box.appendChild(line);
          return box.innerHTML;
        }
      },
      geo: {
        map: "traffic-city", roam: true,
        boundingCoords: [[lonMin - 0.005, latMax + 0.005], [lonMax + 0.005, latMin - 0.005]],
        itemStyle: { areaColor: "#f4f6f9", borderColor: "#9aa4b2" },
        emphasis: { disabled: true }, label: { show: false }
      },
      series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
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

  if (typeof window.echarts === "undefined") { fail(document.getElementById("traffic-map")); return; }
  drawGauge();
  Promise.all([getJson(config.outline), getJson(config.segments)])
    .then(function (r) { drawMap(r[0], r[1]); })
    .catch(function () { fail(document.getElementById("traffic-map")); });
  getJson(config.series).then(drawTrend).catch(function () { /* the table above says the figures */ });
})();
