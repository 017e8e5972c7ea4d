"""Latency per group from the fetch and commit log, checked against a scripted timeline."""

import pytest

from broker.choices import ActivityKind
from broker.models import ConsumerGroup, Event, GroupActivity, Topic
from monitoring.latency import group_latencies

pytestmark = pytest.mark.django_db


def test_time_in_broker_and_processing_follow_the_scripted_timeline(api, make_topic):
    make_topic("orders")
    api.post(
        "/api/v1/topics/orders/events", [{"type": "A", "data": 0}, {"type": "B", "data": 1}, {"type": "A", "data": 2}]
    )
    topic = Topic.objects.get()
    for offset, append_ms in enumerate([1_000, 1_100, 1_200]):
        Event.objects.filter(offset=offset).update(append_time_ms=append_ms)
    group = ConsumerGroup.objects.create(name="billing")

    def log(kind, at_ms, start, end):
        GroupActivity.objects.create(
            group=group, topic=topic, partition=0, kind=kind, at_ms=at_ms, start_offset=start, end_offset=end
        )

    log(ActivityKind.FETCH, 1_500, 0, 2)  # offsets 0 and 1 leave the broker at 1.5 s
    log(ActivityKind.COMMIT, 1_800, 2, 2)  # ... and are done at 1.8 s
    log(ActivityKind.FETCH, 2_000, 2, 3)  # offset 2 leaves at 2.0 s
    log(ActivityKind.FETCH, 2_100, 0, 3)  # a re-fetch after a rebalance does not count again
    log(ActivityKind.COMMIT, 2_600, 3, 3)
    rows = {row.event_type: row for row in group_latencies(group_id=group.id, group_name="billing", since_ms=0)}
    overall = rows[""]
    assert overall.events == 3
    # time in broker: 500, 400, 800 ms; processing: 300, 300, 600 ms
    assert overall.time_in_broker == {"p50": 500, "p95": 800, "p99": 800}
    assert overall.processing == {"p50": 300, "p95": 600, "p99": 600}
    assert rows["A"].time_in_broker == {"p50": 500, "p95": 800, "p99": 800}
    assert rows["B"].processing == {"p50": 300, "p95": 300, "p99": 300}


def test_an_event_fetched_but_not_yet_committed_has_no_processing_time(api, make_topic):
    make_topic("orders")
    api.post("/api/v1/topics/orders/events", {"data": 0})
    group = ConsumerGroup.objects.create(name="g")
    GroupActivity.objects.create(
        group=group,
        topic=Topic.objects.get(),
        partition=0,
        kind=ActivityKind.FETCH,
        at_ms=10**13,
        start_offset=0,
        end_offset=1,
    )
    overall = group_latencies(group_id=group.id, group_name="g", since_ms=0)[0]
    assert overall.events == 1 and overall.processing == {"p50": None, "p95": None, "p99": None}


def test_the_event_type_page_loads_latency_per_group(client, admin_user, api, make_topic):
    from catalog import services
    from tests.catalog.conftest import EDITOR

    make_topic("orders")
    services.domain_create(principal=EDITOR, name="D")
    services.team_create(principal=EDITOR, name="T")
    services.event_type_create(
        principal=EDITOR,
        data={"name": "OrderPlaced", "domain": "D", "owner_team": "T", "summary": "s", "topics": ["orders"]},
    )
    api.post("/api/v1/topics/orders/events", [{"type": "OrderPlaced", "data": 1}])
    member = api.post("/api/v1/groups/billing/members", {"topics": ["orders"], "auto_offset_reset": "earliest"}).json()
    api.get(f"/api/v1/groups/billing/members/{member['member_id']}/events", max_wait_ms=0)
    client.force_login(admin_user)
    page = client.get("/catalog/event-types/OrderPlaced/").content.decode()
    assert "/monitoring/event-types/OrderPlaced/latency/" in page
    partial = client.get("/monitoring/event-types/OrderPlaced/latency/", {"window": "15m"}).content.decode()
    assert "billing" in partial and "<html" not in partial
