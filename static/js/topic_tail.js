/* The topic page's live tail: polls the tail partial every few seconds with the cursor the last
   answer gave (X-Tail-Cursor), puts the new rows on top and keeps at most data-keep of them.
   A plain fetch rather than hx-trigger="every": the cursor travels in a header and pausing has
   to stop the requests, not just hide their answers. */
(function () {
  "use strict";

  var box = document.getElementById("live-tail");
  if (!box) { return; }
  var rows = document.getElementById("tail-rows");
  var toggle = document.getElementById("tail-toggle");
  var status = document.getElementById("tail-status");
  var keep = parseInt(box.dataset.keep, 10) || 100;
  var every = parseInt(box.dataset.pollMs, 10) || 1500;
  var cursor = box.dataset.cursor;
  var paused = false;
  var busy = false;
  var timer = null;

  function say(text) { status.textContent = text; }

  function poll() {
    if (paused || busy) { return; }
    busy = true;
    fetch(box.dataset.url + "?cursor=" + encodeURIComponent(cursor), {
      headers: { "HX-Request": "true" },
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      cursor = response.headers.get("X-Tail-Cursor") || cursor;
      return response.text();
    }).then(function (html) {
      if (paused || !html.trim()) { return; }
      var empty = document.getElementById("tail-empty");
      if (empty) { empty.remove(); }
      rows.querySelectorAll("tr.el-tail-new").forEach(function (row) { row.classList.remove("el-tail-new"); });
      rows.insertAdjacentHTML("afterbegin", html);
      while (rows.children.length > keep) { rows.lastElementChild.remove(); }
      say("Live · " + rows.children.length + " newest shown");
    }).catch(function (error) {
      say("Live tail interrupted (" + error.message + "); retrying");
    }).finally(function () { busy = false; });
  }

  function start() {
    paused = false;
    box.dataset.state = "live";
    toggle.innerHTML = '<i class="bi bi-pause-fill"></i> Pause';
    toggle.setAttribute("aria-pressed", "false");
    say("Live: new events appear on top");
    poll();
    timer = window.setInterval(poll, every);
  }

  function pause() {
    paused = true;
    box.dataset.state = "paused";
    window.clearInterval(timer);
    toggle.innerHTML = '<i class="bi bi-play-fill"></i> Resume';
    toggle.setAttribute("aria-pressed", "true");
    say("Paused: events produced meanwhile show on resume (the newest " + keep + ")");
  }

  toggle.addEventListener("click", function () { if (paused) { start(); } else { pause(); } });
  // A tab in the background stops asking; it catches up when shown again.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { window.clearInterval(timer); } else if (!paused) { window.clearInterval(timer); start(); }
  });
  start();
})();
