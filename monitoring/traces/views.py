"""Trace pages: one search box with the recent and slowest traces, and the trace of one
transaction (summary, flow graph, waterfall with the critical path, hop status, inspector)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from core.auth import principal_for_user
from core.errors import NotFound
from monitoring.evaluation import Outcome
from monitoring.traces import constants as c
from monitoring.traces.documents import trace_document
from monitoring.traces.layout import delivery_label, duration, flow_graph, outcome_badge, waterfall
from monitoring.traces.selectors import TraceSummary, trace_get, trace_list, trace_resolve

# Shown in their own rows of the inspector; the other stored attributes are listed after them.
_SHOWN_ATTRIBUTES = {
    "id",
    "source",
    "type",
    "key",
    "topic",
    "partition",
    "offset",
    "correlationid",
    "causationid",
    "traceparent",
    "timestamp",
    "append_time",
}
MATCHED_BY_LABELS = {
    c.MATCHED_BY_CORRELATION: "correlation id",
    c.MATCHED_BY_EVENT: "event id",
    c.MATCHED_BY_TRACE: "W3C trace id",
    c.MATCHED_BY_POSITION: "position",
    c.MATCHED_BY_BUSINESS_KEY: "business key",
}


def _summary_rows(summaries: list[TraceSummary]) -> list[dict[str, Any]]:
    return [
        {
            "summary": summary,
            "badge": outcome_badge(summary.outcome.outcome),
            "delivery": delivery_label(summary.delivery),
            "duration": duration(summary.end_to_end_ms),
        }
        for summary in summaries
    ]


def _outcome_filter(request: HttpRequest) -> Outcome | None:
    """``?outcome=`` as the list understands it; anything else shows every outcome."""
    raw = request.GET.get("outcome", "")
    return Outcome(raw) if raw in Outcome._value2member_map_ else None


def _search_page(
    request: HttpRequest,
    *,
    query: str = "",
    error: str = "",
    status: int = 200,
    business_key_traces: list[str] | None = None,
) -> HttpResponse:
    outcome = _outcome_filter(request)
    recent, slowest = trace_list(principal=principal_for_user(request.user), outcome=outcome)
    context = {
        "query": query,
        "error": error,
        "business_key_traces": business_key_traces or [],
        "outcome": outcome.value if outcome else "",
        "outcomes": [(choice.value, choice.value.capitalize()) for choice in Outcome],
        "recent": _summary_rows(recent),
        "slowest": _summary_rows(slowest),
    }
    template = "traces/_lists.html" if request.headers.get("HX-Request") else "traces/search.html"
    return render(request, template, context, status=status)


@login_required
def trace_search(request: HttpRequest) -> HttpResponse:
    """The search box: a hit goes to the trace page; a miss says so beside the recent traces."""
    query = request.GET.get("q", "").strip()
    if query and not request.headers.get("HX-Request"):
        try:
            matched_by, rows = trace_resolve(query)
        except NotFound as error:
            return _search_page(request, query=query, error=error.message, status=404)
        if matched_by == c.MATCHED_BY_BUSINESS_KEY:
            # A business key opens its transaction by correlation id; several are listed.
            correlations = list(dict.fromkeys(row["correlation_id"] for row in rows if row["correlation_id"]))
            if len(correlations) > 1:
                return _search_page(request, query=query, business_key_traces=correlations)
            if correlations:
                return redirect("traces:detail", key=correlations[0])
        return redirect("traces:detail", key=query)
    return _search_page(request, query=query)


@login_required
def trace_detail(request: HttpRequest, key: str) -> HttpResponse:
    try:
        trace = trace_get(query=key, principal=principal_for_user(request.user))
    except NotFound as error:
        return _search_page(request, query=key, error=error.message, status=404)
    document = trace_document(trace)
    for event in document["events"]:
        attributes = event.get("attributes", {})
        event["extra_attributes"] = [
            (name, value) for name, value in attributes.items() if name not in _SHOWN_ATTRIBUTES
        ]
    consumed = trace.hop_count - trace.pending_hops
    context = {
        "trace": trace,
        "key": key,
        "document": document,
        "events": document["events"],
        "badge": outcome_badge(trace.outcome.outcome),
        "delivery": delivery_label(trace.delivery),
        "matched_by": MATCHED_BY_LABELS[trace.matched_by],
        "end_to_end": duration(trace.end_to_end_ms),
        "critical_total": duration(sum(s.end_ms - s.start_ms for s in trace.critical_path)),
        "consumed_hops": consumed,
        "waterfall": waterfall(trace),
        "graph": flow_graph(trace),
    }
    return render(request, "traces/detail.html", context)
