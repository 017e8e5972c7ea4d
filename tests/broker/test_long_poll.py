"""Long polls wait without holding anything producers need: 50 consumers wait at once while a
producer keeps appending, and each wakes with the event meant for it."""

import threading
import time

import pytest

from core.services import api_key_create
from eventline.client import Consumer, Producer

pytestmark = pytest.mark.django_db(transaction=True)

WAITERS = 50


def test_fifty_concurrent_long_polls_do_not_block_producers(live_server, make_topic):
    make_topic("orders")
    key = api_key_create(service_name="poller", scopes=["admin"])[1]
    consumers = []
    for n in range(WAITERS):
        consumer = Consumer(live_server.url, key, f"group-{n}", heartbeat_interval_ms=60_000)
        consumer.subscribe(["orders"])
        consumer.poll(timeout=0)  # position at the end
        consumers.append(consumer)

    results: dict[int, list] = {}
    finished_at: dict[int, float] = {}

    def wait(n: int) -> None:
        results[n] = consumers[n].poll(timeout=25)
        finished_at[n] = time.monotonic()

    pollers = [threading.Thread(target=wait, args=(n,)) for n in range(WAITERS)]
    for poller in pollers:
        poller.start()
    time.sleep(1.0)  # every poll is now parked on the server
    assert not finished_at, "nothing was produced yet, so no poll may have returned"

    producer = Producer(live_server.url, key)
    started = time.monotonic()
    for i in range(20):
        producer.send("orders", [{"data": i}])
    produced_at = time.monotonic()
    for poller in pollers:
        poller.join(timeout=30)

    assert len(results) == WAITERS
    assert all(events and events[0].data == 0 for events in results.values())
    # Appends went through while fifty polls were parked: none of them waited for a poll's timeout.
    assert produced_at - started < 20
    assert max(finished_at.values()) - started < 20, "polls must wake on the append, not at their 25 s timeout"
    for consumer in consumers:
        consumer.close()
    producer.close()
