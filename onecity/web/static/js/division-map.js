/* The division browser's map: the children of one division drawn by ECharts from the city's own GeoJSON
   (choropleth.js). Clicking a child opens its page (city → district → township → community/village → grids).
   Words come from the page's JSON data block, so the script holds no UI text. */
import { choropleth, tooltipBox } from "/static/js/choropleth.js";

choropleth("division-map", (geojson, config, large) => {
  const byCode = {};
  const label = (props) => (config.lang === "zh" ? props.name : props.name_en);
  const number = (v, digits) => (v === null || v === undefined ? "–" : Number(v).toLocaleString(
    config.lang === "zh" ? "zh-CN" : "en", { maximumFractionDigits: digits || 0 }));
  const rowFor = (code) => document.querySelector('#children-table tr[data-code="' + code + '"]');

  const data = geojson.features.map((f) => {
    byCode[f.properties.code] = f.properties;
    return { name: f.properties.code, value: f.properties[config.metric] };
  });
  const values = data.map((d) => d.value || 0);
  const min = Math.min(...values);
  let max = Math.max(...values);
  if (max <= min) { max = min + 1; }
  return {
    tooltip: (params) => {
      const f = byCode[params.name];
      if (!f) { return ""; }
      const rows = f.level === "grid" ? [] : [
        [config.labels.communities, number(f.communities)],
        [config.labels.villages, number(f.villages)],
        [config.labels.grids, number(f.grids)]
      ];
      rows.push([config.labels.area, number(f.area_km2, 3)]);
      return tooltipBox(label(f), rows);
    },
    min: min,
    max: max,
    legend: [config.metricLabel + " " + number(max, 3), number(min, 3)],
    colors: ["#e4edf9", "#9dbde6", "#4a7fc9", "#0b3d91"],
    series: {
      nameProperty: "code", roam: true, layoutSize: "94%", scaleLimit: { min: 0.8, max: 12 }, data: data,
      label: {
        show: data.length <= 80, fontSize: large ? 16 : 11,
        formatter: (p) => {
          const f = byCode[p.name];
          return f ? (f.level === "grid" ? p.name.slice(-3) : label(f)) : "";
        }
      },
      itemStyle: { borderWidth: data.length > 200 ? 0.4 : 1, areaColor: "#e4edf9" }
    },
    ready: (chart) => {
      chart.on("click", (p) => {
        if (config.drill && byCode[p.name]) { window.location.href = "/divisions/" + p.name; }
      });
      chart.on("mouseover", (p) => { const r = rowFor(p.name); if (r) { r.classList.add("is-hovered"); } });
      chart.on("mouseout", (p) => { const r = rowFor(p.name); if (r) { r.classList.remove("is-hovered"); } });
    }
  };
});
