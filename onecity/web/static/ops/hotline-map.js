/* The call-taker's map: the base map under the address search. A click puts the case there: the point's
   coordinates go in the form and the gazetteer's nearest address (reverse geocoding) in the address box;
   an address picked from the suggestions moves the map to it. */
import { createBaseMap } from "/static/js/basemap.js";

const words = JSON.parse(document.getElementById("hotline-data").textContent);
const zh = words.lang === "zh";
const lon = document.getElementById("hotline-lon");
const lat = document.getElementById("hotline-lat");
const address = document.getElementById("hotline-address");
const placeLine = document.getElementById("hotline-place");
const placeValue = document.getElementById("hotline-place-value");
const mapEl = document.getElementById("hotline-map");

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (values[k] == null ? "–" : values[k]));
}

function mark(bm, x, y) {
  bm.setPoints({ type: "FeatureCollection", features: [{ type: "Feature", geometry: { type: "Point", coordinates: [x, y] },
    properties: { id: "", overdue: false, level: "township" } }] });
}

if (mapEl && lon && lat) {
  createBaseMap(mapEl, {
    onClick: async (ll) => {
      lon.value = ll.lng.toFixed(7);
      lat.value = ll.lat.toFixed(7);
      const r = await fetch(`/api/v1/geography/reverse?lon=${ll.lng}&lat=${ll.lat}`, { credentials: "same-origin" });
      if (!r.ok) { placeLine.textContent = words.outside || ""; placeValue.value = ""; return; }
      const body = await r.json();
      const n = body.nearest || {};
      const loc = body.location || {};
      if (n.label) { address.value = zh ? n.label : n.label_en; }
      const text = fill(words.placed, { place: address.value }) + " — " + fill(words.line, {
        grid: loc.grid, community: zh ? n.community_name : n.community_name_en,
        township: zh ? n.township_name : n.township_name_en, district: zh ? n.district_name : n.district_name_en
      }).split(" · ").filter((p) => p !== "–").join(" · ");
      placeLine.textContent = text;
      placeLine.setAttribute("data-grid", loc.grid || "");
      placeValue.value = text;
      mapEl.dispatchEvent(new CustomEvent("placed", { detail: body }));
    }
  }).then((bm) => {
    bm.map.on("click", (e) => mark(bm, e.lngLat.lng, e.lngLat.lat));
    let shown = "";
    const follow = () => {  // an address picked from the suggestions (before or after the map came): show it
      const x = Number(lon.value), y = Number(lat.value);
      const key = lon.value + "," + lat.value;
      if (lon.value && lat.value && Number.isFinite(x) && Number.isFinite(y) && key !== shown) {
        shown = key;
        mark(bm, x, y);
        bm.map.jumpTo({ center: [x, y], zoom: Math.max(bm.map.getZoom(), 15) });
      }
    };
    mapEl.addEventListener("placed", () => { shown = lon.value + "," + lat.value; });
    new MutationObserver(follow).observe(placeLine, { childList: true, characterData: true, subtree: true });
    follow();
  }).catch(() => { /* the container says why */ });
}
