"""Lag dashboard and group pages. They refresh themselves with htmx (no full reload)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from broker.models import Partition
from broker.selectors import group_describe, group_get
from broker.services.groups import group_offsets_reset
from core.auth import principal_for_user
from core.errors import EventlineError
from core.models import Service
from core.timeutil import now_ms
from core.ui import has_role, role_required
from monitoring.lag import group_report, lag_summary
from monitoring.latency import group_latencies
from monitoring.selectors import STATUSES, dashboard_groups, lag_trend, service_rollups, sparkline_points

LATENCY_WINDOWS = {"15m": 15 * 60_000, "1h": 3_600_000, "1d": 86_400_000}


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    groups = dashboard_groups(
        lagging_only=request.GET.get("lagging") == "1",
        service=request.GET.get("service", ""),
        status=request.GET.get("status", ""),
        q=request.GET.get("q", ""),
    )
    rows = []
    for group in groups:
        state = getattr(group, "lag_state", None) if hasattr(group, "lag_state") else None
        rows.append(
            {
                "group": group,
                "state": state,
                "spark": sparkline_points(state.recent) if state else "",
                "trend": lag_trend(state.recent) if state else "flat",
            }
        )
    context = {
        "rows": rows,
        "statuses": STATUSES,
        "services": Service.objects.order_by("name").values_list("name", flat=True),
        "rollups": [] if request.headers.get("HX-Request") else service_rollups(),
    }
    template = "htmx/lag_rows.html" if request.headers.get("HX-Request") else "monitoring/dashboard.html"
    return render(request, template, context)


@login_required
def group_detail(request: HttpRequest, name: str) -> HttpResponse:
    group = group_get(name=name)
    report = group_report(group, now_ms=now_ms())
    topics: dict[str, dict[str, Any]] = {}
    for partition in report.partitions:
        roll = topics.setdefault(
            partition.topic, {"topic": partition.topic, "lag": 0, "time_lag_ms": None, "partitions": 0}
        )
        roll["lag"] += partition.lag or 0
        roll["partitions"] += 1
        if partition.time_lag_ms is not None:
            roll["time_lag_ms"] = max(roll["time_lag_ms"] or 0, partition.time_lag_ms)
    window = request.GET.get("latency", "1h")
    latency = group_latencies(
        group_id=group.id, group_name=group.name, since_ms=now_ms() - LATENCY_WINDOWS.get(window, 3_600_000)
    )
    context = {
        "group": group,
        "described": group_describe(name=name),
        "report": report,
        "summary": lag_summary(report),
        "topics": sorted(topics.values(), key=lambda t: t["topic"]),
        "latency": latency,
        "latency_window": window,
        "latency_windows": list(LATENCY_WINDOWS),
        "can_reset": has_role(request, "editor"),
    }
    template = "htmx/group_live.html" if request.headers.get("HX-Request") else "monitoring/group_detail.html"
    return render(request, template, context)


@role_required("editor")
def group_reset(request: HttpRequest, name: str) -> HttpResponse:
    """The offset reset wizard: a before/after preview, then apply (refused while members are active)."""
    group = group_get(name=name)
    preview = None
    error = None
    to_kind = request.POST.get("to", "earliest")
    value = request.POST.get("value", "").strip()
    topic = request.POST.get("topic", "")
    if request.method == "POST":
        to: Any = to_kind
        if to_kind in ("offset", "timestamp", "shift_by"):
            try:
                to = {to_kind: int(value)}
            except ValueError:
                error = f"{to_kind.replace('_', ' ')} needs a whole number"
        if error is None:
            try:
                preview = group_offsets_reset(
                    group_name=group.name,
                    principal=principal_for_user(request.user),
                    topic=topic,
                    to=to,
                    dry_run=request.POST.get("apply") != "1",
                )
                if not preview["dry_run"]:
                    messages.success(request, f"Offsets of {group.name} on {topic} reset.")
            except EventlineError as exc:
                error = exc.message
    topics = sorted(
        {
            p.topic.name
            for p in Partition.objects.filter(topic__in=group.partitions.values("topic")).select_related("topic")
        }
    )
    context = {
        "group": group,
        "topics": topics,
        "preview": preview,
        "error": error,
        "to": to_kind,
        "value": value,
        "topic": topic,
    }
    return render(request, "htmx/reset_wizard.html", context)


@login_required
def event_type_latency(request: HttpRequest, name: str) -> HttpResponse:
    """Latency percentiles of one event type, per consuming group (a partial the catalog's event
    type page loads; monitoring reads the catalog, never the other way round)."""
    from broker.models import ConsumerGroup, GroupPartition
    from catalog.selectors import event_type_get

    event_type = event_type_get(name=name)
    topic_ids = [topic.id for topic in event_type.topics.all()]
    window = request.GET.get("window", "1h")
    since = now_ms() - LATENCY_WINDOWS.get(window, 3_600_000)
    group_ids = set(GroupPartition.objects.filter(topic_id__in=topic_ids).values_list("group_id", flat=True))
    rows = []
    for group in ConsumerGroup.objects.filter(id__in=group_ids).order_by("name"):
        for figures in group_latencies(group_id=group.id, group_name=group.name, since_ms=since, topic_ids=topic_ids):
            if figures.event_type == event_type.name:
                rows.append(figures)
    context = {"rows": rows, "event_type": event_type, "window": window, "windows": list(LATENCY_WINDOWS)}
    return render(request, "htmx/event_type_latency.html", context)
