"""Per-event latency of one group on one partition, from the fetch log and the commit log.

Eventline writes nothing per event when a group reads it; it logs each fetch (the offset range
``[start, end)`` handed out) and each commit (the next offset to read). For each event:

* time in broker = append -> the FIRST fetch by the group whose range covers it (a re-fetch after a
  rebalance does not reset the clock);
* processing = that first fetch -> the FIRST commit at or after it whose committed offset is
  greater than the event's offset (the commit that covers it).

Both joins run in O((events + fetches + commits) log n).

A group Eventline does not serve (a native Kafka client, or any group on the Kafka backend) has
no fetch log, only its commits, read from Kafka's commit log at their own times. Its first fetch
is then estimated (``estimated_fetch_ms``): a consumer that commits after each batch fetches the
next batch right after its previous commit, and a consumer waiting for records gets a new one as
it is appended. So the fetch is taken as the later of the event's append and the group's previous
commit on the partition before the commit that covers the event (never after that commit). With
no previous commit known (what a group's first commit covers, possibly a backlog read from the
start) nothing is estimated. The estimate is marked as such wherever it is shown; for a client
that commits on a timer (auto-commit), processing includes the wait for the timer.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "CommitRecord",
    "EventLatency",
    "FetchRecord",
    "commit_only_latencies",
    "estimated_fetch_ms",
    "event_latencies",
    "percentiles",
]


@dataclass(frozen=True)
class FetchRecord:
    """One logged fetch: when, and the offsets ``[start_offset, end_offset)`` it returned."""

    at_ms: int
    start_offset: int
    end_offset: int


@dataclass(frozen=True)
class CommitRecord:
    """One logged commit: when, and the committed offset (next to read)."""

    at_ms: int
    offset: int


@dataclass(frozen=True)
class EventLatency:
    """Where one event's time went. ``None`` where the step did not happen (yet)."""

    offset: int
    append_ms: int
    first_fetch_ms: int | None
    commit_ms: int | None
    time_in_broker_ms: int | None
    processing_ms: int | None


def _first_fetch_times(offsets: Sequence[int], fetches: Sequence[FetchRecord]) -> list[int | None]:
    """For each of the sorted ``offsets``, the time of the earliest fetch covering it.

    Fetches are visited in time order and each offset is claimed by the first that covers it;
    ``next_unclaimed`` (a union-find with path compression) skips claimed offsets, so every offset
    is touched once however much the fetch ranges overlap.
    """
    first_fetch: list[int | None] = [None] * len(offsets)
    next_unclaimed = list(range(len(offsets) + 1))

    def find(index: int) -> int:
        root = index
        while next_unclaimed[root] != root:
            root = next_unclaimed[root]
        while next_unclaimed[index] != root:
            next_unclaimed[index], index = root, next_unclaimed[index]
        return root

    for fetch in sorted(fetches, key=lambda record: record.at_ms):
        index = find(bisect_left(offsets, fetch.start_offset))
        while index < len(offsets) and offsets[index] < fetch.end_offset:
            first_fetch[index] = fetch.at_ms
            next_unclaimed[index] = index + 1
            index = find(index + 1)
    return first_fetch


class _FirstCommitCovering:
    """Commits in time order, answering "the first commit at or after time t whose committed offset
    is above o" with a max segment tree over the committed offsets (offsets can go back after a
    reset, so a plain binary search over offsets would be wrong)."""

    def __init__(self, commits: Sequence[CommitRecord]) -> None:
        self._commits = sorted(commits, key=lambda record: record.at_ms)
        self._times = [commit.at_ms for commit in self._commits]
        self._size = 1
        while self._size < len(self._commits):
            self._size *= 2
        self._max = [-math.inf] * (2 * self._size)
        for index, commit in enumerate(self._commits):
            self._max[self._size + index] = commit.offset
        for node in range(self._size - 1, 0, -1):
            self._max[node] = max(self._max[2 * node], self._max[2 * node + 1])

    def first(self, *, at_or_after_ms: int, above_offset: int) -> CommitRecord | None:
        start = bisect_left(self._times, at_or_after_ms)
        index = self._search(1, 0, self._size, start, above_offset)
        return None if index is None else self._commits[index]

    def _search(self, node: int, low: int, high: int, start: int, above: int) -> int | None:
        if high <= start or self._max[node] <= above:
            return None
        if high - low == 1:
            return low
        middle = (low + high) // 2
        found = self._search(2 * node, low, middle, start, above)
        return found if found is not None else self._search(2 * node + 1, middle, high, start, above)


def event_latencies(
    appends: Mapping[int, int], fetches: Sequence[FetchRecord], commits: Sequence[CommitRecord]
) -> list[EventLatency]:
    """Latency of every event in ``appends`` (offset -> append time, ms), in offset order.

    An event never fetched has no fetch time, time in broker or processing time; its ``commit_ms``
    is still the first commit at or after its append that covers it (a group that seeks past
    records consumes them by Kafka's rule without fetching them).
    """
    offsets = sorted(appends)
    first_fetches = _first_fetch_times(offsets, fetches)
    covering = _FirstCommitCovering(commits)
    latencies: list[EventLatency] = []
    for offset, first_fetch_ms in zip(offsets, first_fetches, strict=True):
        append_ms = appends[offset]
        commit = covering.first(
            at_or_after_ms=append_ms if first_fetch_ms is None else first_fetch_ms, above_offset=offset
        )
        commit_ms = None if commit is None else commit.at_ms
        latencies.append(
            EventLatency(
                offset=offset,
                append_ms=append_ms,
                first_fetch_ms=first_fetch_ms,
                commit_ms=commit_ms,
                time_in_broker_ms=None if first_fetch_ms is None else first_fetch_ms - append_ms,
                processing_ms=None if first_fetch_ms is None or commit_ms is None else commit_ms - first_fetch_ms,
            )
        )
    return latencies


def estimated_fetch_ms(append_ms: int, previous_commit_ms: int | None, commit_ms: int) -> int | None:
    """The estimated first fetch of an event by a group known only by its commits (see the
    module's docstring): the later of its append and the commit before the one covering it, at
    most that covering commit; None with no previous commit."""
    if previous_commit_ms is None:
        return None
    return min(max(append_ms, previous_commit_ms), commit_ms)


def commit_only_latencies(appends: Mapping[int, int], commits: Sequence[CommitRecord]) -> list[EventLatency]:
    """``event_latencies`` for a group with no fetch log, its fetches estimated from its commits."""
    ordered = sorted(commits, key=lambda record: record.at_ms)
    covering = _FirstCommitCovering(ordered)
    times = [commit.at_ms for commit in ordered]
    latencies: list[EventLatency] = []
    for offset in sorted(appends):
        append_ms = appends[offset]
        commit = covering.first(at_or_after_ms=append_ms, above_offset=offset)
        if commit is None:
            latencies.append(EventLatency(offset, append_ms, None, None, None, None))
            continue
        before = bisect_left(times, commit.at_ms) - 1
        fetch_ms = estimated_fetch_ms(append_ms, times[before] if before >= 0 else None, commit.at_ms)
        if fetch_ms is None:
            latencies.append(EventLatency(offset, append_ms, None, commit.at_ms, None, None))
            continue
        latencies.append(
            EventLatency(offset, append_ms, fetch_ms, commit.at_ms, fetch_ms - append_ms, commit.at_ms - fetch_ms)
        )
    return latencies


def percentiles(values: Iterable[float], qs: Sequence[float] = (50, 95, 99)) -> dict[str, float | None]:
    """Nearest-rank percentiles: the smallest value with at least q% of values at or below it.

    Keys are ``"p50"``, ``"p99.9"``...; every value is ``None`` when there are no values.
    """
    ordered = sorted(values)
    result: dict[str, float | None] = {}
    for q in qs:
        if not 0 <= q <= 100:
            raise ValueError(f"a percentile lies between 0 and 100, not {q}")
        key = f"p{q:g}"
        if not ordered:
            result[key] = None
            continue
        # Exact arithmetic: 0.07 * 100 in floats is 7.000000000000001, whose ceiling is off by one.
        rank = math.ceil(Fraction(str(q)) * len(ordered) / 100)
        result[key] = ordered[max(rank, 1) - 1]
    return result
