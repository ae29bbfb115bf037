/* The division browser's map: the children of one division drawn by ECharts from the city's own GeoJSON.
   Clicking a child opens its page (city → district → township → community/village → grids). Words come
   from the page's JSON data block, so the script holds no UI text. */
(function () {
  "use strict";

  var container = document.getElementById("division-map");
  var dataBlock = document.getElementById("division-map-data");
  if (!container || !dataBlock) { return; }
  var config = JSON.parse(dataBlock.textContent);

  function fail() {
    container.setAttribute("data-state", "error");
    container.innerHTML = "";
    var p = document.createElement("p");
    p.className = "map-status";
    p.textContent = config.unavailable;
    container.appendChild(p);
  }

  if (typeof window.echarts === "undefined") { fail(); return; }

  var large = document.body.classList.contains("large-text");
  var byCode = {};

  function label(props) { return config.lang === "zh" ? props.name : props.name_en; }

  function number(v, digits) {
    return v === null || v === undefined ? "–" : Number(v).toLocaleString(config.lang === "zh" ? "zh-CN" : "en",
      { maximumFractionDigits: digits || 0 });
  }

  function tooltip(params) {
    var f = byCode[params.name];
    if (!f) { return ""; }
    var box = document.createElement("div");
    var title = document.createElement("strong");
    title.textContent = label(f);
    box.appendChild(title);
    var rows = [];
    if (f.level !== "grid") {
      rows.push([config.labels.communities, number(f.communities)]);
      rows.push([config.labels.villages, number(f.villages)]);
      rows.push([config.labels.grids, number(f.grids)]);
    }
    rows.push([config.labels.area, number(f.area_km2, 3)]);
    rows.forEach(function (r) {
      var line = document.createElement("div");
      line.textContent = r[0] + ": " + r[1];
      box.appendChild(line);
    });
    return box.innerHTML;
  }

  function rowFor(code) { return document.querySelector('#children-table tr[data-code="' + code + '"]'); }

  fetch(config.geojson, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
    .then(function (geojson) {
      container.innerHTML = "";
      var data = geojson.features.map(function (f) {
        byCode[f.properties.code] = f.properties;
        return { name: f.properties.code, value: f.properties[config.metric] };
      });
      var values = data.map(function (d) { return d.value || 0; });
      var min = Math.min.apply(null, values), max = Math.max.apply(null, values);
      if (max <= min) { max = min + 1; }
      echarts.registerMap("division", geojson);
      var chart = echarts.init(container, null, { renderer: "canvas" });
      chart.on("finished", function () { container.setAttribute("data-state", "ready"); });
      chart.setOption({
        textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
        tooltip: {
          trigger: "item", formatter: tooltip, backgroundColor: "rgba(255,255,255,0.97)", borderColor: "#0b3d91",
          textStyle: { color: "#1b2430", fontSize: large ? 20 : 14 }
        },
        visualMap: {
          show: container.clientWidth > 520, type: "continuous", min: min, max: max, left: 16, bottom: 16,
          itemHeight: large ? 160 : 120, calculable: false,
          text: [config.metricLabel + " " + number(max, 3), number(min, 3)],
          inRange: { color: ["#e4edf9", "#9dbde6", "#4a7fc9", "#0b3d91"] },
          textStyle: { color: "#1b2430", fontSize: large ? 18 : 12 }
        },
        series: [{
          type: "map", map: "division", nameProperty: "code", roam: true, aspectScale: 0.86,
          layoutCenter: ["50%", "50%"], layoutSize: "94%", scaleLimit: { min: 0.8, max: 12 },
          data: data,
          label: {
            show: data.length <= 80, fontSize: large ? 16 : 11, color: "#0f1f3d",
            textBorderColor: "rgba(255,255,255,0.9)", textBorderWidth: 2,
            formatter: function (p) {
              var f = byCode[p.name];
              return f ? (f.level === "grid" ? p.name.slice(-3) : label(f)) : "";
            }
          },
          labelLayout: { hideOverlap: true },
          itemStyle: { borderColor: "#ffffff", borderWidth: data.length > 200 ? 0.4 : 1, areaColor: "#e4edf9" },
          emphasis: {
            label: { show: true, color: "#ffffff", textBorderColor: "#062a66", textBorderWidth: 2, fontWeight: "bold" },
            itemStyle: { areaColor: "#f2a93b", borderColor: "#062a66", borderWidth: 1.5 }
          },
          select: { disabled: true }
        }]
      });
      chart.on("click", function (p) {
        if (config.drill && byCode[p.name]) { window.location.href = "/divisions/" + p.name; }
      });
      chart.on("mouseover", function (p) { var r = rowFor(p.name); if (r) { r.classList.add("is-hovered"); } });
      chart.on("mouseout", function (p) { var r = rowFor(p.name); if (r) { r.classList.remove("is-hovered"); } });
      window.addEventListener("resize", function () { chart.resize(); });
    })
    .catch(fail);
})();
