/* The operation centre: the map of open cases over the city's own outlines, the status and class charts,
   and live figures over server-sent events (no reload). Words come from the page's JSON block. */
(function () {
  "use strict";
  var block = document.getElementById("ops-centre-data");
  if (!block) { return; }
  var config = JSON.parse(block.textContent);
  var hasCharts = typeof window.echarts !== "undefined";
  var mapEl = document.getElementById("ops-map");
  var statusEl = document.getElementById("ops-status-chart");
  var classEl = document.getElementById("ops-class-chart");
  var charts = {};
  var ORDER = ["collected", "registered", "dispatched", "disposing", "reported", "verified", "disputed",
    "suspended", "closed", "evaluated", "rejected"];

  function statusOption(byStatus) {
    var keys = ORDER.filter(function (k) { return (byStatus[k] || 0) > 0; });
    return {
      grid: { left: 90, right: 16, top: 8, bottom: 20 },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: keys.map(function (k) { return config.statuses[k]; }), inverse: true },
      series: [{ type: "bar", data: keys.map(function (k) { return byStatus[k]; }), itemStyle: { color: "#0b3d91" } }]
    };
  }

  function classOption(byClass) {
    return {
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["35%", "70%"], label: { fontSize: 11 },
        data: Object.keys(byClass).sort().map(function (k) { return { name: config.classes[k] || k, value: byClass[k] }; }) }]
    };
  }

  function drawCharts(data) {
    if (!hasCharts) { return; }
    if (statusEl) {
      charts.status = charts.status || echarts.init(statusEl);
      charts.status.setOption(statusOption(data.by_status), true);
    }
    if (classEl) {
      charts.cls = charts.cls || echarts.init(classEl);
      charts.cls.setOption(classOption(data.by_class), true);
    }
  }

  function initialData() {
    var byStatus = {};
    document.querySelectorAll("#status-table td[data-status]").forEach(function (td) {
      byStatus[td.getAttribute("data-status")] = Number(td.textContent);
    });
    return { by_status: byStatus, by_class: {} };
  }

  function points() {
    return fetch(config.points, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json();
    });
  }

  function scatter(fc) {
    return fc.features.map(function (f) {
      return { value: f.geometry.coordinates, id: f.properties.id, overdue: f.properties.overdue,
        itemStyle: { color: f.properties.overdue ? "#c81e1e" : (f.properties.level !== "township" ? "#f2a93b" : "#0b3d91") } };
    });
  }

  function drawMap() {
    if (!mapEl || !hasCharts) { return; }
    Promise.all([
      config.outlines ? fetch(config.outlines, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; }) : Promise.resolve(null),
      points()
    ]).then(function (res) {
      var outlines = res[0], fc = res[1];
      var chart = echarts.init(mapEl);
      charts.map = chart;
      var option = {
        tooltip: { trigger: "item", formatter: function (p) { return p.data && p.data.id ? p.data.id.slice(0, 8) : (p.name || ""); } },
        series: [{ type: "scatter", coordinateSystem: "geo", symbolSize: 7, data: scatter(fc) }]
      };
      if (outlines && outlines.features && outlines.features.length) {
        echarts.registerMap("ops-area", outlines);
        option.geo = { map: "ops-area", roam: true, aspectScale: 0.86, layoutCenter: ["50%", "50%"], layoutSize: "94%",
          itemStyle: { areaColor: "#e4edf9", borderColor: "#ffffff" }, emphasis: { itemStyle: { areaColor: "#c9d9f2" } } };
      } else {
        var xs = fc.features.map(function (f) { return f.geometry.coordinates[0]; });
        var ys = fc.features.map(function (f) { return f.geometry.coordinates[1]; });
        option.xAxis = { type: "value", scale: true, show: false, min: Math.min.apply(null, xs.concat([121.3])) };
        option.yAxis = { type: "value", scale: true, show: false };
        option.series[0].coordinateSystem = "cartesian2d";
        if (!ys.length) { mapEl.setAttribute("data-note", config.unavailable); }
      }
      chart.on("finished", function () { mapEl.setAttribute("data-state", "ready"); });
      chart.setOption(option);
      chart.on("click", function (p) { if (p.data && p.data.id) { window.location.href = "/ops/cases/" + p.data.id; } });
      mapEl.setAttribute("data-points", String(fc.features.length));
    }).catch(function () { mapEl.setAttribute("data-state", "error"); mapEl.textContent = config.unavailable; });
  }

  function refreshPoints() {
    if (!charts.map) { return; }
    points().then(function (fc) {
      charts.map.setOption({ series: [{ data: scatter(fc) }] });
      mapEl.setAttribute("data-points", String(fc.features.length));
    }).catch(function () { /* the next update tries again */ });
  }

  function apply(data) {
    Object.keys(data.totals).forEach(function (k) {
      var el = document.querySelector('#centre-totals [data-total="' + k + '"]');
      if (el) { el.textContent = String(data.totals[k]); }
    });
    document.querySelectorAll("#status-table td[data-status]").forEach(function (td) {
      td.textContent = String(data.by_status[td.getAttribute("data-status")] || 0);
    });
    data.children.forEach(function (ch) {
      var row = document.querySelector('#children-table tr[data-code="' + ch.code + '"]');
      if (row) {
        row.querySelector('[data-col="open"]').textContent = String(ch.open);
        row.querySelector('[data-col="overdue"]').textContent = String(ch.overdue);
      }
    });
    var at = document.getElementById("live-at");
    if (at) { at.textContent = new Date(data.at).toLocaleString(config.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false, timeZone: "Asia/Shanghai" }); }
    drawCharts(data);
    refreshPoints();
  }

  drawCharts(initialData());
  drawMap();
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });

  if (typeof window.EventSource !== "undefined") {
    var state = document.getElementById("live-state");
    var source = new EventSource(config.live, { withCredentials: true });
    source.addEventListener("open", function () { if (state) { state.setAttribute("data-state", "open"); } });
    source.addEventListener("error", function () { if (state) { state.setAttribute("data-state", "error"); } });
    source.addEventListener("counts", function (e) {
      if (state) { state.setAttribute("data-state", "open"); }
      apply(JSON.parse(e.data));
      document.body.setAttribute("data-live-updates", String(Number(document.body.getAttribute("data-live-updates") || 0) + 1));
    });
  }
})();
