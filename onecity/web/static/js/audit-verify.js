// Verify the audit chain with a progress bar: read /audit/verify/progress, one JSON line per
// batch ({"done", "total"}) and the result last ({"ok", "entries", "message"}). Without
// script (or if the stream fails before it starts) the form posts and the page waits.
(function () {
  "use strict";
  const form = document.getElementById("verify-form");
  if (!form || !window.fetch || !window.TextDecoder) return;
  const bar = document.getElementById("verify-progress");
  const status = document.getElementById("verify-status");
  const button = form.querySelector("button[type=submit]");

  function show(result) {
    let box = document.getElementById("verify-result");
    if (!box) {
      box = document.createElement("div");
      box.id = "verify-result";
      form.parentNode.insertBefore(box, form);
    }
    box.className = "alert " + (result.ok ? "alert-success" : "alert-error");
    box.setAttribute("role", result.ok ? "status" : "alert");
    box.textContent = result.message;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    status.textContent = "";
    try {
      const response = await fetch(form.dataset.progress, { credentials: "same-origin" });
      if (!response.ok || !response.body) throw new Error(String(response.status));
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let pending = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        pending += decoder.decode(value, { stream: true });
        let newline;
        while ((newline = pending.indexOf("\n")) >= 0) {
          const line = JSON.parse(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
          if ("message" in line) {
            bar.value = bar.max;
            show(line);
          } else {
            bar.max = Math.max(line.total, 1);
            bar.value = line.done;
            status.textContent = line.done.toLocaleString() + " / " + line.total.toLocaleString();
          }
        }
      }
    } catch (err) {
      form.submit();  // the plain form: verify on the server and show the page
      return;
    } finally {
      button.disabled = false;
    }
  });
})();
