"""Finding a transaction and describing it: the search kinds, causation expansion, branches, fan
out to several groups, Kafka's rule for pending hops, retries and dead letters, the outcome by the
catalog's business flow and delivery apart from it, end-to-end time, critical path,
access, bounds, and that the log is only ever read through its indexes."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.auth import Principal
from core.errors import NotFound
from monitoring.evaluation import Outcome
from monitoring.traces import constants as c
from monitoring.traces.selectors import trace_get

pytestmark = pytest.mark.django_db

ADMIN = Principal(scopes=frozenset({"admin"}), username="tester")


def positions(trace) -> list[tuple[str, str | None, int]]:
    """(type, parent type, depth) in the order the trace lists its events."""
    return [
        (item.event.type, None if item.parent is None else item.parent.event.type, item.depth) for item in trace.items
    ]


def hops(trace, event_type: str) -> dict[str, object]:
    item = next(item for item in trace.items if item.event.type == event_type)
    return {hop.group: hop for hop in item.hops}


def test_a_correlation_id_finds_every_event_of_the_transaction_across_topics_in_causal_order(shop):
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation="order-1")
    shop.produce("orders", "orders", "Unrelated", correlation="order-2")
    paid = shop.produce("payments", "payments", "PaymentCompleted", correlation="order-1", cause=placed)
    shop.produce("shipping", "shipping", "OrderShipped", correlation="order-1", cause=paid)

    trace = trace_get(query="order-1", principal=ADMIN)

    assert trace.matched_by == c.MATCHED_BY_CORRELATION
    assert positions(trace) == [
        ("OrderPlaced", None, 0),
        ("PaymentCompleted", "OrderPlaced", 1),
        ("OrderShipped", "PaymentCompleted", 2),
    ]
    assert trace.topics == ["orders", "payments", "shipping"]
    assert trace.services == ["orders", "payments", "shipping"]
    assert not trace.incomplete


def test_an_event_id_a_trace_id_a_traceparent_and_a_position_find_the_same_transaction(shop):
    trace_id = uuid.uuid4().hex
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation="order-7", trace_id=trace_id)
    paid = shop.produce(
        "payments", "payments", "PaymentCompleted", correlation="order-7", cause=placed, trace_id=trace_id
    )
    queries = {
        c.MATCHED_BY_EVENT: paid["id"],
        c.MATCHED_BY_TRACE: trace_id.upper(),
        c.MATCHED_BY_POSITION: f"payments/{paid['partition']}/{paid['offset']}",
    }
    for matched_by, query in queries.items():
        trace = trace_get(query=query, principal=ADMIN)
        assert trace.matched_by == matched_by, query
        assert [item.event.event_id for item in trace.items] == [placed["id"], paid["id"]], query
    by_traceparent = trace_get(query=f"00-{trace_id}-00f067aa0ba902b7-01", principal=ADMIN)
    assert by_traceparent.matched_by == c.MATCHED_BY_TRACE and len(by_traceparent.items) == 2
    assert trace_get(query="order-7", principal=ADMIN).trace_ids == [trace_id]


def test_causation_links_pull_in_events_carrying_another_correlation_id(shop):
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation="checkout-1")
    # The payment service starts its own conversation but keeps the causal link.
    paid = shop.produce("payments", "payments", "PaymentCompleted", correlation="payment-9", cause=placed)
    receipt = shop.produce("shipping", "shipping", "ReceiptSent", correlation="payment-9")

    for query in ("checkout-1", "payment-9", receipt["id"]):
        trace = trace_get(query=query, principal=ADMIN)
        assert {item.event.event_id for item in trace.items} == {placed["id"], paid["id"], receipt["id"]}, query
        assert sorted(trace.correlation_ids) == ["checkout-1", "payment-9"]


def test_events_without_a_causation_id_hang_under_the_latest_earlier_event_and_say_so(shop):
    shop.produce("orders", "orders", "OrderPlaced", correlation="order-3")
    shop.produce("payments", "payments", "PaymentCompleted", correlation="order-3")

    trace = trace_get(query="order-3", principal=ADMIN)

    paid = trace.items[1]
    assert (paid.event.type, paid.parent.event.type, paid.parent_inferred) == ("PaymentCompleted", "OrderPlaced", True)


def test_a_branching_transaction_keeps_both_branches_under_their_common_cause(shop):
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation="order-4")
    reserved = shop.produce("shipping", "shipping", "StockReserved", correlation="order-4", cause=placed)
    charged = shop.produce("payments", "payments", "PaymentCompleted", correlation="order-4", cause=placed)
    shop.produce("shipping", "shipping", "OrderShipped", correlation="order-4", cause=reserved)
    shop.produce("orders", "orders", "InvoiceIssued", correlation="order-4", cause=charged)

    trace = trace_get(query="order-4", principal=ADMIN)

    assert positions(trace) == [
        ("OrderPlaced", None, 0),
        ("StockReserved", "OrderPlaced", 1),
        ("OrderShipped", "StockReserved", 2),
        ("PaymentCompleted", "OrderPlaced", 1),
        ("InvoiceIssued", "PaymentCompleted", 2),
    ]
    assert all(not item.parent_inferred for item in trace.items)


def test_an_event_read_by_several_groups_has_one_consumed_hop_per_group_with_times_from_the_log(shop):
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation="order-5")
    for service in ("payments", "shipping", "notifications"):
        shop.consume(service, f"{service}-service", ("orders",))
    shop.produce("payments", "payments", "PaymentCompleted", correlation="order-5", cause=placed)

    trace = trace_get(query="order-5", principal=ADMIN)

    placed_hops = hops(trace, "OrderPlaced")
    assert sorted(placed_hops) == ["notifications-service", "payments-service", "shipping-service"]
    for group, hop in placed_hops.items():
        status = hop.status
        assert hop.state == "consumed" and status.committed_offset == placed["offset"] + 1, group
        assert hop.service == group.removesuffix("-service")
        assert placed["timestamp"] - c.CLOCK_SKEW_MS <= status.first_fetch_ms <= status.commit_ms, group
    payment = trace.items[1]
    assert payment.via_group == "payments-service", "the payment came from the payments group's processing"
    assert trace.groups == ["notifications-service", "payments-service", "shipping-service"]


def test_a_hop_is_pending_with_the_events_ahead_until_its_group_commits_past_the_event(shop):
    for number in range(3):
        shop.produce("orders", "orders", "Earlier", correlation=f"earlier-{number}")
    shop.consume("analytics", "analytics-service", ("orders",))  # committed offset 3
    shop.produce("orders", "orders", "Between", correlation="between")
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation="order-6")
    assert placed["offset"] == 4

    pending = hops(trace_get(query="order-6", principal=ADMIN), "OrderPlaced")["analytics-service"]
    assert (pending.state, pending.status.consumed, pending.status.events_ahead) == ("pending", False, 1)
    assert pending.status.first_fetch_ms is None and pending.status.commit_ms is None

    shop.consume("analytics", "analytics-service", ("orders",))
    consumed = hops(trace_get(query="order-6", principal=ADMIN), "OrderPlaced")["analytics-service"]
    assert (consumed.state, consumed.status.committed_offset, consumed.status.events_ahead) == ("consumed", 5, None)
    assert consumed.status.first_fetch_ms is not None and consumed.status.commit_ms is not None


def test_a_fetched_but_uncommitted_hop_is_processing(shop):
    shop.produce("orders", "orders", "OrderPlaced", correlation="order-8")
    shop.consume("payments", "payments-service", ("orders",), commit=False)

    hop = hops(trace_get(query="order-8", principal=ADMIN), "OrderPlaced")["payments-service"]

    assert hop.state == "processing"
    assert hop.status.first_fetch_ms is not None and hop.status.commit_ms is None


def test_outcome_follows_the_flow_while_delivery_counts_unread_hops(shop, order_saga):
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation="ok")
    shop.consume("payments", "payments-service", ("orders",))
    in_flight = trace_get(query="ok", principal=ADMIN, now_ms=placed["timestamp"] + 1_000)
    assert (in_flight.outcome.outcome, in_flight.outcome.flow) == (Outcome.IN_FLIGHT, "Order saga")
    stuck = trace_get(query="ok", principal=ADMIN, now_ms=placed["timestamp"] + 61_000)
    assert stuck.outcome.outcome == Outcome.STUCK

    shipped = shop.produce("shipping", "shipping", "OrderShipped", correlation="ok", cause=placed)
    shop.consume("analytics", "analytics-service", ("orders",))  # has not read the shipping topic yet
    shop.consume("notifications", "notifications-service", ("shipping",), commit=False)
    done = trace_get(query="ok", principal=ADMIN, now_ms=shipped["timestamp"] + 600_000)
    assert done.outcome.outcome == Outcome.COMPLETED, "a slow reader does not keep a shipped order open"
    assert (done.delivery.pending, done.delivery.pending_groups) == (1, ("notifications-service",))

    shop.produce("orders", "orders", "OrderPlaced", correlation="undone")
    shop.produce("orders", "orders", "OrderCancelled", correlation="undone")
    assert trace_get(query="undone", principal=ADMIN).outcome.outcome == Outcome.COMPENSATED
    shop.produce("orders", "orders", "OrderPlaced", correlation="refused")
    shop.produce("orders", "orders", "OrderRejected", correlation="refused")
    assert trace_get(query="refused", principal=ADMIN).outcome.outcome == Outcome.FAILED


def test_a_trace_no_flow_starts_has_no_outcome_defined(shop, order_saga):
    shop.produce("payments", "payments", "PaymentFailed", correlation="orphan")
    trace = trace_get(query="orphan", principal=ADMIN)
    assert (trace.outcome.outcome, trace.outcome.flow) == (Outcome.UNDEFINED, None)


def test_without_any_flow_no_trace_has_an_outcome(shop):
    shop.produce("orders", "orders", "OrderPlaced", correlation="unjudged")
    assert trace_get(query="unjudged", principal=ADMIN).outcome.outcome == Outcome.UNDEFINED


def test_a_nacked_hop_is_retrying_and_a_dead_lettered_one_fails_the_flow(shop, order_saga):
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation="poison")
    shop.consume("payments", "payments-service", ("orders",))
    assert shop.nack("payments", "payments-service", placed)["outcome"] == "retry"
    retrying = hops(trace_get(query="poison", principal=ADMIN), "OrderPlaced")["payments-service"]
    assert (retrying.state, retrying.status.failed_attempts) == ("retrying", 1)
    assert trace_get(query="poison", principal=ADMIN).delivery.pending == 1, "committed past it, but a retry is due"

    other = shop.produce("orders", "orders", "OrderPlaced", correlation="poison-2")
    shop.consume("payments", "payments-service", ("orders",))
    shop.nack("payments", "payments-service", other, max_attempts=1)
    trace = trace_get(query="poison-2", principal=ADMIN)
    dead = hops(trace, "OrderPlaced")["payments-service"]
    assert dead.state == "dead-lettered" and dead.status.failed_attempts == 1
    assert (trace.delivery.dead_lettered, trace.outcome.outcome) == (1, Outcome.FAILED)


def test_end_to_end_runs_from_the_first_event_to_the_last_commit(shop):
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation="order-9")
    shop.consume("payments", "payments-service", ("orders",))
    shop.produce("payments", "payments", "PaymentCompleted", correlation="order-9", cause=placed)
    shop.consume("shipping", "shipping-service", ("payments",))

    trace = trace_get(query="order-9", principal=ADMIN)

    last_commit = max(hop.status.commit_ms for item in trace.items for hop in item.hops)
    assert trace.end_to_end_ms == last_commit - placed["timestamp"]
    assert trace.first_seen_ms == placed["timestamp"]
    assert trace.last_activity_ms == last_commit


def test_the_critical_path_runs_through_the_hops_that_led_to_the_last_commit_and_skips_pending_ones(shop):
    shop.produce("orders", "orders", "Earlier", correlation="earlier")
    shop.consume("analytics", "analytics-service", ("orders",))  # will lag behind from here on
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation="order-10")
    shop.consume("payments", "payments-service", ("orders",))
    shop.consume("audit", "audit-service", ("orders",))
    shop.produce("payments", "payments", "PaymentCompleted", correlation="order-10", cause=placed)
    shop.consume("shipping", "shipping-service", ("payments",))

    trace = trace_get(query="order-10", principal=ADMIN)

    placed_item, payment = trace.items
    on_path = trace.critical_spans
    assert f"{placed_item.span_id}:payments-service" in on_path
    assert f"{payment.span_id}:shipping-service" in on_path
    assert f"{placed_item.span_id}:analytics-service" not in on_path, "a pending hop has no end to wait for"
    assert f"{placed_item.span_id}:audit-service" not in on_path, "audit finished before the payment was made"
    segments = trace.critical_path
    assert segments[0].start_ms == trace.first_seen_ms and segments[-1].end_ms == trace.last_activity_ms
    assert all(earlier.end_ms == later.start_ms for earlier, later in zip(segments, segments[1:], strict=False))


def test_events_of_topics_the_principal_may_not_read_are_left_out_and_counted(shop):
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation="order-11")
    shop.produce("secrets", "secrets", "CardStored", correlation="order-11", cause=placed)
    reader = Principal(scopes=frozenset({"consume:orders", "consume:payments"}))

    trace = trace_get(query="order-11", principal=reader)

    assert [item.event.type for item in trace.items] == ["OrderPlaced"]
    assert trace.hidden_events == 1
    with pytest.raises(NotFound):
        trace_get(query="order-11", principal=Principal(scopes=frozenset({"consume:shipping"})))


def test_expansion_stops_at_its_bound_and_says_the_trace_is_incomplete(shop, monkeypatch):
    cause = None
    for step in range(5):
        cause = shop.produce("orders", "orders", f"Step{step}", correlation=f"hop-{step}", cause=cause)
    monkeypatch.setattr(c, "MAX_EXPANSION_ROUNDS", 2)

    trace = trace_get(query="hop-0", principal=ADMIN)

    assert [item.event.type for item in trace.items] == ["Step0", "Step1", "Step2"]
    assert trace.incomplete and "deeper than 2 steps" in trace.incomplete_reasons[0]

    monkeypatch.setattr(c, "MAX_EXPANSION_ROUNDS", 10)
    monkeypatch.setattr(c, "MAX_TRACE_EVENTS", 4)
    bounded = trace_get(query="hop-0", principal=ADMIN)
    assert len(bounded.items) == 4 and "more than 4 events" in bounded.incomplete_reasons[0]


def test_an_id_never_seen_is_not_found(shop):
    shop.produce("orders", "orders", "OrderPlaced", correlation="order-12")
    for query in ("nope", "orders/0/99", "ab" * 16, "", "unknown-topic/0/0"):
        with pytest.raises(NotFound):
            trace_get(query=query, principal=ADMIN)


def test_the_log_is_read_only_through_its_indexes(shop):
    placed = shop.produce("orders", "orders", "OrderPlaced", correlation="order-13")
    shop.consume("payments", "payments-service", ("orders",))
    shop.produce("payments", "payments", "PaymentCompleted", correlation="order-13", cause=placed)
    shop.consume("shipping", "shipping-service", ("payments",))

    with CaptureQueriesContext(connection) as captured:
        trace_get(query=placed["id"], principal=ADMIN)

    big_tables = ("broker_event", "broker_groupactivity")
    statements = [query["sql"] for query in captured.captured_queries if any(t in query["sql"] for t in big_tables)]
    assert len(statements) >= 5
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Tiny test tables would be read whole by choice; forbid that to see whether an index exists.
            cursor.execute("SET enable_seqscan = off")
        for sql in statements:
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert not any(f"Seq Scan on {table}" in plan for table in big_tables), (sql, plan)
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
                assert not any(f"SCAN {table}" in plan for table in big_tables), (sql, plan)
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = on")
