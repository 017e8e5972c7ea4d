"""Downsampling, retention, sparklines and trend of a lag series."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitoring.evaluation import RetentionPlan, Trend, downsample, retention_plan, sparkline, trend

MINUTE = 60_000
DAY = 86_400_000


def test_downsampling_keeps_each_buckets_peak_at_the_bucket_start() -> None:
    points = [(0, 5.0), (1 * MINUTE, 90.0), (4 * MINUTE, 7.0), (5 * MINUTE, 3.0), (9 * MINUTE, 4.0)]
    assert downsample(points, bucket_ms=5 * MINUTE) == [(0, 90.0), (5 * MINUTE, 4.0)]


def test_downsampling_sorts_and_skips_empty_buckets() -> None:
    assert downsample([(30 * MINUTE, 1.0), (0, 2.0)], bucket_ms=5 * MINUTE) == [(0, 2.0), (30 * MINUTE, 1.0)]


def test_downsampling_needs_a_positive_bucket() -> None:
    with pytest.raises(ValueError, match="positive"):
        downsample([], bucket_ms=0)


def test_default_plan_keeps_a_day_raw_and_a_week_of_five_minute_peaks() -> None:
    now_ms = 30 * DAY + 123_456
    plan = retention_plan(now_ms)
    assert plan == RetentionPlan(drop_before_ms=23 * DAY, downsample_before_ms=29 * DAY, bucket_ms=300_000)


def test_plan_drops_old_points_downsamples_the_middle_and_keeps_recent_points_raw() -> None:
    plan = RetentionPlan(drop_before_ms=10 * MINUTE, downsample_before_ms=20 * MINUTE, bucket_ms=5 * MINUTE)
    points = [
        (9 * MINUTE, 100.0),  # dropped
        (10 * MINUTE, 1.0),
        (12 * MINUTE, 8.0),
        (16 * MINUTE, 3.0),
        (20 * MINUTE, 4.0),  # raw from here
        (21 * MINUTE, 2.0),
    ]
    assert plan.apply(points) == [(10 * MINUTE, 8.0), (15 * MINUTE, 3.0), (20 * MINUTE, 4.0), (21 * MINUTE, 2.0)]


def test_plan_refuses_a_raw_period_longer_than_the_kept_one() -> None:
    with pytest.raises(ValueError, match="raw_for_ms"):
        retention_plan(DAY, raw_for_ms=2 * DAY, keep_ms=DAY)


series = st.lists(st.tuples(st.integers(0, 10 * DAY), st.floats(0, 1e6)), max_size=60)


@given(series, st.integers(0, 10 * DAY), st.integers(0, 3 * DAY), st.integers(1, DAY))
def test_applying_a_plan_twice_changes_nothing_and_keeps_the_peak(
    points: list[tuple[int, float]], now_ms: int, raw_for_ms: int, bucket_ms: int
) -> None:
    plan = retention_plan(now_ms, raw_for_ms=raw_for_ms, keep_ms=raw_for_ms + 2 * DAY, bucket_ms=bucket_ms)
    once = plan.apply(points)
    assert plan.apply(once) == once
    kept = [value for timestamp_ms, value in points if timestamp_ms >= plan.drop_before_ms]
    assert max((value for _timestamp_ms, value in once), default=None) == max(kept, default=None)


def test_sparkline_takes_the_maximum_of_each_slot() -> None:
    points = [(0, 1.0), (10, 9.0), (40, 2.0), (99, 3.0)]
    assert sparkline(points, width=4) == [9.0, 2.0, 2.0, 3.0]


def test_sparkline_repeats_the_last_value_across_empty_slots() -> None:
    assert sparkline([(0, 5.0), (100, 7.0)], width=5) == [5.0, 5.0, 5.0, 5.0, 7.0]


def test_sparkline_of_one_instant_is_flat_and_of_nothing_is_empty() -> None:
    assert sparkline([(50, 4.0), (50, 6.0)], width=3) == [6.0, 6.0, 6.0]
    assert sparkline([]) == []


@given(st.lists(st.tuples(st.integers(0, DAY), st.floats(0, 1e6)), min_size=1, max_size=60), st.integers(1, 48))
def test_sparkline_has_width_values_and_keeps_the_peak(points: list[tuple[int, float]], width: int) -> None:
    line = sparkline(points, width)
    assert len(line) == width
    assert max(line) == max(value for _timestamp_ms, value in points)


def test_trend_follows_the_fitted_slope() -> None:
    assert trend([(minute * MINUTE, 100.0 + 50 * minute) for minute in range(10)]) is Trend.RISING
    assert trend([(minute * MINUTE, 1_000.0 - 50 * minute) for minute in range(10)]) is Trend.FALLING


def test_small_wobbles_of_a_large_backlog_are_flat() -> None:
    wobble = [(minute * MINUTE, 10_000.0 + (minute % 3) * 20 + minute) for minute in range(10)]
    assert trend(wobble) is Trend.FLAT


def test_trend_of_a_zero_series_or_a_single_point_is_flat() -> None:
    assert trend([(minute * MINUTE, 0.0) for minute in range(5)]) is Trend.FLAT
    assert trend([(0, 5.0)]) is Trend.FLAT
    assert trend([(0, 5.0), (0, 50.0)]) is Trend.FLAT


def test_trend_words_are_plain_strings() -> None:
    assert [str(word) for word in Trend] == ["rising", "falling", "flat"]
