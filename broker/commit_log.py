"""Kafka's commit log read as Burrow reads it (issue 18): every offset commit of every consumer
group, native clients' included, is a record of the internal topic `__consumer_offsets`, with the
time the coordinator accepted it. Reading that topic sees each commit once, at its own time, with
no polling and whatever the number of groups.

`CommitLogReader` runs inside `manage.py run_indexer`. Per commit that moves a group's offset on
a governed topic it writes, in one database transaction with its own read positions (so a restart
neither loses nor repeats one):

- a COMMIT row of the fetch and commit log (GroupActivity) at the commit's time: Burrow's windows,
  the consume rate, and the per-event "consumed at" of traces and latency figures read it;
- the group's committed offset (GroupPartition), for the lag pages;
- the offsets it moved past, as an observed consume flow of the group in the commit's minute
  (lineage's consumers, the catalog's consumer counts).

While the reader keeps up (its state written in the last `FRESH_MS`), the lag round's sampling
(monitoring.kafka_groups) leaves commits to it; when it stops, sampling takes over again at its
15 s resolution. One reader reads at a time, whatever the number of indexer processes: it holds a
lease on the state row (renewed as it reads); another takes over, from the stored positions, once
the holder has been silent for `FRESH_MS`. A holder that lost its lease mid-batch writes nothing.

The records' layout is Kafka's (OffsetCommitKey v0-1, OffsetCommitValue v0-4). Other keys (group
metadata, the new consumer protocol's records) and tombstones are skipped.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q

from broker.choices import ActivityKind
from broker.flows import FlowKey, consume_key, minute_of, record_flows
from broker.log.kafka import own_groups
from broker.models import CommitLogState, ConsumerGroup, GroupActivity, GroupPartition, Partition, Topic
from core.timeutil import now_ms

logger = logging.getLogger(__name__)

TOPIC = "__consumer_offsets"
STATE = "commit-log"
FRESH_MS = 60_000
_COMMITTED_UPSERT = (
    "INSERT INTO broker_grouppartition (group_id, topic_id, partition, committed_offset, committed_ms, "
    "commit_metadata, position_member_id, position_generation) VALUES {rows} "
    "ON CONFLICT (group_id, topic_id, partition) DO UPDATE SET "
    "committed_offset = excluded.committed_offset, committed_ms = excluded.committed_ms "
    "WHERE broker_grouppartition.committed_ms IS NULL "
    "OR broker_grouppartition.committed_ms <= excluded.committed_ms"
)


@dataclass(frozen=True)
class OffsetCommit:
    """One commit: `offset` is the next offset the group will read."""

    group: str
    topic: str
    partition: int
    offset: int
    commit_ms: int


class _Reader:
    """Big-endian fields of Kafka's internal records, in order."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def int16(self) -> int:
        (value,) = struct.unpack_from(">h", self.data, self.at)
        self.at += 2
        return int(value)

    def int32(self) -> int:
        (value,) = struct.unpack_from(">i", self.data, self.at)
        self.at += 4
        return int(value)

    def int64(self) -> int:
        (value,) = struct.unpack_from(">q", self.data, self.at)
        self.at += 8
        return int(value)

    def string(self) -> str:
        length = self.int16()
        return self._text(max(length, 0))

    def compact_string(self) -> str:
        length, shift = 0, 0
        while True:  # unsigned varint of length + 1
            byte = self.data[self.at]
            self.at += 1
            length |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
        return self._text(max(length - 1, 0))

    def _text(self, length: int) -> str:
        if self.at + length > len(self.data):
            raise ValueError("string runs past the record")
        text = self.data[self.at : self.at + length].decode()
        self.at += length
        return text


def parse_offset_commit(key: bytes | None, value: bytes | None) -> OffsetCommit | None:
    """The commit a `__consumer_offsets` record holds, or None for any other record (group
    metadata, the new protocol's records, a tombstone deleting an offset). Raises ValueError on a
    record that claims to be a commit and is cut short."""
    if not key or value is None or len(key) < 2 or len(value) < 2:
        return None
    try:
        fields = _Reader(key)
        if fields.int16() not in (0, 1):
            return None
        group, topic, partition = fields.string(), fields.string(), fields.int32()
        body = _Reader(value)
        version = body.int16()
        if version not in (0, 1, 2, 3, 4):
            return None  # a layout newer than this reader
        offset = body.int64()
        if version >= 3:
            body.int32()  # leader epoch
        if version == 4:
            body.compact_string()  # metadata
        else:
            body.string()
        commit_ms = body.int64()
    except (struct.error, IndexError, UnicodeDecodeError) as error:
        raise ValueError(f"a cut or garbled offset commit: {error}") from error
    return OffsetCommit(group, topic, partition, offset, commit_ms)


class LostLease(Exception):
    """Another reader took the lease over: this batch is not recorded."""


class CommitLogReader:
    """Reads `__consumer_offsets` from its stored positions (assigned, not subscribed: it joins
    no group) and records the commits that matter; `run_once` handles one batch."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_config: dict[str, Any] | None = None,
        batch: int = 10_000,
        name: str = STATE,
    ) -> None:
        self.name = name
        self.own_groups = own_groups()  # Eventline's groups: not consumers of the estate
        self.batch = batch
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                **(client_config or {}),
                "group.id": "eventline-commit-log",  # librdkafka wants one; nothing is committed under it
                "client.id": "eventline-commit-log",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
            }
        )
        CommitLogState.objects.get_or_create(name=name)
        self._partitions: list[int] = []  # found on first use: Kafka creates the topic with the first group
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leading = False
        self.positions: dict[int, int] = {}
        self._topics: dict[str, int] = {}
        self._groups: dict[str, int] = {}
        # (group id, topic id, partition) -> (offset, commit time) of the last commit known, by
        # this reader or the lag round's sampling: what a new one moved past, and what it repeats.
        self._last: dict[tuple[int, int, int], tuple[int | None, int | None]] = {}

    def close(self) -> None:
        """Stop reading and give the lease up, so another reader can take over at once (and the
        lag round samples commits again until one does)."""
        self.consumer.close()
        CommitLogState.objects.filter(name=self.name, owner=self.owner).update(owner="", updated_ms=0)

    def _find_partitions(self) -> bool:
        if not self._partitions:
            metadata = self.consumer.list_topics(TOPIC, timeout=10).topics.get(TOPIC)
            if metadata is None or metadata.error is not None or not metadata.partitions:
                return False  # no group has committed on this cluster yet
            self._partitions = sorted(metadata.partitions)
        return True

    def _lease(self) -> bool:
        """Hold (or take, when free or silent for FRESH_MS) the lease; on taking it, read on from
        the stored positions, where the last holder stopped."""
        now = now_ms()
        held = (
            CommitLogState.objects.filter(name=self.name)
            .filter(Q(owner=self.owner) | Q(owner="") | Q(updated_ms__lt=now - FRESH_MS))
            .update(owner=self.owner, updated_ms=now)
        )
        if held and not self.leading:
            self._forget()  # another holder may have moved on since: read what is stored again
            stored = CommitLogState.objects.get(name=self.name).positions
            self.positions = {int(p): int(o) for p, o in stored.items()}
            self.consumer.assign(
                [TopicPartition(TOPIC, number, self.positions.get(number, -2)) for number in self._partitions]
            )
        elif not held and self.leading:
            self.consumer.unassign()
        self.leading = bool(held)
        return self.leading

    def run_once(self, timeout_s: float = 1.0) -> int:
        """Record the commits that arrived (waiting up to `timeout_s` for the first record);
        returns how many records were read. Reads nothing while another reader holds the lease."""
        if not self._find_partitions() or not self._lease():
            time.sleep(timeout_s)
            return 0
        first = self.consumer.poll(timeout_s)
        if first is None:
            return 0
        messages = [first, *self.consumer.consume(self.batch - 1, timeout=0)]
        commits: list[OffsetCommit] = []
        positions = dict(self.positions)
        for message in messages:
            if message.error() is not None:
                if message.error().code() != KafkaError._PARTITION_EOF:
                    logger.warning("commit log: %s", message.error())
                continue
            positions[message.partition()] = message.offset() + 1
            try:
                commit = parse_offset_commit(message.key(), message.value())
            except ValueError:
                logger.warning("commit log: skipped %s@%s", message.partition(), message.offset(), exc_info=True)
                continue
            if commit is not None and commit.group not in self.own_groups and not commit.topic.startswith("__"):
                commits.append(commit)
        try:
            self._store(commits, positions)
        except LostLease:
            logger.warning("commit log: another reader took the lease over; this batch is theirs to read")
            self.leading = False
            self.consumer.unassign()
            return 0
        except DatabaseError:
            # Most likely a topic or group deleted under the cached ids: forget them and read the
            # batch again (nothing of it was written).
            logger.warning("commit log: batch not recorded, read again", exc_info=True)
            self._forget()
            self.leading = False
            return 0
        self.positions = positions
        return len(messages)

    def _store(self, commits: list[OffsetCommit], positions: dict[int, int]) -> None:
        topic_ids = self._topic_ids({commit.topic for commit in commits})
        commits = [commit for commit in commits if commit.topic in topic_ids]
        group_ids = self._group_ids({commit.group for commit in commits})
        keyed = [((group_ids[c.group], topic_ids[c.topic], c.partition), c) for c in commits]
        self._load_last({key for key, _ in keyed})
        ends = self._ends({(topic_id, partition) for (_, topic_id, partition), _ in keyed})
        activity: list[GroupActivity] = []
        latest: dict[tuple[int, int, int], OffsetCommit] = {}
        flows: defaultdict[int, Counter[FlowKey]] = defaultdict(Counter)
        last_in_minute: dict[int, int] = {}
        known = dict(self._last)  # this batch's view; kept only once the batch is written
        for key, commit in keyed:
            before, before_ms = known.get(key, (None, None))
            if before_ms is not None and commit.commit_ms <= before_ms:
                continue  # seen already: by this reader before a restart, or by the lag round's sampling
            known[key] = (commit.offset, commit.commit_ms)
            if before == commit.offset:
                continue  # the same offset committed again (an auto-commit with nothing read)
            group_id, topic_id, partition = key
            if before is not None and commit.offset > before:
                minute = minute_of(commit.commit_ms)
                flows[minute][consume_key(topic_id, None, group_id)] += commit.offset - before
                last_in_minute[minute] = max(last_in_minute.get(minute, 0), commit.commit_ms)
            latest[key] = commit
            activity.append(
                GroupActivity(
                    group_id=group_id,
                    topic_id=topic_id,
                    partition=partition,
                    kind=ActivityKind.COMMIT,
                    at_ms=commit.commit_ms,
                    start_offset=commit.offset,
                    end_offset=commit.offset,
                    log_end_offset=max(ends.get((topic_id, partition), 0), commit.offset),
                )
            )
        with transaction.atomic():
            GroupActivity.objects.bulk_create(activity, batch_size=500)
            self._committed_offsets(latest)
            if flows:
                with connection.cursor() as cursor:
                    for minute, counts in sorted(flows.items()):
                        record_flows(cursor, counts, last_in_minute[minute])
            kept = CommitLogState.objects.filter(name=self.name, owner=self.owner).update(
                positions={str(p): o for p, o in positions.items()},
                commits=F("commits") + len(activity),
                updated_ms=now_ms(),
            )
            if not kept:
                raise LostLease  # rolls the batch back: the new holder reads it from the positions
        self._last = known

    def _forget(self) -> None:
        self._topics.clear()
        self._groups.clear()
        self._last.clear()

    # --- lookups, cached for the reader's life ----------------------------------------------------

    def _topic_ids(self, names: set[str]) -> dict[str, int]:
        missing = names - self._topics.keys()
        if missing:
            self._topics.update(Topic.objects.filter(name__in=missing).values_list("name", "id"))
        return {name: self._topics[name] for name in names if name in self._topics}

    def _group_ids(self, names: set[str]) -> dict[str, int]:
        missing = names - self._groups.keys()
        if missing:
            ConsumerGroup.objects.bulk_create(
                [ConsumerGroup(name=name) for name in sorted(missing)], ignore_conflicts=True, batch_size=500
            )
            self._groups.update(ConsumerGroup.objects.filter(name__in=missing).values_list("name", "id"))
        return {name: self._groups[name] for name in names}

    def _load_last(self, keys: set[tuple[int, int, int]]) -> None:
        """The last commit known of each new (group, topic, partition): its row of
        GroupPartition (offset and time), read once per key for the reader's life."""
        missing = keys - self._last.keys()
        if not missing:
            return
        for key in missing:
            self._last[key] = (None, None)
        rows = GroupPartition.objects.filter(
            group_id__in={g for g, _, _ in missing}, topic_id__in={t for _, t, _ in missing}
        ).values_list("group_id", "topic_id", "partition", "committed_offset", "committed_ms")
        for group_id, topic_id, partition, offset, committed_ms in rows:
            if (group_id, topic_id, partition) in missing:
                self._last[(group_id, topic_id, partition)] = (offset, committed_ms)

    @staticmethod
    def _ends(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
        if not pairs:
            return {}
        rows = Partition.objects.filter(topic_id__in={t for t, _ in pairs}).values_list(
            "topic_id", "number", "end_offset"
        )
        return {(t, n): end for t, n, end in rows if (t, n) in pairs}

    @staticmethod
    def _committed_offsets(latest: dict[tuple[int, int, int], OffsetCommit]) -> None:
        """Each (group, topic, partition)'s committed offset, unless a later commit is there
        already (the lag round may have written one): one upsert per 500 rows."""
        rows = sorted((*key, commit.offset, commit.commit_ms) for key, commit in latest.items())
        with connection.cursor() as cursor:
            for start in range(0, len(rows), 500):
                part = rows[start : start + 500]
                cursor.execute(
                    _COMMITTED_UPSERT.format(rows=", ".join(["(%s, %s, %s, %s, %s, '', '', -1)"] * len(part))),
                    [value for row in part for value in row],
                )


def reader_is_fresh(*, now: int) -> bool:
    """Whether the commit-log reader has reported lately: the lag round then leaves commits to it."""
    updated = CommitLogState.objects.filter(name=STATE).values_list("updated_ms", flat=True).first()
    return updated is not None and now - updated < FRESH_MS
