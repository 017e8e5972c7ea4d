"""Retention deletes by age and by size, moves the log start up, and groups behind it reset."""

import pytest

from broker.models import Event, Partition
from broker.services.retention import retention_apply
from core.timeutil import now_ms

pytestmark = pytest.mark.django_db


def produce(api, topic, n, **fields):
    return api.post(f"/api/v1/topics/{topic}/events", [{"data": "x" * 50, **fields} for _ in range(n)]).json()["events"]


def test_events_older_than_retention_ms_are_deleted_and_the_log_start_moves(api, make_topic):
    make_topic("orders", retention_ms=60_000)
    produce(api, "orders", 5)
    Event.objects.filter(offset__lt=3).update(append_time_ms=now_ms() - 120_000)
    results = retention_apply()
    assert [(r.topic, r.new_log_start_offset, r.deleted_events) for r in results] == [("orders", 3, 3)]
    partition = Partition.objects.get(topic__name="orders")
    assert (partition.log_start_offset, partition.end_offset) == (3, 5)
    assert partition.size_bytes == sum(Event.objects.values_list("size_bytes", flat=True))
    page = api.get("/api/v1/topics/orders/partitions/0/events", offset=0).json()
    assert [e["offset"] for e in page["events"]] == [3, 4]
    assert page["log_start_offset"] == 3


def test_retention_bytes_keeps_the_newest_events_within_the_limit(api, make_topic):
    make_topic("orders", retention_bytes=1000)
    produce(api, "orders", 20)
    size = Event.objects.first().size_bytes
    retention_apply()
    partition = Partition.objects.get(topic__name="orders")
    kept = 20 - partition.log_start_offset
    assert kept == 1000 // size
    assert partition.size_bytes <= 1000 < partition.size_bytes + size
    assert list(Event.objects.order_by("offset").values_list("offset", flat=True)) == list(range(20 - kept, 20))


def test_infinite_retention_keeps_everything(api, make_topic):
    make_topic("forever", retention_ms=-1)
    produce(api, "forever", 3)
    Event.objects.update(append_time_ms=0)
    assert retention_apply() == []
    assert Event.objects.count() == 3


def test_a_group_whose_commit_fell_below_the_log_start_follows_earliest(api, make_topic):
    make_topic("orders", retention_ms=60_000)
    produce(api, "orders", 6)
    api.post("/api/v1/groups/g/offsets", {"offsets": [{"topic": "orders", "partition": 0, "offset": 1}]})
    Event.objects.filter(offset__lt=4).update(append_time_ms=now_ms() - 120_000)
    retention_apply()
    member = api.post("/api/v1/groups/g/members", {"topics": ["orders"], "auto_offset_reset": "earliest"}).json()
    events = api.get(f"/api/v1/groups/g/members/{member['member_id']}/events", max_wait_ms=0).json()["events"]
    assert [e["offset"] for e in events] == [4, 5]


def test_a_group_whose_commit_fell_below_the_log_start_follows_latest(api, make_topic):
    make_topic("orders", retention_ms=60_000)
    produce(api, "orders", 6)
    api.post("/api/v1/groups/g/offsets", {"offsets": [{"topic": "orders", "partition": 0, "offset": 1}]})
    Event.objects.filter(offset__lt=4).update(append_time_ms=now_ms() - 120_000)
    retention_apply()
    member = api.post("/api/v1/groups/g/members", {"topics": ["orders"], "auto_offset_reset": "latest"}).json()
    path = f"/api/v1/groups/g/members/{member['member_id']}/events"
    assert api.get(path, max_wait_ms=0).json()["events"] == []
    produce(api, "orders", 1)
    assert [e["offset"] for e in api.get(path, max_wait_ms=0).json()["events"]] == [6]


def test_retention_runs_in_chunks_without_losing_count(api, make_topic, monkeypatch):
    from broker.log import sql

    monkeypatch.setattr(sql, "_RETENTION_CHUNK", 7)
    make_topic("orders", retention_ms=1)
    produce(api, "orders", 30)
    Event.objects.update(append_time_ms=now_ms() - 10_000)
    results = retention_apply()
    assert results[0].deleted_events == 30 and results[0].new_log_start_offset == 30
    assert Partition.objects.get().size_bytes == 0
