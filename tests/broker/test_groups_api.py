"""Consumer groups over HTTP: join, assignment, rebalancing and fencing, fetch, commit, seek, reset."""

import pytest

from broker.models import ConsumerGroup, GroupActivity, GroupMember

pytestmark = pytest.mark.django_db


def join(api, group="g", topics=("orders",), **extra):
    response = api.post(f"/api/v1/groups/{group}/members", {"topics": list(topics), **extra})
    assert response.status_code == 200, response.content
    return response.json()


def fetch(api, member, group="g", **params):
    params.setdefault("max_wait_ms", 0)
    return api.get(f"/api/v1/groups/{group}/members/{member['member_id']}/events", **params)


def produce(api, topic="orders", n=1, **fields):
    return api.post(f"/api/v1/topics/{topic}/events", [{"data": i, **fields} for i in range(n)]).json()["events"]


def test_first_member_gets_every_partition_and_the_group_is_stable_once_it_calls_again(api, make_topic):
    make_topic("orders", partitions=3)
    member = join(api)
    assert member["generation"] == 1
    assert member["assignment"] == [{"topic": "orders", "partition": p} for p in range(3)]
    assert member["state"] == "CompletingRebalance", "assignment handed over, not yet confirmed"
    assert api.get("/api/v1/groups/g").json()["state"] == "CompletingRebalance"
    beat = api.post(f"/api/v1/groups/g/members/{member['member_id']}/heartbeat").json()
    assert beat["rebalance_in_progress"] is False and beat["state"] == "Stable"
    assert api.get("/api/v1/groups/g").json()["state"] == "Stable"


def test_a_rebalance_goes_through_every_kafka_state(api, make_topic):
    make_topic("orders", partitions=2)
    first = join(api, client_id="a")
    assert fetch(api, first).status_code == 200  # a fetch confirms the assignment too
    assert api.get("/api/v1/groups/g").json()["state"] == "Stable"
    second = join(api, client_id="b")
    assert api.get("/api/v1/groups/g").json()["state"] == "PreparingRebalance", "first is on generation 1"
    api.post(f"/api/v1/groups/g/members/{first['member_id']}/heartbeat")
    assert api.get("/api/v1/groups/g").json()["state"] == "CompletingRebalance", "both on 2, neither confirmed"
    assert fetch(api, first).status_code == 200
    assert api.get("/api/v1/groups/g").json()["state"] == "CompletingRebalance", "second has not confirmed"
    api.post(f"/api/v1/groups/g/members/{second['member_id']}/heartbeat")
    assert api.get("/api/v1/groups/g").json()["state"] == "Stable"
    for member in (first, second):
        api.delete(f"/api/v1/groups/g/members/{member['member_id']}")
    assert api.get("/api/v1/groups/g").json()["state"] == "Empty"
    assert api.delete("/api/v1/groups/g").status_code == 204
    assert api.get("/api/v1/groups/g").json()["state"] == "Dead"


def test_a_second_member_rebalances_with_the_range_layout_and_fences_the_first(api, make_topic):
    make_topic("orders", partitions=3)
    first = join(api, client_id="a")
    second = join(api, client_id="b")
    assert second["generation"] == 2
    assert api.get("/api/v1/groups/g").json()["state"] == "PreparingRebalance"
    stale = fetch(api, first)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_generation"
    assert "rejoin" in stale.json()["error"]["message"]
    beat = api.post(f"/api/v1/groups/g/members/{first['member_id']}/heartbeat").json()
    assert beat["rebalance_in_progress"] is True and beat["generation"] == 2
    ordered = sorted([first["member_id"], second["member_id"]])
    layouts = {first["member_id"]: beat["assignment"], second["member_id"]: second["assignment"]}
    assert layouts[ordered[0]] == [{"topic": "orders", "partition": 0}, {"topic": "orders", "partition": 1}]
    assert layouts[ordered[1]] == [{"topic": "orders", "partition": 2}]
    assert api.get("/api/v1/groups/g").json()["state"] == "CompletingRebalance"
    assert fetch(api, first).status_code == 200
    assert fetch(api, second).status_code == 200
    assert api.get("/api/v1/groups/g").json()["state"] == "Stable"


def test_leaving_rebalances_and_the_last_leave_empties_the_group(api, make_topic):
    make_topic("orders", partitions=2)
    first, second = join(api), join(api)
    assert api.delete(f"/api/v1/groups/g/members/{second['member_id']}").status_code == 204
    beat = api.post(f"/api/v1/groups/g/members/{first['member_id']}/heartbeat").json()
    assert beat["generation"] == 3 and len(beat["assignment"]) == 2
    api.delete(f"/api/v1/groups/g/members/{first['member_id']}")
    described = api.get("/api/v1/groups/g").json()
    assert described["state"] == "Empty" and described["members"] == [] and described["generation"] == 4


def test_an_expired_session_removes_the_member(api, make_topic):
    from broker.services.groups import group_expire_members
    from core.timeutil import now_ms

    make_topic("orders", partitions=2)
    first = join(api, session_timeout_ms=1000)
    second = join(api, session_timeout_ms=60000)
    GroupMember.objects.filter(member_id=first["member_id"]).update(last_seen_ms=now_ms() - 5000)
    assert group_expire_members() == 1
    assert list(GroupMember.objects.values_list("member_id", flat=True)) == [second["member_id"]]
    assert fetch(api, first).status_code == 404
    beat = api.post(f"/api/v1/groups/g/members/{second['member_id']}/heartbeat").json()
    assert len(beat["assignment"]) == 2


def test_a_fetch_expires_a_member_past_its_session_and_is_fenced_by_the_rebalance(api, make_topic):
    from core.timeutil import now_ms

    make_topic("orders", partitions=2)
    first = join(api, session_timeout_ms=1000)
    second = join(api, session_timeout_ms=60000)
    api.post(f"/api/v1/groups/g/members/{first['member_id']}/heartbeat")
    GroupMember.objects.filter(member_id=first["member_id"]).update(last_seen_ms=now_ms() - 5000)
    refused = fetch(api, second)
    assert refused.status_code == 409, "the fetch rebalanced the group under itself"
    assert list(GroupMember.objects.values_list("member_id", flat=True)) == [second["member_id"]]
    beat = api.post(f"/api/v1/groups/g/members/{second['member_id']}/heartbeat").json()
    assert beat["generation"] == 3 and len(beat["assignment"]) == 2
    assert fetch(api, second).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_rebalance_landing_during_a_fetch_refuses_it_and_records_nothing(api, make_topic, monkeypatch):
    """The fence is checked in the transaction that stores the fetch (its last round trip on
    PostgreSQL, with the COMMIT): a generation moved on meanwhile rolls the whole record back."""
    from broker.services import fetch as fetch_service

    make_topic("orders", partitions=1)
    member = join(api)
    produce(api, n=3)
    start_positions = fetch_service._start_positions

    def rebalance_meanwhile(group, *args):
        cursors = start_positions(group, *args)
        ConsumerGroup.objects.filter(pk=group.pk).update(generation=group.generation + 1)
        return cursors

    monkeypatch.setattr(fetch_service, "_start_positions", rebalance_meanwhile)
    activity_before = GroupActivity.objects.count()
    refused = fetch(api, member)
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["generation"] == member["generation"] + 1
    assert GroupActivity.objects.count() == activity_before, "no fetch was logged"
    assert not ConsumerGroup.objects.get(name="g").partitions.exclude(position=None).exists(), "no position stored"


def test_a_members_next_fetch_reads_ahead_with_the_member_query_unless_its_position_moved(api, make_topic, monkeypatch):
    """The second fetch in this process reads the partition from where the first left it in the
    same round trip as the member query (no separate read); after a seek it reads again."""
    from broker.log.sql import SQLLog

    make_topic("orders")
    member = join(api, auto_offset_reset="earliest")
    produce(api, n=3)
    assert [e["offset"] for e in fetch(api, member).json()["events"]] == [0, 1, 2]
    produce(api, n=2)
    separate_reads = []
    read = SQLLog.read

    def counted(self, **kwargs):
        separate_reads.append(kwargs["offset"])
        return read(self, **kwargs)

    monkeypatch.setattr(SQLLog, "read", counted)
    assert [e["offset"] for e in fetch(api, member).json()["events"]] == [3, 4]
    assert separate_reads == []
    seek = {"topic": "orders", "partition": 0, "to": {"offset": 1}}
    assert api.post(f"/api/v1/groups/g/members/{member['member_id']}/seek", seek).status_code == 200
    assert [e["offset"] for e in fetch(api, member).json()["events"]] == [1, 2, 3, 4]
    assert separate_reads == [1], "the read ahead from offset 5 was not used after the seek"


def _statements_per_fetch(api, member, **params):
    """The fetch's response and the statements it sent to the database for the fetch itself
    (one execute is one round trip on PostgreSQL); the API key's lookup is not counted."""
    from django.db import connection

    calls = []

    def counted(execute, sql, params_, many, context):
        if "core_apikey" not in sql:
            calls.append(sql)
        return execute(sql, params_, many, context)

    with connection.execute_wrapper(counted):
        response = fetch(api, member, **params)
    assert response.status_code == 200, response.content
    return response.json()["events"], calls


@pytest.mark.django_db(transaction=True)
def test_a_members_next_fetch_reads_and_records_in_one_round_trip_on_postgresql(api, make_topic):
    """A member of one partition, fetching again in this process: PostgreSQL reads the partition
    from where it was left and records the fetch (position, fetch log, flow count) in one
    statement batch. The outcome is the one the ordinary path gives, on either database."""
    from django.db import connection

    from broker.models import FlowStat

    make_topic("orders")
    member = join(api, auto_offset_reset="earliest")
    produce(api, n=3)
    assert [e["offset"] for e in fetch(api, member).json()["events"]] == [0, 1, 2]
    produce(api, n=1)
    assert [e["offset"] for e in fetch(api, member).json()["events"]] == [3]  # prepares, once per session
    produce(api, n=2)
    events, trips = _statements_per_fetch(api, member)
    assert [e["offset"] for e in events] == [4, 5]
    if connection.vendor == "postgresql":
        assert len(trips) == 1 and trips[0].startswith("BEGIN") and trips[0].endswith("COMMIT"), trips
    group = ConsumerGroup.objects.get(name="g")
    assert group.partitions.get().position == 6
    fetches = GroupActivity.objects.filter(group=group, kind=1).order_by("at_ms", "id")
    assert [(a.start_offset, a.end_offset, a.log_end_offset) for a in fetches] == [(0, 3, 3), (3, 4, 4), (4, 6, 6)]
    consumed = FlowStat.objects.filter(role=FlowStat.ROLE_CONSUME, group_id=group.pk)
    assert sum(consumed.values_list("events", flat=True)) == 6
    # Nothing new: an empty answer that moves nothing, then the next events from where it was.
    assert _statements_per_fetch(api, member)[0] == []
    produce(api, n=1)
    assert [e["offset"] for e in fetch(api, member).json()["events"]] == [6]
    assert group.partitions.get().position == 7


@pytest.mark.django_db(transaction=True)
def test_a_one_round_trip_fetch_cuts_at_max_events_and_max_bytes_as_the_ordinary_one(api, make_topic):
    make_topic("orders")
    member = join(api, auto_offset_reset="earliest")
    produce(api, n=1)
    assert len(fetch(api, member).json()["events"]) == 1
    produce(api, n=5)
    assert [e["offset"] for e in fetch(api, member, max_events=2).json()["events"]] == [1, 2]
    # At least one event, however small max_bytes is; then no more than max_bytes.
    assert [e["offset"] for e in fetch(api, member, max_bytes=1).json()["events"]] == [3]
    assert [e["offset"] for e in fetch(api, member, max_events=1).json()["events"]] == [4]
    assert [e["offset"] for e in fetch(api, member, max_bytes=10**6).json()["events"]] == [5]
    assert ConsumerGroup.objects.get(name="g").partitions.get().position == 6


@pytest.mark.django_db(transaction=True)
def test_a_fetch_after_a_seek_or_a_rebalance_elsewhere_does_not_trust_what_this_process_remembers(api, make_topic):
    """Another process (here: the database directly) moved the position or the generation since
    this process last served the member: the fetch reads from the new position, or is refused
    with 409, and records nothing it should not."""
    make_topic("orders")
    member = join(api, auto_offset_reset="earliest")
    produce(api, n=4)
    assert len(fetch(api, member).json()["events"]) == 4
    group = ConsumerGroup.objects.get(name="g")
    group.partitions.update(position=1)  # a seek served by another process
    assert [e["offset"] for e in fetch(api, member).json()["events"]] == [1, 2, 3]
    activity = GroupActivity.objects.count()
    ConsumerGroup.objects.filter(pk=group.pk).update(generation=group.generation + 1)
    refused = fetch(api, member)
    assert refused.status_code == 409, refused.content
    assert GroupActivity.objects.count() == activity, "no fetch was logged"
    assert group.partitions.get().position == 4


@pytest.mark.django_db(transaction=True)
def test_a_position_moved_after_the_guess_was_checked_fails_the_one_round_trip_fetch(api, make_topic, monkeypatch):
    """The read-and-record statement itself refuses a position that is no longer the one it read
    from: here the guess is made to pass whatever the position, as if a seek committed between
    the guess and the read; the fetch is then loaded afresh and reads from the new position."""
    from broker.services import fetch as fetch_service

    make_topic("orders")
    member = join(api, auto_offset_reset="earliest")
    produce(api, n=4)
    assert len(fetch(api, member).json()["events"]) == 4
    produce(api, n=1)
    monkeypatch.setattr(fetch_service, "_AS_LEFT", f"TRUE OR ({fetch_service._AS_LEFT})")
    group = ConsumerGroup.objects.get(name="g")
    group.partitions.update(position=2)
    assert [e["offset"] for e in fetch(api, member).json()["events"]] == [2, 3, 4]
    assert group.partitions.get().position == 5
    fetched = GroupActivity.objects.filter(group=group, kind=1).order_by("id")
    assert [(a.start_offset, a.end_offset) for a in fetched] == [(0, 4), (2, 5)], "only what was delivered is logged"


@pytest.mark.django_db(transaction=True)
def test_a_fetch_fenced_by_a_rebalance_leaves_the_member_free_to_fetch_once_it_has_synced(api, make_topic, monkeypatch):
    """An empty fetch refused because the group moved on must not leave this process with a
    member it thinks is behind: once the member has its new assignment, its fetches answer."""
    from broker.services import fetch as fetch_service

    make_topic("orders")
    make_topic("other")
    member = join(api, auto_offset_reset="earliest")
    produce(api, n=1)
    assert fetch(api, member).status_code == 200
    record = fetch_service._record_fetch

    def rebalanced_meanwhile(*args, **kwargs):
        monkeypatch.setattr(fetch_service, "_record_fetch", record)
        join(api, client_id="b", topics=("other",))  # the member keeps orders/0 in generation 2
        return record(*args, **kwargs)

    monkeypatch.setattr(fetch_service, "_record_fetch", rebalanced_meanwhile)
    refused = fetch(api, member)
    assert refused.status_code == 409 and refused.json()["error"]["details"]["generation"] == 2
    for _ in range(2):  # learn the new generation, then confirm it
        api.post(f"/api/v1/groups/g/members/{member['member_id']}/heartbeat")
    answers = [fetch(api, member) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 200], answers[0].content


@pytest.mark.django_db(transaction=True)
def test_an_empty_fetch_of_a_synced_member_takes_no_group_lock(api, make_topic):
    """Idle long polls are the steady state: they must not queue for the group's row lock with
    heartbeats, joins and commits (group_member_sync takes it, once per generation)."""
    make_topic("orders")
    member = join(api, auto_offset_reset="earliest")
    produce(api, n=1)
    assert fetch(api, member).status_code == 200  # confirms the assignment
    statements = []
    for _ in range(3):
        events, sent = _statements_per_fetch(api, member)
        assert events == []
        statements += sent
    assert not [sql for sql in statements if "FOR UPDATE" in sql or "FOR NO KEY UPDATE" in sql], statements


@pytest.mark.django_db(transaction=True)
def test_a_key_without_the_consume_scope_cannot_fetch_a_member_this_process_remembers(api, make_api, make_topic):
    make_topic("orders")
    member = join(api, auto_offset_reset="earliest")
    produce(api, n=2)
    assert len(fetch(api, member).json()["events"]) == 2
    produce(api, n=1)
    refused = fetch(make_api("consume:payments"), member)
    assert refused.status_code == 403, refused.content
    assert ConsumerGroup.objects.get(name="g").partitions.get().position == 2, "nothing was consumed"
    assert [e["offset"] for e in fetch(api, member).json()["events"]] == [2]


def test_a_member_left_without_partitions_can_keep_fetching(api, make_topic):
    """More members than partitions: the one with none gets empty fetches, again and again."""
    make_topic("orders", partitions=1)
    first, second = join(api), join(api)
    beats = {
        m["member_id"]: api.post(f"/api/v1/groups/g/members/{m['member_id']}/heartbeat").json() for m in (first, second)
    }
    [idle] = [member for member in (first, second) if not beats[member["member_id"]]["assignment"]]
    for _ in range(3):
        response = fetch(api, idle)
        assert response.status_code == 200, response.content
        assert response.json()["events"] == []


def test_roundrobin_assignor_can_be_chosen_and_mixing_assignors_is_refused(api, make_topic):
    make_topic("t0", partitions=3)
    make_topic("t1", partitions=3)
    join(api, topics=["t0", "t1"], assignor="roundrobin")
    clash = api.post("/api/v1/groups/g/members", {"topics": ["t0"], "assignor": "range"})
    assert clash.status_code == 409
    assert ConsumerGroup.objects.get(name="g").assignor == "roundrobin"


def test_a_fetch_reads_every_topic_of_a_new_assignment(api, make_topic):
    """A process guesses a member's topics from its last fetch to read positions early; an
    assignment that gained a topic since must still be read whole."""
    make_topic("t0")
    make_topic("t1")
    first = join(api, topics=["t0", "t1"], assignor="roundrobin", auto_offset_reset="earliest")
    second = join(api, topics=["t0", "t1"], assignor="roundrobin", auto_offset_reset="earliest")
    first = {**first, **api.post(f"/api/v1/groups/g/members/{first['member_id']}/heartbeat").json()}
    [only] = [a["topic"] for a in first["assignment"]]
    gained = {"t0": "t1", "t1": "t0"}[only]
    assert fetch(api, first).status_code == 200
    assert api.delete(f"/api/v1/groups/g/members/{second['member_id']}").status_code in (200, 204)
    first = {**first, **api.post(f"/api/v1/groups/g/members/{first['member_id']}/heartbeat").json()}
    assert [a["topic"] for a in first["assignment"]] == ["t0", "t1"]
    produce(api, topic=gained, n=2)
    events = fetch(api, first).json()["events"]
    assert [(event["topic"], event["offset"]) for event in events] == [(gained, 0), (gained, 1)]


def test_fetch_delivers_from_earliest_and_commit_stores_the_next_offset(api, make_topic):
    make_topic("orders")
    produce(api, n=5)
    member = join(api, auto_offset_reset="earliest")
    events = fetch(api, member, max_events=3).json()["events"]
    assert [e["offset"] for e in events] == [0, 1, 2]
    assert [e["offset"] for e in fetch(api, member).json()["events"]] == [3, 4]
    commit = api.post(
        "/api/v1/groups/g/offsets",
        {
            "member_id": member["member_id"],
            "generation": member["generation"],
            "offsets": [{"topic": "orders", "partition": 0, "offset": 5, "metadata": "done"}],
        },
    )
    assert commit.status_code == 200
    offsets = api.get("/api/v1/groups/g/offsets").json()["offsets"]
    assert offsets == [
        {
            "topic": "orders",
            "partition": 0,
            "offset": 5,
            "metadata": "done",
            "committed_time": offsets[0]["committed_time"],
            "log_end_offset": 5,
        }
    ]


def test_latest_reset_skips_the_backlog_but_delivers_what_comes_after(api, make_topic):
    make_topic("orders")
    produce(api, n=3)
    member = join(api)  # latest is the default, as in Kafka
    assert fetch(api, member).json()["events"] == []
    produce(api, n=2)
    assert [e["offset"] for e in fetch(api, member).json()["events"]] == [3, 4]


def test_a_new_member_resumes_from_the_committed_offset(api, make_topic):
    make_topic("orders")
    produce(api, n=4)
    first = join(api, auto_offset_reset="earliest")
    fetch(api, first)
    api.post(
        "/api/v1/groups/g/offsets",
        {
            "member_id": first["member_id"],
            "generation": 1,
            "offsets": [{"topic": "orders", "partition": 0, "offset": 2}],
        },
    )
    api.delete(f"/api/v1/groups/g/members/{first['member_id']}")
    second = join(api, auto_offset_reset="earliest")
    assert [e["offset"] for e in fetch(api, second).json()["events"]] == [2, 3]


def test_stale_or_foreign_commits_are_refused_and_store_nothing(api, make_topic):
    make_topic("orders", partitions=2)
    produce(api, n=2)
    first = join(api)
    join(api)
    stale = api.post(
        "/api/v1/groups/g/offsets",
        {
            "member_id": first["member_id"],
            "generation": 1,
            "offsets": [{"topic": "orders", "partition": 0, "offset": 1}],
        },
    )
    assert stale.status_code == 409
    anonymous = api.post("/api/v1/groups/g/offsets", {"offsets": [{"topic": "orders", "partition": 0, "offset": 1}]})
    assert anonymous.status_code == 409
    assert api.get("/api/v1/groups/g/offsets").json()["offsets"] == []


@pytest.mark.parametrize(
    ("offsets", "field"),
    [
        ([{"topic": "orders", "partition": 9, "offset": 0}], "partition"),
        ([{"topic": "orders", "partition": 0, "offset": 99}], "offset"),
        ([{"topic": "orders", "partition": 0, "offset": -1}], "offset"),
        ([{"topic": "nope", "partition": 0, "offset": 0}], "topic"),
        ([{"topic": "orders", "partition": 0, "offset": 1, "metadata": 5}], "metadata"),
    ],
)
def test_bad_offsets_are_422_and_nothing_is_committed(api, make_topic, offsets, field):
    make_topic("orders")
    produce(api, n=2)
    good = {"topic": "orders", "partition": 0, "offset": 1}
    response = api.post("/api/v1/groups/idle/offsets", {"offsets": [good, *offsets]})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["field"] == field
    assert response.json()["error"]["details"]["errors"][0]["index"] == 1
    assert not GroupActivity.objects.exists()


def test_seek_moves_the_position_by_offset_timestamp_beginning_and_end(api, make_topic):
    make_topic("orders")
    produced = produce(api, n=5)
    member = join(api, auto_offset_reset="earliest")
    base = f"/api/v1/groups/g/members/{member['member_id']}/seek"
    assert api.post(base, {"topic": "orders", "partition": 0, "to": {"offset": 3}}).json()["position"] == 3
    assert [e["offset"] for e in fetch(api, member).json()["events"]] == [3, 4]
    api.post(base, {"topic": "orders", "partition": 0, "to": "beginning"})
    assert fetch(api, member, max_events=1).json()["events"][0]["offset"] == 0
    api.post(base, {"topic": "orders", "partition": 0, "to": "end"})
    assert fetch(api, member).json()["events"] == []
    api.post(base, {"topic": "orders", "partition": 0, "to": {"timestamp": produced[0]["timestamp"]}})
    assert fetch(api, member, max_events=1).json()["events"][0]["offset"] == 0
    bad = api.post(base, {"topic": "orders", "partition": 0, "to": {"offset": 50}})
    assert bad.status_code == 422


def test_reset_previews_then_applies_and_is_refused_while_members_are_active(api, make_topic):
    make_topic("orders", partitions=2)
    produce(api, n=6)
    api.post("/api/v1/groups/g/offsets", {"offsets": [{"topic": "orders", "partition": 0, "offset": 1}]})
    preview = api.post("/api/v1/groups/g/offsets/reset", {"topic": "orders", "to": "latest", "dry_run": True}).json()
    assert preview["partitions"] == [
        {"topic": "orders", "partition": 0, "before": 1, "after": 3},
        {"topic": "orders", "partition": 1, "before": None, "after": 3},
    ]
    assert api.get("/api/v1/groups/g/offsets").json()["offsets"][0]["offset"] == 1
    applied = api.post(
        "/api/v1/groups/g/offsets/reset",
        {"topic": "orders", "to": {"shift_by": -2}, "partitions": [0], "dry_run": False},
    )
    assert applied.json()["partitions"] == [{"topic": "orders", "partition": 0, "before": 1, "after": 0}]
    assert api.get("/api/v1/groups/g/offsets").json()["offsets"][0]["offset"] == 0
    join(api)
    refused = api.post("/api/v1/groups/g/offsets/reset", {"topic": "orders", "to": "earliest", "dry_run": True})
    assert refused.status_code == 409


def test_every_fetch_and_commit_is_logged_per_partition(api, make_topic):
    from broker.choices import ActivityKind

    make_topic("orders", partitions=2)
    api.post(
        "/api/v1/topics/orders/events",
        [{"partition": 0, "data": 1}, {"partition": 1, "data": 2}, {"partition": 1, "data": 3}],
    )
    member = join(api, auto_offset_reset="earliest")
    fetch(api, member)
    api.post(
        "/api/v1/groups/g/offsets",
        {
            "member_id": member["member_id"],
            "generation": 1,
            "offsets": [{"topic": "orders", "partition": 1, "offset": 2}],
        },
    )
    fetches = {
        (a.partition, a.start_offset, a.end_offset) for a in GroupActivity.objects.filter(kind=ActivityKind.FETCH)
    }
    assert fetches == {(0, 0, 1), (1, 0, 2)}
    commits = [
        (a.partition, a.end_offset, a.log_end_offset) for a in GroupActivity.objects.filter(kind=ActivityKind.COMMIT)
    ]
    assert commits == [(1, 2, 2)], "a commit records the log end offset, so its lag is known later"


def test_consuming_needs_the_consume_scope_for_every_topic(make_api, make_topic):
    make_topic("orders")
    make_topic("payments")
    consumer = make_api("consume:orders", "group:g")
    refused = consumer.post("/api/v1/groups/g/members", {"topics": ["orders", "payments"]})
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["required_scope"] == "consume:payments"
    assert consumer.get("/api/v1/topics/payments/partitions/0/events").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"topics": []}, "topics"),
        ({"topics": ["orders"], "auto_offset_reset": "middle"}, "auto_offset_reset"),
        ({"topics": ["orders"], "session_timeout_ms": 10}, "session_timeout_ms"),
        ({"topics": ["orders"], "assignor": "sticky"}, "assignor"),
    ],
)
def test_bad_join_requests_are_422(api, make_topic, body, field):
    make_topic("orders")
    response = api.post("/api/v1/groups/g/members", body)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["field"] == field


def test_joining_an_unknown_topic_is_404(api):
    assert api.post("/api/v1/groups/g/members", {"topics": ["ghost"]}).status_code == 404


def test_deleting_an_empty_group_marks_it_dead_and_forgets_its_offsets(api, make_topic):
    make_topic("orders")
    produce(api, n=1)
    api.post("/api/v1/groups/g/offsets", {"offsets": [{"topic": "orders", "partition": 0, "offset": 1}]})
    assert api.delete("/api/v1/groups/g").status_code == 204
    assert api.get("/api/v1/groups/g").json()["state"] == "Dead"
    assert api.get("/api/v1/groups/g/offsets").json()["offsets"] == []


def test_group_list_shows_state_and_member_count(api, make_topic):
    make_topic("orders")
    join(api, group="a")
    join(api, group="a")
    join(api, group="b")
    results = api.get("/api/v1/groups").json()["results"]
    assert [(g["name"], g["members"]) for g in results] == [("a", 2), ("b", 1)]


def test_browse_reads_by_offset_and_reports_the_next_offset(api, make_topic):
    make_topic("orders")
    produce(api, n=5)
    page = api.get("/api/v1/topics/orders/partitions/0/events", offset=1, limit=2).json()
    assert [e["offset"] for e in page["events"]] == [1, 2]
    assert page["next_offset"] == 3 and page["end_offset"] == 5
    assert api.get("/api/v1/topics/orders/partitions/7/events").status_code == 422
    assert api.get("/api/v1/topics/orders/partitions/0/events", limit=0).status_code == 422


def test_produce_and_fetch_are_counted_as_observed_flows(make_api, make_topic):
    from broker.models import FlowStat
    from core.models import Service

    make_topic("orders")
    producer = make_api("produce:orders", service="checkout")
    consumer = make_api("consume:orders", "group:g", service="billing")
    producer.post(
        "/api/v1/topics/orders/events", [{"type": "OrderPlaced"}, {"type": "OrderPlaced"}, {"type": "OrderCancelled"}]
    )
    producer.post("/api/v1/topics/orders/events", {"id": "dup", "type": "OrderPlaced"})
    producer.post(
        "/api/v1/topics/orders/events", {"id": "dup", "type": "OrderPlaced"}
    )  # a duplicate is not a new event
    member = join(consumer, auto_offset_reset="earliest")
    fetch(consumer, member)
    produced = {(f.event_type, f.events) for f in FlowStat.objects.filter(role=FlowStat.ROLE_PRODUCE)}
    assert produced == {("OrderPlaced", 3), ("OrderCancelled", 1)}
    checkout = Service.objects.get(name="checkout")
    assert {f.service_id for f in FlowStat.objects.filter(role=FlowStat.ROLE_PRODUCE)} == {checkout.id}
    consumed = FlowStat.objects.get(role=FlowStat.ROLE_CONSUME)
    assert consumed.events == 4
    assert consumed.group_id == ConsumerGroup.objects.get(name="g").id


# -- who may use a group (Kafka's group ACLs) ----------------------------------------------------


@pytest.fixture
def payments_group(make_api, make_topic):
    """The payments service consumes `payments` in its own group, `payments-service`; its key names
    no group scope (the default: groups named after the service)."""
    make_topic("orders")
    make_topic("payments")
    owner = make_api("consume:payments", service="payments")
    member = join(owner, group="payments-service", topics=("payments",))
    return owner, member


def test_key_cannot_describe_a_group_its_scopes_do_not_name(make_api, payments_group):
    _, member = payments_group
    intruder = make_api("consume:orders*", service="orders")
    for path in ("", "/offsets"):
        refused = intruder.get(f"/api/v1/groups/payments-service{path}")
        assert refused.status_code == 403, path
        assert refused.json()["error"]["details"]["required_scope"] == "group:payments-service"
        assert member["member_id"] not in refused.content.decode()
    missing = intruder.get("/api/v1/groups/no-such-group")
    assert missing.status_code == 403, "a group the key may not use is refused whether it exists or not"


def test_key_cannot_remove_a_member_of_a_group_its_scopes_do_not_name(make_api, payments_group):
    _, member = payments_group
    intruder = make_api("consume:orders*", service="orders")
    refused = intruder.delete(f"/api/v1/groups/payments-service/members/{member['member_id']}")
    assert refused.status_code == 403
    assert GroupMember.objects.filter(member_id=member["member_id"]).exists()


def test_key_cannot_join_a_group_its_scopes_do_not_name(make_api, payments_group):
    owner, member = payments_group
    intruder = make_api("consume:*", service="orders")
    refused = intruder.post("/api/v1/groups/payments-service/members", {"topics": ["payments"]})
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["required_scope"] == "group:payments-service"
    beat = owner.post(f"/api/v1/groups/payments-service/members/{member['member_id']}/heartbeat").json()
    assert beat["generation"] == 1 and beat["assignment"] == [{"topic": "payments", "partition": 0}]


def test_key_cannot_commit_reset_or_delete_offsets_of_a_group_its_scopes_do_not_name(make_api, make_topic):
    make_topic("orders")
    admin = make_api("admin", service="ops")
    produce(admin, n=2)
    intruder = make_api("consume:orders*", service="orders")
    offsets = {"offsets": [{"topic": "orders", "partition": 0, "offset": 1}]}
    assert intruder.post("/api/v1/groups/billing/offsets", offsets).status_code == 403
    assert not ConsumerGroup.objects.filter(name="billing").exists()
    assert admin.post("/api/v1/groups/billing/offsets", offsets).status_code == 200
    reset = {"topic": "orders", "to": "earliest", "dry_run": False}
    assert intruder.post("/api/v1/groups/billing/offsets/reset", reset).status_code == 403
    assert intruder.delete("/api/v1/groups/billing").status_code == 403
    assert admin.get("/api/v1/groups/billing/offsets").json()["offsets"][0]["offset"] == 1


def test_key_cannot_heartbeat_as_member_joined_by_another_key(make_api, make_topic):
    make_topic("orders")
    owner = make_api("consume:orders", "group:billing", service="billing")
    colleague = make_api("consume:orders", "group:billing", service="billing")
    member = join(owner, group="billing")
    refused = colleague.post(f"/api/v1/groups/billing/members/{member['member_id']}/heartbeat")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "member_of_another_key"
    assert "assignment" not in refused.content.decode()


def test_key_cannot_fetch_commit_seek_leave_or_rejoin_as_member_joined_by_another_key(make_api, make_topic):
    make_topic("orders")
    owner = make_api("consume:orders", service="billing")
    colleague = make_api("consume:orders", service="billing")
    member = join(owner, group="billing", auto_offset_reset="earliest")
    produce(make_api("produce:orders"), n=2)
    path = f"/api/v1/groups/billing/members/{member['member_id']}"
    assert fetch(colleague, member, group="billing").status_code == 403
    commit = {
        "member_id": member["member_id"],
        "generation": member["generation"],
        "offsets": [{"topic": "orders", "partition": 0, "offset": 2}],
    }
    assert colleague.post("/api/v1/groups/billing/offsets", commit).status_code == 403
    seek = {"topic": "orders", "partition": 0, "to": "end"}
    assert colleague.post(f"{path}/seek", seek).status_code == 403
    rejoin = {"topics": ["orders"], "member_id": member["member_id"]}
    assert colleague.post("/api/v1/groups/billing/members", rejoin).status_code == 403
    assert colleague.delete(path).status_code == 403
    assert not GroupActivity.objects.exists(), "nothing was fetched or committed"
    assert [e["offset"] for e in fetch(owner, member, group="billing").json()["events"]] == [0, 1]
    assert owner.post("/api/v1/groups/billing/offsets", commit).status_code == 200
    assert owner.delete(path).status_code == 204


@pytest.mark.django_db(transaction=True)
def test_key_cannot_fetch_as_member_joined_by_another_key_that_this_process_remembers(make_api, make_topic):
    """The fetch that reads and records in one round trip (PostgreSQL) checks the key too."""
    make_topic("orders")
    owner = make_api("consume:orders", service="billing")
    colleague = make_api("consume:orders", service="billing")
    member = join(owner, group="billing", auto_offset_reset="earliest")
    produce(make_api("produce:orders"), n=2)
    assert len(fetch(owner, member, group="billing").json()["events"]) == 2
    produce(make_api("produce:orders"), n=1)
    assert fetch(colleague, member, group="billing").status_code == 403
    assert ConsumerGroup.objects.get(name="billing").partitions.get().position == 2, "nothing was consumed"
    assert [e["offset"] for e in fetch(owner, member, group="billing").json()["events"]] == [2]


def test_an_admin_key_may_remove_a_stuck_member_but_not_act_as_it(api, make_api, make_topic):
    make_topic("orders")
    owner = make_api("consume:orders", service="billing")
    member = join(owner, group="billing")
    path = f"/api/v1/groups/billing/members/{member['member_id']}"
    assert api.post(f"{path}/heartbeat").status_code == 403
    assert fetch(api, member, group="billing").status_code == 403
    assert api.delete(path).status_code == 204
    assert api.get("/api/v1/groups/billing").json()["members"] == []


def test_a_key_naming_no_group_scope_uses_the_groups_named_after_its_service(make_api, make_topic):
    make_topic("orders")
    billing = make_api("consume:orders", service="billing")
    for group in ("billing", "billing-service", "billing.eu", "billing_replay"):
        assert billing.post(f"/api/v1/groups/{group}/members", {"topics": ["orders"]}).status_code == 200, group
        assert billing.get(f"/api/v1/groups/{group}").status_code == 200
    for group in ("billings", "analytics-service"):
        assert billing.post(f"/api/v1/groups/{group}/members", {"topics": ["orders"]}).status_code == 403, group


def test_a_group_scope_still_needs_the_consume_scope_for_each_topic_committed(make_api, make_topic):
    make_topic("orders")
    make_topic("payments")
    key = make_api("consume:orders", "group:etl.*", service="etl")
    produce(make_api("admin"), topic="payments", n=1)
    offsets = {"offsets": [{"topic": "payments", "partition": 0, "offset": 1}]}
    refused = key.post("/api/v1/groups/etl.nightly/offsets", offsets)
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["required_scope"] == "consume:payments"
    assert key.post("/api/v1/groups/etl.nightly/members", {"topics": ["orders"]}).status_code == 200


def test_group_list_answers_only_the_groups_the_key_may_describe(api, make_api, make_topic):
    make_topic("orders")
    for group in ("Billing-eu", "billing", "billing-eu", "payments-service", "zeta"):
        join(api, group=group)
    billing = make_api("consume:orders", service="billing")
    assert [g["name"] for g in billing.get("/api/v1/groups").json()["results"]] == ["billing", "billing-eu"]
    assert billing.get("/api/v1/groups").json()["count"] == 2
    etl = make_api("group:pay*", "group:zeta", service="etl")
    assert [g["name"] for g in etl.get("/api/v1/groups").json()["results"]] == ["payments-service", "zeta"]
    assert len(api.get("/api/v1/groups").json()["results"]) == 5


def test_group_list_takes_a_fixed_number_of_queries(make_api, make_topic, django_assert_max_num_queries):
    make_topic("orders")
    admin = make_api("admin", service="ops")
    for n in range(12):
        join(admin, group=f"billing-{n}")
    billing = make_api("consume:orders", "group:billing-1*", "group:billing-2", service="billing")
    with django_assert_max_num_queries(3):  # the key, the count and the page
        names = [g["name"] for g in billing.get("/api/v1/groups").json()["results"]]
    assert names == ["billing-1", "billing-10", "billing-11", "billing-2"]


@pytest.mark.parametrize("topic", [{"name": "orders"}, ["orders"], 7, None])
def test_committing_with_a_topic_that_is_not_a_name_is_422_naming_the_offset(api, make_topic, topic):
    make_topic("orders")
    offsets = [{"topic": "orders", "partition": 0, "offset": 0}, {"topic": topic, "partition": 0, "offset": 0}]
    response = api.post("/api/v1/groups/g/offsets", {"offsets": offsets})
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "offsets_refused"
    assert error["details"]["errors"] == [{"index": 1, "field": "topic", "reason": "must be a topic name (a string)"}]
    assert not ConsumerGroup.objects.filter(name="g").exists()
