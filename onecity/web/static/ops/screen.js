/* The wall screen: the dark base map with the open cases, the figures, the next cases, the sensor warnings and
   the roads' traffic index with the congested roads, all refreshed over server-sent events; nobody clicks anything. */
import { createBaseMap } from "/static/js/basemap.js";
import { shanghaiTime } from "/static/js/times.js";

const config = JSON.parse(document.getElementById("screen-data").textContent);
let baseMap = null;
const charts = {};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) { e.className = cls; }
  if (text !== undefined) { e.textContent = text; }
  return e;
}

function drawRanking(children) {
  if (typeof window.echarts === "undefined") { return; }
  const rows = children.filter((c) => c.open > 0).sort((a, b) => b.open - a.open).slice(0, 8).reverse();
  const chartEl = document.getElementById("screen-rank-chart");
  chartEl.hidden = rows.length === 0;  // an empty chart is a lone axis line: say there is nothing instead
  document.getElementById("screen-rank-none").hidden = rows.length > 0;
  if (rows.length === 0) { return; }
  charts.rank = charts.rank || window.echarts.init(document.getElementById("screen-rank-chart"), "dark");
  charts.rank.setOption({
    backgroundColor: "transparent",
    grid: { left: 4, right: 40, top: 4, bottom: 20, containLabel: true },  // the areas' names whole, in either language
    xAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#1d3a66" } } },
    yAxis: { type: "category", data: rows.map((c) => config.childNames[c.code] || (config.lang === "zh" ? c.name : c.name_en)),
      axisLabel: { fontSize: 15, color: "#aebfd6", width: 190, overflow: "truncate" } },
    series: [{ type: "bar", barMaxWidth: 26, data: rows.map((c) => ({ value: c.open, itemStyle: { color: c.overdue ? "#ff5d5d" : "#4cc3ff" } })),
      label: { show: true, position: "right", color: "#d6e2f2", fontSize: 15 } }]
  }, true);
}

function fillNext(items) {
  const ol = document.getElementById("screen-next");
  if (items.length === 0) {
    ol.replaceChildren(el("li", "none", config.words.no_cases));
    return;
  }
  ol.replaceChildren(...items.map((c) => {
    const li = el("li", c.overdue ? "is-overdue" : "");
    li.dataset.case = c.id;
    li.append(el("b", "", c.type), el("span", "", c.place), el("em", "", c.status), el("time", "", c.due));
    return li;
  }));
}

function fillWarnings(items) {
  const ol = document.getElementById("screen-warnings");
  if (!items.length) { ol.replaceChildren(el("li", "none", config.words.no_warnings)); return; }
  ol.replaceChildren(...items.map((w) => {
    const li = el("li", "level-" + w.level);
    li.append(el("b", "", w.level_name), el("span", "", w.message), el("time", "", w.time));
    return li;
  }));
}

function fillTraffic(tr) {
  if (!tr) { return; }  // no network loaded, or not the viewer's to read: the panel keeps its words
  ["at", "tpi", "grade_name"].forEach((k) => {
    const e = document.querySelector('[data-traffic="' + k + '"]');
    if (e) { e.textContent = String(tr[k]); }
  });
  document.querySelector('[data-traffic="tpi"]').className = "grade-" + tr.grade;
  document.querySelector(".traffic-now .congested").hidden = false;
  const ol = document.getElementById("screen-congested");
  if (!tr.congested.length) { ol.replaceChildren(el("li", "none", config.words.no_congestion)); return; }
  ol.replaceChildren(...tr.congested.map((r) => {
    const li = el("li", "grade-" + r.grade);
    li.append(el("b", "", r.road), el("em", "", r.grade_name));
    return li;
  }));
}

async function refreshPoints() {
  if (!baseMap) { return; }
  const r = await fetch(config.points, { credentials: "same-origin" });
  if (r.ok) { baseMap.setPoints(await r.json()); }
}

function apply(data) {
  Object.keys(data.totals).forEach((k) => {
    const e = document.querySelector('[data-total="' + k + '"]');
    if (e) { e.textContent = String(data.totals[k]); }
  });
  const s = data.screen || {};
  Object.keys(s).forEach((k) => {
    const e = document.querySelector('[data-screen="' + k + '"]');
    if (e && typeof s[k] !== "object") { e.textContent = String(s[k]); }
  });
  if (s.next) { fillNext(s.next); }
  if (s.warnings) { fillWarnings(s.warnings); }
  fillTraffic(s.traffic);
  drawRanking(data.children);
  document.getElementById("live-at").textContent = shanghaiTime(data.at);
  refreshPoints().catch(() => { /* next time */ });
}

/* The screen is laid out at 1920×1080; any other window shows all of it, scaled to fit (no scroll bars). */
function fitToWindow() {
  const scale = Math.min(window.innerWidth / 1920, window.innerHeight / 1080);
  document.body.style.transform = Math.abs(scale - 1) < 0.001 ? "" : "scale(" + scale + ")";
}
fitToWindow();
window.addEventListener("resize", fitToWindow);

drawRanking(config.children);
createBaseMap(document.getElementById("screen-map")).then((bm) => { baseMap = bm; return refreshPoints(); })
  .catch(() => { /* the container says why */ });

const state = document.getElementById("live-state");
const source = new EventSource(config.live, { withCredentials: true });
source.addEventListener("open", () => state.setAttribute("data-state", "open"));
source.addEventListener("error", () => state.setAttribute("data-state", "error"));
source.addEventListener("counts", (e) => {
  state.setAttribute("data-state", "open");
  apply(JSON.parse(e.data));
  document.body.setAttribute("data-live-updates", String(Number(document.body.getAttribute("data-live-updates") || 0) + 1));
});
