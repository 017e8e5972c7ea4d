"""The append writer (broker.log.writer): web workers plan their appends and one process writes
them, a batch of requests per transaction. It runs here in a thread of the test process, on the
socket the workers look for, against the run's real database; on PostgreSQL (where `make run`
starts no writer) the same machinery is exercised through a socket of its own."""

import os
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import IntegrityError, connection

from broker.log import get_log
from broker.log import writer as writer_module
from broker.log.sql import SQLLog, _AppendJob, _Plan, _write_requests
from broker.log.writer import AppendWriter, AppendWriterClient, WriteRequest, socket_path_for
from broker.models import Event
from broker.services.produce import events_produce, topic_for_produce
from core.auth import Principal
from core.db import Expectation, ExpectationFailed
from core.errors import NotFound
from core.jsonutil import loads
from tests.broker.test_concurrency import assert_log_is_dense_and_ordered, produce_from_processes, produce_from_threads

pytestmark = pytest.mark.django_db(transaction=True)
ADMIN = Principal(scopes=frozenset({"admin"}))


def _socket_path() -> str:
    """Where workers look for the writer: beside the SQLite file; on PostgreSQL a path of our own."""
    path = socket_path_for(str(connection.settings_dict["NAME"])) if connection.vendor == "sqlite" else None
    return path or os.path.join(tempfile.mkdtemp(prefix="eventline-writer-"), "append.sock")


@pytest.fixture
def writer(monkeypatch) -> Iterator[AppendWriter]:
    """A writer serving on its socket, and this process's workers pointed at it."""
    path = _socket_path()
    log = get_log()
    assert isinstance(log, SQLLog)
    served = log.serve_as_writer(path)

    def serve() -> None:
        try:
            served.serve()
        finally:
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert served.ready.wait(5)
    client = AppendWriterClient(path)
    monkeypatch.setattr("broker.log.sql.writer_client", lambda: client)
    yield served
    served.stop()
    thread.join(5)
    assert not thread.is_alive()


def _payloads(topic: str) -> list[tuple[int, int, dict]]:
    return [
        (partition, offset, loads(payload))
        for partition, offset, payload in Event.objects.filter(topic__name=topic)
        .order_by("partition", "offset")
        .values_list("partition", "offset", "payload")
    ]


def test_appends_go_through_the_writer_and_read_back_as_appended(writer, api, make_topic):
    make_topic("orders", partitions=2)
    first = api.post(
        "/api/v1/topics/orders/events",
        [{"partition": 1, "data": {"n": 1}}, {"partition": 0, "data": {"n": 2}}, {"partition": 1, "data": {"n": 3}}],
        content_type="application/cloudevents-batch+json",
    )
    second = api.post("/api/v1/topics/orders/events", {"partition": 1, "data": {"n": "ü €"}})
    assert first.status_code == second.status_code == 200
    assert writer.requests_served == 2
    assert [(e["partition"], e["offset"]) for e in first.json()["events"]] == [(1, 0), (0, 0), (1, 1)]
    assert [(e["partition"], e["offset"]) for e in second.json()["events"]] == [(1, 2)]
    stored = _payloads("orders")
    assert [(p, o, body["topic"], body["partition"], body["offset"], body["data"]["n"]) for p, o, body in stored] == [
        (0, 0, "orders", 0, 0, 2),
        (1, 0, "orders", 1, 0, 1),
        (1, 1, "orders", 1, 1, 3),
        (1, 2, "orders", 1, 2, "ü €"),
    ]
    read = api.get("/api/v1/topics/orders/partitions/1/events", offset=0).json()
    assert [e["data"]["n"] for e in read["events"]] == [1, 3, "ü €"] and read["next_offset"] == 3


def test_threads_producing_through_the_writer_get_dense_offsets_and_keep_key_order(writer, make_topic):
    make_topic("busy", partitions=2)
    produce_from_threads("busy", threads=6, batches=10)
    assert writer.requests_served == 60
    assert_log_is_dense_and_ordered("busy", 6 * 10 * 4)


def test_processes_find_the_writer_by_its_socket(writer, make_topic):
    """Producer processes look for the writer beside the database, as web workers do."""
    make_topic("busy", partitions=3)
    produce_from_processes("busy", processes=3, batches=10, size=5)
    assert_log_is_dense_and_ordered("busy", 3 * 10 * 5)
    # On SQLite the processes found the writer beside the database; on PostgreSQL there is none
    # to find (the fixture's socket is elsewhere), and they appended themselves.
    assert writer.requests_served == (30 if connection.vendor == "sqlite" else 0)


def _job(topic: str, *raw_events: dict, expect: tuple[Expectation, ...] = ()) -> _AppendJob:
    """A produce request's job as events_produce builds it (checked, rendered, partitioned)."""
    from broker.envelope import prepare_event

    target = topic_for_produce(topic)
    events = []
    for index, raw in enumerate(raw_events):
        event, errors = prepare_event(
            index, raw, default_source="tester", default_type=topic, partition_count=target.partition_count
        )
        assert event is not None, errors
        event.partition = event.partition or 0
        event.render_body(1_000, 1_000)
        events.append(event)
    return _AppendJob(target.id, topic, events, None, 1_000, expect)


def _request(job: _AppendJob) -> WriteRequest:
    """The job as the writer receives it: planned by a worker, sent as bytes, read back."""
    plan = _Plan.of([job], {})
    return WriteRequest(_Plan.from_wire(b"".join(plan.wire())), deadline=time.time() + 30)


def test_a_plan_arrives_as_it_was_sent(make_topic):
    make_topic("orders", partitions=2)
    job = _job(
        "orders",
        {"id": "a", "partition": 1, "data": {"text": "naïve ☃ 𝄞"}, "correlationid": "c-1"},
        {"id": "b", "data": '"quoted" and \\ back'},
        expect=(Expectation("1 = %s", [1], "one is one"),),
    )
    plan = _Plan.of([job], {})
    received = _Plan.from_wire(b"".join(plan.wire()))
    assert received.rows == plan.rows
    assert [bytes(body) for body in received.bodies] == plan.bodies
    assert received.bumps == plan.bumps
    assert received.flows == plan.flows
    assert [(e.condition, list(e.params), e.reason) for e in received.expect] == [("1 = %s", [1], "one is one")]
    assert received.at_ms == plan.at_ms


def test_plans_written_together_get_offsets_in_arrival_order(make_topic):
    make_topic("orders", partitions=2)
    first = _request(_job("orders", {"id": "a1", "partition": 1, "data": 1}, {"id": "a2", "partition": 0, "data": 2}))
    second = _request(_job("orders", {"id": "b1", "partition": 1, "data": 3}))
    third = _request(_job("orders", {"id": "c1", "partition": 0, "data": 4}, {"id": "c2", "partition": 1, "data": 5}))
    _write_requests([first, second, third])
    assert [r.error for r in (first, second, third)] == [None, None, None]
    topic_id = topic_for_produce("orders").id
    assert first.result == {(topic_id, 0): 1, (topic_id, 1): 1}
    assert second.result == {(topic_id, 1): 2}
    assert third.result == {(topic_id, 0): 2, (topic_id, 1): 3}
    stored = [(p, o, body["id"], body["offset"]) for p, o, body in _payloads("orders")]
    assert stored == [(0, 0, "a2", 0), (0, 1, "c1", 1), (1, 0, "a1", 0), (1, 1, "b1", 1), (1, 2, "c2", 2)]


def test_a_failing_request_fails_alone_and_the_others_are_written_once(make_topic):
    make_topic("orders")
    make_topic("doomed")
    good = _request(_job("orders", {"id": "g", "data": 1}))
    doomed = _request(_job("doomed", {"id": "d", "data": 2}))
    repeat = _request(_job("orders", {"id": "g", "data": 1}))  # the same (source, id) as `good`
    false = _request(_job("orders", {"id": "x", "data": 3}, expect=(Expectation("1 = 0", [], "never"),)))
    from broker.services.topics import topic_delete

    topic_delete(name="doomed")
    _write_requests([good, doomed, repeat, false])
    assert good.error is None and good.result is not None
    assert isinstance(doomed.error, NotFound)
    assert isinstance(repeat.error, IntegrityError)
    assert isinstance(false.error, ExpectationFailed) and false.error.reason == "never"
    assert list(Event.objects.values_list("event_id", "offset")) == [("g", 0)]


def test_the_writers_errors_reach_the_worker_as_the_same_errors(writer, make_topic):
    make_topic("orders")
    log = get_log()
    assert isinstance(log, SQLLog)
    client = writer_module.AppendWriterClient(writer.path)
    with pytest.raises(ExpectationFailed, match="never"):
        log._append_through(client, _job("orders", {"data": 1}, expect=(Expectation("1 = 0", [], "never"),)))
    from broker.services.topics import topic_delete

    job = _job("orders", {"data": 2})
    topic_delete(name="orders")
    with pytest.raises(NotFound):
        log._append_through(client, job)
    assert Event.objects.count() == 0


def test_a_repeat_is_answered_from_the_log_through_the_writer(writer, api, make_topic):
    make_topic("orders", partitions=3)
    event = {"id": "order-1", "source": "shop", "partitionkey": "k", "data": {}}
    first = api.post("/api/v1/topics/orders/events", event).json()["events"][0]
    again = api.post("/api/v1/topics/orders/events", event).json()["events"][0]
    assert first["duplicate"] is False and again["duplicate"] is True
    assert (again["partition"], again["offset"]) == (first["partition"], first["offset"])
    assert Event.objects.count() == 1


def test_a_repeat_that_reaches_the_writer_is_planned_again_and_answered_as_a_duplicate(writer, make_topic, monkeypatch):
    """Two workers that both checked before either appended: the writer refuses the second
    (the identity constraint), and its worker plans again and finds the first."""
    make_topic("orders")
    events_produce(topic_name="orders", raw_events=[{"id": "same", "source": "s", "data": 1}], principal=ADMIN)
    calls = []
    real_existing = SQLLog._existing

    def stale_first(cursor, jobs):
        calls.append(1)
        return {} if len(calls) == 1 else real_existing(cursor, jobs)

    monkeypatch.setattr(SQLLog, "_existing", staticmethod(stale_first))
    again = events_produce(topic_name="orders", raw_events=[{"id": "same", "source": "s", "data": 1}], principal=ADMIN)
    assert len(calls) == 2
    assert again[0].duplicate and (again[0].partition, again[0].offset) == (0, 0)
    assert Event.objects.count() == 1


def test_without_a_writer_listening_the_worker_appends_itself(make_topic, monkeypatch):
    make_topic("orders")
    client = AppendWriterClient(os.path.join(tempfile.mkdtemp(), "nobody.sock"))
    monkeypatch.setattr("broker.log.sql.writer_client", lambda: client)
    results = events_produce(topic_name="orders", raw_events=[{"data": 1}, {"data": 2}], principal=ADMIN)
    assert [r.offset for r in results] == [0, 1]
    assert Event.objects.count() == 2


def test_a_writer_that_goes_away_before_answering_is_503_and_says_the_outcome_is_unknown(api, make_topic, monkeypatch):
    make_topic("orders")
    path = os.path.join(tempfile.mkdtemp(), "vanishing.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def take_and_vanish() -> None:
        conn, _ = listener.accept()
        conn.recv(1 << 20)
        conn.close()

    vanisher = threading.Thread(target=take_and_vanish, daemon=True)
    vanisher.start()
    client = AppendWriterClient(path)
    monkeypatch.setattr("broker.log.sql.writer_client", lambda: client)
    response = api.post("/api/v1/topics/orders/events", {"id": "e-1", "data": 1})
    vanisher.join(5)
    listener.close()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "append_outcome_unknown"
    assert "same ids" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "frame",
    [
        b"\x00\x00\x00\x05hello",
        b"\x00\x00\x00\x00",
        b"\x00\x00\x00\x09" + bytes([writer_module.PROTOCOL_VERSION]) + b"\x00" * 8,
    ],
)
def test_an_unreadable_request_costs_its_sender_the_connection_and_no_one_else(writer, api, make_topic, frame):
    make_topic("orders")
    rogue = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    rogue.connect(writer.path)
    rogue.sendall(frame)
    rogue.settimeout(5)
    assert rogue.recv(10) == b""  # closed by the writer
    rogue.close()
    response = api.post("/api/v1/topics/orders/events", {"data": 1})
    assert response.status_code == 200 and writer.requests_served == 1


def test_a_request_in_another_protocol_version_is_refused_unwritten(writer, make_topic):
    """A writer left running across an upgrade says so, and the worker appends itself."""
    make_topic("orders")
    plan = _Plan.of([_job("orders", {"data": 1})], {})
    body = struct.pack(">Bd", writer_module.PROTOCOL_VERSION + 1, time.time() + 30) + b"".join(plan.wire())
    old = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old.connect(writer.path)
    old.sendall(struct.pack(">I", len(body)) + body)
    old.settimeout(5)
    assert writer_module._decode_outcome(writer_module._read_frame(old)) is None  # "append it yourself"
    old.close()
    assert Event.objects.count() == 0 and writer.requests_served == 0


def test_a_request_the_writer_reaches_after_its_deadline_is_not_written(writer, api, make_topic, monkeypatch):
    """The worker waits the deadline and a grace period, never less, so the writer never writes
    what its worker has already answered for."""
    make_topic("orders")
    monkeypatch.setattr(writer_module, "WRITE_WITHIN_S", -1.0)  # sent already too late
    response = api.post("/api/v1/topics/orders/events", {"id": "late", "data": 1})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "append_writer_busy"
    assert "nothing was appended" in response.json()["error"]["message"]
    assert Event.objects.count() == 0 and writer.requests_served == 1


def test_a_stopping_writer_answers_what_it_has_and_new_appends_find_no_writer(writer, make_topic):
    make_topic("orders")
    assert events_produce(topic_name="orders", raw_events=[{"data": 1}], principal=ADMIN)[0].offset == 0
    writer.stop()
    deadline = time.monotonic() + 5
    while os.path.exists(writer.path) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not os.path.exists(writer.path)  # new connections are refused at once...
    time.sleep(writer_module.DRAIN_IDLE_S + 0.3)  # ...and the open ones are closed once idle
    results = events_produce(topic_name="orders", raw_events=[{"data": 2}], principal=ADMIN)
    assert results[0].offset == 1 and writer.requests_served == 1  # appended here


def test_a_second_writer_refuses_to_take_over_a_live_one(writer):
    with pytest.raises(RuntimeError, match="already listening"):
        AppendWriter(writer.path, _write_requests).serve()
    assert os.path.exists(writer.path)


def test_the_writer_command_is_for_sqlite_only():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    if connection.vendor == "sqlite":
        assert (
            socket_path_for(str(connection.settings_dict["NAME"]))
            == str(connection.settings_dict["NAME"]) + ".append.sock"
        )
        assert socket_path_for(":memory:") is None
        # Too long to bind a Unix socket to: no writer, each worker appends itself.
        assert socket_path_for("/var/" + "x" * 120 + "/eventline.sqlite3") is None
    else:
        with pytest.raises(CommandError, match="for SQLite"):
            call_command("run_append_writer")


def test_the_socket_is_for_this_user_only(writer):
    assert Path(writer.path).stat().st_mode & 0o777 == 0o600
