"""The SQL log: events in one table, offsets assigned under the partition row's lock.

Appends lock the partition rows they touch (sorted, so two batches never deadlock) by bumping
their end offset, then insert the events, all in one transaction: offsets are dense and strictly
increasing per partition whatever the number of concurrent producers, on SQLite (one writer at a
time, BEGIN IMMEDIATE) and PostgreSQL (row lock held to commit, so commit order = offset order).
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import struct
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import IntegrityError, connection, transaction

try:
    from psycopg import errors as psycopg_errors
except ImportError:  # pragma: no cover - psycopg is a dependency; this keeps SQLite-only installs working
    psycopg_errors = None  # type: ignore[assignment]

from broker.envelope import PreparedEvent
from broker.flows import FlowKey, flows_upsert, produced, record_flows
from broker.log.base import AppendedEvent, PartitionOffsets, ReadBatch, RetentionResult
from broker.log.writer import AppendWriter, AppendWriterClient, WriteExpired, WriteRequest, writer_client
from core.db import (
    Expectation,
    ExpectationFailed,
    Statement,
    execute_together,
    relaxed_durability_sql,
    rollback_quietly,
)
from core.errors import NotFound

logger = logging.getLogger(__name__)

# An event row's columns, in the order every append statement (and _Plan's rows) lists them.
_EVENT_COLUMNS = (
    'topic_id, partition, "offset", event_id, source, type, key, correlation_id, causation_id, trace_id, '
    "producer_id, schema_id, timestamp_ms, append_time_ms, size_bytes, payload"
)
_INSERT = f"INSERT INTO broker_event ({_EVENT_COLUMNS}) VALUES ({', '.join(['%s'] * 16)})"
_BUMP = (
    "UPDATE broker_partition SET end_offset = end_offset + %s, size_bytes = size_bytes + %s, "
    "last_append_ms = %s WHERE topic_id = %s AND number = %s RETURNING end_offset"
)
# PostgreSQL: every partition of the append in one round trip. The materialised CTE locks the
# rows in (topic, partition) order, as the per-partition UPDATEs did, so two appends never deadlock.
_BUMP_ALL = (
    "WITH v (topic_id, number, n, size, at) AS (VALUES {values}), "
    "locked AS MATERIALIZED (SELECT p.id FROM broker_partition p JOIN v ON p.topic_id = v.topic_id "
    "AND p.number = v.number ORDER BY p.topic_id, p.number FOR UPDATE OF p) "
    "UPDATE broker_partition p SET end_offset = p.end_offset + v.n, size_bytes = p.size_bytes + v.size, "
    "last_append_ms = v.at FROM v WHERE p.topic_id = v.topic_id AND p.number = v.number "
    "AND p.id IN (SELECT id FROM locked) RETURNING p.topic_id, p.number, p.end_offset"
)
_BUMP_VALUES = "(%s::bigint, %s::integer, %s::bigint, %s::bigint, %s::bigint)"

# The one-statement appends below: rows come as `v` (an event row with its index `i` within its
# partition, and the payload in two pieces around the offset), the bump's RETURNING as `u` (each
# partition's first new offset, `base`).
_NUMBERED_ROW_COLUMNS = (
    "topic_id, partition, i, event_id, source, type, key, correlation_id, causation_id, trace_id, "
    "producer_id, schema_id, timestamp_ms, append_time_ms, size_bytes, head, tail"
)
_INSERT_NUMBERED = (
    f"INSERT INTO broker_event ({_EVENT_COLUMNS}) "
    "SELECT v.topic_id, v.partition, u.base + v.i, v.event_id, v.source, v.type, v.key, v.correlation_id, "
    "v.causation_id, v.trace_id, v.producer_id, v.schema_id, v.timestamp_ms, v.append_time_ms, v.size_bytes, "
    "v.head || (u.base + v.i) || v.tail FROM "
)

# PostgreSQL, a few rows: the whole append in one statement. The bump takes the partitions' row
# locks (in order, as _BUMP_ALL) and hands each partition's first new offset to the INSERT, which
# numbers its rows from it and writes the offset into each payload (head + offset + tail). Sent
# with BEGIN and COMMIT, the locks are held only while PostgreSQL runs it, never across a round
# trip to this process.
_APPEND_FEW = (
    f"WITH v ({_NUMBERED_ROW_COLUMNS}) AS (VALUES {{rows}}), "
    "b (topic_id, number, n, size, at) AS (VALUES {bumps}), "
    "locked AS MATERIALIZED (SELECT p.id FROM broker_partition p JOIN b ON p.topic_id = b.topic_id "
    "AND p.number = b.number ORDER BY p.topic_id, p.number FOR UPDATE OF p), "
    "bumped AS (UPDATE broker_partition p SET end_offset = p.end_offset + b.n, size_bytes = p.size_bytes + b.size, "
    "last_append_ms = b.at FROM b WHERE p.topic_id = b.topic_id AND p.number = b.number "
    "AND p.id IN (SELECT id FROM locked) RETURNING p.topic_id, p.number, p.end_offset - b.n AS base) "
    + _INSERT_NUMBERED
    + 'v JOIN bumped u ON u.topic_id = v.topic_id AND u.number = v.partition RETURNING topic_id, partition, "offset"'
)
# The same for one partition, the usual case: no lock-ordering CTE to plan, about a third less
# time in PostgreSQL per append.
_APPEND_ONE_PARTITION = (
    "WITH u AS (UPDATE broker_partition SET end_offset = end_offset + %s, size_bytes = size_bytes + %s, "
    "last_append_ms = %s WHERE topic_id = %s AND number = %s RETURNING end_offset - %s AS base) "
    + _INSERT_NUMBERED
    + f'u, (VALUES {{rows}}) v ({_NUMBERED_ROW_COLUMNS}) RETURNING topic_id, partition, "offset"'
)
_APPEND_ROW = (
    "(%s::bigint, %s::integer, %s::bigint, %s, %s, %s, %s, %s, %s, %s, %s::bigint, %s::integer, %s::bigint, "
    "%s::bigint, %s::integer, %s, %s)"
)


@functools.lru_cache(maxsize=64)
def _append_few(rows: int, bumps: int) -> str:
    """The one-statement append of `rows` rows to `bumps` partitions; its parameters are the rows',
    then, for one partition, the bump's (n, size, at, topic, partition, n) ahead of them, or, for
    several, the bumps' (topic, partition, n, size, at) after them."""
    values = ", ".join([_APPEND_ROW] * rows)
    if bumps == 1:
        return _APPEND_ONE_PARTITION.format(rows=values)
    return _APPEND_FEW.format(rows=values, bumps=", ".join([_BUMP_VALUES] * bumps))


def _bump(
    cursor: Any,
    bumps: list[tuple[int, int, int, int, int]],
    flows: Counter[FlowKey],
    at_ms: int,
    expect: Sequence[Expectation],
    *,
    begin: bool = False,
) -> dict[tuple[int, int], int]:
    """The append's first writes: add the flow counts (broker.flows), then lock the partitions
    it writes to and move their end offsets (and sizes) on. `bumps` holds (topic id, partition,
    events, bytes, append time), sorted. Returns each partition's new end offset. PostgreSQL gets
    the commit durability (core.db.relaxed_durability_sql), the counts and the offsets in one
    round trip."""
    if connection.vendor != "postgresql":
        execute_together(cursor, expect)
        record_flows(cursor, flows, at_ms)
        ends = {}
        for topic_id, partition, count, size, at in bumps:
            cursor.execute(_BUMP, [count, size, at, topic_id, partition])
            row = cursor.fetchone()
            if row is not None:
                ends[(topic_id, partition)] = row[0]
        _check_partitions(bumps, ends)
        return ends
    if len(bumps) == 1:  # the plain UPDATE: planning the CTE costs more than it saves for one row
        topic_id, partition, count, size, at = bumps[0]
        bump: tuple[str, list[Any]] = (_BUMP, [count, size, at, topic_id, partition])
    else:
        values = ", ".join([_BUMP_VALUES] * len(bumps))
        bump = (_BUMP_ALL.format(values=values), [value for row in bumps for value in row])
    returned = execute_together(
        cursor,
        [("BEGIN" if begin else "", []), (relaxed_durability_sql(), []), *expect, flows_upsert(flows, at_ms), bump],
    )
    if len(bumps) == 1:
        ends = {(bumps[0][0], bumps[0][1]): returned[0][0]} if returned else {}
    else:
        ends = {(topic_id, partition): end for topic_id, partition, end in returned}
    _check_partitions(bumps, ends)
    return ends


_TOPIC_GONE = "a partition of the append is gone"


def _topic_gone() -> NotFound:
    return NotFound("The topic does not exist (it was deleted).", code="topic_not_found")


def _check_partitions(bumps: list[tuple[int, int, int, int, int]], ends: dict[tuple[int, int], int]) -> None:
    if len(ends) < len(bumps):  # the topic was deleted after the producer looked it up
        raise _topic_gone()


_RETENTION_CHUNK = 5000
_WIRE_LENGTH = struct.Struct(">I")


_COPY = f"COPY broker_event ({_EVENT_COLUMNS}) FROM STDIN"


# SQLite: INSERTs of 64, 32, ... 1 rows. Only these seven statements are ever prepared, so each
# connection's statement cache (one connection per server thread) stays small: a statement per
# batch size (up to 500 rows) cost a worker 70 MB, and sizes up to 256 rows 28 MB.
# SQLite before 3.32 binds at most 999 parameters per statement: 62 rows, so 32 at most there.
_COLUMNS = 16  # in an event row
_SQLITE_INSERT_SIZES = tuple(
    size
    for size in (64, 32, 16, 8, 4, 2, 1)
    if size * _COLUMNS <= (32766 if sqlite3.sqlite_version_info >= (3, 32) else 999)
)


def _insert_rows(cursor: Any, rows: list[list[Any]]) -> None:
    """COPY on PostgreSQL (one round trip, no per-row statement). On SQLite, INSERTs of many rows
    each rather than executemany: the sqlite3 module lets go of the GIL for every row it steps,
    and under the write lock every time it waited to get it back from this process's other
    threads (100 rows took 190 ms beside one busy thread, against 15 ms as one statement; 1 ms
    either way alone), which held the database's only write lock that much longer."""
    if connection.vendor == "postgresql":
        try:
            with cursor.cursor.copy(_COPY) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg_errors.UniqueViolation as exc:
            raise IntegrityError(str(exc)) from exc
        return
    _insert_sqlite_values(cursor, [value for row in rows for value in row])


def _insert_sqlite_values(cursor: Any, values: list[Any]) -> None:
    """SQLite: insert the rows whose columns follow one another in `values`, as _insert_rows."""
    start, count = 0, len(values) // _COLUMNS
    while start < count:
        size = next(size for size in _SQLITE_INSERT_SIZES if size <= count - start)
        # sqlite3's own execute, with the statement already in its "?" style: Django's cursor
        # rewrites %s placeholders with a regex on every call, which on a statement this long
        # took a tenth of a worker's time.
        with connection.wrap_database_errors:
            sqlite3.Cursor.execute(
                cursor.cursor, _sqlite_insert(size), values[start * _COLUMNS : (start + size) * _COLUMNS]
            )
        start += size


# PostgreSQL: up to this many rows go in one statement (_APPEND_FEW); more go by COPY.
_PG_ROWS_IN_ONE_TRIP = 32


@functools.lru_cache(maxsize=64)
def _sqlite_insert(count: int) -> str:
    """_INSERT for `count` rows in one statement, with SQLite's own placeholders."""
    head, _, values = _INSERT.partition("VALUES ")
    return (head + "VALUES " + ", ".join([values] * count)).replace("%s", "?")


def _after_brace(body: bytes | memoryview) -> str:
    """A rendered event less its opening brace: what a stored payload carries after its offset
    and a comma (decoded straight from a view of the body, so copied once)."""
    return str(memoryview(body)[1:], "utf-8")


def _event_time(event: PreparedEvent, append_time_ms: int) -> int:
    return event.timestamp_ms if event.timestamp_ms is not None else append_time_ms


@dataclass
class _AppendJob:
    """One produce request's events, waiting to be appended."""

    topic_id: int
    topic_name: str
    events: Sequence[PreparedEvent]
    producer_id: int | None
    now_ms: int
    expect: Sequence[Expectation] = ()
    done: threading.Event = field(default_factory=threading.Event)
    result: list[AppendedEvent] | None = None
    error: BaseException | None = None
    lead: bool = False


class _GroupCommit:
    """Concurrent appends of this process share one transaction (group commit).

    The first caller leads: it takes every queued job, appends them all in one transaction and
    hands each its result; requests that arrive meanwhile queue up, and the leader passes the lead
    to the first of them. No one waits for a timer: batches form only from requests that would
    have waited for the write lock anyway. If the shared transaction fails, each job is retried
    alone, so one request's failure never fails another's.
    """

    def __init__(self, run: Callable[[list[_AppendJob]], list[list[AppendedEvent]]]) -> None:
        self._run = run
        self._lock = threading.Lock()
        self._queue: list[_AppendJob] = []
        self._busy = False

    def submit(self, job: _AppendJob) -> list[AppendedEvent]:
        with self._lock:
            self._queue.append(job)
            lead = not self._busy
            self._busy = True
        if not lead:
            job.done.wait()
            if not job.lead:
                return self._outcome(job)
        with self._lock:
            batch, self._queue = self._queue, []
        self._run_batch(batch)
        with self._lock:
            if self._queue:
                successor = self._queue[0]
                successor.lead = True
                successor.done.set()
            else:
                self._busy = False
        return self._outcome(job)

    @staticmethod
    def _outcome(job: _AppendJob) -> list[AppendedEvent]:
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def _run_batch(self, batch: list[_AppendJob]) -> None:
        try:
            for job, result in zip(batch, self._run(batch), strict=True):
                job.result = result
        except BaseException:  # noqa: BLE001 - isolate: retry each job alone, report its own error
            for job in batch:
                try:
                    job.result = self._run([job])[0]
                except BaseException as exc:  # noqa: BLE001
                    job.error = exc
        finally:
            for job in batch:
                job.done.set()


@dataclass
class _Plan:
    """One transaction's append, worked out before the partitions are locked: which events are
    repeats, the rows of the others per partition (all but their offsets), the flow counts."""

    jobs: list[_AppendJob]
    originals: dict[tuple[int, str, str], tuple[int, int, int]]
    first_seen: dict[tuple[int, str, str], tuple[int, int]]  # identity -> (job, index)
    by_partition: dict[tuple[int, int], list[tuple[int, PreparedEvent]]]
    bumps: list[tuple[int, int, int, int, int]]  # (topic, partition, events, bytes, append time), sorted
    rows: list[list[Any]]  # in `bumps` order; offset and payload filled in by write()
    bodies: list[bytes | memoryview]  # each row's rendered event: its payload is head + offset + "," + body[1:]
    flows: Counter[FlowKey]
    expect: list[Expectation]  # every job's, once each; checked in the append's transaction
    at_ms: int  # the flow counts' time: the latest job's

    @classmethod
    def of(cls, jobs: list[_AppendJob], originals: dict[tuple[int, str, str], tuple[int, int, int]]) -> _Plan:
        first_seen: dict[tuple[int, str, str], tuple[int, int]] = {}
        by_partition: dict[tuple[int, int], list[tuple[int, PreparedEvent]]] = defaultdict(list)
        flows: Counter[FlowKey] = Counter()
        for job_number, job in enumerate(jobs):
            appended = []
            for event in job.events:
                identity = (job.topic_id, event.source, event.event_id)
                if identity in originals or identity in first_seen:
                    continue  # answered from the original, or from its first occurrence here
                first_seen[identity] = (job_number, event.index)
                assert event.partition is not None
                by_partition[(job.topic_id, event.partition)].append((job_number, event))
                appended.append(event.type)
            flows.update(produced(job.topic_id, job.producer_id, appended))
        bumps, rows, bodies = [], [], []
        for topic_id, partition in sorted(by_partition):
            batch = by_partition[(topic_id, partition)]
            head = f'{{"topic":"{jobs[batch[0][0]].topic_name}","partition":{partition},"offset":'  # + offset + body
            size = latest = 0
            for job_number, event in batch:
                job = jobs[job_number]
                body = event.body
                length = len(body)
                size += length
                now_ms = job.now_ms
                latest = max(latest, now_ms)
                rows.append(
                    [
                        topic_id,
                        partition,
                        None,  # offset
                        event.event_id,
                        event.source,
                        event.type,
                        event.key,
                        event.correlation_id,
                        event.causation_id,
                        event.trace_id,
                        job.producer_id,
                        event.schema_id,
                        _event_time(event, now_ms),
                        now_ms,
                        length,
                        head,
                    ]
                )
                bodies.append(body)
            bumps.append((topic_id, partition, len(batch), size, latest))
        expect = list({(e.condition, tuple(e.params)): e for job in jobs for e in job.expect}.values())
        at_ms = max(job.now_ms for job in jobs)
        return cls(jobs, originals, first_seen, by_partition, bumps, rows, bodies, flows, expect, at_ms)

    @classmethod
    def merged(cls, plans: Sequence[_Plan]) -> tuple[_Plan, list[list[tuple[int, int, int]]]]:
        """One write for several plans (the append writer's batch): their rows by partition, in
        plan order within each, their flow counts added up, every expectation once. Also returns,
        per plan and partition, (topic, partition, how many rows of that partition come before
        and with this plan's), for `ends_of` to give each plan its own end offsets."""
        by_partition: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)  # (plan, first, rows)
        sizes: Counter[tuple[int, int]] = Counter()
        times: dict[tuple[int, int], int] = {}
        flows: Counter[FlowKey] = Counter()
        expect: dict[tuple[str, tuple[Any, ...]], Expectation] = {}
        for number, plan in enumerate(plans):
            at = 0
            for topic_id, partition, count, size, at_ms in plan.bumps:
                by_partition[(topic_id, partition)].append((number, at, count))
                sizes[(topic_id, partition)] += size
                times[(topic_id, partition)] = max(times.get((topic_id, partition), 0), at_ms)
                at += count
            flows.update(plan.flows)
            for e in plan.expect:
                expect.setdefault((e.condition, tuple(e.params)), e)
        bumps, rows, bodies = [], [], []
        shares: list[list[tuple[int, int, int]]] = [[] for _ in plans]
        for key in sorted(by_partition):
            total = 0
            for number, first, count in by_partition[key]:
                plan = plans[number]
                rows += plan.rows[first : first + count]
                bodies += plan.bodies[first : first + count]
                total += count
                shares[number].append((key[0], key[1], total))
            bumps.append((key[0], key[1], total, sizes[key], times[key]))
        at_ms = max(plan.at_ms for plan in plans)
        merged = cls([], {}, {}, defaultdict(list), bumps, rows, bodies, flows, list(expect.values()), at_ms)
        return merged, shares

    @staticmethod
    def ends_of(
        share: list[tuple[int, int, int]],
        merged: list[tuple[int, int, int, int, int]],
        ends: dict[tuple[int, int], int],
    ) -> dict[tuple[int, int], int]:
        """A merged plan's end offsets as one of its plans sees them: just past that plan's last row
        of each partition (`share` from `merged`)."""
        totals = {(topic_id, partition): count for topic_id, partition, count, _, _ in merged}
        return {
            (topic_id, partition): ends[(topic_id, partition)] - totals[(topic_id, partition)] + through
            for topic_id, partition, through in share
        }

    def wire(self) -> list[bytes | memoryview]:
        """What the append writer needs of a plan (everything `write` uses), as pieces of bytes
        to send one after another: the length of a JSON header, the header (all but the event
        bodies, with their lengths), then the bodies. The bodies, most of the bytes, travel as
        they are: not copied into text, nor escaped into JSON strings."""
        header = orjson.dumps(
            [
                [[e.condition, list(e.params), e.reason] for e in self.expect],
                [[*key, count] for key, count in self.flows.items()],
                self.bumps,
                self.rows,
                [len(body) for body in self.bodies],
                self.at_ms,
            ]
        )
        return [_WIRE_LENGTH.pack(len(header)), header, *self.bodies]

    @classmethod
    def from_wire(cls, data: bytes) -> _Plan:
        """The plan `wire()` sent (raises ValueError or TypeError for anything else)."""
        (length,) = _WIRE_LENGTH.unpack_from(data)
        view = memoryview(data)
        expect, flows, bumps, rows, lengths, at_ms = orjson.loads(view[_WIRE_LENGTH.size : _WIRE_LENGTH.size + length])
        bodies = []
        at = _WIRE_LENGTH.size + length
        for size in lengths:
            bodies.append(view[at : at + size])
            at += size
        if at != len(data):
            raise ValueError(f"the plan's bodies take {at} bytes of {len(data)}")
        return cls(
            [],
            {},
            {},
            defaultdict(list),
            [tuple(bump) for bump in bumps],
            rows,
            bodies,
            Counter({tuple(flow[:5]): flow[5] for flow in flows}),
            [Expectation(condition, params, reason) for condition, params, reason in expect],
            at_ms,
        )

    def write(self, *, own_transaction: bool = False) -> dict[tuple[int, int], int]:
        """Lock and move on the partitions' end offsets, number the rows, insert them and add the
        flow counts, inside the caller's transaction; or, with `own_transaction` (PostgreSQL, in
        autocommit), inside one whose BEGIN and COMMIT travel with the statements next to them.
        On PostgreSQL a few rows go in one statement (_write_in_one_statement); more go by COPY,
        after the partitions are locked. Returns each partition's new end offset."""
        if not self.rows:
            return {}
        if connection.vendor == "postgresql" and len(self.rows) <= _PG_ROWS_IN_ONE_TRIP:
            return self._write_in_one_statement(own_transaction)
        rows, bodies = self.rows, self.bodies
        at_ms = self.at_ms
        with connection.cursor() as cursor:
            try:
                ends = _bump(cursor, self.bumps, self.flows, at_ms, self.expect, begin=own_transaction)
                # The planned rows stay as they are (the writer may write them again), numbered
                # into a copy: on SQLite straight into the statements' flat list of values.
                numbered: list[Any] = []
                add, extend = numbered.append, numbered.extend
                sqlite = connection.vendor == "sqlite"
                at = 0
                for topic_id, partition, count, _, _ in self.bumps:
                    offset = ends[(topic_id, partition)] - count
                    for n in range(at, at + count):
                        row = rows[n]
                        payload = f"{row[15]}{offset},{_after_brace(bodies[n])}"
                        if sqlite:
                            extend(row[:2])
                            add(offset)
                            extend(row[3:15])
                            add(payload)
                        else:
                            add([*row[:2], offset, *row[3:15], payload])
                        offset += 1
                    at += count
                if sqlite:
                    _insert_sqlite_values(cursor, numbered)
                else:
                    _insert_rows(cursor, numbered)
                if own_transaction:
                    cursor.execute("COMMIT")
            except BaseException:
                if own_transaction:
                    rollback_quietly(cursor)
                raise
        return ends

    def _write_in_one_statement(self, own_transaction: bool) -> dict[tuple[int, int], int]:
        """PostgreSQL, a few rows: the durability, the flow counts and the append (_APPEND_FEW) in
        one round trip, with BEGIN and COMMIT when it is `own_transaction`. The last expectation
        finds every partition still there (the append's UPDATE holds those it moved on), so a
        topic deleted since the producer looked it up fails the whole append with 404 instead of
        committing part of it."""
        params: list[Any] = []
        if len(self.bumps) == 1:
            topic_id, partition, count, size, at_ms = self.bumps[0]
            params += [count, size, at_ms, topic_id, partition, count]
        at = 0
        for _, _, count, _, _ in self.bumps:
            for i in range(count):
                row = self.rows[at + i]
                params += [*row[:2], i, *row[3:15], row[15], "," + _after_brace(self.bodies[at + i])]
            at += count
        if len(self.bumps) > 1:
            params += [value for bump in self.bumps for value in bump]
        partitions_there = Expectation(
            "(SELECT COUNT(*) FROM broker_partition WHERE (topic_id, number) IN (VALUES "
            + ", ".join(["(%s, %s)"] * len(self.bumps))
            + ")) = %s",
            [*(value for bump in self.bumps for value in bump[:2]), len(self.bumps)],
            _TOPIC_GONE,
        )
        statements: list[Statement] = [
            ("BEGIN" if own_transaction else "", []),
            (relaxed_durability_sql(), []),
            *self.expect,
            flows_upsert(self.flows, self.at_ms),
            (_append_few(len(self.rows), len(self.bumps)), params),
            partitions_there,
            ("COMMIT" if own_transaction else "", []),
        ]
        with connection.cursor() as cursor:
            try:
                returned = execute_together(cursor, statements, prepare=own_transaction)
            except BaseException as exc:
                if own_transaction:
                    rollback_quietly(cursor)
                if isinstance(exc, ExpectationFailed) and exc.reason == _TOPIC_GONE:
                    raise _topic_gone() from None
                raise
        ends: dict[tuple[int, int], int] = {}
        for topic_id, partition, offset in returned:
            ends[(topic_id, partition)] = max(ends.get((topic_id, partition), 0), offset + 1)
        return ends

    def answers(self, ends: dict[tuple[int, int], int]) -> list[list[AppendedEvent]]:
        """Each job's results in its events' order, once the append committed."""
        results: list[dict[int, AppendedEvent]] = [{} for _ in self.jobs]
        for topic_id, partition, count, _, _ in self.bumps:
            offset = ends[(topic_id, partition)] - count
            for job_number, event in self.by_partition[(topic_id, partition)]:
                timestamp_ms = _event_time(event, self.jobs[job_number].now_ms)
                results[job_number][event.index] = AppendedEvent(
                    event.index, event.event_id, partition, offset, timestamp_ms
                )
                offset += 1
        answers = []
        for job_number, job in enumerate(self.jobs):
            for event in job.events:
                if event.index in results[job_number]:
                    continue
                identity = (job.topic_id, event.source, event.event_id)
                original = self.originals.get(identity)
                if original is not None:
                    results[job_number][event.index] = AppendedEvent(
                        event.index, event.event_id, *original, duplicate=True
                    )
                else:  # a repeat of an event earlier in this append: point at the first
                    first_job, first_index = self.first_seen[identity]
                    first = results[first_job][first_index]
                    results[job_number][event.index] = AppendedEvent(
                        event.index, event.event_id, first.partition, first.offset, first.timestamp_ms, duplicate=True
                    )
            answers.append([results[job_number][event.index] for event in job.events])
        return answers


# Errors one request of the writer's batch can cause by itself (a repeated id, a registry that
# moved, a deleted topic): the batch is then written again request by request, so it fails alone.
_OWN_ERRORS = (IntegrityError, ExpectationFailed, NotFound)


def _write_requests(requests: list[WriteRequest]) -> None:
    """The append writer's batch: the workers' plans written in one transaction, each request
    given its own end offsets; or each its own error. A request whose deadline passed before the
    write lock was held is not written (WriteExpired): its worker may have given up on it. Any
    other failure fails the batch as a whole, with nothing written."""
    try:
        _write_together(requests)
    except _OWN_ERRORS as exc:
        if len(requests) == 1:
            requests[0].error = exc
            return
        for request in requests:
            if request.error is not None:
                continue
            try:
                _write_together([request])
            except Exception as own:  # noqa: BLE001 - reported to its worker
                request.error = own
    except Exception as exc:  # noqa: BLE001 - reported to every worker of the batch
        for request in requests:
            if request.result is None and request.error is None:
                request.error = exc


def _write_together(requests: list[WriteRequest]) -> None:
    results = []
    with transaction.atomic():  # on SQLite the write lock is held from here
        now = time.time()
        live = []
        for request in requests:
            if request.deadline < now:
                request.error = WriteExpired()
            else:
                live.append(request)
        if live:
            merged, shares = _Plan.merged([request.plan for request in live])
            ends = merged.write()  # its first write relaxes the commit durability (_bump)
            results = [_Plan.ends_of(share, merged.bumps, ends) for share in shares]
    for request, result in zip(live, results, strict=True):
        request.result = result


class SQLLog:
    def __init__(self) -> None:
        self._group_commit = _GroupCommit(self._append_jobs)

    def append(
        self,
        *,
        topic_id: int,
        topic_name: str,
        events: Sequence[PreparedEvent],
        producer_id: int | None,
        now_ms: int,
        expect: Sequence[Expectation] = (),
    ) -> list[AppendedEvent]:
        job = _AppendJob(topic_id, topic_name, events, producer_id, now_ms, expect)
        if connection.in_atomic_block:
            # The caller's transaction decides: append inside it, alone.
            return self._append_jobs([job])[0]
        writer = writer_client()  # SQLite: the append writer process, when one is listening
        if writer is not None:
            results = self._append_through(writer, job)
            if results is not None:
                return results
        return self._group_commit.submit(job)

    def _append_through(self, writer: AppendWriterClient, job: _AppendJob) -> list[AppendedEvent] | None:
        """Plan the append here and have the writer write it; None when no writer is listening."""
        for attempt in range(3):
            with connection.cursor() as cursor:
                plan = _Plan.of([job], self._existing(cursor, [job]))
            if not plan.rows:  # every event is a repeat
                return plan.answers({})[0]
            try:
                ends = writer.write(plan.wire())
            except IntegrityError:
                # Another request appended one of these (source, id)s first: planning again finds it.
                if attempt == 2:
                    raise
                continue
            return None if ends is None else plan.answers(ends)[0]
        raise AssertionError("unreachable")

    def serve_as_writer(self, path: str) -> AppendWriter:
        """The append writer (broker.log.writer) for the socket at `path`; call its serve()."""
        return AppendWriter(path, _write_requests)

    def _append_jobs(self, jobs: list[_AppendJob]) -> list[list[AppendedEvent]]:
        """Plan the append (repeats, partitions, rows) outside the transaction, then lock the
        partitions, number the rows, insert them and commit: on SQLite the transaction holds the
        database's only write lock, so as little as possible happens inside it."""
        for attempt in range(3):
            with connection.cursor() as cursor:
                plan = _Plan.of(jobs, self._existing(cursor, jobs))
            try:
                if connection.vendor == "postgresql" and not connection.in_atomic_block:
                    ends = plan.write(own_transaction=True)
                else:
                    with transaction.atomic():
                        ends = plan.write()  # its first write relaxes the commit durability (_bump)
                return plan.answers(ends)
            except IntegrityError:
                # Only the identity constraint can fire here (offsets come from the locked rows):
                # another process appended the same (source, id) first. Planning again finds it.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _existing(cursor: Any, jobs: list[_AppendJob]) -> dict[tuple[int, str, str], tuple[int, int, int]]:
        # Ids the broker generated this moment are fresh UUIDv7s; only ids a client chose can repeat.
        wanted = {
            (job.topic_id, event.source, event.event_id)
            for job in jobs
            for event in job.events
            if not event.id_generated
        }
        ids = list({event_id for _, _, event_id in wanted})
        found: dict[tuple[int, str, str], tuple[int, int, int]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            placeholders = ", ".join(["%s"] * len(chunk))
            # Only event_id in the WHERE clause, so both databases search the identity index
            # (led by event_id) instead of walking a topic's position index.
            cursor.execute(
                f'SELECT topic_id, event_id, source, partition, "offset", timestamp_ms FROM broker_event '
                f"WHERE event_id IN ({placeholders})",
                chunk,
            )
            for topic_id, event_id, source, partition, offset, timestamp_ms in cursor.fetchall():
                if (topic_id, source, event_id) in wanted:
                    found[(topic_id, source, event_id)] = (partition, offset, timestamp_ms)
        return found

    def read(self, *, topic_id: int, partition: int, offset: int, max_events: int, max_bytes: int) -> ReadBatch:
        with connection.cursor() as cursor:
            cursor.execute(*self.read_statement(topic_id, partition, offset, max_events))
            return read_batch(cursor.fetchall(), offset, max_events, max_bytes)

    @staticmethod
    def read_statement(topic_id: int, partition: int, offset: int, max_events: int) -> tuple[str, list[Any]]:
        """The query behind `read`, for a caller that sends it with others (read_batch makes its rows a batch)."""
        return (
            'SELECT "offset", size_bytes, payload FROM broker_event '
            'WHERE topic_id = %s AND partition = %s AND "offset" >= %s ORDER BY "offset" LIMIT %s',
            [topic_id, partition, offset, max_events],
        )

    def offsets(self, *, topic_id: int, partition: int) -> PartitionOffsets:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT log_start_offset, end_offset FROM broker_partition WHERE topic_id = %s AND number = %s",
                [topic_id, partition],
            )
            row = cursor.fetchone()
        if row is None:
            raise _topic_gone()
        return PartitionOffsets(row[0], row[1])

    def first_offset_at_or_after(self, *, topic_id: int, partition: int, timestamp_ms: int) -> int | None:
        with connection.cursor() as cursor:
            cursor.execute(
                'SELECT MIN("offset") FROM broker_event WHERE topic_id = %s AND partition = %s AND timestamp_ms >= %s',
                [topic_id, partition, timestamp_ms],
            )
            row = cursor.fetchone()
        return row[0] if row else None

    def apply_retention(
        self, *, topic_id: int, retention_ms: int, retention_bytes: int, now_ms: int
    ) -> list[RetentionResult]:
        results = []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT number, log_start_offset, end_offset, size_bytes FROM broker_partition WHERE topic_id = %s "
                "ORDER BY number",
                [topic_id],
            )
            partitions = cursor.fetchall()
        for number, log_start, end_offset, size_bytes in partitions:
            new_start = log_start
            if retention_ms >= 0:
                new_start = max(
                    new_start, self._first_unexpired(topic_id, number, log_start, end_offset, now_ms - retention_ms)
                )
            if retention_bytes >= 0 and size_bytes > retention_bytes:
                new_start = max(
                    new_start, self._first_within_size(topic_id, number, log_start, size_bytes, retention_bytes)
                )
            if new_start > log_start:
                results.append(self._truncate(topic_id, number, new_start))
        return results

    @staticmethod
    def _first_unexpired(topic_id: int, partition: int, log_start: int, end_offset: int, cutoff_ms: int) -> int:
        """Retention removes a prefix: the first event appended at or after the cutoff, walking the
        offset index from the log start (cost proportional to what is being deleted)."""
        with connection.cursor() as cursor:
            cursor.execute(
                'SELECT "offset" FROM broker_event WHERE topic_id = %s AND partition = %s AND "offset" >= %s '
                'AND append_time_ms >= %s ORDER BY "offset" LIMIT 1',
                [topic_id, partition, log_start, cutoff_ms],
            )
            row = cursor.fetchone()
        return row[0] if row else end_offset

    @staticmethod
    def _first_within_size(topic_id: int, partition: int, log_start: int, size_bytes: int, limit: int) -> int:
        excess = size_bytes - limit
        offset = log_start
        with connection.cursor() as cursor:
            while excess > 0:
                cursor.execute(
                    'SELECT "offset", size_bytes FROM broker_event WHERE topic_id = %s AND partition = %s '
                    'AND "offset" >= %s ORDER BY "offset" LIMIT %s',
                    [topic_id, partition, offset, _RETENTION_CHUNK],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                for row_offset, size in rows:
                    excess -= size
                    offset = row_offset + 1
                    if excess <= 0:
                        break
        return offset

    @staticmethod
    def _truncate(topic_id: int, partition: int, new_start: int) -> RetentionResult:
        """Delete below `new_start` in chunks, moving the log start up after each one, so a big
        deletion never holds the write lock for long and readers never see a hole."""
        deleted = 0
        deleted_bytes = 0
        old_start: int | None = None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT log_start_offset FROM broker_partition WHERE topic_id = %s AND number = %s",
                    [topic_id, partition],
                )
                current = cursor.fetchone()[0]
                if old_start is None:
                    old_start = current
                if current >= new_start:
                    break
                chunk_end = min(new_start, current + _RETENTION_CHUNK)
                cursor.execute(
                    "SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM broker_event WHERE topic_id = %s "
                    'AND partition = %s AND "offset" < %s',
                    [topic_id, partition, chunk_end],
                )
                count, size = cursor.fetchone()
                cursor.execute(
                    'DELETE FROM broker_event WHERE topic_id = %s AND partition = %s AND "offset" < %s',
                    [topic_id, partition, chunk_end],
                )
                cursor.execute(
                    "UPDATE broker_partition SET log_start_offset = %s, size_bytes = size_bytes - %s "
                    "WHERE topic_id = %s AND number = %s",
                    [chunk_end, size, topic_id, partition],
                )
                deleted += count
                deleted_bytes += int(size)
        return RetentionResult(partition, old_start or 0, max(new_start, old_start or 0), deleted, deleted_bytes)


def read_batch(rows: Sequence[Any], offset: int, max_events: int, max_bytes: int) -> ReadBatch:
    """SQLLog.read_statement's rows as a ReadBatch from `offset`: at most `max_events` events and
    `max_bytes` bytes, but at least one event if there is one."""
    payloads: list[str] = []
    total = 0
    next_offset = offset
    first_offset = -1
    for row_offset, size, payload in rows[:max_events]:
        if payloads and total + size > max_bytes:
            break
        if first_offset < 0:
            first_offset = row_offset
        payloads.append(payload)
        total += size
        next_offset = row_offset + 1
    return ReadBatch(payloads, next_offset, total, first_offset)
