"""The SQL log: events in one table, offsets assigned under the partition row's lock.

Appends lock the partition rows they touch (sorted, so two batches never deadlock) by bumping
their end offset, then insert the events, all in one transaction: offsets are dense and strictly
increasing per partition whatever the number of concurrent producers, on SQLite (one writer at a
time, BEGIN IMMEDIATE) and PostgreSQL (row lock held to commit, so commit order = offset order).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db import IntegrityError, connection, transaction

from broker.envelope import PreparedEvent
from broker.log.base import AppendedEvent, ReadBatch, RetentionResult

_INSERT = (
    'INSERT INTO broker_event (topic_id, partition, "offset", event_id, source, type, key, correlation_id, '
    "causation_id, trace_id, producer_id, schema_id, timestamp_ms, append_time_ms, size_bytes, payload) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_BUMP = (
    "UPDATE broker_partition SET end_offset = end_offset + %s, size_bytes = size_bytes + %s, "
    "last_append_ms = %s WHERE topic_id = %s AND number = %s RETURNING end_offset"
)
_RETENTION_CHUNK = 5000


def _event_time(event: PreparedEvent, append_time_ms: int) -> int:
    return event.timestamp_ms if event.timestamp_ms is not None else append_time_ms


class SQLLog:
    def append(
        self, *, topic_id: int, topic_name: str, events: Sequence[PreparedEvent], producer_id: int | None, now_ms: int
    ) -> list[AppendedEvent]:
        for attempt in range(3):
            try:
                with transaction.atomic():
                    return self._append_once(topic_id, topic_name, events, producer_id, now_ms)
            except IntegrityError:
                # Only the identity constraint can fire here (offsets come from the locked row).
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _append_once(
        self, topic_id: int, topic_name: str, events: Sequence[PreparedEvent], producer_id: int | None, now_ms: int
    ) -> list[AppendedEvent]:
        results: dict[int, AppendedEvent] = {}
        with connection.cursor() as cursor:
            originals = self._existing(cursor, topic_id, events)
            fresh: list[PreparedEvent] = []
            first_in_batch: dict[tuple[str, str], PreparedEvent] = {}
            for event in events:
                identity = (event.source, event.event_id)
                original = originals.get(identity)
                if original is not None:
                    results[event.index] = AppendedEvent(event.index, event.event_id, *original, duplicate=True)
                elif identity in first_in_batch:
                    results[event.index] = AppendedEvent(event.index, event.event_id, -1, -1, 0, duplicate=True)
                else:
                    first_in_batch[identity] = event
                    fresh.append(event)

            by_partition: dict[int, list[PreparedEvent]] = defaultdict(list)
            for event in fresh:
                assert event.partition is not None
                by_partition[event.partition].append(event)

            rows = []
            header = f'{{"topic":"{topic_name}","partition":'.encode()
            for partition in sorted(by_partition):
                batch = by_partition[partition]
                bodies = [event.body or event.render_body(_event_time(event, now_ms), now_ms) for event in batch]
                size = sum(len(body) for body in bodies)
                cursor.execute(_BUMP, [len(batch), size, now_ms, topic_id, partition])
                end_offset = cursor.fetchone()[0]
                offset = end_offset - len(batch)
                prefix = header + str(partition).encode() + b',"offset":'
                for event, body in zip(batch, bodies, strict=True):
                    timestamp_ms = _event_time(event, now_ms)
                    payload = (prefix + str(offset).encode() + b"," + body[1:]).decode()
                    rows.append(
                        (
                            topic_id,
                            partition,
                            offset,
                            event.event_id,
                            event.source,
                            event.type,
                            event.key,
                            event.correlation_id,
                            event.causation_id,
                            event.trace_id,
                            producer_id,
                            event.schema_id,
                            timestamp_ms,
                            now_ms,
                            len(body),
                            payload,
                        )
                    )
                    results[event.index] = AppendedEvent(event.index, event.event_id, partition, offset, timestamp_ms)
                    offset += 1
            if rows:
                cursor.executemany(_INSERT, rows)

        # In-batch repeats point at the first occurrence.
        for event in events:
            result = results[event.index]
            if result.duplicate and result.offset == -1:
                first = results[first_in_batch[(event.source, event.event_id)].index]
                results[event.index] = AppendedEvent(
                    event.index, event.event_id, first.partition, first.offset, first.timestamp_ms, duplicate=True
                )
        return [results[event.index] for event in events]

    @staticmethod
    def _existing(
        cursor, topic_id: int, events: Sequence[PreparedEvent]
    ) -> dict[tuple[str, str], tuple[int, int, int]]:
        ids = list({event.event_id for event in events})
        found: dict[tuple[str, str], tuple[int, int, int]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f'SELECT event_id, source, partition, "offset", timestamp_ms FROM broker_event '
                f"WHERE topic_id = %s AND event_id IN ({placeholders})",
                [topic_id, *chunk],
            )
            for event_id, source, partition, offset, timestamp_ms in cursor.fetchall():
                found[(source, event_id)] = (partition, offset, timestamp_ms)
        return found

    def read(self, *, topic_id: int, partition: int, offset: int, max_events: int, max_bytes: int) -> ReadBatch:
        with connection.cursor() as cursor:
            cursor.execute(
                'SELECT "offset", size_bytes, payload FROM broker_event '
                'WHERE topic_id = %s AND partition = %s AND "offset" >= %s ORDER BY "offset" LIMIT %s',
                [topic_id, partition, offset, max_events],
            )
            payloads: list[str] = []
            total = 0
            next_offset = offset
            first_offset = -1
            for row_offset, size, payload in cursor.fetchall():
                if payloads and total + size > max_bytes:
                    break
                if first_offset < 0:
                    first_offset = row_offset
                payloads.append(payload)
                total += size
                next_offset = row_offset + 1
        return ReadBatch(payloads, next_offset, total, first_offset)

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
