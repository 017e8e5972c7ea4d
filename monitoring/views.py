"""Lag dashboard and group pages. They refresh themselves with htmx (no full reload)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from broker.models import Topic
from broker.selectors import group_describe, group_get, indexer_summary
from broker.services.groups import group_offsets_reset
from broker.services.retries import dead_letters_count
from core.auth import principal_for_user
from core.errors import EventlineError
from core.models import Service
from core.timeutil import now_ms
from core.ui import has_role, paginate, role_required
from monitoring.lag import group_report, lag_summary, status_lines
from monitoring.latency import group_latencies
from monitoring.selectors import STATUSES, dashboard_groups, lag_trend, service_rollups, sparklines

LATENCY_WINDOWS = {"15m": 15 * 60_000, "1h": 3_600_000, "1d": 86_400_000}


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    groups = dashboard_groups(
        lagging_only=request.GET.get("lagging") == "1",
        service=request.GET.get("service", ""),
        status=request.GET.get("status", ""),
        q=request.GET.get("q", ""),
    )
    groups = list(groups)
    states = [getattr(group, "lag_state", None) if hasattr(group, "lag_state") else None for group in groups]
    lines = sparklines([state.recent if state else [] for state in states])
    # One query for every group on the page, not one per row.
    open_dead_letters = dead_letters_count(group_names=[group.name for group in groups])
    rows = [
        {
            "group": group,
            "state": state,
            "spark": spark,
            "trend": lag_trend(state.recent) if state else "flat",
            "dead_letters": open_dead_letters[group.name],
        }
        for group, state, spark in zip(groups, states, lines, strict=True)
    ]
    context = {
        "rows": rows,
        "statuses": STATUSES,
        "services": Service.objects.order_by("name").values_list("name", flat=True),
        "rollups": [] if request.headers.get("HX-Request") else service_rollups(),
        # On Kafka, the indexer's own progress (broker.indexer), shown above the table: not on
        # the 5 s refreshes of the rows.
        "indexer": None if request.headers.get("HX-Request") else indexer_summary(),
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
        "status_lines": status_lines(report.partitions),
        "topics": sorted(topics.values(), key=lambda t: t["topic"]),
        "latency": latency,
        "latency_window": window,
        "latency_windows": list(LATENCY_WINDOWS),
        "can_reset": has_role(request, "editor"),
        "dead_letters": dead_letters_count(group_names=[group.name])[group.name],
    }
    template = "htmx/group_live.html" if request.headers.get("HX-Request") else "monitoring/group_detail.html"
    return render(request, template, context)


@role_required("editor")
def group_reset(request: HttpRequest, name: str) -> HttpResponse:
    """The offset reset wizard: a topic, the partitions to move (all by default), a before/after
    preview, then apply (refused while members are active). Changing the topic (refresh=1) only
    shows its partitions."""
    group = group_get(name=name)
    topics = dict(
        Topic.objects.filter(id__in=group.partitions.values("topic"))
        .order_by("name")
        .values_list("name", "partition_count")
    )
    preview = None
    error = None
    error_code = ""
    to_kind = request.POST.get("to", "earliest")
    value = request.POST.get("value", "").strip()
    topic = request.POST.get("topic", "") or next(iter(topics), "")
    numbers = list(range(topics.get(topic, 0)))
    posted = {int(p) for p in request.POST.getlist("partitions") if p.isdigit()}
    refresh = request.POST.get("refresh") == "1"
    # The wizard's form says it lists partitions (picked=1), so none ticked is a mistake, not "all".
    picking = request.method == "POST" and not refresh and request.POST.get("picked") == "1"
    chosen = [p for p in numbers if p in posted] if picking else numbers
    if request.method == "POST" and not refresh:
        to: Any = to_kind
        if not chosen:
            error = "pick at least one partition"
        elif to_kind in ("offset", "timestamp", "shift_by"):
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
                    partitions=chosen,
                    dry_run=request.POST.get("apply") != "1",
                )
                if not preview["dry_run"]:
                    messages.success(request, f"Offsets of {group.name} on {topic} reset.")
            except EventlineError as exc:
                error, error_code = exc.message, exc.code
    context = {
        "group": group,
        "topics": list(topics),
        "partition_numbers": numbers,
        "chosen": chosen,
        "preview": preview,
        "error": error,
        "error_code": error_code,
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


@login_required
def dead_letters(request: HttpRequest) -> HttpResponse:
    """Dead letters grouped by (group, error class), and the rows with redrive/resolve forms."""
    from broker.selectors import dead_letter_error_groups, dead_letter_list

    state = request.GET.get("state", "open")
    rows = dead_letter_list(
        visible_to=principal_for_user(request.user),
        group=request.GET.get("group", ""),
        topic=request.GET.get("topic", ""),
        resolved={"open": False, "resolved": True}.get(state),
    )
    context = {
        "error_groups": dead_letter_error_groups(rows=rows),
        "page": paginate(request, rows, per_page=50),
        "state": state,
        "group": request.GET.get("group", ""),
        "can_act": has_role(request, "editor"),
    }
    return render(request, "monitoring/dead_letters.html", context)


@role_required("editor")
@require_POST
def dead_letters_action(request: HttpRequest) -> HttpResponse:
    """Redrive selected / redrive all of a group / mark selected resolved, then back to the list."""
    from broker.services.dead_letters import dead_letter_redrive, dead_letter_resolve

    actor = principal_for_user(request.user)
    action = request.POST.get("action", "")
    try:
        ids = [int(value) for value in request.POST.getlist("ids")]
    except ValueError:
        ids = []
    try:
        if action == "redrive-all":
            result = dead_letter_redrive(group=request.POST.get("group", ""), actor=actor).as_dict()
        elif action == "redrive" and ids:
            result = dead_letter_redrive(ids=ids, actor=actor).as_dict()
        elif action == "resolve" and ids:
            result = {"resolved": len(dead_letter_resolve(ids=ids, actor=actor))}
        else:
            messages.error(request, "Select dead letters first.")
            return redirect(_back(request))
    except EventlineError as exc:
        messages.error(request, exc.message)
        return redirect(_back(request))
    if "resolved" in result:
        messages.success(request, f"{result['resolved']} dead letter(s) marked resolved.")
    else:
        text = f"Redriven {result['done']} of {result['total']}"
        if result["remaining"]:
            text += f"; {result['remaining']} left: redrive all again to continue"
        if result["skipped"]:
            text += f"; {len(result['skipped'])} already resolved"
        if result["failed"]:
            text += f"; {len(result['failed'])} failed ({result['failed'][0]['error']})"
        (messages.warning if result["failed"] else messages.success)(request, text + ".")
    return redirect(_back(request))


@login_required
def dead_letter_detail(request: HttpRequest, id: int) -> HttpResponse:
    """One dead letter: where it came from, its error and stack, the event as dead-lettered, and
    (editors) an edit-and-redrive form."""
    from broker.masking import hidden_fields, mask_document
    from broker.selectors import dead_letter_get
    from broker.services.dead_letters import dead_letter_edit_and_redrive, dead_letter_event

    principal = principal_for_user(request.user)
    row = dead_letter_get(id=id, visible_to=principal)
    can_act = has_role(request, "editor")
    error = None
    edited = request.POST.get("data", "")
    if request.method == "POST":
        if not can_act:
            raise PermissionDenied("This needs the editor role.")
        if hidden_fields(principal, row.event_type):
            raise PermissionDenied("This event holds personal data: redriving it edited needs the right to see it.")
        try:
            data = json.loads(edited)
        except ValueError as exc:
            error = f"The data is not JSON: {exc}"
        else:
            try:
                sent = dead_letter_edit_and_redrive(id=row.id, data=data, actor=principal)
            except EventlineError as exc:
                error = exc.message
            else:
                messages.success(
                    request, f"Sent as {sent['event_id']} to {row.topic}/{sent['partition']}@{sent['offset']}."
                )
                return redirect("monitoring:dead-letter-detail", id=row.id)
    try:
        event, missing = dead_letter_event(row=row), None
    except EventlineError as exc:
        event, missing = None, exc.message
    # Masked data must not be edited and sent back as the event: a person who cannot see it cannot redrive it.
    pointers = hidden_fields(principal, event.get("type") or "") if event else ()
    if event and pointers:
        mask_document(event, pointers)
    masked = bool(pointers)
    context = {
        "row": row,
        "event": event,
        "missing": missing,
        "masked": masked,
        "can_act": can_act and not masked,
        "error": error,
        "edited": edited or (json.dumps(event.get("data"), indent=2) if event else ""),
    }
    return render(request, "monitoring/dead_letter_detail.html", context)


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    return target if target.startswith("/monitoring/dead-letters/") else reverse("monitoring:dead-letters")
