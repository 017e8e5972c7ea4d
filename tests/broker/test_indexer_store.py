"""The indexer's writes (broker.indexer.store_batch), on the database alone: a row is written once
by its position and once by its identity, and the flows and violations counted are those of the
rows written, whatever was there before. Runs on SQLite (sqlite3's multi-row inserts, what was
there found by position) and on PostgreSQL (COPY and RETURNING)."""

from __future__ import annotations

from typing import Any

import pytest

from broker.indexer import store_batch
from broker.models import ContractViolation, Event, FlowStat, Topic
from core.models import Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def topic() -> Topic:
    return Topic.objects.create(name="shipments", partition_count=2)


@pytest.fixture
def shipping() -> Service:
    return Service.objects.create(name="shipping")


def _row(topic: Topic, partition: int, offset: int, producer: Service, event_id: str | None = None) -> tuple[Any, ...]:
    """An index row as Indexer._row builds it (_COLUMNS' order)."""
    event_id = event_id or f"{partition}-{offset}"
    return (
        topic.id,
        partition,
        offset,
        event_id,
        "/services/shipping",
        "ShipmentCreated",
        None,
        f"corr-{offset}",
        None,
        None,
        producer.id,
        None,
        1_000 + offset,
        1_000 + offset,
        10,
        f'{{"id": "{event_id}"}}',
    )


def _produced(service: Service) -> int:
    return sum(
        FlowStat.objects.filter(role=FlowStat.ROLE_PRODUCE, service_id=service.id).values_list("events", flat=True)
    )


def test_a_batch_read_again_in_part_writes_and_counts_only_what_is_new(topic: Topic, shipping: Service) -> None:
    first = [_row(topic, p, o, shipping) for p in (0, 1) for o in range(10)]
    assert store_batch(first, {}) == 20
    # A restart reads from the last committed offset: half of partition 0 again, then new records.
    again = [_row(topic, 0, o, shipping) for o in range(5, 15)] + [_row(topic, 1, o, shipping) for o in range(10, 12)]
    assert store_batch(again, {}) == 7
    assert store_batch(again, {}) == 0, "the same batch a third time"
    assert sorted(Event.objects.filter(partition=0).values_list("offset", flat=True)) == list(range(15))
    assert Event.objects.count() == 27
    assert _produced(shipping) == 27, "each event's flow counted once"


def test_an_event_id_sent_twice_is_indexed_once_and_counted_once(topic: Topic, shipping: Service) -> None:
    # A producer that retried without idempotence: the same CloudEvents id and source at two
    # offsets, in one batch, and again in the next.
    rows = [_row(topic, 0, 0, shipping), _row(topic, 0, 1, shipping, "dup"), _row(topic, 0, 2, shipping, "dup")]
    assert store_batch(rows, {}) == 2
    assert store_batch([_row(topic, 0, 3, shipping, "dup"), _row(topic, 0, 4, shipping)], {}) == 1
    assert sorted(Event.objects.values_list("offset", flat=True)) == [0, 1, 4]
    assert _produced(shipping) == 3


def test_violations_are_counted_for_the_rows_written_only(topic: Topic, shipping: Service) -> None:
    def broken(offset: int) -> dict[tuple[int, int, int], tuple[Any, ...]]:
        reason = "schema id 9 is not in the registry"
        return {(topic.id, 0, offset): (ContractViolation.UNKNOWN_SCHEMA, reason, shipping.id, "ShipmentCreated", "{}")}

    assert store_batch([_row(topic, 0, 0, shipping), _row(topic, 0, 1, shipping)], broken(1)) == 2
    assert store_batch([_row(topic, 0, 1, shipping)], broken(1)) == 0, "read again after a lost commit"
    assert store_batch([_row(topic, 0, 2, shipping, "0-0")], broken(2)) == 0, "an identity already indexed"
    (violation,) = ContractViolation.objects.all()
    assert (violation.count, violation.example_offset, violation.producer_id) == (1, 1, shipping.id)
