"""Keeping a lag time series small: downsampling, a retention plan, sparklines and a trend word.

Points are ``(timestamp_ms, value)``. Downsampling keeps the MAXIMUM of each bucket: for lag, the
peak is the fact worth keeping; an average would hide the spike that paged someone.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["RetentionPlan", "Trend", "downsample", "retention_plan", "sparkline", "trend"]

Point = tuple[int, float]


def downsample(points: Sequence[Point], *, bucket_ms: int) -> list[Point]:
    """One point per ``bucket_ms`` bucket (aligned to the epoch): the bucket's start and its maximum.
    Sorted by time; empty buckets are left out."""
    if bucket_ms <= 0:
        raise ValueError(f"bucket_ms must be positive, not {bucket_ms}")
    peaks: dict[int, float] = {}
    for timestamp_ms, value in points:
        bucket_start = timestamp_ms - timestamp_ms % bucket_ms
        peaks[bucket_start] = max(value, peaks.get(bucket_start, value))
    return sorted(peaks.items())


@dataclass(frozen=True)
class RetentionPlan:
    """Three time ranges: points before ``drop_before_ms`` go; points in
    ``[drop_before_ms, downsample_before_ms)`` are reduced to one per ``bucket_ms``; later points stay
    raw. Both boundaries sit on bucket starts, so no bucket is split between two treatments."""

    drop_before_ms: int
    downsample_before_ms: int
    bucket_ms: int

    def apply(self, points: Sequence[Point]) -> list[Point]:
        """The points this plan keeps, in time order. Applying it twice changes nothing."""
        older = [point for point in points if self.drop_before_ms <= point[0] < self.downsample_before_ms]
        recent = sorted(point for point in points if point[0] >= self.downsample_before_ms)
        return downsample(older, bucket_ms=self.bucket_ms) + recent


def retention_plan(
    now_ms: int, *, raw_for_ms: int = 86_400_000, keep_ms: int = 7 * 86_400_000, bucket_ms: int = 300_000
) -> RetentionPlan:
    """Keep the last day raw, the last week as 5-minute peaks, nothing older (the defaults).

    Boundaries are rounded down to a bucket start, so up to one bucket more than asked is kept.
    """
    if bucket_ms <= 0:
        raise ValueError(f"bucket_ms must be positive, not {bucket_ms}")
    if not 0 <= raw_for_ms <= keep_ms:
        raise ValueError(f"raw_for_ms ({raw_for_ms}) must lie between 0 and keep_ms ({keep_ms})")

    def bucket_start(timestamp_ms: int) -> int:
        return timestamp_ms - timestamp_ms % bucket_ms

    return RetentionPlan(
        drop_before_ms=bucket_start(now_ms - keep_ms),
        downsample_before_ms=bucket_start(now_ms - raw_for_ms),
        bucket_ms=bucket_ms,
    )


def sparkline(points: Sequence[Point], width: int = 24) -> list[float]:
    """``width`` values spanning the first to the last point, each the maximum of its slot.

    A slot with no point repeats the previous slot's value (the lag did not vanish because nobody
    sampled it). No points gives an empty list.
    """
    if width < 1:
        raise ValueError(f"width must be at least 1, not {width}")
    if not points:
        return []
    start_ms = min(timestamp_ms for timestamp_ms, _value in points)
    span_ms = max(timestamp_ms for timestamp_ms, _value in points) - start_ms
    slots: list[float | None] = [None] * width
    for timestamp_ms, value in points:
        index = min(width - 1, (timestamp_ms - start_ms) * width // span_ms) if span_ms else 0
        current = slots[index]
        slots[index] = value if current is None else max(current, value)
    filled: list[float] = []
    for slot_value in slots:
        # Slot 0 always holds the first point, so there is always a previous value to repeat.
        filled.append(filled[-1] if slot_value is None else slot_value)
    return filled


class Trend(enum.StrEnum):
    """Direction of a series over its window."""

    RISING = "rising"
    FALLING = "falling"
    FLAT = "flat"


def trend(points: Sequence[Point], *, dead_band: float = 0.05, min_change: float = 1.0) -> Trend:
    """Rising, falling or flat, from the least-squares line through the points.

    The fitted change across the window counts only when it exceeds both ``min_change`` (absolute,
    default one event) and ``dead_band`` times the largest absolute value in the window, so a big
    backlog wobbling by a few events reads as flat. Fewer than two distinct times is flat.
    """
    if len(points) < 2:
        return Trend.FLAT
    times = [timestamp_ms for timestamp_ms, _value in points]
    values = [value for _timestamp_ms, value in points]
    mean_time, mean_value = sum(times) / len(times), sum(values) / len(values)
    spread = sum((time - mean_time) ** 2 for time in times)
    if spread == 0:
        return Trend.FLAT
    slope = sum((time - mean_time) * (value - mean_value) for time, value in zip(times, values, strict=True)) / spread
    change = slope * (max(times) - min(times))
    threshold = max(min_change, dead_band * max(abs(value) for value in values))
    if abs(change) <= threshold:
        return Trend.FLAT
    return Trend.RISING if change > 0 else Trend.FALLING
