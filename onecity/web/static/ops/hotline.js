/* The 12345 call-taker's address search: suggestions from the hub's geocoder as the address is
   typed (typos and pinyin allowed), picked with the mouse or the keyboard; the pick fills the
   point the work order opens at and says which grid, community and township that is. */
(function () {
  "use strict";
  var block = document.getElementById("hotline-data");
  var input = document.getElementById("hotline-address");
  if (!block || !input) { return; }
  var words = JSON.parse(block.textContent);
  var list = document.getElementById("hotline-suggestions");
  var placeLine = document.getElementById("hotline-place");
  var placeValue = document.getElementById("hotline-place-value");
  var lon = document.getElementById("hotline-lon");
  var lat = document.getElementById("hotline-lat");
  var zh = words.lang === "zh";
  var items = [];
  var active = -1;
  var asked = 0;
  var timer = null;
  var picked = placeValue.value ? input.value : null;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k] == null ? "–" : values[k]; });
  }

  function label(s) { return zh ? s.label : s.label_en; }

  function describe(s) {
    var line = fill(words.line, {
      grid: s.grid,
      community: zh ? s.community_name : s.community_name_en,
      township: zh ? s.township_name : s.township_name_en,
      district: zh ? s.district_name : s.district_name_en
    });
    return line.split(" · ").filter(function (part) { return part !== "–"; }).join(" · ");  // a township has no community
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(i) {
    active = i;
    Array.prototype.forEach.call(list.children, function (li, k) {
      li.setAttribute("aria-selected", k === i ? "true" : "false");
    });
    if (i >= 0 && list.children[i]) {
      input.setAttribute("aria-activedescendant", list.children[i].id);
      list.children[i].scrollIntoView({ block: "nearest" });
    }
  }

  function show(rows) {
    items = rows;
    list.textContent = "";
    if (!rows.length) {
      var none = document.createElement("li");
      none.className = "geo-none";
      none.setAttribute("role", "option");
      none.setAttribute("aria-disabled", "true");
      none.textContent = words.none;
      list.appendChild(none);
    }
    rows.forEach(function (s, k) {
      var li = document.createElement("li");
      li.id = "hotline-suggestion-" + k;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-grid", s.grid);
      var main = document.createElement("span");
      main.className = "geo-label";
      main.textContent = label(s);
      var sub = document.createElement("span");
      sub.className = "geo-sub";
      sub.textContent = (words.precision[s.precision] || s.precision) + " · " + describe(s);
      li.appendChild(main);
      li.appendChild(sub);
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); pick(k); });
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(rows.length ? 0 : -1);
  }

  function pick(k) {
    var s = items[k];
    if (!s) { return; }
    input.value = label(s);
    picked = input.value;
    lon.value = s.lon.toFixed(7);
    lat.value = s.lat.toFixed(7);
    var text = fill(words.placed, { place: label(s) }) + " — " + describe(s);
    placeLine.textContent = text;
    placeLine.setAttribute("data-grid", s.grid);
    placeValue.value = text;
    close();
  }

  function unpick() {
    picked = null;
    lon.value = "";
    lat.value = "";
    placeLine.textContent = "";
    placeLine.removeAttribute("data-grid");
    placeValue.value = "";
  }

  function search() {
    var q = input.value.trim();
    if (!q) { close(); return; }
    var mine = ++asked;
    fetch("/api/v1/geography/geocode?limit=8&q=" + encodeURIComponent(q), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
      .then(function (body) { if (mine === asked) { show(body.suggestions || []); } })
      .catch(function () { if (mine === asked) { show([]); } });
  }

  input.addEventListener("input", function () {
    // the call-taker may add words after a pick (门口, 东侧); rewriting the place itself drops it
    if (picked !== null && input.value.indexOf(picked) !== 0) { unpick(); }
    clearTimeout(timer);
    timer = setTimeout(search, 180);
  });
  input.addEventListener("keydown", function (ev) {
    if (list.hidden) {
      if (ev.key === "ArrowDown") { search(); ev.preventDefault(); }
      return;
    }
    if (ev.key === "ArrowDown") { highlight(Math.min(active + 1, items.length - 1)); ev.preventDefault(); }
    else if (ev.key === "ArrowUp") { highlight(Math.max(active - 1, 0)); ev.preventDefault(); }
    else if (ev.key === "Enter") { if (active >= 0) { pick(active); ev.preventDefault(); } }
    else if (ev.key === "Escape") { close(); ev.preventDefault(); }
  });
  input.addEventListener("blur", function () { setTimeout(close, 120); });
  [lon, lat].forEach(function (el) {
    el.addEventListener("input", function () { placeLine.textContent = ""; placeValue.value = ""; picked = null; });
  });
})();
