/* The trace page: the flow graph (Cytoscape, layered dagre layout, left to right) and one
   selection shared by the graph, the waterfall and the inspector. Data comes from json_script. */
(function () {
  "use strict";

  var rows = Array.prototype.slice.call(document.querySelectorAll("#waterfall .tw-row"));
  var panels = Array.prototype.slice.call(document.querySelectorAll(".trace-panel"));
  var graph = null;

  function select(position, group, options) {
    options = options || {};
    var panel = panels.filter(function (p) { return p.dataset.position === position; })[0];
    if (!panel) { return; }
    panels.forEach(function (p) { p.classList.toggle("d-none", p !== panel); });
    panel.querySelectorAll(".trace-hop").forEach(function (hop) {
      hop.classList.toggle("is-selected", !!group && hop.dataset.group === group);
    });
    var chosen = null;
    rows.forEach(function (row) {
      var match = row.dataset.position === position && (group ? row.dataset.group === group : !row.dataset.group);
      row.classList.toggle("is-selected", match);
      if (match) { chosen = row; }
    });
    if (chosen && options.scroll) { chosen.scrollIntoView({ block: "nearest", behavior: "smooth" }); }
    if (graph) {
      graph.nodes().removeClass("is-selected");
      graph.nodes().filter(function (node) {
        return node.data("position") === position && (group ? node.data("label") === group : node.data("kind") === "event");
      }).addClass("is-selected");
    }
    if (options.remember !== false) {
      var hash = "#event=" + encodeURIComponent(position) + (group ? "&group=" + encodeURIComponent(group) : "");
      history.replaceState(null, "", hash);
    }
  }

  function fromHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    return { position: params.get("event"), group: params.get("group") };
  }

  rows.forEach(function (row, index) {
    row.addEventListener("click", function () { select(row.dataset.position, row.dataset.group || null); });
    row.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        select(row.dataset.position, row.dataset.group || null);
      } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        var next = rows[index + (event.key === "ArrowDown" ? 1 : -1)];
        if (next) { next.focus(); select(next.dataset.position, next.dataset.group || null); }
      }
    });
  });

  document.querySelectorAll("[data-select]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      select(link.dataset.select, null, { scroll: true });
    });
  });

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (navigator.clipboard) {
        navigator.clipboard.writeText(button.dataset.copy).then(function () {
          button.innerHTML = '<i class="bi bi-clipboard-check"></i>';
        });
      }
    });
  });

  function nodeSize(node) {
    var lines = String(node.data.label || "").split("\n");
    var longest = Math.max.apply(null, lines.map(function (line) { return line.length; }));
    var group = node.data.kind === "group";
    node.data.w = Math.max(group ? 70 : 90, longest * (group ? 6.2 : 6.6) + 24);
    node.data.h = lines.length > 1 ? 40 : (group ? 26 : 30);
  }

  var dataElement = document.getElementById("trace-graph-data");
  var container = document.getElementById("trace-graph");
  if (dataElement && container && window.cytoscape) {
    if (window.cytoscapeDagre) { window.cytoscape.use(window.cytoscapeDagre); }
    var elements = JSON.parse(dataElement.textContent);
    elements.nodes.forEach(nodeSize);
    graph = window.cytoscape({
      container: container,
      elements: elements.nodes.concat(elements.edges),
      layout: { name: window.cytoscapeDagre ? "dagre" : "breadthfirst", rankDir: "LR", nodeSep: 16, rankSep: 48, edgeSep: 8, directed: true },
      minZoom: 0.2,
      maxZoom: 2.5,
      
      boxSelectionEnabled: false,
      style: [
        { selector: "node", style: {
          "label": "data(label)", "text-wrap": "wrap", "text-valign": "center", "text-halign": "center",
          "font-size": 11, "font-family": "system-ui, -apple-system, Segoe UI, sans-serif", "width": "data(w)",
          "height": "data(h)", "shape": "round-rectangle", "border-width": 2 } },
        { selector: "node[kind = 'service']", style: {
          "background-color": "#312e81", "border-color": "#312e81", "color": "#fff", "font-weight": 600 } },
        { selector: "node[kind = 'event']", style: {
          "background-color": "#ffffff", "border-color": "#4f46e5", "color": "#111827" } },
        { selector: "node[kind = 'event'][?failed]", style: { "border-color": "#dc2626", "background-color": "#fef2f2" } },
        { selector: "node[kind = 'group']", style: {
          "shape": "round-rectangle", "background-color": "#ecfdf5", "border-color": "#10b981", "color": "#065f46",
          "font-size": 10, "corner-radius": 13 } },
        { selector: "node[kind = 'group'][state = 'processing']", style: {
          "background-color": "#ecfeff", "border-color": "#06b6d4", "color": "#155e75" } },
        { selector: "node[kind = 'group'][state = 'pending']", style: {
          "background-color": "#fffbeb", "border-color": "#f59e0b", "border-style": "dashed", "color": "#92400e" } },
        { selector: "node[kind = 'group'][state = 'retrying']", style: {
          "background-color": "#fffbeb", "border-color": "#f59e0b", "color": "#92400e" } },
        { selector: "node[kind = 'group'][state = 'dead-lettered']", style: {
          "background-color": "#fef2f2", "border-color": "#dc2626", "color": "#991b1b" } },
        { selector: "node[?critical]", style: {
          "underlay-color": "#e11d48", "underlay-opacity": 0.14, "underlay-padding": 5, "underlay-shape": "round-rectangle" } },
        { selector: "edge", style: {
          "curve-style": "bezier", "target-arrow-shape": "triangle", "arrow-scale": 0.9, "width": 1.5,
          "line-color": "#94a3b8", "target-arrow-color": "#94a3b8", "label": "data(label)", "font-size": 9,
          "color": "#475569", "text-background-color": "#ffffff", "text-background-opacity": 0.9,
          "text-background-padding": 2, "text-background-shape": "roundrectangle" } },
        { selector: "edge[kind = 'consumed']", style: { "line-color": "#10b981", "target-arrow-color": "#10b981" } },
        { selector: "edge[kind = 'processing']", style: { "line-color": "#06b6d4", "target-arrow-color": "#06b6d4" } },
        { selector: "edge[kind = 'pending']", style: {
          "line-style": "dashed", "line-color": "#f59e0b", "target-arrow-color": "#f59e0b" } },
        { selector: "edge[kind = 'retrying']", style: {
          "line-style": "dashed", "line-color": "#f59e0b", "target-arrow-color": "#f59e0b" } },
        { selector: "edge[kind = 'dead-lettered']", style: { "line-color": "#dc2626", "target-arrow-color": "#dc2626" } },
        { selector: "edge[kind = 'inferred']", style: { "line-style": "dotted" } },
        { selector: "edge.critical", style: { "line-color": "#e11d48", "target-arrow-color": "#e11d48", "width": 2.5 } },
        { selector: "node.is-selected", style: { "border-color": "#4f46e5", "border-width": 4 } }
      ]
    });
    graph.edges().filter(function (edge) {
      var source = edge.source();
      return edge.target().data("critical") === true && (source.data("critical") === true || source.data("kind") === "service");
    }).addClass("critical");
    graph.on("tap", "node", function (event) {
      var node = event.target;
      if (node.data("position")) {
        select(node.data("position"), node.data("kind") === "group" ? node.data("label") : null, { scroll: true });
      }
    });
    graph.ready(function () {
      graph.fit(undefined, 24);
      if (graph.zoom() > 1.3) { graph.zoom(1.3); graph.center(); }
      container.dataset.ready = "true";
    });
    window.traceGraph = graph;
  }

  var initial = fromHash();
  if (initial.position) {
    select(initial.position, initial.group, { scroll: true, remember: false });
  } else if (rows.length) {
    select(rows[0].dataset.position, null, { remember: false });
  }
})();
