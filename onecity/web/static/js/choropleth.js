/* A choropleth of the city's own GeoJSON drawn by ECharts (vendored): the home page's districts
   (district-map.js) and the division browser's children (division-map.js) draw through it.

   A page puts a container `<div id="NAME">` and its JSON block `<script type="application/json"
   id="NAME-data">` (with `geojson`, the URL to fetch, and `unavailable`, the words said where no map can be
   drawn), loads echarts.min.js (defer) and then, in a module script:

     import { choropleth, tooltipBox } from "/static/js/choropleth.js";
     choropleth("NAME", (geojson, config, large) => ({ tooltip, min, max, legend, colors, series, ready }));

   The callback says what differs: the tooltip's formatter, the colour scale (min, max, the legend's two
   words, the colours), the map series' own options (data, labels, roaming…) and, if any, `ready(chart)` to
   wire clicks. The container gets data-state="ready" once drawn, "error" (and the page's words) otherwise.
   Every word comes from the page's JSON block: the scripts hold no UI text. */

/* A tooltip's HTML: the title in bold and one line a row ([label, value]); built as nodes, so names are text. */
export function tooltipBox(title, rows) {
  const box = document.createElement("div");
  const head = document.createElement("strong");
  head.textContent = title;
  box.appendChild(head);
  rows.forEach(([label, value]) => {
    const line = document.createElement("div");
    line.textContent = label + ": " + value;
    box.appendChild(line);
  });
  return box.innerHTML;
}

export function choropleth(name, build) {
  const container = document.getElementById(name);
  const dataBlock = document.getElementById(name + "-data");
  if (!container || !dataBlock) { return; }
  const config = JSON.parse(dataBlock.textContent);
  const large = document.body.classList.contains("large-text");

  function fail() {
    container.setAttribute("data-state", "error");
    container.innerHTML = "";
    const p = document.createElement("p");
    p.className = "map-status";
    p.textContent = config.unavailable;
    container.appendChild(p);
  }

  if (typeof window.echarts === "undefined") { fail(); return; }

  fetch(config.geojson, { credentials: "same-origin" })
    .then((r) => { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
    .then((geojson) => {
      container.innerHTML = "";
      const spec = build(geojson, config, large);
      const series = spec.series;
      window.echarts.registerMap(name, geojson);
      const chart = window.echarts.init(container, null, { renderer: "canvas" });
      chart.on("finished", () => { container.setAttribute("data-state", "ready"); });
      chart.setOption({
        textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
        tooltip: {
          trigger: "item", formatter: spec.tooltip, backgroundColor: "rgba(255,255,255,0.97)", borderColor: "#0b3d91",
          textStyle: { color: "#1b2430", fontSize: large ? 20 : 14 }
        },
        visualMap: {
          show: container.clientWidth > 520, type: "continuous", min: spec.min, max: spec.max, left: 16, bottom: 16,
          itemHeight: large ? 160 : 120, calculable: false, text: spec.legend, inRange: { color: spec.colors },
          textStyle: { color: "#1b2430", fontSize: large ? 18 : 12 }
        },
        series: [Object.assign({
          type: "map", map: name, aspectScale: 0.86, layoutCenter: ["50%", "50%"],
          labelLayout: { hideOverlap: true },
          emphasis: {
            label: { show: true, color: "#ffffff", textBorderColor: "#062a66", textBorderWidth: 2, fontWeight: "bold" },
            itemStyle: { areaColor: "#f2a93b", borderColor: "#062a66", borderWidth: 1.5 }
          },
          select: { disabled: true }
        }, series, {
          label: Object.assign({
            color: "#0f1f3d", textBorderColor: "rgba(255,255,255,0.9)", textBorderWidth: 2
          }, series.label),
          itemStyle: Object.assign({ borderColor: "#ffffff" }, series.itemStyle)
        })]
      });
      if (spec.ready) { spec.ready(chart); }
      window.addEventListener("resize", () => { chart.resize(); });
    })
    .catch(fail);
}
