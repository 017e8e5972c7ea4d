"""Reads for the lag dashboard: every group with its sampled lag state in one query."""

from __future__ import annotations

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


def sparkline_points(recent: list[list[Any]], width: int = 30) -> str:
    """SVG polyline points (0-100 wide, 0-24 high) for a group's recent total lag."""
    series = [(int(at), float(lag)) for at, lag, _ in recent]
    values = sparkline(series, width=width) if series else []
    if not values:
        return ""
    top = max(values) or 1.0
    step = 100 / max(1, len(values) - 1)
    return " ".join(f"{i * step:.1f},{24 - 22 * v / top:.1f}" for i, v in enumerate(values))


def lag_trend(recent: list[list[Any]]) -> str:
    series = [(int(at), float(lag)) for at, lag, _ in recent]
    return str(trend(series)) if len(series) >= 2 else "flat"
