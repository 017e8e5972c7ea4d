"""Offset lag, time lag, rates and time to drain.

Kafka's definitions (``committed offset`` is the next offset to read): offset lag is
``end offset - committed offset`` and is undefined without a commit. Eventline's log stores an
append time per record, so time lag is exact: the age of the oldest unconsumed record, the one AT the
committed offset. ``LookupTable`` is kafka-lag-exporter's interpolation for a backend without
per-record append times (seglo/kafka-lag-exporter ``LookupTable.scala``).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AddPointResult",
    "LookupPoint",
    "LookupTable",
    "consume_rate",
    "eta_seconds",
    "offset_lag",
    "produce_rate",
    "time_lag_ms",
]


def offset_lag(log_end_offset: int, committed_offset: int | None) -> int | None:
    """Records the group has still to read; ``None`` when it never committed (Kafka: undefined).

    A commit ahead of the end offset read a moment earlier counts as caught up, not negative lag.
    """
    if committed_offset is None:
        return None
    return max(0, log_end_offset - committed_offset)


def time_lag_ms(
    *, now_ms: int, committed_offset: int | None, log_end_offset: int, append_time_of_committed_ms: int | None
) -> int | None:
    """How long the oldest unconsumed record has waited: ``now - append time of the record at the
    committed offset``; 0 when caught up; ``None`` without a commit, or when lagging but that
    record's append time is unknown (e.g. it was already removed by retention)."""
    if committed_offset is None:
        return None
    if committed_offset >= log_end_offset:
        return 0
    if append_time_of_committed_ms is None:
        return None
    return max(0, now_ms - append_time_of_committed_ms)


def _rate_per_second(samples: Sequence[tuple[int, int]]) -> float:
    if len(samples) < 2:
        return 0.0
    first, last = min(samples), max(samples)
    elapsed_ms = last[0] - first[0]
    if elapsed_ms <= 0:
        return 0.0
    # A rewind inside the window can make the net movement negative; a negative rate would turn an
    # ETA into nonsense, so the window is read as "no progress".
    return max(0.0, (last[1] - first[1]) * 1000 / elapsed_ms)


def consume_rate(commits: Sequence[tuple[int, int]]) -> float:
    """Records per second a group consumed over ``(timestamp_ms, committed offset)`` samples: offset
    moved between the first and last sample over the time between them; 0.0 with fewer than two."""
    return _rate_per_second(commits)


def produce_rate(end_offsets: Sequence[tuple[int, int]]) -> float:
    """Records per second appended, from ``(timestamp_ms, end offset)`` samples; as ``consume_rate``."""
    return _rate_per_second(end_offsets)


def eta_seconds(*, lag: int, consume_rate: float, produce_rate: float) -> float | None:
    """Seconds until the lag is drained at the current rates: ``lag / (consume - produce)``; 0 when
    there is no lag; ``None`` when the group is not gaining on the producers."""
    if lag <= 0:
        return 0.0
    net_rate = consume_rate - produce_rate
    if net_rate <= 0:
        return None
    return lag / net_rate


class AddPointResult(enum.Enum):
    """What ``LookupTable.add_point`` did with a point (kafka-lag-exporter's cases)."""

    OUT_OF_ORDER = "out of order"
    NON_MONOTONIC = "non-monotonic"
    UPDATED = "updated"
    INSERTED = "inserted"


@dataclass(frozen=True)
class LookupPoint:
    """One poll: the partition end offset and the wall-clock time it was read."""

    offset: int
    time_ms: int


class LookupTable:
    """kafka-lag-exporter's per-partition table of (end offset, poll time) points, used to estimate
    when the end offset passed a given committed offset, and so the time lag, without per-record
    append times. Default capacity 60 polls (30 min at the 30 s poll interval)."""

    def __init__(self, capacity: int = 60) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self._points: deque[LookupPoint] = deque(maxlen=capacity)

    @property
    def points(self) -> list[LookupPoint]:
        return list(self._points)

    def add_point(self, offset: int, time_ms: int) -> AddPointResult:
        """Add a poll result; returns which rule applied."""
        points = self._points
        if points:
            newest = points[-1]
            if time_ms <= newest.time_ms:
                return AddPointResult.OUT_OF_ORDER
            if offset < newest.offset:
                return AddPointResult.NON_MONOTONIC
            if offset == newest.offset and len(points) > 1 and points[-2].offset == offset:
                # A plateau is kept as its first and latest point, so an idle partition does not
                # flush the slope information out of the table.
                points[-1] = LookupPoint(offset, time_ms)
                return AddPointResult.UPDATED
        points.append(LookupPoint(offset, time_ms))  # the deque drops the oldest when full
        return AddPointResult.INSERTED

    def lookup(self, offset: int) -> float | None:
        """Estimated time (ms) the end offset reached ``offset``: interpolated between the newest pair
        of points that brackets it, else extrapolated along the oldest-to-newest line. The newest
        point's time when ``offset`` is the newest end offset; ``None`` with too few points."""
        points = self._points
        if points and offset == points[-1].offset:
            return float(points[-1].time_ms)
        if len(points) < 2:
            return None
        left, right = points[0], points[-1]
        for index in range(len(points) - 1, 0, -1):
            if points[index - 1].offset <= offset <= points[index].offset:
                left, right = points[index - 1], points[index]
                break
        offset_span = right.offset - left.offset
        if offset_span == 0:
            return None  # every point is at one offset: no slope to extrapolate along
        return right.time_ms - (right.offset - offset) * (right.time_ms - left.time_ms) / offset_span

    def time_lag_ms(self, committed_offset: int, *, now_ms: int) -> float | None:
        """``now - lookup(committed_offset)``: 0 at the newest end offset (kafka-lag-exporter's
        LagIsZero), ``None`` with too few points, never negative (a commit estimated to lie in the
        future is caught up)."""
        points = self._points
        if points and committed_offset == points[-1].offset:
            return 0.0
        predicted_ms = self.lookup(committed_offset)
        if predicted_ms is None:
            return None
        return max(0.0, now_ms - predicted_ms)
