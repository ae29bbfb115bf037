/* The traffic page's map: the network's segments coloured by GB/T 33171 grade, drawn over the roads of the
   platform's base map; a click on a segment says its road, speed and grade. The gauge and the trend are
   static/traffic/traffic.js. */
import { createBaseMap } from "/static/js/basemap.js";

const COLOURS = { 1: "#2e8b57", 2: "#9acd32", 3: "#f2c200", 4: "#f07f13", 5: "#c0182a", none: "#b8bec8" };
const config = JSON.parse(document.getElementById("traffic-data").textContent);
const mapEl = document.getElementById("traffic-map");

async function segments() {
  const r = await fetch(config.segments, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!r.ok) { throw new Error("HTTP " + r.status); }
  return r.json();
}

if (mapEl) {
  let popup = null;
  createBaseMap(mapEl, {
    onLineClick: (p, e) => {
      const bm = mapEl.baseMap;
      if (popup) { popup.remove(); }
      const box = document.createElement("div");
      const b = document.createElement("strong");
      b.textContent = config.lang === "zh" ? p.name : p.name_en;
      const line = document.createElement("div");
      const speed = p.speed_kmh === undefined || p.speed_kmh === null ? "–" : Number(p.speed_kmh).toFixed(0);
      line.textContent = config.labels.speed + ": " + speed + " · " + config.labels["grade." + (p.grade || "none")];
      box.append(b, line);
      popup = new bm.maplibregl.Popup({ closeButton: false }).setLngLat(e.lngLat).setDOMContent(box).addTo(bm.map);
    }
  }).then(async (bm) => {
    const fc = await segments();
    let w = 180, s = 90, east = -180, n = -90;
    fc.features.forEach((f) => {
      const p = f.properties;
      p.kind = p.road_class;
      p.color = COLOURS[p.grade || "none"];
      f.geometry.coordinates.forEach((c) => {
        w = Math.min(w, c[0]); east = Math.max(east, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]);
      });
    });
    bm.setLines(fc);
    if (fc.features.length) { bm.fit([w, s, east, n]); }
  }).catch(() => { /* the container says why; the tables below carry the figures */ });
}
