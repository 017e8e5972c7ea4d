"""Fetch for group members: a long poll over the member's partitions.

Positions live with the group (GroupPartition): a member's position on a partition is valid for
the generation it was set in; otherwise the member starts from the committed offset, or from its
reset policy when there is none or retention has passed it. A fetch returns as soon as any
partition has data, or after `max_wait_ms`. It then records, in one write, the new positions and
one fetch-log row per partition that returned events.

On PostgreSQL a fetch is two round trips (the member with reads ahead, then the record), or one
for a member of one partition that this process served last (_load_and_fetch: read and record in
one statement, on the guess that nothing moved since, which the same batch checks).
"""

from __future__ import annotations

import copy
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from broker.access import CONSUME, require_consume, topic_access_allows
from broker.choices import ActivityKind
from broker.constants import DEFAULT_FETCH_MAX_BYTES, DEFAULT_FETCH_MAX_EVENTS, DEFAULT_FETCH_MAX_WAIT_MS
from broker.flows import FlowKey, consume_key, consumed, flows_upsert, flows_upsert_selected, minute_of
from broker.log import get_log
from broker.log.sql import SQLLog, read_batch
from broker.models import ConsumerGroup, GroupMember
from broker.services.groups import expire_overdue, group_member_sync, require_member_owner, stale_generation
from broker.wakeups import hub
from core.auth import Principal
from core.db import (
    Expectation,
    ExpectationFailed,
    Statement,
    execute_in_transaction,
    expectation_sql,
    query_together,
    relaxed_durability_sql,
    rollback_quietly,
)
from core.errors import NotFound, ValidationFailed
from core.jsonutil import dumps, loads
from core.timeutil import now_ms

MAX_FETCH_EVENTS = 50_000
_rotation = itertools.count()
_LIVENESS_WRITE_MS = 1000


@dataclass
class _Cursor:
    topic_id: int
    topic_name: str
    partition: int
    position: int
    persisted: bool  # False when the position was just derived and must be stored
    log_end_offset: int


@dataclass(frozen=True)
class FetchLimits:
    max_wait_ms: int
    max_events: int
    max_bytes: int


def fetch_limits(max_wait_ms: Any = None, max_events: Any = None, max_bytes: Any = None) -> FetchLimits:
    def number(name: str, value: Any, default: int, low: int, high: int) -> int:
        if value in (None, ""):
            return default
        try:
            parsed = int(value)
        except (TypeError, ValueError):
            parsed = low - 1
        if not low <= parsed <= high:
            raise ValidationFailed(
                f"{name}: must be an integer from {low} to {high}",
                details={"errors": [{"field": name, "reason": f"must be an integer from {low} to {high}"}]},
            )
        return parsed

    return FetchLimits(
        max_wait_ms=number(
            "max_wait_ms", max_wait_ms, DEFAULT_FETCH_MAX_WAIT_MS, 0, settings.EVENTLINE["MAX_FETCH_WAIT_MS"]
        ),
        max_events=number("max_events", max_events, DEFAULT_FETCH_MAX_EVENTS, 1, MAX_FETCH_EVENTS),
        max_bytes=number("max_bytes", max_bytes, DEFAULT_FETCH_MAX_BYTES, 1, 1 << 31),
    )


_MEMBER = (
    "SELECT m.id, m.member_id, m.generation, m.synced_generation, m.assignment, m.auto_offset_reset, "
    "m.last_seen_ms, m.service_id, m.joined_by, g.id, g.name, g.generation, EXISTS (SELECT 1 FROM broker_groupmember o "
    "WHERE o.group_id = g.id AND o.last_seen_ms < %s - o.session_timeout_ms) "
    "FROM broker_groupmember m JOIN broker_consumergroup g ON g.id = m.group_id "
    "WHERE m.member_id = %s AND g.name = %s"
)


@dataclass
class _Memory:
    """What this process remembers of a member from its last fetch here: its assigned topics and
    where each of its partitions was left, and the group and member as that fetch saw them. The
    next fetch sends, with the member query, the positions query for those topics and a read of
    each partition from where it was left, so a fetch that finds events takes one round trip
    before its record. The member and position rows read with them decide: a guess that no longer
    holds (another assignment, a seek, a commit taken over by the reset policy) is read again,
    never used. For a member of one partition on PostgreSQL, _load_and_fetch goes further."""

    topics: list[str]
    next_offsets: dict[tuple[int, int], int] = field(default_factory=dict)  # (topic id, partition) -> offset
    group: ConsumerGroup | None = None  # and the group and member as they were then, for
    member: GroupMember | None = None  # _load_and_fetch's guess


_memory: dict[tuple[str, str], _Memory] = {}
_MEMORY_KEPT = 10_000
_SPECULATIVE_READS = 4  # read ahead for a member of at most this many partitions
_READ_AHEAD_ROWS = 10_000  # and at most this many rows in all (each partition may fill max_events)


@dataclass
class _Loaded:
    """A member's state as a fetch starts: group, member, whether a member of the group is
    overdue, the _POSITIONS rows of its topics, and the rows read ahead per (topic id, partition,
    offset). From _load_and_fetch: `recorded`, when it read and recorded the fetch (its events
    and where it left each partition), else the `cursors` it checked, to wait on."""

    group: ConsumerGroup
    member: GroupMember
    overdue: bool
    positions: list[tuple[Any, ...]]
    read_ahead: dict[tuple[int, int, int], list[Any]]
    recorded: tuple[list[str], dict[tuple[int, int], int]] | None = None
    cursors: list[_Cursor] | None = None


def _load_member(group_name: str, member_id: str, at_ms: int, limits: FetchLimits, principal: Principal) -> _Loaded:
    """The member and its group as a fetch needs them (no ORM: this runs on every fetch), whether
    any member of the group is past its session timeout, the rows of _POSITIONS for the member's
    assigned topics, and the reads ahead (_Memory); or, when _load_and_fetch can, the fetch
    itself, already recorded."""
    key = (group_name, member_id)
    memory = _memory.get(key)
    if memory is not None and _one_round_trip(memory, principal):
        try:
            return _load_and_fetch(memory, at_ms, limits)
        except ExpectationFailed:
            memory = None  # the guess no longer holds (nothing was kept): load the member afresh
    max_events = limits.max_events
    statements: list[Statement] = [(_MEMBER, [at_ms, member_id, group_name])]
    ahead: list[tuple[int, int, int]] = []
    if memory is not None and memory.topics:
        statements.append(_positions_query(group_name, memory.topics))
        partitions = len(memory.next_offsets)
        if (
            partitions <= _SPECULATIVE_READS
            and partitions * max_events <= _READ_AHEAD_ROWS
            and isinstance(get_log(), SQLLog)
        ):
            ahead = [(topic_id, partition, offset) for (topic_id, partition), offset in memory.next_offsets.items()]
            statements += [SQLLog.read_statement(*read, max_events) for read in ahead]
    with connection.cursor() as db_cursor:
        results = query_together(db_cursor, statements, prepare=True)  # only reads: safe to run again
    if not results[0]:
        _memory.pop(key, None)
        if not ConsumerGroup.objects.filter(name=group_name).exists():
            raise NotFound(f"Consumer group '{group_name}' does not exist.", code="group_not_found")
        raise NotFound(
            f"Member '{member_id}' is not in group '{group_name}' (it left or its session expired); join again.",
            code="unknown_member",
        )
    group, member, overdue = _member_of(results[0][0])
    topics = sorted({topic for topic, _ in member.assignment})
    read_ahead: dict[tuple[int, int, int], list[Any]] = {}
    if memory is not None and memory.topics and topics == memory.topics:
        positions = results[1]
        read_ahead = dict(zip(ahead, results[2:], strict=True))
    elif topics:
        with connection.cursor() as db_cursor:
            positions = query_together(db_cursor, [_positions_query(group_name, topics)])[0]
    else:
        positions = []
    return _Loaded(group, member, overdue, positions, read_ahead)


def _member_of(row: tuple[Any, ...]) -> tuple[ConsumerGroup, GroupMember, bool]:
    """The group, the member and whether any member of the group is overdue, from a _MEMBER row."""
    pk, member_id, generation, synced, assignment, reset, last_seen_ms, service_id, joined_by, *of_group = row
    group_id, name, current, overdue = of_group
    group = ConsumerGroup(id=group_id, name=name, generation=current)
    member = GroupMember(
        id=pk,
        group_id=group_id,
        member_id=member_id,
        generation=generation,
        synced_generation=synced,
        assignment=loads(assignment) if isinstance(assignment, str) else assignment,  # text on SQLite
        auto_offset_reset=reset,
        last_seen_ms=last_seen_ms,
        service_id=service_id,
        joined_by=joined_by,
    )
    return group, member, bool(overdue)


# _load_and_fetch's guess: the member, its group and its one partition are as this process left
# them at its last fetch here. Same generation, assignment confirmed and unchanged, no member of
# the group overdue, and the member's own position still where that fetch left it, inside the
# log. Anything else is for the ordinary path to sort out (rebalance, 409, reset policy).
_AS_LEFT = (
    "EXISTS (SELECT 1 FROM broker_groupmember m JOIN broker_consumergroup g ON g.id = m.group_id "
    "WHERE m.id = %s AND g.id = %s AND g.generation = %s AND m.generation = g.generation "
    "AND m.synced_generation = g.generation AND m.assignment = %s::jsonb AND NOT EXISTS ("
    "SELECT 1 FROM broker_groupmember o WHERE o.group_id = g.id AND o.last_seen_ms < %s - o.session_timeout_ms)) "
    "AND EXISTS (SELECT 1 FROM broker_grouppartition gp JOIN broker_partition p "
    "ON p.topic_id = gp.topic_id AND p.number = gp.partition WHERE gp.group_id = %s AND gp.topic_id = %s "
    "AND gp.partition = %s AND gp.position = %s AND gp.position_member_id = %s AND gp.position_generation = %s "
    "AND gp.position BETWEEN p.log_start_offset AND p.end_offset)"
)
_GUESS_FAILED = "the member is not as this process left it"

# Read a partition from the member's position and record the fetch, in one statement, so that
# both see the same snapshot: `s` is read_batch's cut (max_events, then max_bytes, but at least
# one event), worked out from the offsets and sizes alone, and the payloads are read once for it;
# the position moves on only if it is still the one read from (the last line fails the
# statement otherwise, checked once: not per row); the fetch log, the flow count and the
# liveness as _record_fetch writes them. When nothing was read, only the liveness, if it is due.
_READ_AND_RECORD = (
    'WITH r AS (SELECT "offset", ROW_NUMBER() OVER w AS n, SUM(size_bytes) OVER w AS total FROM ('
    'SELECT "offset", size_bytes FROM broker_event WHERE topic_id = %s AND partition = %s '
    'AND "offset" >= %s ORDER BY "offset" LIMIT %s) e WINDOW w AS (ORDER BY "offset")), '
    's AS (SELECT MIN("offset") AS first, MAX("offset") + 1 AS next, COUNT(*) AS events FROM r '
    "WHERE n = 1 OR total <= %s HAVING COUNT(*) > 0), "
    "moved AS (UPDATE broker_grouppartition gp SET position = s.next FROM s WHERE gp.group_id = %s "
    "AND gp.topic_id = %s AND gp.partition = %s AND gp.position = %s AND gp.position_member_id = %s "
    "AND gp.position_generation = %s RETURNING 1), "
    "logged AS (INSERT INTO broker_groupactivity (group_id, topic_id, partition, kind, at_ms, start_offset, "
    "end_offset, member_id, log_end_offset) SELECT %s, %s, %s, %s, %s, s.first, s.next, %s, "
    "GREATEST(p.end_offset, s.next) FROM s, broker_partition p WHERE p.topic_id = %s AND p.number = %s), "
    "counted AS ({count}), "
    "touched AS (UPDATE broker_groupmember SET last_seen_ms = %s WHERE id = %s "
    "AND (last_seen_ms < %s OR EXISTS (SELECT 1 FROM s))) "
    'SELECT "offset", payload FROM broker_event WHERE topic_id = %s AND partition = %s '
    'AND "offset" >= (SELECT first FROM s) AND "offset" < (SELECT next FROM s) AND (SELECT {moved}) '
    'ORDER BY "offset"'
)
_MOVED_ELSEWHERE = "the position moved while it was read"


def _one_round_trip(memory: _Memory, principal: Principal) -> bool:
    """Whether _load_and_fetch can take this fetch: PostgreSQL outside a transaction, the SQL
    log, a member of one partition last fetched here, joined by this key and allowed to consume
    its topic (checked now: the fetch is recorded before the member row is back; who joined a
    member never changes)."""
    return (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and memory.member is not None
        and memory.member.joined_by == principal.identity
        and len(memory.next_offsets) == 1
        and isinstance(get_log(), SQLLog)
        and all(principal.allows("consume", topic) for topic in memory.topics)
        and all(topic_access_allows(principal, topic, CONSUME) for topic in memory.topics)
    )


def _as_guessed(group: ConsumerGroup, member: GroupMember, at_ms: int) -> tuple[ConsumerGroup, GroupMember]:
    """The group and member as _AS_LEFT proves them once it holds: on the remembered generation,
    assignment confirmed, and seen now (the statement touches the member unless it was seen in the
    last second). Copies: what this fetch learns later must not change what is remembered."""
    current, seen = copy.copy(group), copy.copy(member)
    seen.generation = seen.synced_generation = group.generation
    seen.last_seen_ms = at_ms
    return current, seen


def _load_and_fetch(memory: _Memory, at_ms: int, limits: FetchLimits) -> _Loaded:
    """PostgreSQL, a member of one partition: the read of its partition from where this process
    left it and the fetch's record, in one transaction of one round trip, on the guess (_AS_LEFT)
    that the member, its group and its position are as they were then. A fetch that finds events
    is then done; one that finds none waits as usual from there. If the guess fails nothing is
    kept and ExpectationFailed is raised, for the caller to load the member afresh."""
    assert memory.group is not None and memory.member is not None
    group, member = _as_guessed(memory.group, memory.member, at_ms)
    [((topic_id, partition), start)] = memory.next_offsets.items()
    guess = Expectation(
        _AS_LEFT,
        [
            *(member.pk, group.pk, group.generation, dumps(member.assignment).decode(), at_ms),
            *(group.pk, topic_id, partition, start, member.member_id, group.generation),
        ],
        _GUESS_FAILED,
    )
    moved, moved_params = expectation_sql(
        Expectation("(SELECT COUNT(*) FROM moved) = (SELECT COUNT(*) FROM s)", [], _MOVED_ELSEWHERE)
    )
    count = flows_upsert_selected("SELECT %s, %s, %s, %s, %s, %s, s.events, %s FROM s")
    read_and_record = (
        _READ_AND_RECORD.format(count=count, moved=moved),
        [
            *(topic_id, partition, start, limits.max_events, limits.max_bytes),
            *(group.pk, topic_id, partition, start, member.member_id, group.generation),
            *(group.pk, topic_id, partition, int(ActivityKind.FETCH), at_ms, member.member_id, topic_id, partition),
            *consume_key(topic_id, member.service_id, group.pk),
            *(minute_of(at_ms), at_ms),
            *(at_ms, member.pk, at_ms - _LIVENESS_WRITE_MS),
            *(topic_id, partition),
            *moved_params,
        ],
    )
    statements: list[Statement] = [
        ("BEGIN", []),
        (relaxed_durability_sql(), []),  # a lost position: a redelivery
        guess,
        read_and_record,
        Expectation(_FENCED_IN, [group.pk, group.generation, member.pk], "fenced out"),
        ("COMMIT", []),
    ]
    with connection.cursor() as db_cursor:
        try:
            [rows] = query_together(db_cursor, statements, prepare=True)
        except BaseException:
            rollback_quietly(db_cursor)
            raise
    if rows:
        recorded = ([payload for _, payload in rows], {(topic_id, partition): rows[-1][0] + 1})
        return _Loaded(group, member, False, [], {}, recorded=recorded)
    # Nothing to read: the log ended at the position then (the log end an ordinary fetch logs).
    cursor = _Cursor(topic_id, memory.topics[0], partition, start, True, start)
    return _Loaded(group, member, False, [], {(topic_id, partition, start): []}, cursors=[cursor])


_POSITIONS = (
    "SELECT t.id, t.name, p.number, p.log_start_offset, p.end_offset, gp.position, gp.position_member_id, "
    "gp.position_generation, gp.committed_offset FROM broker_topic t "
    "JOIN broker_partition p ON p.topic_id = t.id "
    "LEFT JOIN broker_grouppartition gp ON gp.group_id = (SELECT id FROM broker_consumergroup WHERE name = %s) "
    "AND gp.topic_id = t.id AND gp.partition = p.number WHERE t.name IN ({names})"
)


def _positions_query(group_name: str, names: list[str]) -> tuple[str, list[Any]]:
    """Every partition of topics `names` with its log bounds and the group's offsets on it."""
    return _POSITIONS.format(names=", ".join(["%s"] * len(names))), [group_name, *names]


def _start_positions(group: ConsumerGroup, member: GroupMember, positions: list[tuple[Any, ...]]) -> list[_Cursor]:
    """Where each assigned partition is read from: the member's own position in this generation,
    else the committed offset, else its reset policy (also when retention overtook the offset).
    `positions` are the _POSITIONS rows of the member's assigned topics."""
    rows = {(row[1], row[2]): row for row in positions}
    cursors = []
    for topic_name, number in member.assignment:
        row = rows.get((topic_name, number))
        if row is None:
            continue  # the topic went away
        topic_id, _, _, log_start, log_end, state_position, state_member, state_generation, committed = row
        position: int | None = None
        persisted = False
        if state_position is not None and state_member == member.member_id and state_generation == group.generation:
            position, persisted = state_position, True
        elif committed is not None:
            position = committed
        if position is None or position < log_start or position > log_end:
            # No commit yet, or retention overtook it: the member's reset policy applies.
            position = log_start if member.auto_offset_reset == "earliest" else log_end
            persisted = False
        cursors.append(_Cursor(topic_id, topic_name, number, position, persisted, log_end))
    return cursors


def group_fetch(*, group_name: str, member_id: str, principal: Principal, limits: FetchLimits) -> list[str]:
    """Long-poll the member's partitions; returns serialised events in per-partition offset order."""
    principal.require_group(group_name)
    started_ms = now_ms()
    # Taken before anything is read (the reads ahead go with the member query), so an append
    # that commits after them wakes this fetch instead of leaving it to the fallback recheck.
    wakeups: tuple[int, ...] | None = hub().snapshot()
    loaded = _load_member(group_name, member_id, started_ms, limits, principal)
    group, member, positions, read_ahead = loaded.group, loaded.member, loaded.positions, loaded.read_ahead
    require_member_owner(member, principal)
    if loaded.recorded is not None:  # read and recorded in one round trip, which checked all below
        _remember(group, member, loaded.recorded[1])
        return loaded.recorded[0]
    if loaded.overdue:
        expire_overdue(group.id, started_ms)  # the fence at the end refuses the fetch if this moved the group on
    if member.generation != group.generation:
        raise stale_generation(group)
    for topic_name in {topic for topic, _ in member.assignment}:
        require_consume(principal, topic_name)
    if member.synced_generation != group.generation:
        group_member_sync(group_id=group.id, member_pk=member.pk)

    cursors = loaded.cursors if loaded.cursors is not None else _start_positions(group, member, positions)
    topic_ids = sorted({cursor.topic_id for cursor in cursors})
    deadline = time.monotonic() + limits.max_wait_ms / 1000
    log = get_log()
    payloads: list[str] = []
    reads: list[tuple[_Cursor, int, int]] = []  # cursor, first offset, next offset
    waited = False
    while True:
        seen = hub().versions(topic_ids, wakeups)
        wakeups = None
        if cursors:
            start = next(_rotation) % len(cursors)
            remaining_events, remaining_bytes = limits.max_events, limits.max_bytes
            for cursor in cursors[start:] + cursors[:start]:
                if remaining_events <= 0 or remaining_bytes <= 0:
                    break
                ahead = read_ahead.pop((cursor.topic_id, cursor.partition, cursor.position), None)
                if ahead is not None:
                    batch = read_batch(ahead, cursor.position, remaining_events, remaining_bytes)
                else:
                    batch = log.read(
                        topic_id=cursor.topic_id,
                        partition=cursor.partition,
                        offset=cursor.position,
                        max_events=remaining_events,
                        max_bytes=remaining_bytes,
                    )
                if batch.payloads:
                    payloads.extend(batch.payloads)
                    reads.append((cursor, batch.first_offset, batch.next_offset))
                    remaining_events -= len(batch.payloads)
                    remaining_bytes -= batch.size_bytes
        remaining = deadline - time.monotonic()
        read_ahead = {}  # read when the fetch started: a later look reads again
        if payloads or remaining <= 0:
            break
        if waited and _generation(group) != group.generation:
            break  # rebalanced while parked: fenced below (a wake-up that found data leaves it to the fence)
        if not connection.in_atomic_block:
            connection.close()  # hand the connection back (to the pool on PostgreSQL) while parked
        hub().wait(topic_ids, seen, remaining)
        waited = True

    next_offsets = _record_fetch(group, member, cursors, reads)
    _remember(group, member, next_offsets)
    return payloads


def _remember(group: ConsumerGroup, member: GroupMember, next_offsets: dict[tuple[int, int], int]) -> None:
    if len(_memory) >= _MEMORY_KEPT:
        _memory.clear()
    topics = sorted({topic for topic, _ in member.assignment})
    _memory[(group.name, member.member_id)] = _Memory(topics, next_offsets, group, member)


def _generation(group: ConsumerGroup) -> int | None:
    with connection.cursor() as db_cursor:
        db_cursor.execute("SELECT generation FROM broker_consumergroup WHERE id = %s", [group.pk])
        row = db_cursor.fetchone()
    return row[0] if row is not None else None


_FENCE = (
    "SELECT generation, EXISTS (SELECT 1 FROM broker_groupmember WHERE id = %s) FROM broker_consumergroup WHERE id = %s"
)
# The member is still fenced in: its group is on the generation it fetched in, and it is a member.
_FENCED_IN = (
    "(SELECT generation FROM broker_consumergroup WHERE id = %s) = %s "
    "AND EXISTS (SELECT 1 FROM broker_groupmember WHERE id = %s)"
)
_STORE_POSITION = (
    "UPDATE broker_grouppartition SET position = %s, position_member_id = %s, position_generation = %s "
    "WHERE group_id = %s AND topic_id = %s AND partition = %s"
)
_LOG_FETCH = (
    "INSERT INTO broker_groupactivity (group_id, topic_id, partition, kind, at_ms, start_offset, end_offset, "
    "member_id, log_end_offset) VALUES "
)
_TOUCH_MEMBER = "UPDATE broker_groupmember SET last_seen_ms = %s WHERE id = %s"


def _record_fetch(
    group: ConsumerGroup, member: GroupMember, cursors: list[_Cursor], reads: list[tuple[_Cursor, int, int]]
) -> dict[tuple[int, int], int]:
    """Store positions, the fetch log, the flow counts and the member's liveness, and check the
    member is still fenced in, in one transaction (one round trip on PostgreSQL, with its BEGIN
    and COMMIT): if it was not, the transaction rolls back and the fetch is refused. Returns where
    each partition was left ((topic id, partition) -> the offset to read next)."""
    at_ms = now_ms()
    moved = {id(cursor): next_offset for cursor, _, next_offset in reads}
    next_offsets = {(cursor.topic_id, cursor.partition): moved.get(id(cursor), cursor.position) for cursor in cursors}
    to_store = [
        (cursor, next_offsets[(cursor.topic_id, cursor.partition)])
        for cursor in cursors
        if id(cursor) in moved or not cursor.persisted
    ]
    needs_liveness = at_ms - member.last_seen_ms > _LIVENESS_WRITE_MS
    if not (to_store or needs_liveness):
        _check_fenced(group, member)
        return next_offsets
    statements: list[Statement] = [(relaxed_durability_sql(), [])]  # a lost position: a redelivery
    statements += [
        (
            _STORE_POSITION,
            [position, member.member_id, group.generation, group.id, cursor.topic_id, cursor.partition],
        )
        for cursor, position in to_store
    ]
    if reads:
        flows: Counter[FlowKey] = Counter()
        for cursor, first_offset, next_offset in reads:
            flows.update(consumed(cursor.topic_id, member.service_id, group.id, next_offset - first_offset))
        statements.append(flows_upsert(flows, at_ms))
        statements.append(
            (
                _LOG_FETCH + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(reads)),
                [
                    value
                    for cursor, first_offset, next_offset in reads
                    for value in (
                        group.id,
                        cursor.topic_id,
                        cursor.partition,
                        int(ActivityKind.FETCH),
                        at_ms,
                        first_offset,
                        next_offset,
                        member.member_id,
                        max(cursor.log_end_offset, next_offset),
                    )
                ],
            )
        )
    statements.append((_TOUCH_MEMBER, [at_ms, member.pk]))
    statements.append(Expectation(_FENCED_IN, [group.pk, group.generation, member.pk], "fenced out"))
    try:
        execute_in_transaction(statements)
    except ExpectationFailed:
        _check_fenced(group, member)  # raises, naming the generation the group moved to
        raise stale_generation(group) from None
    return next_offsets


def _check_fenced(group: ConsumerGroup, member: GroupMember) -> None:
    with connection.cursor() as db_cursor:
        db_cursor.execute(_FENCE, [member.pk, group.pk])
        _raise_if_fenced_out(group, db_cursor.fetchall())


def _raise_if_fenced_out(group: ConsumerGroup, fence: list[tuple[Any, ...]]) -> None:
    """Refuse the fetch (409) when the group moved to another generation or the member left."""
    current, present = fence[0] if fence else (None, False)
    if current != group.generation or not present:
        moved_to = current if current is not None else group.generation
        raise stale_generation(ConsumerGroup(id=group.id, name=group.name, generation=moved_to))
