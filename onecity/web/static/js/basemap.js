/* The base map every map of the platform draws on: MapLibre GL JS (vendored, no CDN) over vector tiles the
   platform cuts from its own geography (/geo/tiles/{z}/{x}/{y}.pbf: districts, townships, communities, grids,
   rivers, roads when the traffic part has them, labels). Labels are in the reader's language and drawn with the
   machine's own fonts (the style names no glyph server, so MapLibre renders every character locally).

   Use it from a page through the Jinja macro in templates/_basemap.html, which puts a container and its JSON
   options on the page; then, in a module script:

     import { createBaseMap } from "/static/js/basemap.js";
     const bm = await createBaseMap(document.getElementById("ops-map"), { onAreaClick: (p) => ... });
     bm.setPoints(featureCollection);   // circles; a feature's `color` property, if any, colours it
     bm.setLines(featureCollection);    // lines over the roads (traffic's segments), coloured by `color`

   Options (from the container's JSON block, overridable by the caller):
     lang "zh" | "en", theme "light" | "dark", bounds [w, s, e, n] to fit, focus (a division code to outline),
     drill (the layer whose areas are clickable: "district", "township", "community"), interactive (false on the
     wall screen), pointColors. The container gets data-state="ready" once the first frame is drawn, "error"
     (and the page's own words) where the browser has no WebGL. */
import * as maplibregl from "/static/vendor/maplibre/maplibre-gl.mjs";

const CITY = [120.85, 30.68, 122.12, 31.88];
const FONT = ["Noto Sans CJK SC", "Noto Sans", "sans-serif"];

const THEMES = {
  light: {
    background: "#dfe7ee", land: "#f6f4ef", district: "#5a6b80", township: "#9aa8b8", community: "#c3ccd6",
    grid: "#dde2e8", water: "#9fc6e6", road: "#ffffff", expressway: "#f7d488", roadCase: "#c9ccd1", text: "#29323d", halo: "#ffffff",
    focus: "#0b3d91", hover: "rgba(11, 61, 145, 0.10)"
  },
  dark: {
    background: "#060b16", land: "#0f1a2c", district: "#4f6d96", township: "#2c4366", community: "#22324c",
    grid: "#1b2840", water: "#1d4f7a", road: "#3b4b66", expressway: "#5a6a88", roadCase: "#0f1a2c", text: "#d6e2f2", halo: "#060b16",
    focus: "#5fb0ff", hover: "rgba(95, 176, 255, 0.12)"
  }
};

/* A road's line width by class (GB/T 33171) and zoom; `extra` widens the casing drawn under it. */
function roadWidth(extra) {
  // MapLibre takes the zoom only at the top of an expression: the class is matched at each stop
  const at = (e, a, s, l) => ["match", ["get", "kind"], "expressway", e + extra, "arterial", a + extra,
    "secondary", s + extra, l + extra];
  return ["interpolate", ["linear"], ["zoom"], 10, at(1.6, 1, 0.6, 0.4), 15, at(10, 7, 5, 3.5)];
}

function tileUrl() {
  return window.location.origin + "/geo/tiles/{z}/{x}/{y}.pbf";
}

export function baseStyle(options) {
  const c = THEMES[options.theme] || THEMES.light;
  const name = options.lang === "en" ? "name_en" : "name";
  const label = (id, level, minzoom, size, color) => ({
    id: id, type: "symbol", source: "city", "source-layer": "label", minzoom: minzoom,
    filter: ["==", ["get", "level"], level],
    layout: { "text-field": ["get", name], "text-font": FONT, "text-size": size, "text-max-width": 8,
      "text-padding": 4 },
    paint: { "text-color": color || c.text, "text-halo-color": c.halo, "text-halo-width": 1.4 }
  });
  return {
    version: 8,
    name: "onecity-" + (options.theme || "light"),
    sources: {
      city: { type: "vector", tiles: [tileUrl()], minzoom: 0, maxzoom: 14, bounds: CITY,
        attribution: options.attribution || "" }
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": c.background } },
      { id: "land", type: "fill", source: "city", "source-layer": "district", paint: { "fill-color": c.land } },
      { id: "area-hover", type: "fill", source: "city", "source-layer": options.drill || "district",
        filter: ["==", ["get", "code"], ""], paint: { "fill-color": c.hover } },
      { id: "grid-line", type: "line", source: "city", "source-layer": "grid", minzoom: 14,
        paint: { "line-color": c.grid, "line-width": 0.6 } },
      { id: "community-line", type: "line", source: "city", "source-layer": "community", minzoom: 12,
        paint: { "line-color": c.community, "line-width": 0.8, "line-dasharray": [3, 2] } },
      { id: "township-line", type: "line", source: "city", "source-layer": "township", minzoom: 9,
        paint: { "line-color": c.township, "line-width": ["interpolate", ["linear"], ["zoom"], 9, 0.6, 14, 1.6] } },
      { id: "water", type: "line", source: "city", "source-layer": "water",
        layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": c.water,
          "line-width": ["interpolate", ["exponential", 2], ["zoom"], 7, 1.5, 10, 6, 13, 40, 15, 160] } },
      { id: "road-case", type: "line", source: "city", "source-layer": "road", minzoom: 11,
        layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": c.roadCase, "line-width": roadWidth(1.5) } },
      { id: "road", type: "line", source: "city", "source-layer": "road", minzoom: 10,
        layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": ["match", ["get", "kind"], "expressway", c.expressway, c.road],
          "line-width": roadWidth(0) } },
      { id: "district-line", type: "line", source: "city", "source-layer": "district",
        paint: { "line-color": c.district, "line-width": ["interpolate", ["linear"], ["zoom"], 6, 0.8, 12, 2.4] } },
      { id: "focus-line", type: "line", source: "city", "source-layer": options.focusLayer || "district",
        filter: ["==", ["get", "code"], options.focus || ""],
        paint: { "line-color": c.focus, "line-width": 3 } },
      { id: "water-label", type: "symbol", source: "city", "source-layer": "water", minzoom: 11,
        layout: { "symbol-placement": "line", "text-field": ["get", name], "text-font": FONT, "text-size": 12 },
        paint: { "text-color": "#2f6ea3", "text-halo-color": c.halo, "text-halo-width": 1.2 } },
      { id: "road-label", type: "symbol", source: "city", "source-layer": "road", minzoom: 13,
        layout: { "symbol-placement": "line", "text-field": ["get", name], "text-font": FONT, "text-size": 11,
          "symbol-spacing": 320 },
        paint: { "text-color": c.text, "text-halo-color": c.halo, "text-halo-width": 1.2 } },
      label("label-community", "community", 14, 11),
      label("label-township", "township", 10, 12),
      label("label-district", "district", 0, ["interpolate", ["linear"], ["zoom"], 7, 12, 11, 16])
    ]
  };
}

function readOptions(container) {
  const block = document.getElementById(container.id + "-config");
  return block ? JSON.parse(block.textContent) : {};
}

function fail(container, options, err) {
  container.setAttribute("data-state", "error");
  container.setAttribute("data-error", String(err && err.message ? err.message : err));
  const p = document.createElement("p");
  p.className = "map-status";
  p.textContent = options.unavailable || "";
  container.replaceChildren(p);
}

/* Draw the base map in `container`; resolves to { map, setPoints(fc), setLines(fc), fit(bounds) }. */
export function createBaseMap(container, overrides) {
  const options = Object.assign({ lang: document.documentElement.lang === "en" ? "en" : "zh", theme: "light",
    interactive: true, bounds: CITY }, readOptions(container), overrides || {});
  const colors = options.theme === "dark" ? THEMES.dark : THEMES.light;
  let map;
  try {
    map = new maplibregl.Map({
      container: container, style: baseStyle(options), bounds: options.bounds, fitBoundsOptions: { padding: 16 },
      maxBounds: [CITY[0] - 1.5, CITY[1] - 1, CITY[2] + 1.5, CITY[3] + 1], minZoom: 6, maxZoom: 17,
      interactive: options.interactive !== false, attributionControl: false, dragRotate: false, pitchWithRotate: false,
      localIdeographFontFamily: FONT.join(", "), fadeDuration: options.interactive === false ? 0 : 300
    });
  } catch (err) {
    fail(container, options, err);
    return Promise.reject(err);
  }
  if (options.interactive !== false) {
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.touchZoomRotate.disableRotation();
  }
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");

  const handle = {
    map: map, options: options, maplibregl: maplibregl,
    setPoints(fc) {
      const src = map.getSource("points");
      if (src) { src.setData(fc); }
      container.setAttribute("data-points", String(fc.features.length));
    },
    setLines(fc) {
      const src = map.getSource("lines");
      if (src) { src.setData(fc); }
      container.setAttribute("data-lines", String(fc.features.length));
    },
    fit(bounds) { map.fitBounds(bounds, { padding: 24, duration: 0 }); }
  };

  return new Promise((resolve) => {
    map.on("error", (e) => { container.setAttribute("data-map-error", String(e.error && e.error.message)); });
    map.on("load", () => {
      map.addSource("lines", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
      map.addLayer({
        id: "lines", type: "line", source: "lines", layout: { "line-cap": "round", "line-join": "round" },
        paint: { "line-color": ["coalesce", ["get", "color"], colors.focus], "line-width": roadWidth(0.4) }
      }, "label-community");
      map.addSource("points", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
      map.addLayer({
        id: "points", type: "circle", source: "points",
        paint: {
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 8, 3.5, 14, 7],
          "circle-color": ["case", ["has", "color"], ["get", "color"], ["get", "overdue"], "#d93a3a", ["!=", ["get", "level"], "township"], "#f2a93b",
            options.theme === "dark" ? "#4cc3ff" : "#0b3d91"],
          "circle-stroke-color": colors.halo, "circle-stroke-width": 1
        }
      });
      if (options.drill && options.onAreaClick !== undefined) {
        const layer = "area-hover";
        map.on("mousemove", (e) => {
          const f = areaAt(map, options.drill, e);
          map.setFilter(layer, ["==", ["get", "code"], f ? f.properties.code : ""]);
          map.getCanvas().style.cursor = f ? "pointer" : "";
        });
      }
      map.on("click", (e) => {
        const pts = map.queryRenderedFeatures(e.point, { layers: ["points"] });
        if (pts.length && options.onPointClick) { options.onPointClick(pts[0].properties, e); return; }
        const box = [[e.point.x - 4, e.point.y - 4], [e.point.x + 4, e.point.y + 4]];
        const lines = options.onLineClick ? map.queryRenderedFeatures(box, { layers: ["lines"] }) : [];
        if (lines.length) { options.onLineClick(lines[0].properties, e); return; }
        if (options.drill && options.onAreaClick) {
          const f = areaAt(map, options.drill, e);
          if (f) { options.onAreaClick(f.properties, e); return; }
        }
        if (options.onClick) { options.onClick(e.lngLat, e); }
      });
      map.on("mouseenter", "points", () => { map.getCanvas().style.cursor = "pointer"; });
      map.on("mouseleave", "points", () => { map.getCanvas().style.cursor = ""; });
      container.baseMap = handle;  // for the page's other scripts and the browser tests
      resolve(handle);
    });
    map.once("idle", () => { container.setAttribute("data-state", "ready"); });
  });
}

/* The feature of `layer` under the pointer: the tiles' polygons tested against the clicked point. */
function areaAt(map, layer, e) {
  const feats = map.querySourceFeatures("city", { sourceLayer: layer });
  for (const f of feats) {
    if (containsLngLat(map, f, e)) { return f; }
  }
  return null;
}

function containsLngLat(map, f, e) {
  const g = f.geometry;
  const p = [e.lngLat.lng, e.lngLat.lat];
  const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
  return polys.some((rings) => inRing(p, rings[0]) && !rings.slice(1).some((h) => inRing(p, h)));
}

function inRing(p, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
    if ((yi > p[1]) !== (yj > p[1]) && p[0] < (xj - xi) * (p[1] - yi) / (yj - yi) + xi) { inside = !inside; }
  }
  return inside;
}

/* Every container marked data-basemap="auto" draws itself (pages that need no script of their own). */
document.querySelectorAll("[data-basemap=auto]").forEach((el) => { createBaseMap(el).catch(() => {}); });
window.OneCityBaseMap = { createBaseMap: createBaseMap };
