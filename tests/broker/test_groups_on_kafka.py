"""HTTP consumer groups on BROKER_BACKEND=kafka (issue 17): members are Kafka consumers held by
the consumer host (broker.consumer_host); commits live in Kafka, where native clients and
`kafka-consumer-groups.sh` see them; a native consumer and HTTP members share a group; a member
on an old generation gets 409. A real Kafka (KAFKA_BOOTSTRAP_SERVERS; `.ci/run` starts one)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from broker.consumer_host import Host

pytestmark = pytest.mark.django_db

KAFKA_BOOTSTRAP_SERVERS = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
TOPICS = "/api/v1/topics"
ROOT = Path(__file__).resolve().parents[2]


def _topic(api: Any, name: str, partitions: int, events: int = 0) -> None:
    assert api.post(TOPICS, {"name": name, "partitions": partitions}).status_code == 201
    if events:
        batch = [{"data": {"n": n}, "key": f"k{n}"} for n in range(events)]
        assert api.post(f"{TOPICS}/{name}/events", batch).status_code == 200


def _join(api: Any, group: str, topics: list[str], **extra: Any) -> dict[str, Any]:
    response = api.post(f"/api/v1/groups/{group}/members", {"topics": topics, **extra})
    assert response.status_code == 200, response.content
    return dict(response.json())


def _fetch(api: Any, group: str, member: dict[str, Any], **params: Any) -> Any:
    params.setdefault("max_wait_ms", 2000)
    return api.get(f"/api/v1/groups/{group}/members/{member['member_id']}/events", **params)


def _fetch_all(api: Any, group: str, member: dict[str, Any], want: int) -> list[dict[str, Any]]:
    """Fetches until `want` events came (a Kafka transaction is readable a few ms after produce)."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while len(events) < want and time.monotonic() < deadline:
        response = _fetch(api, group, member)
        assert response.status_code == 200, response.content
        events += response.json()["events"]
    return events


def _committed(group: str, topic: str, partitions: int) -> list[int]:
    consumer = Consumer({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS, "group.id": group})
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return [tp.offset for tp in found]
    finally:
        consumer.close()


def _wait(condition: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_an_http_member_is_a_kafka_member_and_its_commits_live_in_kafka(
    api: Any, host: Host, unique: str, cluster: AdminClient
) -> None:
    topic, group = f"{unique}-orders", f"{unique}-billing"
    _topic(api, topic, 2, events=10)
    member = _join(api, group, [topic], auto_offset_reset="earliest", client_id="billing-1")
    assert member["assignment"] == [{"topic": topic, "partition": 0}, {"topic": topic, "partition": 1}]
    assert member["generation"] >= 1 and member["member_id"].startswith("billing-1-")

    # Kafka's coordinator knows the member by the same id.
    [described] = cluster.describe_consumer_groups([group], request_timeout=10).values()
    assert [m.member_id for m in described.result(timeout=10).members] == [member["member_id"]]

    events = _fetch_all(api, group, member, 10)
    assert sorted(e["data"]["n"] for e in events) == list(range(10))
    ends = {p: max(e["offset"] for e in events if e["partition"] == p) + 1 for p in (0, 1)}
    commit = {
        "member_id": member["member_id"],
        "generation": member["generation"],
        "offsets": [{"topic": topic, "partition": p, "offset": ends[p]} for p in (0, 1)],
    }
    assert api.post(f"/api/v1/groups/{group}/offsets", commit).status_code == 200
    assert _committed(group, topic, 2) == [ends[0], ends[1]], "a native client reads the commits from Kafka"
    listed = api.get(f"/api/v1/groups/{group}/offsets").json()["offsets"]
    assert [(row["partition"], row["offset"]) for row in listed] == [(0, ends[0]), (1, ends[1])]
    assert all(row["log_end_offset"] >= row["offset"] for row in listed)

    detail = api.get(f"/api/v1/groups/{group}").json()
    assert detail["state"] == "Stable" and detail["members"][0]["http_member"] is True
    assert group in [g["name"] for g in api.get("/api/v1/groups").json()["results"]]

    assert api.delete(f"/api/v1/groups/{group}").status_code == 409, "it has a member"
    assert api.delete(f"/api/v1/groups/{group}/members/{member['member_id']}").status_code == 204
    assert _fetch(api, group, member, max_wait_ms=0).status_code == 404
    assert api.delete(f"/api/v1/groups/{group}").status_code == 204
    assert _committed(group, topic, 2) == [-1001, -1001], "deleting the group deleted its offsets in Kafka"


def test_a_native_consumer_shares_the_group_and_the_rebalance_fences_the_http_member(
    api: Any, host: Host, unique: str
) -> None:
    topic, group = f"{unique}-orders", f"{unique}-shared"
    _topic(api, topic, 2)
    member = _join(api, group, [topic], auto_offset_reset="earliest")
    assert len(member["assignment"]) == 2

    native = Consumer({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS, "group.id": group, "session.timeout.ms": 6000})
    native.subscribe([topic])
    try:
        assert _wait(lambda: native.poll(0.1) is None and len(native.assignment()) == 1)
        stale = _fetch(api, group, member, max_wait_ms=0)
        assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_generation"
        old_commit = {
            "member_id": member["member_id"],
            "generation": member["generation"],
            "offsets": [{"topic": topic, "partition": 0, "offset": 0}],
        }
        assert api.post(f"/api/v1/groups/{group}/offsets", old_commit).status_code == 409
        beat = api.post(f"/api/v1/groups/{group}/members/{member['member_id']}/heartbeat").json()
        assert beat["rebalance_in_progress"] is True and beat["generation"] > member["generation"]
        [(native_tp)] = [(tp.topic, tp.partition) for tp in native.assignment()]
        assert [(a["topic"], a["partition"]) for a in beat["assignment"]] == [
            (topic, p) for p in (0, 1) if (topic, p) != native_tp
        ]
        assert _fetch(api, group, member, max_wait_ms=0).status_code == 200
        detail = api.get(f"/api/v1/groups/{group}").json()
        assert sorted(m["http_member"] for m in detail["members"]) == [False, True]
    finally:
        native.close()
    # The native consumer left: the HTTP member gets both partitions back at its next heartbeat.
    assert _wait(
        lambda: (
            len(api.post(f"/api/v1/groups/{group}/members/{member['member_id']}/heartbeat").json()["assignment"]) == 2
        )
    )


def test_seek_moves_the_member_to_an_offset_a_time_the_beginning_and_the_end(api: Any, host: Host, unique: str) -> None:
    topic, group = f"{unique}-orders", f"{unique}-seek"
    _topic(api, topic, 1, events=6)
    member = _join(api, group, [topic], auto_offset_reset="earliest")
    first = _fetch_all(api, group, member, 6)
    path = f"/api/v1/groups/{group}/members/{member['member_id']}/seek"

    sought = api.post(path, {"topic": topic, "partition": 0, "to": {"offset": first[3]["offset"]}})
    assert sought.status_code == 200 and sought.json()["position"] == first[3]["offset"]
    assert [e["data"]["n"] for e in _fetch_all(api, group, member, 3)] == [3, 4, 5]

    assert api.post(path, {"topic": topic, "partition": 0, "to": "beginning"}).json()["position"] == 0
    assert [e["data"]["n"] for e in _fetch_all(api, group, member, 6)] == list(range(6))

    by_time = api.post(path, {"topic": topic, "partition": 0, "to": {"timestamp": first[2]["timestamp"]}})
    assert by_time.json()["position"] <= first[2]["offset"]
    assert _fetch_all(api, group, member, 4)[-1]["data"]["n"] == 5

    assert api.post(path, {"topic": topic, "partition": 0, "to": "end"}).status_code == 200
    assert _fetch(api, group, member, max_wait_ms=200).json()["events"] == []
    assert api.post(path, {"topic": topic, "partition": 0, "to": "sideways"}).status_code == 422
    assert api.post(path, {"topic": topic, "partition": 5, "to": "end"}).status_code == 409  # not assigned


def test_a_member_past_its_session_is_closed_and_the_other_takes_its_partitions(
    api: Any, host: Host, unique: str
) -> None:
    topic, group = f"{unique}-orders", f"{unique}-expiry"
    _topic(api, topic, 2)
    quiet = _join(api, group, [topic], session_timeout_ms=1000)
    lively = _join(api, group, [topic], session_timeout_ms=60000)
    beat = f"/api/v1/groups/{group}/members/{lively['member_id']}/heartbeat"
    assert _wait(lambda: len(api.post(beat).json()["assignment"]) == 2), "the quiet member's partitions came over"
    refused = _fetch(api, group, quiet, max_wait_ms=0)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "unknown_member"


def test_only_the_key_that_joined_acts_as_the_member(api: Any, make_api: Any, host: Host, unique: str) -> None:
    topic, group = f"{unique}-orders", f"{unique}-owned"
    _topic(api, topic, 1)
    member = _join(api, group, [topic])
    other = make_api(f"group:{group}", f"consume:{topic}", service="intruder")
    refused = _fetch(other, group, member, max_wait_ms=0)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "member_of_another_key"
    no_scope = make_api(f"consume:{topic}", service="stranger")
    assert _fetch(no_scope, group, member, max_wait_ms=0).status_code == 403


def test_the_python_client_consumes_and_commits_through_kafka(
    api: Any, host: Host, unique: str, live_server: Any, make_api: Any
) -> None:
    from eventline.client import Consumer as EventlineConsumer

    topic, group = f"{unique}-orders", f"{unique}-client"
    _topic(api, topic, 3, events=30)
    from core.services import api_key_create

    _, key = api_key_create(service_name="client-svc", scopes=[f"consume:{topic}", f"group:{group}"])
    consumer = EventlineConsumer(live_server.url, key, group, auto_offset_reset="earliest", heartbeat_interval_ms=500)
    consumer.subscribe([topic])
    seen: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while len(seen) < 30 and time.monotonic() < deadline:
            seen += [event.data["n"] for event in consumer.poll(timeout=1.0)]
        consumer.commit()
    finally:
        consumer.close()
    assert sorted(seen) == list(range(30))
    committed = _committed(group, topic, 3)
    # The next offset after each partition's last event (the log end is past the commit marker).
    ends = [
        api.get(f"{TOPICS}/{topic}/partitions/{p}/events", offset=0).json()["events"][-1]["offset"] + 1
        for p in range(3)
    ]
    assert committed == ends, "every event was committed in Kafka"


def test_retries_and_resets_say_they_run_on_the_sql_backend(api: Any, host: Host, unique: str) -> None:
    topic, group = f"{unique}-orders", f"{unique}-nack"
    _topic(api, topic, 1)
    member = _join(api, group, [topic])
    nack = api.post(
        f"/api/v1/groups/{group}/members/{member['member_id']}/nack", {"topic": topic, "partition": 0, "offset": 0}
    )
    assert nack.status_code == 501 and nack.json()["error"]["code"] == "not_on_backend"
    assert api.post(f"/api/v1/groups/{group}/offsets/reset", {"topic": topic, "to": "earliest"}).status_code == 501


def test_without_the_consumer_host_the_member_api_answers_503(api: Any, on_kafka: Path, unique: str) -> None:
    topic = f"{unique}-orders"
    _topic(api, topic, 1)
    response = api.post(f"/api/v1/groups/{unique}-g/members", {"topics": [topic]})
    assert response.status_code == 503 and response.json()["error"]["code"] == "consumer_host_unavailable"
    assert "run_consumer_host" in response.json()["error"]["message"]


def test_after_the_host_restarts_members_rejoin_and_resume_from_the_commit(
    api: Any, on_kafka: Path, unique: str
) -> None:
    """The host as `make run` starts it, a process of its own: a restart forgets its members
    (404 unknown_member); the rejoined member reads on from the group's commit in Kafka."""
    topic, group = f"{unique}-orders", f"{unique}-restart"
    _topic(api, topic, 1, events=10)

    def start() -> subprocess.Popen[bytes]:
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": KAFKA_BOOTSTRAP_SERVERS, "BROKER_BACKEND": "kafka"}
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_consumer_host", "--socket", str(on_kafka)], cwd=ROOT, env=env
        )
        assert _wait(on_kafka.exists, 30), "the host listens"
        return process

    process = start()
    try:
        member = _join(api, group, [topic], auto_offset_reset="earliest")
        events = _fetch_all(api, group, member, 10)
        commit = {
            "member_id": member["member_id"],
            "generation": member["generation"],
            "offsets": [{"topic": topic, "partition": 0, "offset": events[4]["offset"] + 1}],
        }
        assert api.post(f"/api/v1/groups/{group}/offsets", commit).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert not on_kafka.exists(), "the socket is removed on the way out"
        process = start()
        gone = _fetch(api, group, member, max_wait_ms=0)
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_member"
        rejoined = _join(api, group, [topic], auto_offset_reset="earliest")
        assert [e["data"]["n"] for e in _fetch_all(api, group, rejoined, 5)] == [5, 6, 7, 8, 9]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
