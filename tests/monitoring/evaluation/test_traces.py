"""A business transaction as a causal graph, its delivery and business outcome, Jaeger's critical
path and OTel spans."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitoring.evaluation import (
    CriticalSegment,
    Ending,
    FlowDefinition,
    HopStatus,
    Outcome,
    Span,
    TraceEvent,
    causal_order,
    critical_path,
    end_to_end_ms,
    hop_status,
    otel_spans,
    otlp_export,
    trace_delivery,
    trace_outcome,
)

SECOND = 1_000
NOW = 1_700_000_000_000


def event(
    event_id: str,
    *,
    at: int,
    topic: str = "orders",
    offset: int = 0,
    type: str = "Event",
    causation_id: str | None = None,
    producer: str | None = "orders-service",
) -> TraceEvent:
    """An event of correlation ``order-42`` appended ``at`` seconds after NOW - 10 min."""
    append_ms = NOW - 600 * SECOND + at * SECOND
    return TraceEvent(
        event_id=event_id,
        topic=topic,
        partition=0,
        offset=offset,
        type=type,
        producer=producer,
        correlation_id="order-42",
        causation_id=causation_id,
        event_time_ms=append_ms - 5,
        append_ms=append_ms,
    )


PLACED = event("e1", at=0, topic="orders", offset=10, type="OrderPlaced", producer="shop")
PAID = event("e2", at=2, topic="payments", offset=20, type="PaymentTaken", causation_id="e1", producer="payments")
SHIPPED = event("e3", at=4, topic="shipping", offset=30, type="OrderShipped", causation_id="e2", producer="shipping")


def parents(events: list[TraceEvent]) -> list[tuple[str, str | None, bool]]:
    return [
        (edge.event.event_id, None if edge.parent is None else edge.parent.event_id, edge.inferred)
        for edge in causal_order(events)
    ]


def consumed(group: str, *, fetched_at: int, committed_at: int, committed_offset: int = 1_000) -> HopStatus:
    return HopStatus(group, True, committed_offset, None, fetched_at, committed_at)


# --- causal graph -----------------------------------------------------------------------------


def test_linear_saga_follows_causation_ids() -> None:
    assert parents([SHIPPED, PLACED, PAID]) == [("e1", None, False), ("e2", "e1", False), ("e3", "e2", False)]


def test_causal_edges_unpack_as_event_and_parent_pairs() -> None:
    (first, no_parent), (second, parent) = causal_order([PLACED, PAID])
    assert (first, no_parent, second, parent) == (PLACED, None, PAID, PLACED)


def test_one_event_causing_two_branches_in_time_order() -> None:
    reserved = event("e4", at=3, topic="stock", type="StockReserved", causation_id="e1")
    assert parents([reserved, PAID, PLACED]) == [("e1", None, False), ("e2", "e1", False), ("e4", "e1", False)]


def test_missing_causation_ids_fall_back_to_the_latest_earlier_event_and_are_marked_inferred() -> None:
    first = event("a", at=0)
    second = event("b", at=1)
    third = event("c", at=5)
    assert parents([third, first, second]) == [("a", None, False), ("b", "a", True), ("c", "b", True)]


def test_a_cause_outside_the_trace_is_replaced_by_an_inferred_parent() -> None:
    orphan = event("b", at=1, causation_id="not-in-this-trace")
    assert parents([PLACED, orphan]) == [("e1", None, False), ("b", "e1", True)]


def test_parents_come_before_children_even_when_appended_later() -> None:
    # A producer with a skewed view: the effect was appended before its declared cause.
    cause = event("cause", at=9)
    effect = event("effect", at=1, causation_id="cause")
    assert parents([effect, cause]) == [("cause", None, False), ("effect", "cause", False)]


def test_cyclic_causation_ids_do_not_loop() -> None:
    first = event("a", at=0, causation_id="b")
    second = event("b", at=1, causation_id="a")
    edges = parents([first, second])
    assert [event_id for event_id, _parent, _inferred in edges] == ["a", "b"]
    assert sum(1 for _event_id, parent, _inferred in edges if parent is None) == 1


@given(
    st.lists(
        st.tuples(st.integers(0, 100), st.none() | st.integers(0, 30)), min_size=1, max_size=30, unique_by=lambda x: x
    )
)
def test_every_event_appears_once_after_its_parent(rows: list[tuple[int, int | None]]) -> None:
    events = [
        event(f"e{index}", at=at, causation_id=None if cause is None else f"e{cause}")
        for index, (at, cause) in enumerate(rows)
    ]
    edges = causal_order(events)
    seen: set[str] = set()
    for edge in edges:
        assert edge.parent is None or edge.parent.event_id in seen
        seen.add(edge.event.event_id)
    assert seen == {item.event_id for item in events}
    assert sum(1 for edge in edges if edge.parent is None) == 1


# --- hops and state ---------------------------------------------------------------------------


def test_a_hop_is_consumed_once_the_committed_offset_is_past_the_event() -> None:
    assert hop_status(group="billing", event_offset=7, committed_offset=8).consumed is True
    assert hop_status(group="billing", event_offset=7, committed_offset=7).consumed is False


def test_a_pending_hop_counts_the_events_ahead_of_it() -> None:
    pending = hop_status(group="billing", event_offset=7, committed_offset=5, first_fetch_ms=None)
    assert pending == HopStatus("billing", False, 5, 2, None, None)


def test_a_group_that_never_committed_has_no_count_of_events_ahead() -> None:
    assert hop_status(group="billing", event_offset=7, committed_offset=None).events_ahead is None


ORDER_SAGA = FlowDefinition(
    name="Order saga",
    start_type="OrderPlaced",
    endings={"OrderShipped": Ending.COMPLETED, "OrderCancelled": Ending.COMPENSATED, "OrderRejected": Ending.FAILED},
    stuck_after_ms=60 * SECOND,
)
CANCELLED = event("e4", at=5, topic="orders", offset=11, type="OrderCancelled", causation_id="e1", producer="shop")
REJECTED = event("e6", at=5, topic="orders", offset=12, type="OrderRejected", causation_id="e1", producer="shop")


def test_a_shipped_order_is_completed_though_a_slow_group_has_not_read_the_last_event() -> None:
    result = trace_outcome([PLACED, PAID, SHIPPED], [ORDER_SAGA], now_ms=SHIPPED.append_ms + 600 * SECOND)
    assert (result.outcome, result.flow, result.ended_by) == (Outcome.COMPLETED, "Order saga", "e3")


def test_a_cancelled_order_is_compensated() -> None:
    assert trace_outcome([PLACED, CANCELLED], [ORDER_SAGA], now_ms=NOW).outcome is Outcome.COMPENSATED


def test_a_terminal_failure_event_fails_the_flow() -> None:
    assert trace_outcome([PLACED, REJECTED], [ORDER_SAGA], now_ms=NOW).outcome is Outcome.FAILED


def test_the_worst_terminal_event_wins() -> None:
    assert trace_outcome([PLACED, SHIPPED, CANCELLED], [ORDER_SAGA], now_ms=NOW).outcome is Outcome.COMPENSATED
    assert trace_outcome([PLACED, CANCELLED, REJECTED], [ORDER_SAGA], now_ms=NOW).outcome is Outcome.FAILED


def test_an_unfinished_flow_is_in_flight_then_stuck_after_the_flows_threshold() -> None:
    last = PAID.append_ms
    assert trace_outcome([PLACED, PAID], [ORDER_SAGA], now_ms=last + 30 * SECOND).outcome is Outcome.IN_FLIGHT
    stuck = trace_outcome([PLACED, PAID], [ORDER_SAGA], now_ms=last + 61 * SECOND)
    assert stuck.outcome is Outcome.STUCK and "61 s" in stuck.reason
    patient = FlowDefinition("Patient", "OrderPlaced", ORDER_SAGA.endings, stuck_after_ms=120 * SECOND)
    assert trace_outcome([PLACED, PAID], [patient], now_ms=last + 61 * SECOND).outcome is Outcome.IN_FLIGHT


def test_a_dead_lettered_event_fails_an_unfinished_flow_but_not_a_finished_one() -> None:
    assert trace_outcome([PLACED, PAID], [ORDER_SAGA], now_ms=NOW, dead_lettered=True).outcome is Outcome.FAILED
    finished = trace_outcome([PLACED, PAID, SHIPPED], [ORDER_SAGA], now_ms=NOW, dead_lettered=True)
    assert finished.outcome is Outcome.COMPLETED


def test_a_trace_no_flow_starts_has_no_outcome_defined() -> None:
    result = trace_outcome([PAID, SHIPPED], [ORDER_SAGA], now_ms=NOW)
    assert (result.outcome, result.flow) == (Outcome.UNDEFINED, None)
    assert "PaymentTaken" in result.reason
    assert trace_outcome([PLACED, SHIPPED], [], now_ms=NOW).outcome is Outcome.UNDEFINED


def test_the_flow_is_chosen_by_the_first_event_in_time_order_not_list_order() -> None:
    assert trace_outcome([SHIPPED, PAID, PLACED], [ORDER_SAGA], now_ms=NOW).outcome is Outcome.COMPLETED


def test_an_empty_trace_has_no_outcome() -> None:
    with pytest.raises(ValueError, match="at least one event"):
        trace_outcome([], [ORDER_SAGA], now_ms=NOW)


def test_delivery_counts_the_hops_still_to_be_read_apart_from_the_outcome() -> None:
    hops = {
        "e1": [consumed("payments", fetched_at=NOW - 500_000, committed_at=NOW - 499_000)],
        "e3": [
            consumed("notifications", fetched_at=NOW - 300_000, committed_at=NOW - 299_000),
            hop_status(group="analytics", event_offset=30, committed_offset=25),
        ],
    }
    delivery = trace_delivery(hops)
    assert (delivery.hops, delivery.pending, delivery.pending_groups, delivery.settled) == (3, 1, ("analytics",), False)
    assert trace_delivery({"e1": hops["e1"]}).settled


def test_a_nacked_hop_is_pending_while_retrying_and_failed_once_dead_lettered() -> None:
    retrying = hop_status(group="shipping", event_offset=20, committed_offset=21, failed_attempts=1, retrying=True)
    dead = hop_status(group="billing", event_offset=20, committed_offset=21, failed_attempts=3, dead_lettered=True)
    assert retrying.consumed and not retrying.delivered
    delivery = trace_delivery({"e2": [retrying, dead]})
    assert (delivery.pending, delivery.retrying, delivery.dead_lettered) == (1, 1, 1)
    assert delivery.pending_groups == ("shipping",)


def test_a_dead_lettered_hop_is_not_also_retrying() -> None:
    hop = hop_status(group="billing", event_offset=1, committed_offset=2, retrying=True, dead_lettered=True)
    assert (hop.retrying, hop.dead_lettered) == (False, True)


def test_end_to_end_runs_from_the_first_event_time_to_the_last_commit() -> None:
    last_commit = SHIPPED.append_ms + 700
    assert end_to_end_ms([SHIPPED, PLACED, PAID], last_commit) == last_commit - PLACED.event_time_ms
    assert end_to_end_ms([PLACED], None) is None
    assert end_to_end_ms([], NOW) is None


# --- critical path ----------------------------------------------------------------------------


def span(span_id: str, parent_id: str | None, start_ms: int, end_ms: int) -> Span:
    return Span(span_id, parent_id, start_ms, end_ms, label=span_id)


def segments(*rows: tuple[str, int, int]) -> list[CriticalSegment]:
    return [CriticalSegment(*row) for row in rows]


def test_critical_path_matches_jaegers_own_two_children_case() -> None:
    # jaeger-ui CriticalPath/testCases/test2.js: X [1, 101), A [10, 50), C [20, 60).
    spans = [span("X", None, 1, 101), span("A", "X", 10, 50), span("C", "X", 20, 60)]
    assert critical_path(spans) == segments(("X", 1, 20), ("C", 20, 60), ("X", 60, 101))


def test_critical_path_walks_back_through_sequential_children() -> None:
    spans = [span("A", None, 0, 100), span("B", "A", 10, 40), span("C", "A", 50, 90)]
    assert critical_path(spans) == segments(("A", 0, 10), ("B", 10, 40), ("A", 40, 50), ("C", 50, 90), ("A", 90, 100))


def test_critical_path_descends_into_grandchildren() -> None:
    spans = [span("A", None, 0, 100), span("B", "A", 10, 80), span("C", "B", 20, 70), span("D", "A", 85, 95)]
    assert critical_path(spans) == segments(
        ("A", 0, 10), ("B", 10, 20), ("C", 20, 70), ("B", 70, 80), ("A", 80, 85), ("D", 85, 95), ("A", 95, 100)
    )


def test_a_child_overflowing_its_parent_is_clipped_first() -> None:
    spans = [span("A", None, 0, 100), span("B", "A", 50, 130)]
    assert critical_path(spans) == segments(("A", 0, 50), ("B", 50, 100))


def test_a_child_starting_before_its_parent_is_clipped_to_the_parent_start() -> None:
    spans = [span("A", None, 10, 100), span("B", "A", 0, 60), span("C", "B", 0, 5)]
    assert critical_path(spans) == segments(("B", 10, 60), ("A", 60, 100))


def test_a_child_wholly_after_its_parent_is_dropped_with_its_subtree() -> None:
    # jaeger-ui CriticalPath/testCases/test3.js: only the parent is on the path.
    spans = [span("A", None, 100, 140), span("B", "A", 150, 200), span("C", "B", 160, 170)]
    assert critical_path(spans) == segments(("A", 100, 140))


def test_overlapping_children_leave_the_earlier_finisher_off_the_path() -> None:
    spans = [span("A", None, 0, 100), span("B", "A", 10, 90), span("C", "A", 20, 95)]
    assert critical_path(spans) == segments(("A", 0, 20), ("C", 20, 95), ("A", 95, 100))


def test_spans_whose_parent_is_missing_are_not_on_the_path() -> None:
    spans = [span("A", None, 0, 100), span("orphan", "gone", 10, 90)]
    assert critical_path(spans) == segments(("A", 0, 100))
    assert critical_path([]) == []


@st.composite
def span_trees(draw: st.DrawFn) -> list[Span]:
    count = draw(st.integers(1, 25))
    spans = []
    for index in range(count):
        start = draw(st.integers(0, 1_000))
        end = start + draw(st.integers(1, 1_000) if index == 0 else st.integers(-50, 1_000))
        parent = None if index == 0 else f"s{draw(st.integers(0, index - 1))}"
        spans.append(span(f"s{index}", parent, start, end))
    return spans


@given(span_trees())
def test_critical_path_tiles_the_root_span(spans: list[Span]) -> None:
    path = critical_path(spans)
    root = spans[0]
    assert path[0].start_ms == root.start_ms
    assert path[-1].end_ms == root.end_ms
    assert all(left.end_ms == right.start_ms for left, right in pairwise(path))
    assert all(segment.start_ms < segment.end_ms for segment in path)


# --- OpenTelemetry export ---------------------------------------------------------------------


def attributes(otel_span: dict[str, Any]) -> dict[str, Any]:
    return {item["key"]: next(iter(item["value"].values())) for item in otel_span["attributes"]}


FAN_OUT_HOPS = {
    "e1": [
        consumed("payments", fetched_at=PLACED.append_ms + 100, committed_at=PLACED.append_ms + 400),
        consumed("analytics", fetched_at=PLACED.append_ms + 200, committed_at=PLACED.append_ms + 900),
        hop_status(group="audit", event_offset=10, committed_offset=4),  # not fetched yet
    ],
}


def test_fan_out_gives_one_send_span_and_one_process_span_per_group_that_fetched() -> None:
    spans = otel_spans([PLACED], FAN_OUT_HOPS, trace_id="order-42")
    assert [(item["name"], item["kind"]) for item in spans] == [
        ("send orders", 4),
        ("process orders", 5),
        ("process orders", 5),
    ]
    send, *processes = spans
    assert [attributes(item)["messaging.consumer.group.name"] for item in processes] == ["payments", "analytics"]
    for process in processes:
        assert process["parentSpanId"] == send["spanId"]
        assert process["links"] == [{"traceId": send["traceId"], "spanId": send["spanId"], "attributes": []}]


def test_spans_carry_the_messaging_attributes() -> None:
    send, process, _analytics = otel_spans([PLACED], FAN_OUT_HOPS, trace_id="order-42")
    assert attributes(send) == {
        "messaging.system": "eventline",
        "messaging.destination.name": "orders",
        "messaging.destination.partition.id": "0",
        "messaging.kafka.offset": "10",
        "messaging.message.id": "e1",
        "messaging.message.conversation_id": "order-42",
        "eventline.event.type": "OrderPlaced",
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.client.id": "shop",
    }
    assert attributes(process)["messaging.operation.type"] == "process"
    assert attributes(process)["eventline.consumed"] is True


def test_span_times_are_unix_nanoseconds_from_event_time_to_append_and_fetch_to_commit() -> None:
    send, process, _analytics = otel_spans([PLACED], FAN_OUT_HOPS, trace_id="order-42")
    assert (send["startTimeUnixNano"], send["endTimeUnixNano"]) == (
        str(PLACED.event_time_ms * 1_000_000),
        str(PLACED.append_ms * 1_000_000),
    )
    assert (process["startTimeUnixNano"], process["endTimeUnixNano"]) == (
        str((PLACED.append_ms + 100) * 1_000_000),
        str((PLACED.append_ms + 400) * 1_000_000),
    )


def test_ids_are_lowercase_hex_and_stable_across_exports() -> None:
    first = otel_spans([PLACED, PAID], FAN_OUT_HOPS, trace_id="order-42")
    again = otel_spans([PAID, PLACED], FAN_OUT_HOPS, trace_id="order-42")
    assert first == again
    assert all(re.fullmatch(r"[0-9a-f]{32}", item["traceId"]) for item in first)
    assert all(re.fullmatch(r"[0-9a-f]{16}", item["spanId"]) for item in first)
    assert len({item["spanId"] for item in first}) == len(first)


def test_a_w3c_trace_id_is_kept_as_the_trace_id() -> None:
    trace_id = "4BF92F3577B34DA6A3CE929D0E0E4736"
    assert otel_spans([PLACED], {}, trace_id=trace_id)[0]["traceId"] == trace_id.lower()


def test_a_send_span_hangs_under_the_processing_of_its_cause_by_the_producing_service() -> None:
    send_placed, process_payments, _analytics, send_paid = otel_spans([PLACED, PAID], FAN_OUT_HOPS, trace_id="order-42")
    assert send_paid["parentSpanId"] == process_payments["spanId"]
    shipped_without_hops = otel_spans([PAID, SHIPPED], {}, trace_id="order-42")
    assert shipped_without_hops[1]["parentSpanId"] == shipped_without_hops[0]["spanId"]
    assert "parentSpanId" not in send_placed


def test_an_inferred_cause_is_a_link_not_a_parent() -> None:
    guessed = event("x", at=5, topic="shipping", causation_id=None)
    send_placed, send_guessed = otel_spans([PLACED, guessed], {}, trace_id="order-42")
    assert "parentSpanId" not in send_guessed
    assert send_guessed["links"][0]["spanId"] == send_placed["spanId"]


def test_otlp_export_wraps_spans_for_jaeger_and_tempo() -> None:
    spans = otel_spans([PLACED], {}, trace_id="order-42")
    document = otlp_export(spans)
    (resource_spans,) = document["resourceSpans"]
    assert resource_spans["resource"]["attributes"] == [{"key": "service.name", "value": {"stringValue": "eventline"}}]
    assert resource_spans["scopeSpans"][0]["spans"] == spans
