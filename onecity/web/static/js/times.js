/* Times as every page prints them: Shanghai wall-clock time, "2026-12-05 12:49:27" (the server's `local_time`
   filter), whatever the browser's own locale is, so a live update reads like the figures around it. */
const PARTS = new Intl.DateTimeFormat("en-CA", {
  timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

export function shanghaiTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) { return ""; }
  const p = {};
  PARTS.formatToParts(d).forEach((x) => { p[x.type] = x.value; });
  return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second;
}
