"""Reads for the lag dashboard: every group with its sampled lag state in one query."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from broker.models import ConsumerGroup, GroupMember
from monitoring.evaluation import sparkline, trend

STATUSES = ("OK", "WARN", "ERR")


def dashboard_groups(
    *, lagging_only: bool = False, service: str = "", status: str = "", q: str = ""
) -> QuerySet[ConsumerGroup]:
    """Groups with members counted and their latest lag state joined (no per-row query)."""
    # The dashboard shows figures and the sparkline ring; the Burrow windows and per-partition
    # details are large JSON it does not need.
    groups = (
        ConsumerGroup.objects.select_related("lag_state")
        .defer("lag_state__windows", "lag_state__partitions")
        .annotate(member_count=Count("members", distinct=True))
    )
    if lagging_only:
        groups = groups.filter(lag_state__total_lag__gt=0)
    if status:
        groups = groups.filter(lag_state__status=status)
    if service:
        groups = groups.filter(Exists(GroupMember.objects.filter(group=OuterRef("pk"), service__name=service)))
    if q:
        groups = groups.filter(Q(name__icontains=q))
    return groups.order_by("name")


@dataclass(frozen=True)
class Sparkline:
    """A group's recent total lag drawn for the dashboard: SVG polyline points (0-100 wide, 0-24
    high), the highest lag it shows and the lag at its top edge, shared by every row drawn together."""

    points: str
    peak: float
    scale_top: float


def sparklines(recents: Sequence[list[list[Any]]], width: int = 30) -> list[Sparkline | None]:
    """One sparkline per group (None without samples), on one logarithmic scale whose top is the
    highest lag among them: a lag of 3 rising stays near the floor beside one of 2,600 rising,
    yet still shows its shape (a linear shared scale would flatten it to nothing)."""
    series = [
        sparkline([(int(at), float(lag)) for at, lag, _ in recent], width=width) if recent else [] for recent in recents
    ]
    top = max((max(values) for values in series if values), default=0.0)
    scale = math.log1p(top) or 1.0
    drawn: list[Sparkline | None] = []
    for values in series:
        if not values:
            drawn.append(None)
            continue
        step = 100 / max(1, len(values) - 1)
        points = " ".join(
            f"{i * step:.1f},{23 - 22 * math.log1p(max(0.0, v)) / scale:.1f}" for i, v in enumerate(values)
        )
        drawn.append(Sparkline(points=points, peak=max(values), scale_top=top))
    return drawn


def lag_trend(recent: list[list[Any]]) -> str:
    series = [(int(at), float(lag)) for at, lag, _ in recent]
    return str(trend(series)) if len(series) >= 2 else "flat"


def service_rollups() -> list[dict[str, Any]]:
    """Lag rolled up per owning service: the groups its members belong to, their total lag and the
    worst status among them (two queries, whatever the number of groups)."""
    from monitoring.models import GroupLagState

    pairs = set(GroupMember.objects.filter(service__isnull=False).values_list("service__name", "group_id"))
    states = {
        state.group_id: state
        for state in GroupLagState.objects.filter(group_id__in={g for _, g in pairs}).only(
            "group_id", "total_lag", "status"
        )
    }
    severity = {"OK": 0, "WARN": 1, "ERR": 2}
    rollups: dict[str, dict[str, Any]] = {}
    for service, group_id in pairs:
        row = rollups.setdefault(service, {"service": service, "groups": 0, "total_lag": 0, "status": "OK"})
        row["groups"] += 1
        state = states.get(group_id)
        if state is not None:
            row["total_lag"] += state.total_lag
            if severity.get(state.status, 0) > severity.get(row["status"], 0):
                row["status"] = state.status
    return sorted(rollups.values(), key=lambda row: (-row["total_lag"], row["service"]))
