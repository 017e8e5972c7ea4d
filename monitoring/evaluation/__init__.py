"""Lag evaluation and tracing for Eventline's monitoring pages: a pure package (no Django, no I/O,
no clock reads: every "now" is an argument).

* ``burrow``: Burrow's commit window and consumer status rules (OK/WARN/STOP/STALL/REWIND), exactly;
* ``lag``: offset lag, exact time lag, rates, time to drain, kafka-lag-exporter's lookup table;
* ``latency``: per-event time in broker and processing time from the fetch and commit logs;
* ``history``: downsampling, retention, sparklines and trend of a lag series;
* ``traces``: a correlation id's events as a causal graph, hop states and delivery, the business
  outcome by a flow definition, Jaeger's critical path and OpenTelemetry spans.
"""

from .burrow import (
    CommitSample,
    CommitWindow,
    GroupEvaluation,
    PartitionEvaluation,
    PartitionStatus,
    WindowConfig,
    evaluate_group,
    evaluate_partition,
)
from .history import RetentionPlan, Trend, downsample, retention_plan, sparkline, trend
from .lag import (
    AddPointResult,
    LookupPoint,
    LookupTable,
    consume_rate,
    eta_seconds,
    offset_lag,
    produce_rate,
    time_lag_ms,
)
from .latency import (
    CommitRecord,
    EventLatency,
    FetchRecord,
    commit_only_latencies,
    estimated_fetch_ms,
    event_latencies,
    percentiles,
)
from .traces import (
    CausalEdge,
    CriticalSegment,
    Delivery,
    Ending,
    FlowDefinition,
    HopStatus,
    Outcome,
    Span,
    TraceEvent,
    TraceOutcome,
    causal_order,
    critical_path,
    end_to_end_ms,
    hop_status,
    otel_spans,
    otlp_export,
    trace_delivery,
    trace_outcome,
)

__all__ = [
    "AddPointResult",
    "CausalEdge",
    "CommitRecord",
    "CommitSample",
    "CommitWindow",
    "CriticalSegment",
    "Delivery",
    "Ending",
    "EventLatency",
    "FetchRecord",
    "FlowDefinition",
    "GroupEvaluation",
    "HopStatus",
    "LookupPoint",
    "LookupTable",
    "Outcome",
    "PartitionEvaluation",
    "PartitionStatus",
    "RetentionPlan",
    "Span",
    "TraceEvent",
    "TraceOutcome",
    "Trend",
    "WindowConfig",
    "causal_order",
    "commit_only_latencies",
    "consume_rate",
    "critical_path",
    "downsample",
    "end_to_end_ms",
    "estimated_fetch_ms",
    "eta_seconds",
    "evaluate_group",
    "evaluate_partition",
    "event_latencies",
    "hop_status",
    "offset_lag",
    "otel_spans",
    "otlp_export",
    "percentiles",
    "produce_rate",
    "retention_plan",
    "sparkline",
    "time_lag_ms",
    "trace_delivery",
    "trace_outcome",
    "trend",
]
