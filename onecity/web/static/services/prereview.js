// The AI pre-review's boxes over each upload: every field read (blue), every warning (amber) and
// failed check (red, dashed), the checks numbered as in the reasons table. Data comes from the
// canvas's data-* attributes (CSP: no inline script); the canvas gets data-drawn="1" when done,
// "error" if the image did not load.
(function () {
  "use strict";
  var COLOURS = { field: "#2563eb", warn: "#b45309", fail: "#dc2626" };
  var FONT = '"Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif';

  function overlaps(a, b) {
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  }

  // Place a label at the first candidate spot that lies wholly on the canvas and clear of the labels
  // already placed, sliding each candidate a label's height at a time; else at the first candidate.
  // A candidate is [x, y, anchored at its right?, above y?].
  function place(ctx, placed, text, candidates, size) {
    var pad = Math.round(size * 0.25);
    var w = ctx.measureText(text).width + 2 * pad, h = size + 2 * pad;
    var W = ctx.canvas.width, H = ctx.canvas.height;
    var at = function (c, step) {  // a label above its spot slides up, any other down
      return { x: c[2] ? c[0] - w : c[0], y: c[3] ? c[1] - h - step * h : c[1] + step * h, w: w, h: h };
    };
    var clear = function (r) {
      return r.x >= 0 && r.y >= 0 && r.x + r.w <= W && r.y + r.h <= H &&
        !placed.some(function (p) { return overlaps(p, r); });
    };
    for (var i = 0; i < candidates.length; i++) {
      for (var step = 0; step < 4; step++) {
        var r = at(candidates[i], step);
        if (clear(r)) { placed.push(r); return { rect: r, pad: pad }; }
      }
    }
    var f = at(candidates[0], 0);
    f.x = Math.min(Math.max(0, f.x), W - w);
    f.y = Math.min(Math.max(0, f.y), H - h);
    placed.push(f);
    return { rect: f, pad: pad };
  }

  function draw(canvas) {
    var data = JSON.parse(canvas.getAttribute("data-boxes") || "{}");
    var img = new Image();
    img.onload = function () {
      var w = img.naturalWidth, h = img.naturalHeight;
      canvas.width = w;
      canvas.height = h;
      var ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0);
      // boxes are in the pixels of the image as it was read; scale if the stored one differs
      var size0 = data.size || [w, h];
      var sx = w / size0[0], sy = h / size0[1];
      // labels 12 CSS pixels high however small the canvas is shown
      var shown = canvas.getBoundingClientRect().width || w;
      var font = Math.max(12, Math.round(12 * w / shown));
      var line = Math.max(2, Math.round(1.6 * w / shown));
      var boxes = (data.boxes || []).map(function (b) {
        var grow = b.kind === "field" ? 0 : Math.round(line * 2);
        return { kind: b.kind, label: b.label,
                 x0: b.box[0] * sx - grow, y0: b.box[1] * sy - grow, x1: b.box[2] * sx + grow, y1: b.box[3] * sy + grow };
      });
      // the frames first, then every label on top of them, checks before fields so they get the best spots
      boxes.forEach(function (b) {
        ctx.lineWidth = b.kind === "field" ? line : Math.round(line * 1.5);
        ctx.strokeStyle = COLOURS[b.kind] || COLOURS.warn;
        ctx.setLineDash(b.kind === "field" ? [] : [line * 4, line * 2]);
        ctx.strokeRect(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0);
      });
      ctx.setLineDash([]);
      ctx.font = "600 " + font + "px " + FONT;
      ctx.textBaseline = "top";
      var placed = [];
      var checks = boxes.filter(function (b) { return b.kind !== "field"; });
      var fields = boxes.filter(function (b) { return b.kind === "field"; });
      checks.concat(fields).forEach(function (b) {
        // fields: in the margin left of the box, else above or below its left end;
        // checks (numbered as in the reasons table): right of the box, else below its right end
        var gap = line;
        var candidates = b.kind === "field"
          ? [[b.x0 - gap, b.y0, true, false], [b.x0, b.y0, false, true], [b.x0, b.y1, false, false]]
          : [[b.x1 + gap, b.y0, false, false], [b.x1, b.y1, true, false], [b.x1, b.y0, true, true]];
        var spot = place(ctx, placed, b.label, candidates, font);
        ctx.fillStyle = COLOURS[b.kind] || COLOURS.warn;
        ctx.fillRect(spot.rect.x, spot.rect.y, spot.rect.w, spot.rect.h);
        ctx.fillStyle = "#ffffff";
        ctx.fillText(b.label, spot.rect.x + spot.pad, spot.rect.y + spot.pad);
      });
      canvas.setAttribute("data-drawn", "1");
    };
    img.onerror = function () { canvas.setAttribute("data-drawn", "error"); };
    img.src = canvas.getAttribute("data-src");
  }

  Array.prototype.forEach.call(document.querySelectorAll("canvas.svc-pr-canvas"), draw);
}());
