"""One contract for HTTP consumer groups, run on both backends (issue 17): on SQL the broker's own
coordinator, on Kafka real Kafka groups held by the consumer host. Only what the API promises is
asserted (generations move on, not their numbers; offsets increase, not densely): assignment of
every partition, per-key order, commits a new member resumes from, rebalances that fence a stale
member with 409, leaving, and seeking. tests/broker/test_groups_api.py has the SQL coordinator's
inner workings, tests/broker/test_groups_on_kafka.py what only Kafka has (native members)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.django_db

TOPICS = "/api/v1/topics"


@pytest.fixture(params=["sql", "kafka"])
def backend(request: pytest.FixtureRequest, unique: str) -> Iterator[str]:
    if request.param == "kafka":
        request.getfixturevalue("host")
    yield request.param


def _wait(condition: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = condition()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


class Group:
    def __init__(self, api: Any, name: str) -> None:
        self.api, self.name = api, name

    def join(self, topic: str, **extra: Any) -> dict[str, Any]:
        response = self.api.post(f"/api/v1/groups/{self.name}/members", {"topics": [topic], **extra})
        assert response.status_code == 200, response.content
        return dict(response.json())

    def member_path(self, member: dict[str, Any], suffix: str = "") -> str:
        return f"/api/v1/groups/{self.name}/members/{member['member_id']}{suffix}"

    def fetch(self, member: dict[str, Any], wait_ms: int = 0) -> Any:
        return self.api.get(self.member_path(member, "/events"), max_wait_ms=wait_ms)

    def fetch_all(self, member: dict[str, Any], want: int) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + 20
        while len(events) < want and time.monotonic() < deadline:
            response = self.fetch(member, wait_ms=500)
            assert response.status_code == 200, response.content
            events += response.json()["events"]
        return events

    def heartbeat(self, member: dict[str, Any]) -> dict[str, Any]:
        response = self.api.post(self.member_path(member, "/heartbeat"))
        assert response.status_code == 200, response.content
        return dict(response.json())

    def commit(self, member: dict[str, Any], generation: int, offsets: list[tuple[str, int, int]]) -> Any:
        body = {
            "member_id": member["member_id"],
            "generation": generation,
            "offsets": [{"topic": t, "partition": p, "offset": o} for t, p, o in offsets],
        }
        return self.api.post(f"/api/v1/groups/{self.name}/offsets", body)


def _topic(api: Any, name: str, partitions: int, events: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    assert api.post(TOPICS, {"name": name, "partitions": partitions}).status_code == 201
    if not events:
        return []
    response = api.post(f"{TOPICS}/{name}/events", events)
    assert response.status_code == 200, response.content
    return list(response.json()["events"])


def _pairs(assignment: list[dict[str, Any]]) -> set[tuple[str, int]]:
    return {(item["topic"], item["partition"]) for item in assignment}


def test_a_lone_member_gets_every_partition_and_reads_each_key_in_order(api: Any, backend: str, unique: str) -> None:
    topic = f"{unique}-orders"
    _topic(api, topic, 3, [{"key": f"k{n % 5}", "data": {"n": n}} for n in range(30)])
    group = Group(api, f"{unique}-g")
    member = group.join(topic, auto_offset_reset="earliest")
    assert _pairs(member["assignment"]) == {(topic, p) for p in range(3)}
    events = group.fetch_all(member, 30)
    assert sorted(e["data"]["n"] for e in events) == list(range(30))
    for key in {e["key"] for e in events}:
        ns = [e["data"]["n"] for e in events if e["key"] == key]
        assert ns == sorted(ns), f"key {key} out of order"


def test_a_new_member_resumes_from_the_commit(api: Any, backend: str, unique: str) -> None:
    topic = f"{unique}-orders"
    _topic(api, topic, 1, [{"data": {"n": n}} for n in range(10)])
    group = Group(api, f"{unique}-g")
    member = group.join(topic, auto_offset_reset="earliest")
    events = group.fetch_all(member, 10)
    assert group.commit(member, member["generation"], [(topic, 0, events[5]["offset"] + 1)]).status_code == 200
    listed = api.get(f"/api/v1/groups/{group.name}/offsets").json()["offsets"]
    assert [(row["topic"], row["partition"], row["offset"]) for row in listed] == [(topic, 0, events[5]["offset"] + 1)]
    assert api.delete(group.member_path(member)).status_code == 204
    successor = group.join(topic, auto_offset_reset="earliest")
    assert [e["data"]["n"] for e in group.fetch_all(successor, 4)] == [6, 7, 8, 9]


def test_a_second_member_rebalances_the_group_and_fences_the_first_until_it_hears_of_it(
    api: Any, backend: str, unique: str
) -> None:
    topic = f"{unique}-orders"
    _topic(api, topic, 2)
    group = Group(api, f"{unique}-g")
    first = group.join(topic, client_id="a")
    second = group.join(topic, client_id="b")
    stale = _wait(lambda: (r := group.fetch(first)).status_code == 409 and r)
    assert stale and stale.json()["error"]["code"] == "stale_generation"
    assert group.commit(first, first["generation"], [(topic, 0, 0)]).status_code == 409
    beat = _wait(lambda: (b := group.heartbeat(first))["assignment"] and b)
    assert beat["generation"] > first["generation"]
    second_now = group.heartbeat(second)
    mine, theirs = _pairs(beat["assignment"]), _pairs(second_now["assignment"])
    assert mine | theirs == {(topic, 0), (topic, 1)} and not mine & theirs, "the partitions are shared out"
    assert group.fetch(first).status_code == 200


def test_leaving_hands_the_partitions_to_the_member_that_stays(api: Any, backend: str, unique: str) -> None:
    topic = f"{unique}-orders"
    _topic(api, topic, 2)
    group = Group(api, f"{unique}-g")
    staying = group.join(topic)
    leaving = group.join(topic)
    assert api.delete(group.member_path(leaving)).status_code == 204
    assert _wait(lambda: len(group.heartbeat(staying)["assignment"]) == 2)
    assert group.fetch(leaving).status_code == 404


def test_seek_moves_the_member_to_an_offset_and_back_to_the_beginning(api: Any, backend: str, unique: str) -> None:
    topic = f"{unique}-orders"
    _topic(api, topic, 1, [{"data": {"n": n}} for n in range(6)])
    group = Group(api, f"{unique}-g")
    member = group.join(topic, auto_offset_reset="earliest")
    events = group.fetch_all(member, 6)
    seek = group.member_path(member, "/seek")
    moved = api.post(seek, {"topic": topic, "partition": 0, "to": {"offset": events[4]["offset"]}})
    assert moved.status_code == 200 and moved.json()["position"] == events[4]["offset"]
    assert [e["data"]["n"] for e in group.fetch_all(member, 2)] == [4, 5]
    assert api.post(seek, {"topic": topic, "partition": 0, "to": "beginning"}).status_code == 200
    assert [e["data"]["n"] for e in group.fetch_all(member, 6)] == list(range(6))


@pytest.mark.parametrize(
    ("offset", "field"),
    [
        ({"topic": "nope", "partition": 0, "offset": 0}, "topic"),
        ({"partition": 0, "offset": 0}, "topic"),
        ({"topic": "TOPIC", "partition": 9, "offset": 0}, "partition"),
        ({"topic": "TOPIC", "partition": True, "offset": 0}, "partition"),
        ({"topic": "TOPIC", "partition": 0, "offset": -1}, "offset"),
        ({"topic": "TOPIC", "partition": 0, "offset": "5"}, "offset"),
        ({"topic": "TOPIC", "partition": 0, "offset": 0, "metadata": 7}, "metadata"),
        ({"topic": "TOPIC", "partition": 0, "offset": 0, "metadata": "x" * 4097}, "metadata"),
    ],
)
def test_bad_offsets_are_422_naming_the_field_and_nothing_is_committed(
    api: Any, backend: str, unique: str, offset: dict[str, Any], field: str
) -> None:
    topic = f"{unique}-orders"
    _topic(api, topic, 1, [{"data": {"n": n}} for n in range(2)])
    group = Group(api, f"{unique}-g")
    member = group.join(topic)
    assert group.commit(member, member["generation"], []).status_code == 422, "an empty list commits nothing"
    bad = {key: topic if value == "TOPIC" else value for key, value in offset.items()}
    body = {
        "member_id": member["member_id"],
        "generation": member["generation"],
        "offsets": [{"topic": topic, "partition": 0, "offset": 1}, bad],
    }
    refused = api.post(f"/api/v1/groups/{group.name}/offsets", body)
    assert refused.status_code == 422, refused.content
    [error] = refused.json()["error"]["details"]["errors"]
    assert (error["index"], error["field"]) == (1, field)
    assert api.get(f"/api/v1/groups/{group.name}/offsets").json()["offsets"] == [], "nothing was committed"
