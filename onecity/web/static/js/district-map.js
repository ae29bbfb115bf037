/* The home page's district map: Shanghai's 16 districts drawn by ECharts from the city's own GeoJSON
   (choropleth.js), shaded by their number of townships. Labels and tooltip words come from the page (a JSON
   data block), so the script holds no UI text. */
import { choropleth, tooltipBox } from "/static/js/choropleth.js";

choropleth("district-map", (geojson, config, large) => {
  const byGb = {};
  config.districts.forEach((d) => { byGb[d.name] = d; });
  const counts = config.districts.map((d) => d.value);
  const min = Math.min(...counts), max = Math.max(...counts);
  return {
    tooltip: (params) => {
      const d = byGb[params.name];
      return d ? tooltipBox(d.label, [[config.townshipsLabel, d.value + (config.unit ? " " + config.unit : "")]]) : "";
    },
    min: min,
    max: max,
    legend: [config.townshipsLabel + " " + max, String(min)],
    colors: ["#dbe7f7", "#8fb3e3", "#3f74c4", "#0b3d91"],
    series: {
      nameProperty: "gb", roam: false, layoutSize: "96%", data: config.districts,
      label: { show: true, fontSize: large ? 17 : 12, formatter: (p) => (byGb[p.name] ? byGb[p.name].label : "") },
      itemStyle: { borderWidth: 1.2, areaColor: "#dbe7f7" }
    }
  };
});
