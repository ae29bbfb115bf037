/* The inspector's map: the base map under the report form. A tap puts the report there: the point's
   coordinates go in the form, the gazetteer's nearest address (reverse geocoding) is said under the map, and
   the registry's components nearby are listed (the "find components" button of static/ops/inspector.js). */
import { createBaseMap } from "/static/js/basemap.js";

const words = JSON.parse(document.getElementById("inspector-data").textContent);
const lon = document.getElementById("inspector-lon");
const lat = document.getElementById("inspector-lat");
const place = document.getElementById("inspector-place");
const mapEl = document.getElementById("inspector-map");

function mark(bm, x, y) {
  bm.setPoints({ type: "FeatureCollection", features: [{ type: "Feature", geometry: { type: "Point", coordinates: [x, y] },
    properties: { id: "", overdue: false, level: "township" } }] });
}

if (mapEl && lon && lat) {
  createBaseMap(mapEl, {
    onClick: async (ll) => {
      lon.value = ll.lng.toFixed(7);
      lat.value = ll.lat.toFixed(7);
      document.getElementById("inspector-near").click();
      const r = await fetch(`/api/v1/geography/reverse?lon=${ll.lng}&lat=${ll.lat}`, { credentials: "same-origin" });
      const body = r.ok ? await r.json() : {};
      const n = body.nearest || {};
      place.textContent = n.label ? (words.lang === "zh" ? n.label : n.label_en) : (words.outside || "");
    }
  }).then((bm) => {
    bm.map.on("click", (e) => mark(bm, e.lngLat.lng, e.lngLat.lat));
    const show = () => {  // a place from the phone's location: show it
      const x = Number(lon.value), y = Number(lat.value);
      if (lon.value && lat.value && Number.isFinite(x) && Number.isFinite(y)) {
        mark(bm, x, y);
        bm.map.jumpTo({ center: [x, y], zoom: Math.max(bm.map.getZoom(), 15) });
      }
    };
    lon.addEventListener("change", show);
    document.getElementById("inspector-locate").addEventListener("located", show);
  }).catch(() => { /* the container says why; the coordinates can still be typed */ });
}
