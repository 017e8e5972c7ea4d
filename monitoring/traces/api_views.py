"""Trace API: one transaction's facts by correlation id (or event id, trace id, position), the
same as OTLP/JSON for Jaeger, and the recent and slowest traces."""

from __future__ import annotations

import re

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import principal_of
from core.errors import field_error
from core.jsonutil import dumps
from monitoring.evaluation import Outcome
from monitoring.traces import constants as c
from monitoring.traces.documents import summary_document, trace_document
from monitoring.traces.selectors import trace_get, trace_list, trace_otlp

_KEY = OpenApiParameter(
    "key",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description=(
        "A correlation id, an event id, a W3C trace id (or traceparent), topic/partition/offset, or a business key "
        "(order_id=42, or 42 when only one key has that value)."
    ),
)


class TraceListView(APIView):
    @extend_schema(
        # Both trace views are GETs under /traces; spectacular would name both v1_traces_retrieve.
        operation_id="v1_traces_list",
        parameters=[
            OpenApiParameter("limit", OpenApiTypes.INT, description="How many recent traces (1-100)."),
            OpenApiParameter(
                "outcome",
                OpenApiTypes.STR,
                enum=[outcome.value for outcome in Outcome],
                description="Only traces with this business outcome.",
            ),
        ],
        responses=OpenApiTypes.OBJECT,
        summary="Recent traces and, among them, the slowest",
    )
    def get(self, request: Request) -> Response:
        principal = principal_of(request)
        raw = request.query_params.get("limit", "")
        limit = c.RECENT_TRACES
        if raw:
            if not raw.isdigit() or not 1 <= int(raw) <= 100:
                raise field_error("limit", "must be an integer from 1 to 100")
            limit = int(raw)
        raw_outcome = request.query_params.get("outcome", "")
        if raw_outcome and raw_outcome not in Outcome._value2member_map_:
            raise field_error("outcome", f"must be one of: {', '.join(outcome.value for outcome in Outcome)}")
        outcome = Outcome(raw_outcome) if raw_outcome else None
        recent, slowest = trace_list(principal=principal, limit=limit, outcome=outcome)
        return Response(
            {"recent": [summary_document(s) for s in recent], "slowest": [summary_document(s) for s in slowest]}
        )


class TraceDetailView(APIView):
    @extend_schema(parameters=[_KEY], responses=OpenApiTypes.OBJECT, summary="One transaction's trace")
    def get(self, request: Request, key: str) -> Response:
        return Response(trace_document(trace_get(query=key, principal=principal_of(request))))


class TraceOtlpView(APIView):
    @extend_schema(
        parameters=[_KEY],
        responses=OpenApiTypes.OBJECT,
        summary="The trace as OTLP/JSON spans (OpenTelemetry messaging conventions), for Jaeger or Tempo",
    )
    def get(self, request: Request, key: str) -> HttpResponse:
        trace = trace_get(query=key, principal=principal_of(request), details=False)
        response = HttpResponse(dumps(trace_otlp(trace), indent=True), content_type="application/json")
        if request.query_params.get("download"):
            name = re.sub(r"[^A-Za-z0-9._-]", "_", trace.otel_trace_id)[:64]
            response["Content-Disposition"] = f'attachment; filename="trace-{name}.otlp.json"'
        return response
