/* The sensing overview's map: every device on the platform's base map, coloured by health (available,
   unavailable, raising a warning); a click opens the device's first datastream. The warning list beside it
   is static/sensing/overview.js. */
import { createBaseMap } from "/static/js/basemap.js";

const COLOURS = { ok: "#2e8b57", down: "#8a8f98", alert: "#d7263d" };
const config = JSON.parse(document.getElementById("sensing-data").textContent);
const mapEl = document.getElementById("sensing-map");

async function devices() {
  const r = await fetch(config.devices, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!r.ok) { throw new Error("HTTP " + r.status); }
  return r.json();
}

if (mapEl) {
  createBaseMap(mapEl, {
    onPointClick: (p) => { if (p.datastream) { window.location.href = "/sensing/datastreams/" + p.datastream; } }
  }).then(async (bm) => {
    const fc = await devices();
    const features = fc.features.map((f) => {
      const p = f.properties;
      const state = p.alerting ? "alert" : (p.available ? "ok" : "down");
      return { type: "Feature", geometry: f.geometry, properties: { id: p.id, state: state, color: COLOURS[state],
        datastream: p.datastreams.length ? p.datastreams[0].id : "" } };
    });
    bm.setPoints({ type: "FeatureCollection", features: features });
    if (features.length) {  // open on the devices, not the whole city (a lone device at street level)
      const xs = features.map((f) => f.geometry.coordinates[0]), ys = features.map((f) => f.geometry.coordinates[1]);
      const pad = 0.01;
      bm.map.fitBounds([Math.min(...xs) - pad, Math.min(...ys) - pad, Math.max(...xs) + pad, Math.max(...ys) + pad],
        { padding: 24, duration: 0, maxZoom: 14 });
    }
  }).catch(() => { /* the container says why; the tables below carry everything */ });
}
