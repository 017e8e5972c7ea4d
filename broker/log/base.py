"""The log interface every backend implements."""

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

    def first_offset_at_or_after(self, *, topic_id: int, partition: int, timestamp_ms: int) -> int | None:
        """The first offset whose event time is at or after `timestamp_ms` (Kafka's offsetsForTimes)."""

    def apply_retention(
        self, *, topic_id: int, retention_ms: int, retention_bytes: int, now_ms: int
    ) -> list[RetentionResult]:
        """Delete events past retention.ms or beyond retention.bytes, oldest first."""
