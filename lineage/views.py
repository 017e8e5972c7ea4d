"""Lineage pages: the interactive graph (drawn in the browser from the graph API), the drift
report, and the impact analysis with its compatibility check and export."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from catalog.models import Domain, EventType, Team
from catalog.schema_view import latest_schema
from core.errors import EventlineError
from lineage import constants as c
from lineage import selectors
from lineage.graph import NodeKind
from lineage.impact import ImpactReport, impact_for_event_type, impact_for_subject
from schemas.errors import RegistryError
from schemas.selectors import compatibility_check, effective_config, subject_get


def _window(request: HttpRequest, default: str) -> str:
    window = request.GET.get("window") or default
    return window if window in c.WINDOWS else default


def _depth(raw: str | None) -> int:
    try:
        return min(max(int(raw or c.DEFAULT_DEPTH), 0), c.MAX_DEPTH)
    except ValueError:
        return c.DEFAULT_DEPTH


@login_required
@require_GET
def graph_page(request: HttpRequest) -> HttpResponse:
    """The graph itself is fetched by static/js/lineage.js from the graph API, so only the
    neighbourhood asked for ever leaves the server."""
    context = {
        "focus": request.GET.get("focus", ""),
        "depth": _depth(request.GET.get("depth")),
        "max_depth": 6,
        "window": _window(request, c.DEFAULT_WINDOW),
        "windows": c.WINDOW_LABELS.items(),
        "domain": request.GET.get("domain", ""),
        "team": request.GET.get("team", ""),
        "domains": Domain.objects.order_by("name").values_list("name", flat=True),
        "teams": Team.objects.order_by("name").values_list("name", flat=True),
    }
    context["registry_evidence"] = selectors.lineage_registry_evidence(window=context["window"])
    return render(request, "lineage/graph.html", context)


@login_required
@require_GET
def drift_page(request: HttpRequest) -> HttpResponse:
    """Where the catalog and the broker disagree, and what else governance should look at."""
    window = _window(request, c.GOVERNANCE_WINDOW)
    found = selectors.lineage_drift(window=window)
    cycles, cycles_truncated = selectors.lineage_cycles(window=window)
    context = {
        "window": window,
        "windows": c.WINDOW_LABELS.items(),
        "window_label": c.WINDOW_LABELS[window],
        "undeclared": found.undeclared,
        "unobserved": found.unobserved,
        "orphans": selectors.lineage_orphans(window=window),
        "ghosts": selectors.lineage_ghosts(window=window),
        "registry_only": [e for e in selectors.lineage_registry_evidence(window=window) if e.status == "registry only"],
        "cycles": [[key.split(":", 1) for key in cycle] for cycle in cycles],
        "cycles_truncated": cycles_truncated,
    }
    return render(request, "lineage/drift.html", context)


def _export_links(report: ImpactReport, window: str) -> dict[str, str]:
    if report.event_types and len(report.event_types) == 1 and not report.subject:
        params = {"event_type": report.event_types[0]}
    elif report.subject:
        params = {"subject": report.subject}
    else:
        params = {"event_type": report.event_types[0]} if report.event_types else {}
    base = reverse("lineage-api-impact")
    return {
        "csv": f"{base}?{urlencode({**params, 'window': window, 'format': 'csv'})}",
        "json": f"{base}?{urlencode({**params, 'window': window, 'download': 'true'})}",
    }


@login_required
@require_http_methods(["GET", "POST"])
def impact_page(request: HttpRequest) -> HttpResponse:
    """Pick an event type (or a registry subject), optionally paste a candidate schema: the
    compatibility verdict the registry would give, and every consumer affected, transitively."""
    data = request.POST if request.method == "POST" else request.GET
    window = data.get("window") if data.get("window") in c.WINDOWS else c.GOVERNANCE_WINDOW
    name = data.get("event_type", "").strip()
    subject = data.get("subject", "").strip()
    schema_text = data.get("schema", "")
    context: dict[str, Any] = {
        "event_type": name,
        "subject": subject,
        "window": window,
        "windows": c.WINDOW_LABELS.items(),
        "schema_text": schema_text,
        "event_type_names": EventType.objects.order_by("name").values_list("name", flat=True)[:2000],
    }
    report: ImpactReport | None = None
    try:
        if name:
            report = impact_for_event_type(name=name, window=window)
            subject = subject or (report.subject or "")
        elif subject:
            report = impact_for_subject(subject=subject, window=window)
    except EventlineError as error:
        context["error"] = error.message
    if report is not None:
        context.update(
            report=report,
            subject=subject,
            exports=_export_links(report, window),
            services=report.services,
            downstream_services=report.downstream_services,
            graph_url=reverse("lineage:graph") + "?" + urlencode({"focus": f"{NodeKind.EVENT_TYPE.value}:{name}"})
            if name
            else None,
        )
        if subject and not schema_text.strip() and request.method == "GET":
            current = latest_schema(subject)
            if current is not None:
                context["schema_text"] = json.dumps(current, indent=2, ensure_ascii=False)
        if request.method == "POST" and schema_text.strip():
            context.update(_verdict(subject, schema_text))
    return render(request, "lineage/impact.html", context)


def _verdict(subject: str, schema_text: str) -> dict[str, Any]:
    """What registering `schema_text` under `subject` would answer (the registry's own check)."""
    if not subject:
        return {"check_error": "This event type names no registry subject, so there is nothing to check against."}
    try:
        result = compatibility_check(
            subject=subject, schema=schema_text, schema_type="JSON", references=None, normalize=False, version=None
        )
    except RegistryError as error:
        return {"check_error": error.message}
    return {
        "checked": True,
        "compatible": result.is_compatible,
        "breaking": [d for d in result.differences if d.breaks],
        "level": effective_config(subject_get(subject)).level.value,
        "failing_version": result.failing_version,
    }
