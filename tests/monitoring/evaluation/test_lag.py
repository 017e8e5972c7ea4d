"""Offset lag, exact time lag, rates, drain time and kafka-lag-exporter's lookup table."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitoring.evaluation import (
    AddPointResult,
    LookupPoint,
    LookupTable,
    consume_rate,
    eta_seconds,
    offset_lag,
    produce_rate,
    time_lag_ms,
)


def test_offset_lag_is_end_offset_minus_committed_offset() -> None:
    assert offset_lag(120, 100) == 20


def test_offset_lag_is_undefined_without_a_commit() -> None:
    assert offset_lag(120, None) is None


def test_commit_ahead_of_a_stale_end_offset_is_zero_lag_not_negative() -> None:
    assert offset_lag(100, 105) == 0


def test_time_lag_is_the_age_of_the_record_at_the_committed_offset() -> None:
    lag = time_lag_ms(now_ms=10_000, committed_offset=5, log_end_offset=9, append_time_of_committed_ms=4_000)
    assert lag == 6_000


def test_time_lag_is_zero_when_caught_up_whatever_the_append_times() -> None:
    assert time_lag_ms(now_ms=10_000, committed_offset=9, log_end_offset=9, append_time_of_committed_ms=None) == 0


def test_time_lag_is_undefined_without_a_commit() -> None:
    assert time_lag_ms(now_ms=10_000, committed_offset=None, log_end_offset=9, append_time_of_committed_ms=1) is None


def test_time_lag_is_unknown_when_the_waiting_records_append_time_is_unknown() -> None:
    assert time_lag_ms(now_ms=10_000, committed_offset=3, log_end_offset=9, append_time_of_committed_ms=None) is None


def test_consume_rate_is_offset_progress_over_elapsed_seconds() -> None:
    assert consume_rate([(0, 100), (5_000, 300), (10_000, 600)]) == pytest.approx(50.0)


def test_rates_do_not_depend_on_sample_order() -> None:
    assert produce_rate([(10_000, 600), (0, 100)]) == pytest.approx(50.0)


def test_rates_need_two_samples_over_some_time() -> None:
    assert consume_rate([]) == 0.0
    assert consume_rate([(0, 100)]) == 0.0
    assert consume_rate([(1_000, 100), (1_000, 200)]) == 0.0


def test_a_window_that_ends_behind_where_it_started_is_no_progress() -> None:
    assert consume_rate([(0, 500), (10_000, 100)]) == 0.0


def test_eta_is_lag_over_the_net_drain_rate() -> None:
    assert eta_seconds(lag=1_000, consume_rate=60.0, produce_rate=10.0) == pytest.approx(20.0)


def test_eta_is_zero_without_lag_and_unknown_when_not_gaining() -> None:
    assert eta_seconds(lag=0, consume_rate=0.0, produce_rate=10.0) == 0.0
    assert eta_seconds(lag=10, consume_rate=10.0, produce_rate=10.0) is None
    assert eta_seconds(lag=10, consume_rate=5.0, produce_rate=10.0) is None


# --- lookup table -----------------------------------------------------------------------------


def table(*points: tuple[int, int], capacity: int = 60) -> LookupTable:
    lookup_table = LookupTable(capacity)
    for offset, time_ms in points:
        lookup_table.add_point(offset, time_ms)
    return lookup_table


def test_add_point_rejects_points_not_newer_than_the_last() -> None:
    lookup_table = table((100, 1_000))
    assert lookup_table.add_point(200, 1_000) is AddPointResult.OUT_OF_ORDER
    assert lookup_table.add_point(200, 500) is AddPointResult.OUT_OF_ORDER


def test_add_point_rejects_an_end_offset_that_went_back() -> None:
    assert table((100, 1_000)).add_point(90, 2_000) is AddPointResult.NON_MONOTONIC


def test_a_plateau_is_kept_as_its_first_and_latest_point() -> None:
    lookup_table = table((100, 1_000), (200, 2_000), (200, 3_000))
    assert lookup_table.add_point(200, 4_000) is AddPointResult.UPDATED
    assert lookup_table.points == [LookupPoint(100, 1_000), LookupPoint(200, 2_000), LookupPoint(200, 4_000)]


def test_a_full_table_drops_its_oldest_point() -> None:
    lookup_table = table((100, 1_000), (200, 2_000), capacity=2)
    assert lookup_table.add_point(300, 3_000) is AddPointResult.INSERTED
    assert lookup_table.points == [LookupPoint(200, 2_000), LookupPoint(300, 3_000)]


def test_lookup_interpolates_between_the_bracketing_points() -> None:
    lookup_table = table((100, 1_000), (200, 2_000), (400, 3_000))
    assert lookup_table.lookup(150) == pytest.approx(1_500)
    assert lookup_table.lookup(300) == pytest.approx(2_500)


def test_lookup_extrapolates_along_the_whole_table_outside_it() -> None:
    lookup_table = table((100, 1_000), (200, 2_000), (400, 3_000))
    # Line from (100, 1000) to (400, 3000): 2000 ms per 300 offsets.
    assert lookup_table.lookup(40) == pytest.approx(3_000 - 360 * 2_000 / 300)


def test_lookup_needs_two_points() -> None:
    assert table().lookup(5) is None
    assert table((100, 1_000)).lookup(50) is None


def test_table_time_lag_is_zero_at_the_newest_end_offset() -> None:
    assert table((100, 1_000)).time_lag_ms(100, now_ms=9_000) == 0.0


def test_table_time_lag_is_now_minus_the_predicted_time() -> None:
    lookup_table = table((100, 1_000), (200, 2_000))
    assert lookup_table.time_lag_ms(150, now_ms=4_000) == pytest.approx(2_500)


def test_table_time_lag_is_unknown_on_a_flat_table() -> None:
    assert table((100, 1_000), (100, 2_000)).time_lag_ms(50, now_ms=4_000) is None


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 100_000)), max_size=80), st.integers(1, 10))
def test_lookup_table_stays_within_capacity_and_monotonic(points: list[tuple[int, int]], capacity: int) -> None:
    lookup_table = table(*points, capacity=capacity)
    stored = lookup_table.points
    assert len(stored) <= capacity
    assert all(left.time_ms < right.time_ms and left.offset <= right.offset for left, right in pairwise(stored))
