"""Lag API: per partition (Confluent REST v3's `lags`), the group summary (its `lag-summary`),
Burrow-style status, and the lag history. A group's lag is for the keys that may use the group
(core.scopes), checked before the group is looked up."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from broker.selectors import group_get
from core.auth import principal_of
from core.errors import field_error
from core.timeutil import now_ms
from monitoring.lag import group_report, lag_history, lag_summary

WINDOWS_MS = {"15m": 15 * 60_000, "1h": 3_600_000, "6h": 6 * 3_600_000, "1d": 86_400_000, "7d": 7 * 86_400_000}


class LagSerializer(serializers.Serializer):
    """One partition's lag (the fields of Confluent REST v3's `lags`, plus time lag)."""

    topic = serializers.CharField()
    partition = serializers.IntegerField()
    current_offset = serializers.IntegerField(allow_null=True, help_text="committed offset (next to read)")
    log_end_offset = serializers.IntegerField()
    lag = serializers.IntegerField(allow_null=True, help_text="null when the group never committed")
    time_lag_ms = serializers.IntegerField(allow_null=True, help_text="age of the oldest unconsumed event")
    consumer_id = serializers.CharField()
    client_id = serializers.CharField()


class GroupLagsView(APIView):
    @extend_schema(
        responses=inline_serializer("Lags", {"group": serializers.CharField(), "lags": LagSerializer(many=True)}),
        summary="Lag per partition",
    )
    def get(self, request: Request, group: str) -> Response:
        principal_of(request).require_group(group)
        report = group_report(group_get(name=group), now_ms=now_ms())
        return Response({"group": group, "lags": [p.as_dict() for p in report.partitions]})


class GroupLagSummaryView(APIView):
    @extend_schema(
        responses=OpenApiTypes.OBJECT, summary="Lag summary: max_lag, total_lag, max_time_lag_ms, eta_seconds"
    )
    def get(self, request: Request, group: str) -> Response:
        principal_of(request).require_group(group)
        report = group_report(group_get(name=group), now_ms=now_ms())
        return Response({"group": group, **lag_summary(report)})


class GroupStatusView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Burrow-style status of the group and its partitions")
    def get(self, request: Request, group: str) -> Response:
        principal_of(request).require_group(group)
        report = group_report(group_get(name=group), now_ms=now_ms())
        evaluation = report.evaluation
        maxlag = max(report.partitions, key=lambda p: p.lag or 0, default=None)
        return Response(
            {
                "group": group,
                "status": evaluation.status.label,
                "complete": evaluation.complete,
                "partition_count": evaluation.partition_count,
                "totallag": report.total_lag,
                "maxlag": {"topic": maxlag.topic, "partition": maxlag.partition, "current_lag": maxlag.lag}
                if maxlag
                else None,
                "partitions": [
                    {
                        "topic": p.topic,
                        "partition": p.partition,
                        "owner": p.consumer_id,
                        "client_id": p.client_id,
                        "status": p.status or "OK",
                        "current_lag": p.lag,
                        "summary": p.status_summary,
                        "reason": p.status_reason,
                    }
                    for p in report.partitions
                ],
            }
        )


class GroupLagHistoryView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("window", str, description=f"one of {', '.join(WINDOWS_MS)} (default 1h)")],
        responses=OpenApiTypes.OBJECT,
        summary="Lag and time lag over a window",
    )
    def get(self, request: Request, group: str) -> Response:
        principal_of(request).require_group(group)
        window = request.query_params.get("window", "1h")
        if window not in WINDOWS_MS:
            raise field_error("window", f"must be one of {', '.join(WINDOWS_MS)}")
        row = group_get(name=group)
        points = lag_history(row.id, since_ms=now_ms() - WINDOWS_MS[window])
        return Response(
            {
                "group": group,
                "window": window,
                "points": [
                    {"at_ms": at, "total_lag": lag, "max_time_lag_ms": time_lag} for at, lag, time_lag in points
                ],
            }
        )
