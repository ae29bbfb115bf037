/* The operation centre: open cases on the base map (click an area to drill down: city → district → township,
   and below a township its communities narrow the list), the status and class charts, and live figures over
   server-sent events: the totals, the areas' rows and the case list change without a reload. Words come from
   the page's JSON block. */
import { createBaseMap } from "/static/js/basemap.js";
import { shanghaiTime } from "/static/js/times.js";

const block = document.getElementById("ops-centre-data");
const config = block ? JSON.parse(block.textContent) : null;
const ORDER = ["collected", "registered", "dispatched", "disposing", "reported", "verified", "disputed",
  "suspended", "closed", "evaluated", "rejected"];
const charts = {};
let baseMap = null;

function statusOption(byStatus) {
  const keys = ORDER.filter((k) => (byStatus[k] || 0) > 0);
  return {
    grid: { left: 90, right: 16, top: 8, bottom: 20 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: keys.map((k) => config.statuses[k]), inverse: true },
    series: [{ type: "bar", data: keys.map((k) => byStatus[k]), itemStyle: { color: "#0b3d91" } }]
  };
}

function classOption(byClass) {
  return {
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: ["35%", "70%"], label: { fontSize: 11 },
      data: Object.keys(byClass).sort().map((k) => ({ name: config.classes[k] || k, value: byClass[k] })) }]
  };
}

function drawCharts(data) {
  if (typeof window.echarts === "undefined") { return; }
  const statusEl = document.getElementById("ops-status-chart");
  const classEl = document.getElementById("ops-class-chart");
  // nothing to draw is no chart (an axis line, a grey ring): the table beside it already says 0
  const some = (counts) => Object.values(counts || {}).some((v) => Number(v) > 0);
  if (statusEl) {
    statusEl.hidden = !some(data.by_status);
    if (!statusEl.hidden) {
      charts.status = charts.status || window.echarts.init(statusEl);
      charts.status.setOption(statusOption(data.by_status), true);
      charts.status.resize();
    }
  }
  if (classEl && data.by_class) {
    classEl.hidden = !some(data.by_class);
    const none = document.getElementById("ops-class-none");
    if (none) { none.hidden = !classEl.hidden; }
    if (!classEl.hidden) {
      charts.cls = charts.cls || window.echarts.init(classEl);
      charts.cls.setOption(classOption(data.by_class), true);
      charts.cls.resize();
    }
  }
}

function initialData() {
  const byStatus = {};
  document.querySelectorAll("#status-table td[data-status]").forEach((td) => {
    byStatus[td.getAttribute("data-status")] = Number(td.textContent);
  });
  return { by_status: byStatus, by_class: null };
}

async function loadPoints() {
  const r = await fetch(config.points, { credentials: "same-origin" });
  if (!r.ok) { throw new Error("HTTP " + r.status); }
  return r.json();
}

function refreshPoints() {
  if (!baseMap) { return; }
  loadPoints().then((fc) => baseMap.setPoints(fc)).catch(() => { /* the next update tries again */ });
}

let lastOpen = null;
function refreshList(data) {
  const list = document.getElementById("case-list");
  if (!list) { return; }
  const key = JSON.stringify(data.totals) + JSON.stringify(data.by_status);
  if (lastOpen === null) { lastOpen = key; return; }
  if (key === lastOpen) { return; }
  lastOpen = key;
  const url = new URL(config.list, window.location.origin);
  new URLSearchParams(window.location.search).forEach((v, k) => { if (k !== "full") { url.searchParams.set(k, v); } });
  fetch(url, { credentials: "same-origin" }).then((r) => (r.ok ? r.text() : null)).then((html) => {
    if (!html) { return; }
    const doc = new DOMParser().parseFromString(html, "text/html");
    const fresh = doc.getElementById("case-list");
    if (fresh) { list.replaceWith(fresh); }
    document.body.setAttribute("data-list-updates", String(Number(document.body.getAttribute("data-list-updates") || 0) + 1));
  }).catch(() => { /* kept as it was */ });
}

function apply(data) {
  Object.keys(data.totals).forEach((k) => {
    const el = document.querySelector('#centre-totals [data-total="' + k + '"]');
    if (el) { el.textContent = String(data.totals[k]); }
  });
  document.querySelectorAll("#status-table td[data-status]").forEach((td) => {
    td.textContent = String(data.by_status[td.getAttribute("data-status")] || 0);
  });
  data.children.forEach((ch) => {
    const row = document.querySelector('#children-table tr[data-code="' + ch.code + '"]');
    if (row) {  // open, overdue and total from one count, so open never exceeds total
      row.querySelector('[data-col="open"]').textContent = String(ch.open);
      row.querySelector('[data-col="overdue"]').textContent = String(ch.overdue);
      row.querySelector('[data-col="total"]').textContent = String(ch.total);
    }
  });
  const at = document.getElementById("live-at");
  if (at) {
    at.textContent = shanghaiTime(data.at);
  }
  drawCharts(data);
  refreshPoints();
  refreshList(data);
}

function drill(props) {
  if (!props || !props.code) { return; }
  if (config.drillTo === "centre") {
    window.location.href = "/ops/centre/" + props.code;
  } else {
    const url = new URL(window.location.href);
    url.searchParams.set("area", props.code);
    url.searchParams.delete("page");
    url.hash = "cases-title";
    window.location.href = url.toString();
  }
}

if (config) {
  drawCharts(initialData());
  const mapEl = document.getElementById("ops-map");
  if (mapEl) {
    createBaseMap(mapEl, {
      onAreaClick: drill,
      onPointClick: (p) => { window.location.href = "/ops/cases/" + p.id; }
    }).then((bm) => { baseMap = bm; refreshPoints(); }).catch(() => { /* the container says why */ });
  }
  window.addEventListener("resize", () => { Object.keys(charts).forEach((k) => charts[k].resize()); });

  if (typeof window.EventSource !== "undefined") {
    const state = document.getElementById("live-state");
    const source = new EventSource(config.live, { withCredentials: true });
    source.addEventListener("open", () => { if (state) { state.setAttribute("data-state", "open"); } });
    source.addEventListener("error", () => { if (state) { state.setAttribute("data-state", "error"); } });
    source.addEventListener("counts", (e) => {
      if (state) { state.setAttribute("data-state", "open"); }
      apply(JSON.parse(e.data));
      document.body.setAttribute("data-live-updates", String(Number(document.body.getAttribute("data-live-updates") || 0) + 1));
    });
  }
}
