/* Lineage graphs drawn with Cytoscape.js and the dagre layered layout.
 *
 * The graph page (#lineage-page) and every mini graph ([data-lineage-mini]) ask the graph API
 * for one neighbourhood at a time; the server never sends the whole estate. Clicking a node
 * opens its catalog page; shift-click or right-click focuses the graph on it.
 */
(function () {
  "use strict";

  const COLORS = {
    service: { fill: "#e0e7ff", border: "#4f46e5", text: "#1e1b4b" },
    event_type: { fill: "#fef3c7", border: "#d97706", text: "#451a03" },
    topic: { fill: "#ccfbf1", border: "#0f766e", text: "#042f2e" },
    group: { fill: "#f1f5f9", border: "#64748b", text: "#0f172a" },
  };
  const SHAPES = { service: "round-rectangle", event_type: "round-tag", topic: "barrel", group: "hexagon" };
  const LOGICAL = new Set(["produces", "consumes"]);
  const KIND_LABEL = { service: "Service", event_type: "Event type", topic: "Topic", group: "Consumer group" };
  const WINDOW_LABEL = { "10m": "last 10 minutes", "1h": "last hour", "1d": "last day", "7d": "last 7 days" };

  let registered = false;
  function registerLayout() {
    if (!registered && window.cytoscape && window.cytoscapeDagre) {
      window.cytoscape.use(window.cytoscapeDagre);
      registered = true;
    }
  }

  function escapeHtml(text) {
    return String(text == null ? "" : text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function compact(n) {
    if (n >= 1e6) return (n / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
    if (n >= 1e3) return (n / 1e3).toFixed(1).replace(/\.0$/, "") + "k";
    return String(n);
  }

  function ago(ms) {
    if (ms == null) return "never";
    const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (seconds < 60) return seconds + " s ago";
    if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " d ago";
  }

  function flowBadge(flow) {
    const title = { both: "declared and observed", declared: "declared, not observed", observed: "observed, not declared" }[flow];
    return `<span class="badge lineage-flow lineage-flow-${flow}" title="${title}">${flow}</span>`;
  }

  function elementsFrom(payload) {
    const maxEvents = Math.max(1, ...payload.edges.map((e) => e.events));
    const nodes = payload.nodes.map((n) => ({
      group: "nodes",
      data: {
        id: n.id,
        label: n.name,
        kind: n.kind,
        url: n.url,
        node: n,
        w: Math.max(56, Math.min(220, n.name.length * 7.2 + 26)),
      },
      classes: [n.kind, n.documented ? "" : "undocumented", n.id === payload.focus ? "focus" : ""].join(" ").trim(),
    }));
    const edges = payload.edges.map((e) => {
      const logical = LOGICAL.has(e.kind);
      const width = e.events > 0 ? 1.5 + 6.5 * (Math.log1p(e.events) / Math.log1p(maxEvents)) : 1.5;
      const classes = [e.kind, e.flow, logical ? "logical" : "broker"];
      if (logical && e.observed && !e.declared) classes.push("undeclared");
      return { group: "edges", data: { id: e.id, source: e.source, target: e.target, edge: e, width: width }, classes: classes.join(" ") };
    });
    return nodes.concat(edges);
  }

  // The whole estate at 1440x900 is a hairball of 7 px labels. Without a focus or a filter the page
  // starts from this overview instead: one node per domain, one edge per pair of domains that
  // exchange events (declared or observed), as thick as the traffic. Clicking a domain opens it.
  const NO_DOMAIN = "(no domain)";
  // The smallest label, in screen pixels, the overview and a domain's graph are drawn with.
  const LEGIBLE_PX = 12;

  function overviewElements(payload) {
    const domainOf = new Map();
    const domains = new Map();
    payload.nodes.forEach((n) => {
      const name = n.domain || NO_DOMAIN;
      domainOf.set(n.id, name);
      const entry = domains.get(name) || { services: 0, eventTypes: 0 };
      if (n.kind === "service") entry.services += 1;
      if (n.kind === "event_type") entry.eventTypes += 1;
      domains.set(name, entry);
    });
    const flows = new Map();
    payload.edges.forEach((e) => {
      if (!LOGICAL.has(e.kind)) return;
      const from = domainOf.get(e.source);
      const to = domainOf.get(e.target);
      if (!from || !to || from === to) return;
      const key = from + "\u0000" + to;
      const flow = flows.get(key) || { source: from, target: to, events: 0, declared: false, observed: false, types: new Set() };
      flow.events += e.events;
      flow.declared = flow.declared || !!e.declared;
      flow.observed = flow.observed || !!e.observed;
      flow.types.add(e.kind === "produces" ? e.target : e.source);
      flows.set(key, flow);
    });
    const maxEvents = Math.max(1, ...Array.from(flows.values(), (f) => f.events));
    const nodes = Array.from(domains.entries())
      .filter(([name, entry]) => name !== NO_DOMAIN || entry.services + entry.eventTypes > 0)
      .map(([name, entry]) => {
        const counts = `${entry.services} service${entry.services === 1 ? "" : "s"} · ${entry.eventTypes} event type${entry.eventTypes === 1 ? "" : "s"}`;
        return {
          group: "nodes",
          data: { id: "domain:" + name, label: name + "\n" + counts, domain: name === NO_DOMAIN ? "" : name, w: Math.max(150, Math.min(260, Math.max(name.length, counts.length) * 7.6 + 28)) },
          classes: "domain",
        };
      });
    const edges = Array.from(flows.values()).map((f) => ({
      group: "edges",
      data: {
        id: "flow:" + f.source + "->" + f.target,
        source: "domain:" + f.source,
        target: "domain:" + f.target,
        width: f.events > 0 ? 2 + 6 * (Math.log1p(f.events) / Math.log1p(maxEvents)) : 2,
        label: f.events ? compact(f.events) + " events" : "",
      },
      classes: ["overview", f.observed ? "" : "declared"].join(" ").trim(),
    }));
    return nodes.concat(edges);
  }

  function stylesheet(compactMode) {
    const font = compactMode ? 10 : 11;
    const rules = [
      {
        selector: "node",
        style: {
          label: "data(label)",
          "font-size": font,
          "font-family": "system-ui, -apple-system, 'Segoe UI', sans-serif",
          "text-valign": "center",
          "text-halign": "center",
          width: "data(w)",
          height: compactMode ? 26 : 30,
          "border-width": 1.5,
          "text-wrap": "ellipsis",
          "text-max-width": 200,
        },
      },
      { selector: "node.undocumented", style: { "border-style": "dashed" } },
      { selector: "node.focus", style: { "border-width": 3, "underlay-color": "#818cf8", "underlay-padding": 5, "underlay-opacity": 0.35, "font-weight": 700 } },
      { selector: "node.faded", style: { opacity: 0.25 } },
      { selector: "edge.faded", style: { opacity: 0.12 } },
      { selector: "node.hovered", style: { "border-width": 3 } },
      {
        selector: "edge",
        style: {
          width: "data(width)",
          "curve-style": "bezier",
          "target-arrow-shape": "triangle",
          "arrow-scale": 0.9,
          "line-color": "#475569",
          "target-arrow-color": "#475569",
        },
      },
      { selector: "edge.declared", style: { "line-style": "dashed", "line-dash-pattern": [6, 4], "line-color": "#94a3b8", "target-arrow-color": "#94a3b8" } },
      { selector: "edge.undeclared", style: { "line-color": "#dc2626", "target-arrow-color": "#dc2626" } },
      { selector: "edge.broker", style: { "line-color": "#cbd5e1", "target-arrow-color": "#cbd5e1" } },
      { selector: "edge.broker.declared", style: { "line-color": "#cbd5e1", "target-arrow-color": "#cbd5e1" } },
      { selector: ".hidden-broker", style: { display: "none" } },
      {
        selector: "node.domain",
        style: {
          shape: "round-rectangle",
          "background-color": "#eef2ff",
          "border-color": "#4338ca",
          "border-width": 2,
          color: "#1e1b4b",
          "font-size": 15,
          "text-wrap": "wrap",
          "text-max-width": 260,
          "line-height": 1.35,
          height: 56,
        },
      },
      {
        selector: "edge.overview",
        style: {
          label: "data(label)",
          "font-size": LEGIBLE_PX,
          color: "#334155",
          "text-background-color": "#ffffff",
          "text-background-opacity": 0.9,
          "text-background-padding": 2,
          "text-rotation": "autorotate",
          "control-point-step-size": 48,
        },
      },
    ];
    Object.keys(COLORS).forEach((kind) => {
      rules.splice(1, 0, {
        selector: "node." + kind,
        style: { shape: SHAPES[kind], "background-color": COLORS[kind].fill, "border-color": COLORS[kind].border, color: COLORS[kind].text },
      });
    });
    return rules;
  }

  function runLayout(cy, animate, legible) {
    const visible = cy.elements(":visible");
    if (!visible.length) return;
    // Domains trade events both ways, so a layered layout of them is one long row: a circle keeps
    // every domain at a legible size and each flow a short chord.
    const overview = visible.nodes(".domain").length > 0;
    const layout = overview
      ? { name: "circle", avoidOverlap: false, radius: Math.max(180, Math.min(cy.width() - 240, cy.height() - 90) / 2), fit: true, padding: 30 }
      : { name: "dagre", rankDir: "LR", nodeSep: 26, rankSep: 90, edgeSep: 12, animate: !!animate, animationDuration: 250, fit: true, padding: 30 };
    visible.layout(layout).run();
    // A small neighbourhood should not be blown up to fill the canvas.
    if (cy.zoom() > 1.4) {
      cy.zoom(1.4);
      cy.center(visible);
    }
    // Outside focus mode a large graph is not shrunk below legible labels: it is drawn at the
    // smallest readable zoom from its first layer (the producers), and the rest is a pan away.
    if (legible) {
      const smallest = Math.min(...visible.nodes().map((n) => parseFloat(n.style("font-size")) || 11));
      const floor = LEGIBLE_PX / smallest;
      if (cy.zoom() < floor) {
        cy.zoom(floor);
        const box = visible.boundingBox();
        cy.pan({ x: 30 - box.x1 * floor, y: cy.height() / 2 - ((box.y1 + box.y2) / 2) * floor });
      }
    }
  }

  class LineageView {
    constructor(container, options) {
      registerLayout();
      this.container = container;
      this.options = options;
      this.payload = null;
      this.cy = window.cytoscape({
        container: container,
        elements: [],
        style: stylesheet(!!options.compact),
        wheelSensitivity: 0.25,
        minZoom: 0.1,
        maxZoom: 3,
        boxSelectionEnabled: false,
        autoungrabify: !!options.compact,
      });
      this.cy.on("tap", "node", (event) => {
        const original = event.originalEvent || {};
        const node = event.target;
        if (node.hasClass("domain")) {
          if (options.onDomain) options.onDomain(node.data("domain"));
          return;
        }
        if (original.shiftKey && options.onFocus) {
          options.onFocus(node.id());
        } else if (node.data("url")) {
          if (original.ctrlKey || original.metaKey) window.open(node.data("url"), "_blank");
          else window.location.assign(node.data("url"));
        }
      });
      this.cy.on("cxttap", "node", (event) => options.onFocus && options.onFocus(event.target.id()));
      this.cy.on("mouseover", "node", (event) => (event.target.hasClass("domain") ? (this.container.style.cursor = "pointer") : this.highlight(event.target)));
      this.cy.on("mouseout", "node", () => this.highlight(null));
      this.cy.on("mouseover", "edge", (event) => options.onHover && options.onHover(null, event.target.data("edge")));
      this.cy.on("mouseout", "edge", () => options.onHover && options.onHover(null, null));
    }

    highlight(node) {
      const cy = this.cy;
      cy.elements().removeClass("faded hovered");
      if (node) {
        const keep = node.closedNeighborhood();
        cy.elements().not(keep).addClass("faded");
        node.addClass("hovered");
        this.container.style.cursor = "pointer";
      } else {
        this.container.style.cursor = "";
      }
      if (this.options.onHover) this.options.onHover(node ? node.data("node") : null, null);
    }

    async load(params) {
      const query = new URLSearchParams();
      Object.entries(params).forEach(([key, value]) => {
        if (value !== "" && value != null) query.set(key, value);
      });
      const response = await fetch(this.options.api + "?" + query.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        const message = (body.error && body.error.message) || "The graph could not be loaded (HTTP " + response.status + ").";
        throw new Error(message);
      }
      this.payload = body;
      this.overview = !!(this.options.overview && this.options.overview(params));
      this.cy.elements().remove();
      this.cy.add(this.overview ? overviewElements(body) : elementsFrom(body));
      this.applyBrokerVisibility();
      runLayout(this.cy, false, this.legible(params));
      return body;
    }

    legible(params) {
      return !this.options.compact && !(params && params.focus);
    }

    applyBrokerVisibility() {
      if (this.overview) return;
      const hide = this.options.showBroker && !this.options.showBroker();
      this.cy.batch(() => {
        this.cy.elements().removeClass("hidden-broker");
        if (hide) {
          // A group whose service is unknown stands in for it as a consumer: it stays.
          const focus = this.payload && this.payload.focus;
          this.cy.nodes(".topic, .group").filter((n) => n.id() !== focus && n.connectedEdges(".logical").length === 0).addClass("hidden-broker");
          this.cy.edges(".broker").addClass("hidden-broker");
        }
      });
    }

    fit() {
      this.cy.fit(this.cy.elements(":visible"), 24);
    }
  }

  // -- the graph page ----------------------------------------------------------------------

  function relatedHtml(payload, focus) {
    const nodes = new Map(payload.nodes.map((n) => [n.id, n]));
    const windowSeconds = payload.window_ms / 1000;
    function entry(nodeId, edge) {
      const node = nodes.get(nodeId);
      const name = node ? node.name : nodeId;
      const link = node && node.url ? `<a href="${escapeHtml(node.url)}">${escapeHtml(name)}</a>` : escapeHtml(name);
      const rate = edge.events ? ` <span class="el-muted">${compact(edge.events)} ev · ${(edge.events / windowSeconds).toFixed(2)}/s</span>` : "";
      return `<li data-node="${escapeHtml(nodeId)}"><span>${link}${rate}</span>${flowBadge(edge.flow)}</li>`;
    }
    function list(title, id, items) {
      const body = items.length ? items.join("") : '<li class="el-muted">none</li>';
      return `<h3 class="h6 mt-2">${title}</h3><ul class="lineage-panel-list" id="${id}">${body}</ul>`;
    }
    const out = payload.edges.filter((e) => e.source === focus.id);
    const into = payload.edges.filter((e) => e.target === focus.id);
    let html = "";
    if (focus.kind === "event_type") {
      html += list("Produced by", "lineage-producers", into.filter((e) => e.kind === "produces").map((e) => entry(e.source, e)));
      html += list("Consumed by", "lineage-consumers", out.filter((e) => e.kind === "consumes").map((e) => entry(e.target, e)));
      html += list("Published to", "lineage-topics", out.filter((e) => e.kind === "published_to").map((e) => entry(e.target, e)));
    } else if (focus.kind === "service") {
      html += list("Produces", "lineage-produces", out.filter((e) => e.kind === "produces").map((e) => entry(e.target, e)));
      html += list("Consumes", "lineage-consumes", into.filter((e) => e.kind === "consumes").map((e) => entry(e.source, e)));
      html += list("Through groups", "lineage-groups", into.filter((e) => e.kind === "runs_in").map((e) => entry(e.source, e)));
    } else if (focus.kind === "topic") {
      html += list("Event types", "lineage-producers", into.map((e) => entry(e.source, e)));
      html += list("Read by groups", "lineage-consumers", out.map((e) => entry(e.target, e)));
    } else {
      html += list("Reads", "lineage-topics", into.map((e) => entry(e.source, e)));
      html += list("Services", "lineage-consumers", out.filter((e) => e.kind === "runs_in").map((e) => entry(e.target, e)));
      html += list("Consumes", "lineage-consumes", into.filter((e) => e.kind === "consumes").map((e) => entry(e.source, e)));
    }
    return html;
  }

  function focusPanelHtml(payload, impactUrl) {
    const focus = payload.nodes.find((n) => n.id === payload.focus);
    if (!focus) {
      return '<span class="el-muted">No focus: showing ' + (payload.truncated ? "part of " : "") + "the whole estate. Pick a node to see who produces and consumes it.</span>";
    }
    const meta = [];
    if (focus.owner_team) meta.push(`owned by <strong>${escapeHtml(focus.owner_team)}</strong>`);
    if (focus.domain) meta.push(`domain ${escapeHtml(focus.domain)}`);
    if (focus.services && focus.services.length) meta.push(`services ${focus.services.map(escapeHtml).join(", ")}`);
    if (!focus.documented) meta.push('<span class="badge text-bg-warning">not in the catalog</span>');
    let actions = "";
    if (focus.url) actions += `<a class="btn btn-sm btn-outline-primary" href="${escapeHtml(focus.url)}"><i class="bi bi-journal-text"></i> ${focus.kind === "topic" ? "Topic page" : focus.kind === "group" ? "Group page" : "Catalog page"}</a> `;
    if (focus.kind === "event_type") actions += `<a class="btn btn-sm btn-outline-danger" id="lineage-impact-link" href="${escapeHtml(impactUrl)}?event_type=${encodeURIComponent(focus.name)}"><i class="bi bi-lightning"></i> Impact analysis</a>`;
    return (
      `<div class="d-flex align-items-center gap-2 mb-1"><span class="badge text-bg-light border">${KIND_LABEL[focus.kind]}</span><strong class="el-mono" id="lineage-focus-name">${escapeHtml(focus.name)}</strong></div>` +
      `<div class="el-muted mb-2">${meta.join(" · ")}</div>` +
      `<div class="mb-2 d-flex flex-wrap gap-1">${actions}</div>` +
      relatedHtml(payload, focus)
    );
  }

  function hoverHtml(node, edge, payload) {
    if (node) {
      const parts = [`<strong>${escapeHtml(node.name)}</strong> <span class="el-muted">${KIND_LABEL[node.kind]}</span>`];
      if (node.owner_team) parts.push(`owner ${escapeHtml(node.owner_team)}`);
      if (node.domain) parts.push(`domain ${escapeHtml(node.domain)}`);
      if (node.depth != null) parts.push(`${node.depth} hop${node.depth === 1 ? "" : "s"} from the focus`);
      return parts.join("<br>");
    }
    if (edge) {
      const byId = new Map(payload.nodes.map((n) => [n.id, n.name]));
      const rate = (edge.events / (payload.window_ms / 1000)).toFixed(2);
      return (
        `${escapeHtml(byId.get(edge.source))} <span class="el-muted">${edge.kind.replace("_", " ")}</span> ${escapeHtml(byId.get(edge.target))}<br>` +
        `${flowBadge(edge.flow)} ${edge.events ? compact(edge.events) + " events · " + rate + "/s · last seen " + ago(edge.last_seen_ms) : "no traffic observed"}` +
        (edge.groups.length ? `<br><span class="el-muted">via group ${edge.groups.map(escapeHtml).join(", ")}</span>` : "")
      );
    }
    return "";
  }

  function initPage(root) {
    const controls = document.getElementById("lineage-controls");
    const focusInput = document.getElementById("lineage-focus");
    const depthInput = document.getElementById("lineage-depth");
    const depthValue = document.getElementById("lineage-depth-value");
    const windowSelect = document.getElementById("lineage-window");
    const domainSelect = document.getElementById("lineage-domain");
    const teamSelect = document.getElementById("lineage-team");
    const brokerToggle = document.getElementById("lineage-broker");
    const status = document.getElementById("lineage-status");
    const empty = document.getElementById("lineage-empty");
    const hover = document.getElementById("lineage-hover");
    const panel = document.getElementById("lineage-focus-body");
    const options = document.getElementById("lineage-focus-options");
    let loads = 0;

    const view = new LineageView(document.getElementById("lineage-canvas"), {
      api: root.dataset.api,
      showBroker: () => brokerToggle.checked,
      // No focus and no filter: the overview by domain ("*" in the domain list asks for every node).
      overview: () => !focusInput.value.trim() && !domainSelect.value && !teamSelect.value,
      onDomain: (name) => {
        domainSelect.value = name || "*";
        reload();
      },
      onFocus: (id) => {
        focusInput.value = id;
        reload();
      },
      onHover: (node, edge) => {
        const html = view.payload ? hoverHtml(node, edge, view.payload) : "";
        hover.innerHTML = html;
        hover.classList.toggle("d-none", !html);
      },
    });

    function params() {
      return { focus: focusInput.value.trim(), depth: depthInput.value, window: windowSelect.value, domain: domainSelect.value, team: teamSelect.value };
    }

    async function reload() {
      const current = params();
      const url = new URL(window.location.href);
      url.search = new URLSearchParams(Object.entries(current).filter(([, v]) => v !== "")).toString();
      window.history.replaceState(null, "", url);
      const ticket = ++loads;
      root.dataset.state = "loading";
      status.textContent = "Loading…";
      try {
        const payload = await view.load(Object.assign({}, current, { domain: current.domain === "*" ? "" : current.domain }));
        if (ticket !== loads) return;
        const nodeCount = payload.nodes.length;
        empty.classList.toggle("d-none", nodeCount > 0);
        empty.textContent = nodeCount ? "" : "Nothing to show: no declared or observed flows match.";
        describe();
        panel.innerHTML = view.overview
          ? '<span class="el-muted" id="lineage-overview-note">Overview by domain: each arrow is events flowing from one domain\'s services to another\'s. Click a domain to see its services and event types, or focus on a node.</span>'
          : focusPanelHtml(payload, root.dataset.impactUrl);
        root.dataset.view = view.overview ? "overview" : current.focus ? "focus" : "graph";
        root.dataset.state = "ready";
        root.dataset.window = payload.window;
      } catch (error) {
        if (ticket !== loads) return;
        status.textContent = error.message;
        panel.innerHTML = `<div class="alert alert-warning mb-0">${escapeHtml(error.message)}</div>`;
        root.dataset.state = "error";
      }
    }

    function describe() {
      const payload = view.payload;
      if (!payload) return;
      if (view.overview) {
        const domains = view.cy.nodes().length;
        const flows = view.cy.edges().length;
        status.textContent = `${domains} domain${domains === 1 ? "" : "s"}, ${flows} flow${flows === 1 ? "" : "s"} between them · traffic over the ${WINDOW_LABEL[payload.window]}`;
        return;
      }
      const shown = view.cy.nodes().not(".hidden-broker");
      const nodes = shown.length;
      const edges = view.cy.edges().filter((e) => !e.hasClass("hidden-broker") && !e.source().hasClass("hidden-broker") && !e.target().hasClass("hidden-broker")).length;
      const hidden = payload.nodes.length - nodes;
      let text = `${nodes} node${nodes === 1 ? "" : "s"}, ${edges} edge${edges === 1 ? "" : "s"}`;
      if (hidden > 0) text += ` (${hidden} topics and groups hidden)`;
      text += ` · traffic over the ${WINDOW_LABEL[payload.window]}`;
      if (payload.message) text += " · " + payload.message;
      status.textContent = text;
      status.classList.toggle("text-warning-emphasis", !!payload.truncated);
    }

    let searchTimer = null;
    focusInput.addEventListener("input", () => {
      clearTimeout(searchTimer);
      const q = focusInput.value.trim();
      if (q.length < 2) return;
      searchTimer = setTimeout(async () => {
        const response = await fetch(root.dataset.searchApi + "?" + new URLSearchParams({ q: q, window: windowSelect.value }), { credentials: "same-origin" });
        if (!response.ok) return;
        const body = await response.json();
        options.innerHTML = body.nodes.map((n) => `<option value="${escapeHtml(n.id)}">${escapeHtml(n.name)} (${KIND_LABEL[n.kind]})</option>`).join("");
      }, 150);
    });
    controls.addEventListener("submit", (event) => {
      event.preventDefault();
      reload();
    });
    depthInput.addEventListener("input", () => (depthValue.textContent = depthInput.value));
    [depthInput, windowSelect, domainSelect, teamSelect].forEach((el) => el.addEventListener("change", reload));
    brokerToggle.addEventListener("change", () => {
      view.applyBrokerVisibility();
      if (view.overview) return;
      runLayout(view.cy, false, view.legible(params()));
      describe();
    });
    document.getElementById("lineage-fit").addEventListener("click", () => view.fit());

    window.eventlineLineage = window.eventlineLineage || { views: [] };
    window.eventlineLineage.page = view;
    reload();
  }

  // -- mini graphs on catalog pages -----------------------------------------------------------

  function initMini(element) {
    if (element.dataset.lineageReady) return;
    element.dataset.lineageReady = "1";
    const status = element.parentElement.querySelector(".lineage-mini-status");
    const view = new LineageView(element, {
      api: element.dataset.api,
      compact: true,
      onFocus: (id) => (window.location.href = element.dataset.graphUrl + "?focus=" + encodeURIComponent(id)),
    });
    window.eventlineLineage = window.eventlineLineage || { views: [] };
    window.eventlineLineage.views.push(view);
    view
      .load({ focus: element.dataset.focus, depth: element.dataset.depth || 1, window: element.dataset.window || "1d", broker: "false", limit: 60 })
      .then((payload) => {
        element.dataset.state = "ready";
        if (status) status.textContent = payload.nodes.length > 1 ? `${payload.nodes.length - 1} connected · ${WINDOW_LABEL[payload.window]}` : "No declared or observed flows yet.";
      })
      .catch((error) => {
        element.dataset.state = "error";
        if (status) status.textContent = error.message;
      });
  }

  function start() {
    if (!window.cytoscape) return;
    const root = document.getElementById("lineage-page");
    if (root && !root.dataset.started) {
      root.dataset.started = "1";
      initPage(root);
    }
    document.querySelectorAll("[data-lineage-mini]").forEach(initMini);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
