// The AI pre-review's boxes over each upload: every field read (blue), every warning (amber) and
// failed check (red), numbered as in the reasons table. Data comes from the canvas's data-* attributes
// (CSP: no inline script); the canvas gets data-drawn="1" when done, "error" if the image did not load.
(function () {
  "use strict";
  var COLOURS = { field: "#2563eb", warn: "#d97706", fail: "#dc2626" };
  var FONT = '"Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif';

  function label(ctx, text, x, y, colour, size, below) {
    ctx.font = "600 " + size + "px " + FONT;
    var pad = Math.round(size * 0.3);
    var w = ctx.measureText(text).width + 2 * pad;
    var h = size + 2 * pad;
    var top = below ? y : y - h;
    if (top < 0) { top = y; }
    if (top + h > ctx.canvas.height) { top = ctx.canvas.height - h; }
    if (x + w > ctx.canvas.width) { x = Math.max(0, ctx.canvas.width - w); }
    ctx.fillStyle = colour;
    ctx.fillRect(x, top, w, h);
    ctx.fillStyle = "#ffffff";
    ctx.textBaseline = "top";
    ctx.fillText(text, x + pad, top + pad);
    return h;
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
      var size = data.size || [w, h];
      var sx = w / size[0], sy = h / size[1];
      var unit = Math.max(12, Math.round(w / 70));
      var stacked = {};
      (data.boxes || []).forEach(function (b) {
        var colour = COLOURS[b.kind] || COLOURS.warn;
        var isField = b.kind === "field";
        var grow = isField ? 0 : Math.round(unit * 0.35);
        var x0 = b.box[0] * sx - grow, y0 = b.box[1] * sy - grow;
        var x1 = b.box[2] * sx + grow, y1 = b.box[3] * sy + grow;
        ctx.lineWidth = isField ? Math.max(2, unit / 6) : Math.max(3, unit / 4);
        ctx.strokeStyle = colour;
        if (!isField) { ctx.setLineDash([unit * 0.6, unit * 0.3]); } else { ctx.setLineDash([]); }
        ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
        ctx.setLineDash([]);
        // fields label above the box's left end, checks below its right end, stacked when they share a box
        var key = b.box.join(",") + (isField ? "f" : "c");
        var n = stacked[key] || 0;
        var size = Math.round(unit * 0.9);
        if (isField) {
          ctx.font = "600 " + size + "px " + FONT;
          stacked[key] = n + 1;
          label(ctx, b.label, x0, y0 - n * (size * 1.6), colour, size, false);
        } else {
          ctx.font = "600 " + size + "px " + FONT;
          var wLabel = ctx.measureText(b.label).width + size * 0.6;
          stacked[key] = n + 1;
          label(ctx, b.label, Math.max(0, x1 - wLabel), y1 + n * (size * 1.6), colour, size, true);
        }
      });
      canvas.setAttribute("data-drawn", "1");
    };
    img.onerror = function () { canvas.setAttribute("data-drawn", "error"); };
    img.src = canvas.getAttribute("data-src");
  }

  Array.prototype.forEach.call(document.querySelectorAll("canvas.svc-pr-canvas"), draw);
}());
