"""Prometheus instruments the request paths update. They live in core so the broker can record
without importing monitoring; /metrics (monitoring) exposes them with the figures read from the
database. Web workers are separate processes, so prometheus_client runs in multiprocess mode
(PROMETHEUS_MULTIPROC_DIR, set in settings)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

PRODUCE_SECONDS = Histogram(
    "eventline_produce_duration_seconds", "Time to handle a produce request.", ["topic"], buckets=LATENCY_BUCKETS
)
FETCH_SECONDS = Histogram(
    "eventline_fetch_duration_seconds",
    "Time to answer a group fetch (long poll included).",
    ["group"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_IN = Counter("eventline_events_in_total", "Events appended (duplicates not counted).", ["topic"])
EVENTS_OUT = Counter("eventline_events_out_total", "Events handed to consumer groups by fetches.", ["topic"])
EVENTS_REFUSED = Counter("eventline_events_refused_total", "Events refused by produce, by reason.", ["topic", "reason"])
