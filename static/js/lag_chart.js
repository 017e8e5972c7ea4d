// Lag and time-lag charts of one consumer group (uPlot), fed by /api/v1/groups/{group}/lag-history.
(function () {
  const group = JSON.parse(document.getElementById("group-name").textContent);
  const charts = {};

  function size(el) {
    return { width: Math.max(280, el.clientWidth), height: 220 };
  }

  // Tick labels at least this far apart (px), so times never run into each other on a half-width chart.
  const X_TICK_SPACE = 100;
  const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const clockSeconds = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const day = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

  // The time at every tick (with seconds when ticks are that close); over windows longer than half a day, the date too where it changes.
  function timeLabels(u, splits) {
    const spansDays = splits.length > 1 && splits[splits.length - 1] - splits[0] > 43200;
    // Ticks less than a minute apart need seconds, or neighbours read the same.
    const time = splits.length > 1 && splits[1] - splits[0] < 60 ? clockSeconds : clock;
    let previousDay = null;
    return splits.map((seconds) => {
      const at = new Date(seconds * 1000);
      const thisDay = day.format(at);
      const label = spansDays && thisDay !== previousDay ? `${thisDay} ${time.format(at)}` : time.format(at);
      previousDay = thisDay;
      return label;
    });
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
      axes: [{ space: X_TICK_SPACE, values: timeLabels }, { size: 60 }],
      scales: { x: { time: true } },
      // A live legend shows "--" until the pointer is over the chart; the series name is what it needs.
      legend: { show: true, live: false },
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

// The status notice is re-rendered every few seconds (htmx): keep open the details a person opened.
(function () {
  let open = [];
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.target.id === "group-live") {
      open = [...event.detail.target.querySelectorAll("details[open]")].map((el) => el.id);
    }
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id === "group-live") {
      open.forEach((id) => { const el = document.getElementById(id); if (el) { el.open = true; } });
    }
  });
})();
