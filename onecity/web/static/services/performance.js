// The public performance chart: volumes as bars, within-time-limit and prefilled shares as lines.
(function () {
  "use strict";
  var el = document.getElementById("perf-chart");
  if (!el || typeof echarts === "undefined") { return; }
  var data = JSON.parse(el.getAttribute("data-chart"));
  var pct = function (xs) { return xs.map(function (v) { return v === null ? null : Math.round(v * 1000) / 10; }); };
  var chart = echarts.init(el);
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { data: data.names },
    grid: { left: 50, right: 50, bottom: 90 },
    xAxis: { type: "category", data: data.labels, axisLabel: { rotate: 40, interval: 0 } },
    yAxis: [{ type: "value", name: "cases" }, { type: "value", name: "%", max: 100 }],
    series: [
      { name: data.names[0], type: "bar", barMaxWidth: 48, data: data.volume },
      { name: data.names[1], type: "line", yAxisIndex: 1, data: pct(data.within) },
      { name: data.names[2], type: "line", yAxisIndex: 1, data: pct(data.prefilled) }
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
}());
