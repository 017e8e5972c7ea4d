"""Burrow's consumer status rules (linkedin/Burrow v1.9.5), reproduced exactly.

Two halves, as in Burrow:

* storage: ``CommitWindow`` keeps the last ``intervals`` commits of one group/topic/partition the way
  Burrow's in-memory storage does (``core/internal/storage/inmemory.go``): lag is computed once, when
  a commit is appended; an out-of-order commit is slotted into place with no lag; a commit arriving
  sooner than ``min_distance_ms`` after its predecessor replaces that slot and keeps its timestamp.
* evaluation: ``evaluate_partition`` applies the caching evaluator's rules, in Burrow's order, to
  such a window (``core/internal/evaluator/caching.go``); ``evaluate_group`` rolls partitions up.

The rules are a table (``_RULES``): each rule either explains why it fires or returns ``None``; the
first that fires decides the status, and its explanation becomes ``reason`` on the result.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import NamedTuple

__all__ = [
    "CommitSample",
    "CommitWindow",
    "GroupEvaluation",
    "PartitionEvaluation",
    "PartitionStatus",
    "WindowConfig",
    "evaluate_group",
    "evaluate_partition",
]


class PartitionStatus(enum.IntEnum):
    """Burrow's status constants, with Burrow's numeric values (higher is worse)."""

    NOTFOUND = 0
    OK = 1
    WARN = 2
    ERR = 3
    STOP = 4
    STALL = 5
    REWIND = 6

    @property
    def label(self) -> str:
        """The string Burrow's HTTP API uses for this status ("OK", "WARN", "REWIND"...)."""
        return self.name


@dataclass(frozen=True)
class CommitSample:
    """One stored commit: the committed offset (next to read), when it was committed, and the lag
    stored when it was appended (``max(0, broker end offset then - offset)``; ``None`` for a commit
    that arrived out of order and was inserted behind newer ones)."""

    offset: int
    timestamp_ms: int
    lag: int | None


@dataclass(frozen=True)
class WindowConfig:
    """Burrow's storage and evaluator settings, in milliseconds where Burrow uses seconds.

    ``intervals``: commits kept per partition; ``min_distance_ms``: commits closer than this to the
    stored one replace it; ``allowed_lag``: lag treated as caught up; ``minimum_complete``: share of
    the window that must be filled before it is judged at all.
    """

    intervals: int = 10
    min_distance_ms: int = 0
    allowed_lag: int = 0
    minimum_complete: float = 0.0

    def __post_init__(self) -> None:
        if self.intervals < 1:
            raise ValueError(f"intervals must be at least 1, not {self.intervals}")
        if self.min_distance_ms < 0 or self.allowed_lag < 0:
            raise ValueError("min_distance_ms and allowed_lag cannot be negative")
        if not 0.0 <= self.minimum_complete <= 1.0:
            raise ValueError(f"minimum_complete is a share between 0 and 1, not {self.minimum_complete}")


class _StoredCommit(NamedTuple):
    sample: CommitSample
    # Burrow orders commits by their position in __consumer_offsets, not by timestamp; ``order``
    # plays that part and defaults to the timestamp.
    order: int


class CommitWindow:
    """Burrow's ring of the last ``intervals`` commits for one group/topic/partition.

    ``samples`` lists the stored commits oldest first (Burrow's ring without its empty slots).
    """

    def __init__(self, config: WindowConfig | None = None) -> None:
        self.config = config if config is not None else WindowConfig()
        self._stored: list[_StoredCommit] = []

    @property
    def samples(self) -> list[CommitSample]:
        return [stored.sample for stored in self._stored]

    def dump(self) -> list[tuple[int, int, int | None, int]]:
        """The ring as plain rows (offset, timestamp, lag, order), to keep between samplings."""
        return [(s.sample.offset, s.sample.timestamp_ms, s.sample.lag, s.order) for s in self._stored]

    @classmethod
    def restore(cls, rows: Sequence[Sequence[int | None]], config: WindowConfig | None = None) -> CommitWindow:
        """A window holding exactly `rows` as `dump` wrote them (no storage rule is replayed)."""
        window = cls(config)
        for offset, timestamp_ms, lag, order in rows[-window.config.intervals :]:
            assert offset is not None and timestamp_ms is not None and order is not None
            window._stored.append(_StoredCommit(CommitSample(offset, timestamp_ms, lag), order))
        return window

    def add(self, offset: int, timestamp_ms: int, broker_end_offset: int, *, order: int | None = None) -> None:
        """Store one commit by Burrow's rules.

        ``order`` is the commit's position in the commit log (Burrow: its offset in
        ``__consumer_offsets``); without it the timestamp is the order, so a commit with the same
        timestamp as a stored one is a duplicate and is dropped, as Burrow drops equal orders.
        """
        order = timestamp_ms if order is None else order
        stored = self._stored
        capacity = self.config.intervals
        if stored and len(stored) == capacity and stored[0].order >= order:
            return  # older than everything a full ring holds: Burrow drops the backfill
        if not stored or stored[-1].order < order:
            self._append(offset, timestamp_ms, lag=max(0, broker_end_offset - offset), order=order)
            return
        self._insert_out_of_order(offset, timestamp_ms, order)

    def _append(self, offset: int, timestamp_ms: int, *, lag: int, order: int) -> None:
        stored = self._stored
        if stored and timestamp_ms - stored[-1].sample.timestamp_ms < self.config.min_distance_ms:
            # Keep the old timestamp: a consumer committing more often than min-distance would
            # otherwise keep pushing the slot forward and never open a new one.
            previous = stored[-1].sample
            stored[-1] = _StoredCommit(CommitSample(offset, previous.timestamp_ms, lag), order)
            return
        stored.append(_StoredCommit(CommitSample(offset, timestamp_ms, lag), order))
        if len(stored) > self.config.intervals:
            del stored[0]

    def _insert_out_of_order(self, offset: int, timestamp_ms: int, order: int) -> None:
        stored = self._stored
        full = len(stored) == self.config.intervals
        # Burrow walks back from the newest slot; in a full ring it stops short of the oldest slot
        # and overwrites it, in a partly filled ring it stops at the first empty slot.
        floor = 1 if full else 0
        position = len(stored) - 1
        while position >= floor and stored[position].order > order:
            position -= 1
        if position < floor:
            oldest = _StoredCommit(CommitSample(offset, timestamp_ms, None), order)
            if full:
                stored[0] = oldest
            else:
                stored.insert(0, oldest)
            return
        if stored[position].order == order:
            return  # the same commit seen twice
        before = stored[position].sample
        if timestamp_ms - before.timestamp_ms < self.config.min_distance_ms:
            stored[position] = _StoredCommit(CommitSample(offset, before.timestamp_ms, None), order)
            return
        stored.insert(position + 1, _StoredCommit(CommitSample(offset, timestamp_ms, None), order))
        if len(stored) > self.config.intervals:
            del stored[0]


@dataclass(frozen=True)
class PartitionEvaluation:
    """Burrow's partition status plus why: ``summary``, a short line for a table cell or a badge,
    and ``reason``, the sentence naming the rule that decided it and the figures it compared."""

    status: PartitionStatus
    complete: float
    current_lag: int
    start: CommitSample | None
    end: CommitSample | None
    reason: str
    summary: str = ""


class _Verdict(NamedTuple):
    summary: str
    reason: str


@dataclass(frozen=True)
class _Window:
    """What the rules look at: the stored commits with the leading empty slots removed."""

    commits: Sequence[CommitSample]
    slots: int
    complete: float
    current_lag: int
    broker_end_offsets: Sequence[int]
    now_ms: int
    config: WindowConfig

    @property
    def lags(self) -> list[int]:
        return [commit.lag for commit in self.commits if commit.lag is not None]


def _too_incomplete_to_judge(window: _Window) -> _Verdict | None:
    if window.complete >= window.config.minimum_complete:
        return None
    return _Verdict(
        f"not judged: {window.complete:.0%} of the window filled",
        f"only {len(window.commits)} of {window.slots} commit slots are filled ({window.complete:.0%}), "
        f"below the {window.config.minimum_complete:.0%} minimum, so the window is not judged",
    )


def _lag_within_allowance(window: _Window) -> _Verdict | None:
    if window.current_lag > window.config.allowed_lag:
        return None
    return _Verdict(
        "caught up" if window.current_lag == 0 else f"lag {window.current_lag:,}, within the allowance",
        f"current lag {window.current_lag} is within the allowed lag of {window.config.allowed_lag}",
    )


def _stopped_without_recent_catch_up(window: _Window) -> _Verdict | None:
    first, last = window.commits[0], window.commits[-1]
    silence_ms = window.now_ms - last.timestamp_ms
    span_ms = last.timestamp_ms - first.timestamp_ms
    if silence_ms <= span_ms:
        return None
    # A consumer that was caught up within the last few broker polls is given time before STOP.
    if any(end_offset <= last.offset for end_offset in window.broker_end_offsets):
        return None
    silence = _describe_duration(silence_ms)
    if span_ms == 0:
        # One commit, or several at the same instant: there is no span to compare the silence with,
        # so any silence is longer than it (Burrow's rule), and saying "0 ms" would explain nothing.
        compared = (
            "the window holds a single commit, so any silence counts"
            if len(window.commits) == 1
            else f"the window's {len(window.commits)} commits were all made at the same moment, so any silence counts"
        )
    else:
        compared = f"longer than the {_describe_duration(span_ms)} the window spans"
    return _Verdict(
        f"stopped: no commit for {silence}",
        f"no commit for {silence}, {compared}, and the consumer was not caught up at any of the last "
        f"{len(window.broker_end_offsets)} broker polls",
    )


def _rewound_without_recovery(window: _Window) -> _Verdict | None:
    offsets = [commit.offset for commit in window.commits]
    # Burrow looks only at the first rewind; a rebalance that re-commits an old offset and then
    # gets back to where it was is not held against the consumer.
    rewind_at = next((index for index in range(1, len(offsets)) if offsets[index] < offsets[index - 1]), None)
    if rewind_at is None:
        return None
    high_water = offsets[rewind_at - 1]
    if any(offset >= high_water for offset in offsets[rewind_at:]):
        return None
    return _Verdict(
        f"rewound: offset {high_water:,} → {offsets[rewind_at]:,}",
        f"the committed offset went back from {high_water} to {offsets[rewind_at]} "
        f"and has not returned to {high_water} since",
    )


def _never_within_allowance(window: _Window) -> bool:
    return all(lag > window.config.allowed_lag for lag in window.lags)


def _stalled_behind(window: _Window) -> _Verdict | None:
    if not _never_within_allowance(window):
        return None
    offsets = {commit.offset for commit in window.commits}
    if len(offsets) != 1:
        return None
    return _Verdict(
        f"stalled at offset {window.commits[0].offset:,}, lag {window.current_lag:,}",
        f"all {len(window.commits)} commits in the window are at offset {window.commits[0].offset} "
        f"while the lag never came within the allowed {window.config.allowed_lag}",
    )


def _falling_behind(window: _Window) -> _Verdict | None:
    if not _never_within_allowance(window):
        return None
    lags = window.lags
    if any(later < earlier for earlier, later in pairwise(lags)):
        return None
    readings = f"from {lags[0]} to {lags[-1]}" if lags else "no lag readings"
    return _Verdict(
        f"falling behind: lag {lags[0]:,} → {lags[-1]:,}" if lags else "falling behind",
        f"the lag never decreased across the window ({readings}) "
        f"and never came within the allowed {window.config.allowed_lag}",
    )


class _Rule(NamedTuple):
    status: PartitionStatus
    fires: Callable[[_Window], _Verdict | None]


# Burrow's evaluator steps 2-6, in its order; the first rule that fires decides.
_RULES: tuple[_Rule, ...] = (
    _Rule(PartitionStatus.OK, _too_incomplete_to_judge),
    _Rule(PartitionStatus.OK, _lag_within_allowance),
    _Rule(PartitionStatus.STOP, _stopped_without_recent_catch_up),
    _Rule(PartitionStatus.REWIND, _rewound_without_recovery),
    _Rule(PartitionStatus.STALL, _stalled_behind),
    _Rule(PartitionStatus.WARN, _falling_behind),
)


def _no_rule_fired(window: _Window) -> _Verdict:
    if not _never_within_allowance(window):
        return _Verdict(
            f"lag {window.current_lag:,}, was within the allowance in the window",
            f"the lag came within the allowed {window.config.allowed_lag} at a commit in the window, "
            f"so the current lag of {window.current_lag} is not a problem yet",
        )
    return _Verdict(
        f"catching up, lag {window.current_lag:,}",
        "the lag decreased between commits in the window, so the consumer is catching up",
    )


def evaluate_partition(
    samples: Sequence[CommitSample | None],
    *,
    current_lag: int,
    broker_end_offsets: Sequence[int],
    now_ms: int,
    config: WindowConfig,
) -> PartitionEvaluation:
    """Burrow's status for one partition.

    ``samples`` is the window oldest first, either ``CommitWindow.samples`` or Burrow's raw ring with
    ``None`` for empty leading slots; ``broker_end_offsets`` are the last few polled end offsets;
    ``current_lag`` is ``max(0, latest end offset - last committed offset)``.
    """
    first_present = next((index for index, sample in enumerate(samples) if sample is not None), len(samples))
    commits = [sample for sample in samples[first_present:] if sample is not None]
    slots = max(config.intervals, len(samples))
    complete = len(commits) / slots
    if not commits:
        return PartitionEvaluation(
            PartitionStatus.OK,
            complete,
            current_lag,
            None,
            None,
            "no commits are stored for this partition yet",
            "no commits yet",
        )
    window = _Window(commits, slots, complete, current_lag, broker_end_offsets, now_ms, config)
    status, verdict = next(
        ((rule.status, verdict) for rule in _RULES if (verdict := rule.fires(window)) is not None),
        (PartitionStatus.OK, _no_rule_fired(window)),
    )
    return PartitionEvaluation(status, complete, current_lag, commits[0], commits[-1], verdict.reason, verdict.summary)


@dataclass(frozen=True)
class GroupEvaluation:
    """Burrow's group roll-up: worst partition (partition-only statuses shown as ERR), the share of
    partitions with a complete window, the partition with the most lag and the summed lag."""

    status: PartitionStatus
    complete: float
    max_lag_partition: tuple[str, int] | None
    total_lag: int
    partition_count: int
    partitions: Mapping[tuple[str, int], PartitionEvaluation] = field(default_factory=dict)


def evaluate_group(partitions: Mapping[tuple[str, int], PartitionEvaluation]) -> GroupEvaluation:
    """Roll partition evaluations, keyed by ``(topic, partition)``, up to the group.

    No partitions at all is NOTFOUND (Burrow answers 404 for a group it holds no offsets for).
    """
    if not partitions:
        return GroupEvaluation(PartitionStatus.NOTFOUND, 0.0, None, 0, 0, {})
    worst = max(
        (min(evaluation.status, PartitionStatus.ERR) for evaluation in partitions.values()),
        default=PartitionStatus.OK,
    )
    # Ties go to the lowest (topic, partition) so the answer does not depend on dict order.
    max_lag_partition = min(partitions, key=lambda key: (-partitions[key].current_lag, key))
    complete_count = sum(1 for evaluation in partitions.values() if evaluation.complete == 1.0)
    return GroupEvaluation(
        status=PartitionStatus(max(worst, PartitionStatus.OK)),
        complete=complete_count / len(partitions),
        max_lag_partition=max_lag_partition,
        total_lag=sum(evaluation.current_lag for evaluation in partitions.values()),
        partition_count=len(partitions),
        partitions=dict(partitions),
    )


_DURATION_UNITS: tuple[tuple[str, int], ...] = (("h", 3_600_000), ("min", 60_000), ("s", 1_000))


def _describe_duration(ms: int) -> str:
    """``540_000`` -> ``"9 min"``, ``3_725_000`` -> ``"1 h 2 min"``: at most the two largest units."""
    if ms < 1_000:
        return f"{ms} ms"
    counts: list[tuple[int, str]] = []
    remaining = ms
    for unit, size in _DURATION_UNITS:
        count, remaining = divmod(remaining, size)
        counts.append((count, unit))
    leading = next(index for index, (count, _unit) in enumerate(counts) if count)
    return " ".join(f"{count} {unit}" for count, unit in counts[leading : leading + 2] if count)
