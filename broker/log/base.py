"""The log interface every backend implements (DESIGN.md §4, §8): broker.log.sql (the default)
and broker.log.kafka. tests/broker/log/test_contract.py holds both to the same contract.

What the interface promises on every backend: a produce request's events are appended all or
none; each lands on the partition the caller chose; offsets increase within a partition in
append order; a repeated (source, id) is answered with the original coordinates and not
appended again; reads start at the first offset at or after the one asked for (the log start if
retention moved past it); `offsets` gives the log start and the log end.

Where it leans on the SQL log, and what the Kafka log does instead:
- Topics are known by their database id (`topic_id`): the SQL tables key on it. The Kafka log
  looks the name up in the Topic table; topics themselves live in the cluster (TopicAdmin).
- `expect` are SQL conditions the SQL log checks inside the append's own transaction. The Kafka
  log checks them in the database just before it commits its Kafka transaction: a registry change
  that commits between that check and the Kafka commit is not seen (a window of milliseconds).
- Offsets are dense on SQL. On Kafka a transaction's commit marker takes an offset, so offsets
  have gaps and the log end is past the last event; read's `next_offset` skips the markers.
- Visibility: an SQL append is readable once it returns. A Kafka append is readable by
  read_committed readers once the coordinator has written the transaction's markers, a few
  milliseconds after it returns (KafkaLog.wait_visible waits for that).
- Repeats: the SQL log finds them in its table, across processes and forever (while retained).
  The Kafka log finds them, across processes and when two retries race, within the repeat window
  (EVENTLINE_KAFKA_REPEAT_WINDOW_S, an hour by default) by claiming each client-given (source,
  id) in the database before producing (broker.log.claims); the last kafka.DEDUP_WINDOW ids it
  appended are also remembered in the process, which answers their repeats without a query.
- `apply_retention` is the SQL log's retention pass. Kafka's brokers apply retention.ms and
  retention.bytes themselves, per closed segment; on Kafka it forgets the ids out of the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from broker.envelope import PreparedEvent
from core.db import Expectation


# Not frozen (a frozen dataclass takes four times as long to build, once per event); still hashable.
@dataclass(slots=True, unsafe_hash=True)
class AppendedEvent:
    """Where an event of a produce request ended up; `duplicate` when (source, id) was already in
    the topic and these are the original coordinates."""

    index: int
    event_id: str
    partition: int
    offset: int
    timestamp_ms: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class ReadBatch:
    """Serialised events of one partition, in offset order, and the offset to read next."""

    payloads: list[str]
    next_offset: int
    size_bytes: int
    first_offset: int


@dataclass(frozen=True, slots=True)
class RetentionResult:
    partition: int
    old_log_start_offset: int
    new_log_start_offset: int
    deleted_events: int
    deleted_bytes: int


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    """The log start offset (earliest readable) and the log end offset (the next append's, or past
    it on Kafka by the commit markers): Kafka's earliest and latest."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TopicDescription:
    """A topic as the cluster knows it: partition count and the settings Eventline manages."""

    name: str
    partitions: int
    config: dict[str, str]


class TopicAdmin(Protocol):
    """Topics of a log that keeps them outside Eventline's database (Kafka). The SQL log has no
    such part: broker.services.topics' Topic and Partition rows are its topics."""

    def topic_create(self, *, name: str, partitions: int, config: dict[str, str] | None = None) -> None: ...

    def topic_update(self, *, name: str, partitions: int | None = None, config: dict[str, str] | None = None) -> None:
        """Grow the partition count and/or change settings (retention.ms, retention.bytes,
        cleanup.policy, max.message.bytes)."""

    def topic_delete(self, *, name: str) -> None: ...

    def topic_list(self) -> list[str]:
        """Every topic, those other clients created included; internal ones hidden."""

    def topic_partition_counts(self) -> dict[str, int]:
        """topic_list with each topic's partition count."""

    def topic_describe(self, *, name: str) -> TopicDescription: ...


class Log(Protocol):
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
        """Append `events` (partition already chosen) atomically; duplicates are not appended.
        Raises core.db.ExpectationFailed, having appended nothing, if one of `expect` does not
        hold in the append's transaction."""

    def read(self, *, topic_id: int, partition: int, offset: int, max_events: int, max_bytes: int) -> ReadBatch:
        """Events of one partition from `offset` (inclusive), at least one if any is there."""

    def offsets(self, *, topic_id: int, partition: int) -> PartitionOffsets:
        """The partition's earliest and latest offsets."""

    def first_offset_at_or_after(self, *, topic_id: int, partition: int, timestamp_ms: int) -> int | None:
        """The first offset whose event time is at or after `timestamp_ms` (Kafka's offsetsForTimes)."""

    def apply_retention(
        self, *, topic_id: int, retention_ms: int, retention_bytes: int, now_ms: int
    ) -> list[RetentionResult]:
        """Delete events past retention.ms or beyond retention.bytes, oldest first."""
