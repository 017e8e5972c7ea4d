"""The event table's relations (migration 0014): PostgreSQL no longer checks the topic and producer
of every row (a row trigger each, more than the rest of an insert), SQLite still does (cheap, and
dropping it would rebuild the table), and on both the ORM keeps what the checks stood for."""

from __future__ import annotations

import pytest
from django.db import connection

from broker.models import Event, Topic
from core.models import Service

pytestmark = pytest.mark.django_db


def _event(topic: Topic, offset: int, producer: Service | None) -> Event:
    return Event.objects.create(
        topic=topic,
        partition=0,
        offset=offset,
        event_id=f"e{offset}",
        source="/services/shipping",
        type="ShipmentCreated",
        producer=producer,
        timestamp_ms=1,
        append_time_ms=1,
        size_bytes=2,
        payload="{}",
    )


def _checked_columns() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT a.attname FROM pg_constraint c JOIN pg_attribute a "
                "ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
                "WHERE c.conrelid = 'broker_event'::regclass AND c.contype = 'f'"
            )
            return {name for (name,) in cursor.fetchall()}
        cursor.execute("PRAGMA foreign_key_list(broker_event)")
        return {row[3] for row in cursor.fetchall()}


def test_only_sqlite_checks_each_events_topic_and_producer() -> None:
    expected = set() if connection.vendor == "postgresql" else {"topic_id", "producer_id"}
    assert _checked_columns() == expected


def test_the_orm_still_deletes_a_topics_events_and_forgets_a_deleted_producer() -> None:
    shipments, other = (
        Topic.objects.create(name="shipments", partition_count=1),
        Topic.objects.create(name="other", partition_count=1),
    )
    shipping = Service.objects.create(name="shipping")
    _event(shipments, 0, shipping)
    kept = _event(other, 0, shipping)
    shipments.delete()
    assert list(Event.objects.values_list("id", flat=True)) == [kept.id]
    shipping.delete()
    kept.refresh_from_db()
    assert kept.producer_id is None
