// Lag and time-lag charts of one consumer group (uPlot), fed by /api/v1/groups/{group}/lag-history.
(function () {
  const group = JSON.parse(document.getElementById("group-name").textContent);
  const charts = {};

  function size(el) {
    return { width: Math.max(280, el.clientWidth), height: 220 };
  }

  function draw(id, label, xs, ys, color) {
    const el = document.getElementById(id);
    if (charts[id]) { charts[id].destroy(); }
    el.innerHTML = "";
    if (!xs.length) {
      el.innerHTML = '<div class="el-empty">No samples in this window yet (the sampler runs every 15 s).</div>';
      return;
    }
    charts[id] = new uPlot({
      ...size(el),
      series: [{}, { label: label, stroke: color, width: 2, fill: color + "22" }],
      axes: [{}, { size: 60 }],
      scales: { x: { time: true } },
      legend: { show: true },
    }, [xs, ys], el);
  }

  function load(windowName) {
    fetch(`/api/v1/groups/${encodeURIComponent(group)}/lag-history?window=${windowName}`, { credentials: "same-origin" })
      .then((response) => response.json())
      .then((body) => {
        const xs = body.points.map((p) => p.at_ms / 1000);
        draw("chart-lag", "total lag", xs, body.points.map((p) => p.total_lag), "#4f46e5");
        draw("chart-time-lag", "time lag (s)", xs, body.points.map((p) => (p.max_time_lag_ms === null ? null : p.max_time_lag_ms / 1000)), "#db2777");
      });
  }

  document.querySelectorAll("#chart-windows button").forEach((button) => {
    button.addEventListener("click", () => {
      document.querySelectorAll("#chart-windows button").forEach((b) => b.classList.remove("active"));
      button.classList.add("active");
      load(button.dataset.window);
    });
  });
  load("1h");
})();
