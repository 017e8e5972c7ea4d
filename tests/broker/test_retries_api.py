"""Retries and dead-letter topics over HTTP (issue 13): a member nacks an event; it is retried for
its group only, after exponential backoff, without blocking the partition; after the last attempt
it lands in the group's dead-letter topic with Kafka Connect's and Spring Kafka's headers."""

from __future__ import annotations

import pytest

from broker.models import DeadLetter, PendingRetry
from broker.services import retries

pytestmark = pytest.mark.django_db

ERROR = {"class": "billing.PaymentDeclined", "message": "card expired", "stack": "Traceback ...\n  line 1"}


@pytest.fixture(autouse=True)
def _fresh_due_cache():
    retries._due_cache.clear()
    yield
    retries._due_cache.clear()


@pytest.fixture
def clock(monkeypatch):
    """The retries module's clock, moved by hand."""

    class Clock:
        now = retries.now_ms()

        def advance(self, ms: int) -> None:
            self.now += ms
            retries._due_cache.clear()

    clock = Clock()
    monkeypatch.setattr(retries, "now_ms", lambda: clock.now)
    return clock


def join(api, group="g", topics=("orders",)):
    response = api.post(f"/api/v1/groups/{group}/members", {"topics": list(topics), "auto_offset_reset": "earliest"})
    assert response.status_code == 200, response.content
    return response.json()["member_id"]


def fetch(api, member, group="g"):
    response = api.get(f"/api/v1/groups/{group}/members/{member}/events", max_wait_ms=0)
    assert response.status_code == 200, response.content
    return response.json()


def nack(api, member, offset, group="g", topic="orders", partition=0, error=ERROR):
    body = {"topic": topic, "partition": partition, "offset": offset, "error": error}
    return api.post(f"/api/v1/groups/{group}/members/{member}/nack", body)


def set_policy(api, group="g", **values):
    response = api.client.put(f"/api/v1/groups/{group}/retry-policy", values, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def produce(api, n, topic="orders", key="k", first=0):
    ids = range(first, first + n)
    body = [{"id": f"e{i}", "source": "shop", "type": "OrderPlaced", "key": key, "data": {"n": i}} for i in ids]
    response = api.post(f"/api/v1/topics/{topic}/events", body)
    assert response.status_code == 200, response.content
    return response.json()["events"]


def test_a_nacked_event_is_retried_for_its_group_only_without_blocking_the_partition(api, make_topic, clock):
    make_topic("orders")
    set_policy(api, initial_delay_ms=1000)
    member, other = join(api, "g"), join(api, "other")
    produce(api, 3)
    assert [e["offset"] for e in fetch(api, member)["events"]] == [0, 1, 2]
    assert [e["offset"] for e in fetch(api, other, group="other")["events"]] == [0, 1, 2]

    answer = nack(api, member, offset=1)

    assert answer.status_code == 200, answer.content
    assert answer.json() == {"outcome": "retry", "attempts": 1, "next_attempt_ms": clock.now + 1000}
    assert "retries" not in fetch(api, member), "not due before its backoff"
    produce(api, 1, first=3)
    clock.advance(1000)
    due = fetch(api, member)
    assert [e["offset"] for e in due["events"]] == [3], "the partition goes on past the failed event"
    assert [(r["attempt"], r["event"]["offset"], r["event"]["id"]) for r in due["retries"]] == [(2, 1, "e1")]
    assert due["retries"][0]["error"] == {"class": ERROR["class"], "message": ERROR["message"]}
    assert "retries" not in fetch(api, other, group="other"), "another group never sees the retry"


def test_backoff_grows_by_the_multiplier_up_to_its_ceiling(api, make_topic, clock):
    make_topic("orders")
    set_policy(api, initial_delay_ms=1000, multiplier=3, max_delay_ms=5000, max_attempts=5)
    member = join(api)
    produce(api, 1)
    fetch(api, member)

    delays = []
    for _ in range(4):
        answer = nack(api, member, offset=0).json()
        delays.append(answer["next_attempt_ms"] - clock.now if answer["outcome"] == "retry" else answer["outcome"])
        clock.advance(answer.get("next_attempt_ms", clock.now) - clock.now)
        fetch(api, member)

    assert delays == [1000, 3000, 5000, 5000]


def test_after_the_last_attempt_the_event_lands_in_the_dead_letter_topic_with_standard_headers(
    api, make_topic, clock
):
    make_topic("orders", partitions=3)
    set_policy(api, initial_delay_ms=0, max_attempts=2)
    member = join(api)
    delivered = produce(api, 1, key="order-7")[0]
    partition = delivered["partition"]
    fetch(api, member)
    assert nack(api, member, offset=0, partition=partition).json()["outcome"] == "retry"
    retry = fetch(api, member)["retries"][0]
    assert retry["attempt"] == 2

    answer = nack(api, member, offset=0, partition=partition).json()

    assert answer["outcome"] == "dead_lettered" and answer["attempts"] == 2
    assert answer["dead_letter"]["topic"] == "orders.g.dlq"
    assert answer["dead_letter"]["partition"] == partition, "same partition number as the original (Spring)"
    topic = api.get("/api/v1/topics/orders.g.dlq").json()
    assert topic["partitions"] == 3 or len(topic.get("partitions", [])) == 3
    read = api.get(f"/api/v1/topics/orders.g.dlq/partitions/{partition}/events", offset=0).json()["events"]
    assert len(read) == 1
    dead = read[0]
    assert (dead["id"], dead["source"], dead["key"], dead["data"]) == ("e0@g", "shop", "order-7", {"n": 0})
    headers = {h["key"]: h["value"] for h in dead["headers"]}
    assert headers["__connect.errors.topic"] == headers["kafka_dlt-original-topic"] == "orders"
    assert headers["__connect.errors.partition"] == headers["kafka_dlt-original-partition"] == str(partition)
    assert headers["__connect.errors.offset"] == headers["kafka_dlt-original-offset"] == "0"
    assert headers["kafka_dlt-original-consumer-group"] == "g"
    assert headers["kafka_dlt-original-timestamp"] == str(delivered["timestamp"])
    assert headers["__connect.errors.exception.class.name"] == headers["kafka_dlt-exception-fqcn"] == ERROR["class"]
    assert headers["__connect.errors.exception.message"] == headers["kafka_dlt-exception-message"] == ERROR["message"]
    assert headers["kafka_dlt-exception-stacktrace"] == ERROR["stack"]
    assert headers["retry_topic-attempts"] == "2"
    assert not PendingRetry.objects.exists()
    row = DeadLetter.objects.get()
    assert (row.group, row.topic, row.partition, row.offset, row.event_id) == ("g", "orders", partition, 0, "e0")


def test_an_acked_retry_is_not_delivered_again_and_an_unacked_one_is_after_its_lease(api, make_topic, clock):
    make_topic("orders")
    set_policy(api, initial_delay_ms=0)
    member = join(api)
    produce(api, 2)
    fetch(api, member)
    nack(api, member, offset=0)
    nack(api, member, offset=1)
    assert [r["event"]["offset"] for r in fetch(api, member)["retries"]] == [0, 1]
    assert "retries" not in fetch(api, member), "leased to the member"

    ack = api.post(f"/api/v1/groups/g/members/{member}/ack", {"topic": "orders", "partition": 0, "offset": 0})

    assert ack.json() == {"acknowledged": True}
    clock.advance(retries.RETRY_LEASE_MS)
    again = fetch(api, member)["retries"]
    assert [(r["event"]["offset"], r["attempt"]) for r in again] == [(1, 2)], "lease expiry is not an attempt"


def test_a_member_cannot_nack_as_another_keys_member_or_on_a_partition_it_does_not_hold(api, make_api, make_topic):
    make_topic("orders", partitions=2)
    member = join(api)
    produce(api, 1)
    intruder = make_api("consume:orders", "group:g", service="intruder")

    assert nack(intruder, member, offset=0).status_code == 403
    other_member = join(intruder)
    held = {a["partition"] for a in intruder.post(f"/api/v1/groups/g/members/{other_member}/heartbeat").json()["assignment"]}
    if 0 in held:
        refused = nack(api, member, offset=0)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "not_assigned"
    assert not PendingRetry.objects.exists()


def test_bad_nacks_are_refused_with_the_field_and_nothing_is_recorded(api, make_topic):
    make_topic("orders")
    member = join(api)
    produce(api, 1)

    assert nack(api, member, offset=-1).json()["error"]["details"]["errors"][0]["field"] == "offset"
    assert nack(api, member, offset=0, error="boom").json()["error"]["details"]["errors"][0]["field"] == "error"
    assert nack(api, member, offset=0, error={"class": "a\x00b"}).status_code == 422
    assert nack(api, member, offset=5).status_code == 404
    assert not PendingRetry.objects.exists()


def test_retry_policy_is_validated_and_read_back_per_topic(api):
    assert api.get("/api/v1/groups/g/retry-policy").json() == {
        "initial_delay_ms": 1000,
        "multiplier": 2.0,
        "max_delay_ms": 30000,
        "max_attempts": 3,
        "dead_letter_topic": None,
    }
    refused = api.client.put("/api/v1/groups/g/retry-policy", {"max_attempts": 0}, format="json")
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["errors"][0]["field"] == "max_attempts"
    api.client.put("/api/v1/groups/g/retry-policy?topic=orders", {"dead_letter_topic": "orders-dlt"}, format="json")
    assert api.get("/api/v1/groups/g/retry-policy", topic="orders").json()["dead_letter_topic"] == "orders-dlt"
    assert api.get("/api/v1/groups/g/retry-policy").json()["dead_letter_topic"] is None
