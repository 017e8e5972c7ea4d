"""The Python client against a live server: produce with batching and safe retries, consume in a
group with commits, rebalances and rejoin."""

import threading
import time

import pytest

from broker.models import Event
from core.services import api_key_create
from eventline.client import Consumer, EventlineError, Producer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def key(db):
    return api_key_create(service_name="client-test", scopes=["admin"])[1]


def test_producer_batches_and_every_event_is_delivered_once(live_server, key, make_topic):
    make_topic("orders", partitions=3)
    deliveries = []
    with Producer(live_server.url, key, batch_size=50, linger_ms=50) as producer:
        ids = [
            producer.produce(
                "orders",
                {"n": i},
                key=f"k{i % 7}",
                type="OrderPlaced",
                on_delivery=lambda d, e: deliveries.append((d, e)),
            )
            for i in range(120)
        ]
    assert Event.objects.count() == 120
    assert sorted(d.id for d, e in deliveries) == sorted(ids)
    assert all(e is None for _, e in deliveries)


def test_a_resent_batch_is_not_appended_twice(live_server, key, make_topic):
    make_topic("orders")
    producer = Producer(live_server.url, key)
    events = [{"id": f"fixed-{i}", "data": i} for i in range(5)]
    first = producer.send("orders", events)
    again = producer.send("orders", events)  # what a retry after a lost response does
    assert [d.offset for d in again] == [d.offset for d in first]
    assert all(d.duplicate for d in again)
    assert Event.objects.count() == 5
    producer.close()


def test_producer_retries_5xx_with_the_same_ids(live_server, key, make_topic, monkeypatch):
    from broker.services import produce as produce_module

    make_topic("orders")
    real = produce_module.events_produce
    calls = {"n": 0}

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            real(**kwargs)  # appended, but the answer is lost
            raise RuntimeError("connection reset after commit")
        return real(**kwargs)

    monkeypatch.setattr("broker.api.views.events_produce", flaky)
    producer = Producer(live_server.url, key, backoff_ms=1)
    deliveries = producer.send("orders", [{"data": 1}, {"data": 2}])
    assert calls["n"] == 2
    assert Event.objects.count() == 2
    assert all(d.duplicate for d in deliveries)
    producer.close()


def test_errors_surface_with_code_and_details(live_server, key):
    producer = Producer(live_server.url, key)
    with pytest.raises(EventlineError) as error:
        producer.send("missing", [{"data": 1}])
    assert error.value.status == 404 and error.value.code == "topic_not_found"
    producer.close()


def test_consumer_reads_commits_and_a_restart_resumes_after_the_commit(live_server, key, make_topic):
    make_topic("orders")
    with Producer(live_server.url, key) as producer:
        for i in range(10):
            producer.produce("orders", {"n": i})
    consumer = Consumer(live_server.url, key, "billing", auto_offset_reset="earliest", enable_auto_commit=False)
    consumer.subscribe(["orders"])
    seen = []
    while len(seen) < 10:
        seen.extend(consumer.poll(timeout=1.0))
    assert [e.data["n"] for e in seen] == list(range(10))
    consumer.commit(seen[:4])  # processed four: the next to read is offset 4
    consumer.close()

    resumed = Consumer(live_server.url, key, "billing", auto_offset_reset="earliest")
    resumed.subscribe(["orders"])
    rest = []
    while len(rest) < 6:
        rest.extend(resumed.poll(timeout=1.0))
    assert [e.offset for e in rest] == [4, 5, 6, 7, 8, 9]
    resumed.close()  # auto-commit on close
    from broker.models import GroupPartition

    assert GroupPartition.objects.get(group__name="billing").committed_offset == 10


def test_two_consumers_split_the_partitions_after_a_rebalance(live_server, key, make_topic):
    make_topic("orders", partitions=4)
    first = Consumer(live_server.url, key, "split", heartbeat_interval_ms=100)
    first.subscribe(["orders"])
    assert len(first.assignment) == 4
    second = Consumer(live_server.url, key, "split", heartbeat_interval_ms=100)
    second.subscribe(["orders"])
    first.poll(timeout=0.1)  # 409 -> takes the new assignment
    assert sorted(first.assignment + second.assignment) == [("orders", p) for p in range(4)]
    assert len(first.assignment) == len(second.assignment) == 2
    second.close()
    deadline = time.monotonic() + 5
    while len(first.assignment) != 4 and time.monotonic() < deadline:
        first.poll(timeout=0.1)
    assert len(first.assignment) == 4
    first.close()


def test_long_poll_returns_as_soon_as_an_event_arrives(live_server, key, make_topic):
    make_topic("orders")
    consumer = Consumer(live_server.url, key, "waiter")
    consumer.subscribe(["orders"])
    consumer.poll(timeout=0)  # fixes the position at the end (auto_offset_reset=latest)
    producer = Producer(live_server.url, key)
    threading.Timer(0.3, lambda: producer.send("orders", [{"data": "hello"}])).start()
    started = time.monotonic()
    events = consumer.poll(timeout=20)
    waited = time.monotonic() - started
    assert [e.data for e in events] == ["hello"]
    assert waited < 10, "the poll must return when data arrives, not at its timeout"
    consumer.close()
    producer.close()


def test_a_handler_that_raises_is_retried_then_dead_lettered_and_the_others_go_on(live_server, key, make_topic):
    from broker.models import DeadLetter, PendingRetry
    from broker.services import retries

    retries._due_cache.clear()
    make_topic("orders")
    with Producer(live_server.url, key) as producer:
        for i in range(4):
            producer.produce("orders", {"n": i}, key="k", id=f"ev-{i}")
    seen: list[tuple[int, int]] = []

    def handler(event):
        seen.append((event.data["n"], event.attempt))
        if event.data["n"] == 1:
            raise ValueError(f"cannot handle {event.id}")

    consumer = Consumer(live_server.url, key, group="billing", auto_offset_reset="earliest")
    consumer.subscribe(["orders"])
    consumer._http.request(
        "PUT", "/api/v1/groups/billing/retry-policy", {"initial_delay_ms": 0, "max_attempts": 3}
    )
    deadline = time.monotonic() + 20
    while not DeadLetter.objects.exists() and time.monotonic() < deadline:
        consumer.run(handler, max_events=1, timeout=0.2)
        retries._due_cache.clear()
    consumer.close()

    assert [n for n, attempt in seen if attempt == 1] == [0, 1, 2, 3], "the failure held nothing up"
    assert [attempt for n, attempt in seen if n == 1] == [1, 2, 3]
    dead = DeadLetter.objects.get()
    assert (dead.topic, dead.offset, dead.attempts, dead.error_class) == ("orders", 1, 3, "builtins.ValueError")
    assert "cannot handle ev-1" in dead.error_message and "Traceback" in dead.error_stack
    assert not PendingRetry.objects.exists()


def test_processed_ids_skip_an_event_handled_within_the_window():
    from eventline.client import Event, ProcessedIds

    def event(source, event_id):
        return Event("t", 0, 0, event_id, source, "T", None, None, [], 0, 0)

    processed = ProcessedIds(window_s=3600, max_ids=2)
    processed.remember(event("a", "1"))
    assert processed.seen(event("a", "1"))
    assert not processed.seen(event("b", "1")), "the id is scoped by its source"
    processed.remember(event("a", "2"))
    processed.remember(event("a", "3"))
    assert not processed.seen(event("a", "1")), "the oldest goes past max_ids"
    expired = ProcessedIds(window_s=0)
    expired.remember(event("a", "1"))
    assert not expired.seen(event("a", "1"))


def test_a_fetch_answer_lost_on_the_way_does_not_skip_its_events(live_server, key, make_topic):
    make_topic("orders")
    with Producer(live_server.url, key) as producer:
        for i in range(10):
            producer.produce("orders", {"n": i}, key="k", id=f"lost-{i}")
    consumer = Consumer(live_server.url, key, group="billing", auto_offset_reset="earliest", enable_auto_commit=False)
    consumer.subscribe(["orders"])
    assert [e.data["n"] for e in consumer.poll(timeout=1, max_events=5)] == [0, 1, 2, 3, 4]
    real = consumer._http.request
    dropped = {"n": 0}

    def lose_one_answer(method, path, *args, **kwargs):
        answer = real(method, path, *args, **kwargs)
        if path.endswith("/events") and dropped["n"] == 0:
            dropped["n"] += 1  # the broker answered and moved the position; the answer never arrives
            raise ConnectionResetError("connection reset by peer")
        return answer

    consumer._http.request = lose_one_answer
    seen = []
    deadline = time.monotonic() + 10
    while len(seen) < 5 and time.monotonic() < deadline:
        seen += [e.data["n"] for e in consumer.poll(timeout=0.5, max_events=5)]
    consumer.close()

    assert dropped["n"] == 1
    assert seen == [5, 6, 7, 8, 9]


def test_a_lost_first_answer_rewinds_to_the_committed_offset(live_server, key, make_topic):
    make_topic("orders")
    with Producer(live_server.url, key) as producer:
        for i in range(6):
            producer.produce("orders", {"n": i}, key="k", id=f"first-{i}")
    first = Consumer(live_server.url, key, group="billing", auto_offset_reset="earliest")
    first.subscribe(["orders"])
    first.commit(first.poll(timeout=1, max_events=3))  # the group's committed offset is 3
    first.close()
    consumer = Consumer(live_server.url, key, group="billing", auto_offset_reset="earliest", enable_auto_commit=False)
    consumer.subscribe(["orders"])
    real = consumer._http.request
    dropped = {"n": 0}

    def lose_one_answer(method, path, *args, **kwargs):
        answer = real(method, path, *args, **kwargs)
        if path.endswith("/events") and dropped["n"] == 0:
            dropped["n"] += 1
            raise ConnectionResetError("connection reset by peer")
        return answer

    consumer._http.request = lose_one_answer
    seen = []
    deadline = time.monotonic() + 10
    while len(seen) < 3 and time.monotonic() < deadline:
        seen += [e.data["n"] for e in consumer.poll(timeout=0.5)]
    consumer.close()

    assert seen == [3, 4, 5]
