/* The home page's district map: Shanghai's 16 districts drawn by ECharts from the city's own GeoJSON.
   Labels and tooltip words come from the page (a JSON data block), so the script holds no UI text. */
(function () {
  "use strict";

  var container = document.getElementById("district-map");
  var dataBlock = document.getElementById("district-map-data");
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
  var byGb = {};
  config.districts.forEach(function (d) { byGb[d.name] = d; });
  var counts = config.districts.map(function (d) { return d.value; });

  function tooltip(params) {
    var d = byGb[params.name];
    if (!d) { return ""; }
    var box = document.createElement("div");
    var title = document.createElement("strong");
    title.textContent = d.label;
    var line = document.createElement("div");
    line.textContent = config.townshipsLabel + ": " + d.value + (config.unit ? " " + config.unit : "");
    box.appendChild(title);
    box.appendChild(line);
    return box.innerHTML;
  }

  fetch(config.geojson, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
    .then(function (geojson) {
      container.innerHTML = "";
      echarts.registerMap("shanghai", geojson);
      var chart = echarts.init(container, null, { renderer: "canvas" });
      chart.on("finished", function () { container.setAttribute("data-state", "ready"); });
      chart.setOption({
        textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
        tooltip: {
          trigger: "item", formatter: tooltip, backgroundColor: "rgba(255,255,255,0.97)", borderColor: "#0b3d91",
          textStyle: { color: "#1b2430", fontSize: large ? 20 : 14 }
        },
        visualMap: {
          show: container.clientWidth > 520, type: "continuous", min: Math.min.apply(null, counts), max: Math.max.apply(null, counts),
          left: 16, bottom: 16, itemHeight: large ? 160 : 120, calculable: false,
          text: [config.townshipsLabel + " " + Math.max.apply(null, counts), String(Math.min.apply(null, counts))],
          inRange: { color: ["#dbe7f7", "#8fb3e3", "#3f74c4", "#0b3d91"] },
          textStyle: { color: "#1b2430", fontSize: large ? 18 : 12 }
        },
        series: [{
          type: "map", map: "shanghai", nameProperty: "gb", roam: false, aspectScale: 0.86,
          layoutCenter: ["50%", "50%"], layoutSize: "96%",
          data: config.districts,
          label: {
            show: true, fontSize: large ? 17 : 12, color: "#0f1f3d",
            textBorderColor: "rgba(255,255,255,0.9)", textBorderWidth: 2,
            formatter: function (p) { return byGb[p.name] ? byGb[p.name].label : ""; }
          },
          labelLayout: { hideOverlap: true },
          itemStyle: { borderColor: "#ffffff", borderWidth: 1.2, areaColor: "#dbe7f7" },
          emphasis: {
            label: { color: "#ffffff", textBorderColor: "#062a66", textBorderWidth: 2, fontWeight: "bold" },
            itemStyle: { areaColor: "#f2a93b", borderColor: "#062a66", borderWidth: 1.5 }
          },
          select: { disabled: true }
        }]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    })
    .catch(fail);
})();
