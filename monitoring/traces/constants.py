"""Bounds and names for correlation-ID traces."""

import re

# Expansion along causation links stops here; the trace then says it is incomplete.
MAX_TRACE_EVENTS = 2_000
MAX_EXPANSION_ROUNDS = 10

# Event types drawn as failures in the waterfall and flow graph (globs). The outcome does not use
# them: it comes from the catalog's business flow definitions.
FAILURE_TYPES = ("*Failed", "*Failure")

# Dead-letter topics as Spring Kafka, Kafka Connect setups and most teams name them.
DEAD_LETTER_TOPIC = re.compile(r"(?:[-.](?:dlt|dlq|DLT|DLQ)|[-.]dead-letter)$")

# An event is appended before anyone can fetch it; this much clock skew between the clocks of the
# appending and fetching processes is tolerated when searching the fetch log from the append time.
CLOCK_SKEW_MS = 1_000

# Recent traces: how many newest events to walk at most to find distinct correlation ids.
RECENT_SCAN_EVENTS = 5_000
RECENT_TRACES = 25
SLOWEST_TRACES = 10
# Filtering the recent traces by outcome assembles this many times the limit as candidates.
FILTERED_CANDIDATES_FACTOR = 4
MAX_FILTERED_CANDIDATES = 200

# One box, five kinds of key (the fifth, a business key such as order_id=42, is the catalog's).
POSITION = re.compile(r"^(?P<topic>[A-Za-z0-9._-]+)/(?P<partition>\d{1,9})[/@](?P<offset>\d{1,18})$")
W3C_TRACE_ID = re.compile(r"^[0-9a-fA-F]{32}$")

MATCHED_BY_CORRELATION = "correlation_id"
MATCHED_BY_EVENT = "event_id"
MATCHED_BY_TRACE = "trace_id"
MATCHED_BY_POSITION = "position"
MATCHED_BY_BUSINESS_KEY = "business_key"
