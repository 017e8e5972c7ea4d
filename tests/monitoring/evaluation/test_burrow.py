"""Burrow's storage window and evaluator rules (linkedin/Burrow ``inmemory.go``, ``caching.go``)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitoring.evaluation import (
    CommitSample,
    CommitWindow,
    GroupEvaluation,
    PartitionEvaluation,
    PartitionStatus,
    WindowConfig,
    evaluate_group,
    evaluate_partition,
)

MINUTE = 60_000
FAR_AHEAD = (1_000_000,)  # broker end offsets well past every commit: never recently caught up


def commits(*rows: tuple[int, int, int | None]) -> list[CommitSample]:
    """``(offset, minute, lag)`` rows -> samples one per row."""
    return [CommitSample(offset, minute * MINUTE, lag) for offset, minute, lag in rows]


def evaluate(
    samples: Sequence[CommitSample | None],
    *,
    current_lag: int = 10,
    broker_end_offsets: Sequence[int] = FAR_AHEAD,
    now_minute: int | None = None,
    config: WindowConfig | None = None,
) -> PartitionEvaluation:
    """Evaluate with defaults that trip no rule: lagging a little, last commit a minute ago."""
    present = [sample for sample in samples if sample is not None]
    now_ms = (present[-1].timestamp_ms + MINUTE) if now_minute is None and present else (now_minute or 0) * MINUTE
    return evaluate_partition(
        samples,
        current_lag=current_lag,
        broker_end_offsets=broker_end_offsets,
        now_ms=now_ms,
        config=config or WindowConfig(),
    )


CATCHING_UP = commits((100, 0, 50), (110, 1, 45), (120, 2, 40), (130, 3, 35), (140, 4, 30))
STALLED = commits((100, 0, 50), (100, 1, 60), (100, 2, 70), (100, 3, 80), (100, 4, 90))
REWOUND = commits((100, 0, 50), (110, 1, 45), (120, 2, 40), (90, 3, 75), (95, 4, 72))

# (case, window, keyword arguments for evaluate, expected status): Burrow's rules in Burrow's order.
RULE_CASES: list[tuple[str, list[CommitSample], dict[str, object], PartitionStatus]] = [
    ("a consumer whose lag shrinks is OK", CATCHING_UP, {}, PartitionStatus.OK),
    (
        "a window below minimum-complete is OK unjudged, even when stalled",
        STALLED,
        {"config": WindowConfig(minimum_complete=0.8)},
        PartitionStatus.OK,
    ),
    (
        "zero current lag is OK even when stopped and stalled",
        STALLED,
        {"current_lag": 0, "now_minute": 60},
        PartitionStatus.OK,
    ),
    (
        "current lag within allowed-lag is OK",
        STALLED,
        {"current_lag": 5, "config": WindowConfig(allowed_lag=5)},
        PartitionStatus.OK,
    ),
    ("silence longer than the window's span is STOP", CATCHING_UP, {"now_minute": 9}, PartitionStatus.STOP),
    (
        "a recent broker end offset at the last commit delays STOP",
        CATCHING_UP,
        {"now_minute": 9, "broker_end_offsets": (150, 140, 160)},
        PartitionStatus.OK,
    ),
    ("STOP is checked before REWIND", REWOUND, {"now_minute": 20}, PartitionStatus.STOP),
    ("an offset that goes back and stays back is REWIND", REWOUND, {}, PartitionStatus.REWIND),
    (
        "REWIND is checked before the lag-reached-zero escape",
        commits((100, 0, 0), (110, 1, 45), (120, 2, 40), (90, 3, 75), (95, 4, 72)),
        {},
        PartitionStatus.REWIND,
    ),
    (
        "a rewind that gets back to the earlier offset is forgiven",
        commits((100, 0, 50), (120, 1, 45), (90, 2, 75), (120, 3, 60), (130, 4, 55)),
        {},
        PartitionStatus.OK,
    ),
    (
        "after a forgiven rewind the remaining rules still apply",
        commits((100, 0, 50), (120, 1, 55), (90, 2, 75), (125, 3, 80), (130, 4, 90)),
        {},
        PartitionStatus.WARN,
    ),
    ("commits that never move while lagging are STALL", STALLED, {}, PartitionStatus.STALL),
    (
        "commits that never move are OK if lag was zero once in the window",
        commits((100, 0, 0), (100, 1, 10), (100, 2, 20)),
        {},
        PartitionStatus.OK,
    ),
    (
        "STALL is checked before WARN",
        commits((100, 0, 10), (100, 1, 10), (100, 2, 10)),
        {},
        PartitionStatus.STALL,
    ),
    (
        "lag that never decreases while offsets move is WARN",
        commits((100, 0, 10), (110, 1, 10), (120, 2, 20), (130, 3, 30)),
        {},
        PartitionStatus.WARN,
    ),
    (
        "one decrease anywhere in the window is OK",
        commits((100, 0, 10), (110, 1, 20), (120, 2, 15), (130, 3, 30)),
        {},
        PartitionStatus.OK,
    ),
    (
        "lags are compared across a missing lag",
        commits((100, 0, 30), (110, 1, None), (120, 2, 20)),
        {},
        PartitionStatus.OK,
    ),
    (
        "a missing lag is not a lag of zero",
        commits((100, 0, 20), (110, 1, None), (120, 2, 30)),
        {},
        PartitionStatus.WARN,
    ),
    (
        "with no lag readings at all a moving, lagging consumer is WARN (Burrow's vacuous rule)",
        commits((100, 0, None), (110, 1, None)),
        {},
        PartitionStatus.WARN,
    ),
    (
        "a stored lag within allowed-lag counts as caught up",
        commits((100, 0, 8), (110, 1, 9), (120, 2, 12)),
        {"current_lag": 15, "config": WindowConfig(allowed_lag=10)},
        PartitionStatus.OK,
    ),
]


@pytest.mark.parametrize(
    ("window", "options", "expected"),
    [case[1:] for case in RULE_CASES],
    ids=[case[0] for case in RULE_CASES],
)
def test_burrow_rule_decides_status(
    window: list[CommitSample], options: dict[str, object], expected: PartitionStatus
) -> None:
    assert evaluate(window, **options).status is expected  # type: ignore[arg-type]


def test_window_with_no_commits_is_ok_and_zero_complete() -> None:
    result = evaluate([], current_lag=500)
    assert (result.status, result.complete, result.start, result.end) == (PartitionStatus.OK, 0.0, None, None)


def test_leading_empty_slots_are_dropped_and_lower_completeness() -> None:
    ring: list[CommitSample | None] = [None, None, *commits(*((100 + 10 * i, i, 50 - i) for i in range(8)))]
    result = evaluate(ring)
    assert result.complete == pytest.approx(0.8)
    assert result.start == CommitSample(100, 0, 50)
    assert result.end == CommitSample(170, 7 * MINUTE, 43)


def test_window_shorter_than_intervals_is_incomplete() -> None:
    assert evaluate(CATCHING_UP, config=WindowConfig(intervals=10)).complete == pytest.approx(0.5)
    assert evaluate(CATCHING_UP, config=WindowConfig(intervals=5)).complete == 1.0


def test_stop_reason_names_the_silence_and_the_window_span() -> None:
    window = commits(*((100 + i, i, 50) for i in range(6)))  # spans 5 min
    result = evaluate(window, now_minute=14, broker_end_offsets=(300, 310, 320))
    assert result.status is PartitionStatus.STOP
    assert result.reason == (
        "no commit for 9 min, longer than the 5 min the window spans, "
        "and the consumer was not caught up at any of the last 3 broker polls"
    )


def test_stop_reason_uses_hours_for_long_silences() -> None:
    window = commits((100, 0, 50), (101, 60, 40))
    assert "no commit for 2 h 5 min, longer than the 1 h the window spans" in evaluate(window, now_minute=185).reason


def test_rewind_reason_names_both_offsets() -> None:
    assert evaluate(REWOUND).reason == "the committed offset went back from 120 to 90 and has not returned to 120 since"


def test_stall_and_warn_reasons_explain_the_window() -> None:
    assert evaluate(STALLED).reason == (
        "all 5 commits in the window are at offset 100 while the lag never came within the allowed 0"
    )
    warn = evaluate(commits((100, 0, 10), (110, 1, 10), (120, 2, 20)))
    assert (
        warn.reason == "the lag never decreased across the window (from 10 to 20) and never came within the allowed 0"
    )


def test_ok_reasons_say_which_rule_let_the_partition_pass() -> None:
    assert evaluate(STALLED, current_lag=0).reason == "current lag 0 is within the allowed lag of 0"
    assert evaluate(CATCHING_UP).reason == (
        "the lag decreased between commits in the window, so the consumer is catching up"
    )
    incomplete = evaluate(STALLED, config=WindowConfig(minimum_complete=0.8))
    assert incomplete.reason == (
        "only 5 of 10 commit slots are filled (50%), below the 80% minimum, so the window is not judged"
    )


def test_status_labels_are_burrows_strings() -> None:
    assert [status.label for status in PartitionStatus] == ["NOTFOUND", "OK", "WARN", "ERR", "STOP", "STALL", "REWIND"]
    assert [int(status) for status in PartitionStatus] == [0, 1, 2, 3, 4, 5, 6]


# --- storage window ---------------------------------------------------------------------------


def test_commit_window_keeps_only_the_last_intervals_commits() -> None:
    window = CommitWindow(WindowConfig(intervals=3))
    for minute in range(5):
        window.add(100 + minute, minute * MINUTE, 200)
    assert [sample.offset for sample in window.samples] == [102, 103, 104]


def test_lag_is_stored_at_append_and_never_negative() -> None:
    window = CommitWindow()
    window.add(100, 0, broker_end_offset=150)
    window.add(160, MINUTE, broker_end_offset=150)  # the end offset read earlier is already behind
    assert [sample.lag for sample in window.samples] == [50, 0]


def test_commit_sooner_than_min_distance_replaces_the_slot_and_keeps_its_timestamp() -> None:
    window = CommitWindow(WindowConfig(min_distance_ms=1_000))
    window.add(10, 0, 50)
    window.add(12, 500, 50)
    assert window.samples == [CommitSample(12, 0, 38)]
    window.add(15, 1_200, 50)
    assert window.samples == [CommitSample(12, 0, 38), CommitSample(15, 1_200, 35)]


def test_frequent_committer_still_opens_a_slot_every_min_distance() -> None:
    window = CommitWindow(WindowConfig(min_distance_ms=1_000))
    for index, timestamp_ms in enumerate(range(0, 4_000, 400)):
        window.add(index, timestamp_ms, 100)
    assert [sample.timestamp_ms for sample in window.samples] == [0, 1_200, 2_400, 3_600]
    assert [sample.offset for sample in window.samples] == [2, 5, 8, 9]


def test_out_of_order_commit_is_slotted_in_place_without_lag() -> None:
    window = CommitWindow()
    window.add(100, 10, 500)
    window.add(300, 30, 500)
    window.add(200, 20, 500)
    assert window.samples == [CommitSample(100, 10, 400), CommitSample(200, 20, None), CommitSample(300, 30, 200)]


def test_out_of_order_commit_older_than_everything_goes_first_in_a_partly_filled_window() -> None:
    window = CommitWindow(WindowConfig(intervals=3))
    window.add(200, 20, 500)
    window.add(100, 10, 500)
    assert [(sample.offset, sample.lag) for sample in window.samples] == [(100, None), (200, 300)]


def test_out_of_order_commit_older_than_a_full_window_is_dropped() -> None:
    window = CommitWindow(WindowConfig(intervals=2))
    window.add(200, 20, 500)
    window.add(300, 30, 500)
    window.add(100, 10, 500)
    assert [sample.offset for sample in window.samples] == [200, 300]


def test_out_of_order_commit_into_a_full_window_drops_the_oldest() -> None:
    window = CommitWindow(WindowConfig(intervals=3))
    for offset, timestamp_ms in ((100, 10), (200, 20), (300, 30)):
        window.add(offset, timestamp_ms, 500)
    window.add(250, 25, 500)
    assert [sample.offset for sample in window.samples] == [200, 250, 300]


def test_out_of_order_commit_just_after_the_oldest_of_a_full_window_overwrites_it() -> None:
    # Burrow stops its backward walk before the oldest slot of a full ring and overwrites that slot.
    window = CommitWindow(WindowConfig(intervals=3, min_distance_ms=100))
    for offset, timestamp_ms in ((100, 10), (200, 200), (300, 400)):
        window.add(offset, timestamp_ms, 500)
    window.add(150, 50, 500)
    assert window.samples[0] == CommitSample(150, 50, None)


def test_same_commit_seen_twice_is_stored_once() -> None:
    window = CommitWindow()
    window.add(100, 10, 500)
    window.add(200, 20, 500)
    window.add(200, 20, 500)
    assert len(window.samples) == 2


def test_explicit_order_keeps_two_commits_in_the_same_millisecond() -> None:
    window = CommitWindow()
    window.add(100, 10, 500, order=1)
    window.add(105, 10, 500, order=2)
    assert [sample.offset for sample in window.samples] == [100, 105]


def test_invalid_window_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="intervals"):
        WindowConfig(intervals=0)
    with pytest.raises(ValueError, match="minimum_complete"):
        WindowConfig(minimum_complete=1.5)


# --- group roll-up ----------------------------------------------------------------------------


def partition(status: PartitionStatus, *, lag: int = 0, complete: float = 1.0) -> PartitionEvaluation:
    return PartitionEvaluation(status, complete, lag, None, None, "test")


def test_group_status_is_the_worst_partition_with_stop_stall_rewind_shown_as_err() -> None:
    for partition_only in (PartitionStatus.STOP, PartitionStatus.STALL, PartitionStatus.REWIND):
        group = evaluate_group({("orders", 0): partition(PartitionStatus.OK), ("orders", 1): partition(partition_only)})
        assert group.status is PartitionStatus.ERR
    group = evaluate_group(
        {("orders", 0): partition(PartitionStatus.OK), ("orders", 1): partition(PartitionStatus.WARN)}
    )
    assert group.status is PartitionStatus.WARN


def test_group_rolls_up_lag_completeness_and_partition_count() -> None:
    partitions = {
        ("orders", 0): partition(PartitionStatus.OK, lag=5, complete=1.0),
        ("orders", 1): partition(PartitionStatus.WARN, lag=40, complete=0.5),
        ("payments", 0): partition(PartitionStatus.OK, lag=7, complete=1.0),
        ("payments", 1): partition(PartitionStatus.OK, lag=0, complete=0.9),
    }
    group = evaluate_group(partitions)
    assert group == GroupEvaluation(
        status=PartitionStatus.WARN,
        complete=0.5,
        max_lag_partition=("orders", 1),
        total_lag=52,
        partition_count=4,
        partitions=partitions,
    )


def test_group_max_lag_ties_go_to_the_lowest_topic_and_partition() -> None:
    group = evaluate_group({("b", 0): partition(PartitionStatus.OK), ("a", 3): partition(PartitionStatus.OK)})
    assert group.max_lag_partition == ("a", 3)


def test_group_with_no_partitions_is_notfound() -> None:
    group = evaluate_group({})
    assert (group.status, group.partition_count, group.max_lag_partition) == (PartitionStatus.NOTFOUND, 0, None)


# --- properties -------------------------------------------------------------------------------


@st.composite
def windows(draw: st.DrawFn) -> list[CommitSample]:
    size = draw(st.integers(1, 10))
    gaps = draw(st.lists(st.integers(0, 10 * MINUTE), min_size=size, max_size=size))
    offsets = draw(st.lists(st.integers(0, 1_000), min_size=size, max_size=size))
    lags = draw(st.lists(st.none() | st.integers(0, 500), min_size=size, max_size=size))
    return [
        CommitSample(offset, timestamp_ms, lag)
        for offset, timestamp_ms, lag in zip(offsets, itertools.accumulate(gaps), lags, strict=True)
    ]


evaluation_inputs = {
    "samples": windows(),
    "current_lag": st.integers(0, 500),
    "broker_end_offsets": st.lists(st.integers(0, 1_500), max_size=10),
    "silence_ms": st.integers(0, 100 * MINUTE),
    "allowed_lag": st.integers(0, 50),
}


@given(**evaluation_inputs)
def test_a_window_where_lag_reaches_the_allowance_is_never_warn_or_stall(
    samples: list[CommitSample], current_lag: int, broker_end_offsets: list[int], silence_ms: int, allowed_lag: int
) -> None:
    lowest = min((sample.lag for sample in samples if sample.lag is not None), default=None)
    if lowest is None:
        return
    config = WindowConfig(allowed_lag=max(allowed_lag, lowest))
    result = evaluate_partition(
        samples,
        current_lag=current_lag,
        broker_end_offsets=broker_end_offsets,
        now_ms=samples[-1].timestamp_ms + silence_ms,
        config=config,
    )
    assert result.status not in (PartitionStatus.WARN, PartitionStatus.STALL)


@given(**evaluation_inputs)
def test_current_lag_within_the_allowance_is_always_ok(
    samples: list[CommitSample], current_lag: int, broker_end_offsets: list[int], silence_ms: int, allowed_lag: int
) -> None:
    result = evaluate_partition(
        samples,
        current_lag=min(current_lag, allowed_lag),
        broker_end_offsets=broker_end_offsets,
        now_ms=samples[-1].timestamp_ms + silence_ms,
        config=WindowConfig(allowed_lag=allowed_lag),
    )
    assert result.status is PartitionStatus.OK


@given(**evaluation_inputs)
def test_a_partition_status_is_never_a_group_only_status_and_always_explained(
    samples: list[CommitSample], current_lag: int, broker_end_offsets: list[int], silence_ms: int, allowed_lag: int
) -> None:
    result = evaluate_partition(
        samples,
        current_lag=current_lag,
        broker_end_offsets=broker_end_offsets,
        now_ms=samples[-1].timestamp_ms + silence_ms,
        config=WindowConfig(allowed_lag=allowed_lag),
    )
    assert result.status not in (PartitionStatus.NOTFOUND, PartitionStatus.ERR)
    assert (result.start, result.end) == (samples[0], samples[-1])
    assert result.reason


commit_streams = st.lists(st.tuples(st.integers(0, 1_000), st.integers(0, 10_000), st.integers(0, 1_500)), max_size=40)


@given(commit_streams, st.integers(1, 6), st.integers(0, 2_000))
def test_commit_window_never_holds_more_than_intervals(
    stream: list[tuple[int, int, int]], intervals: int, min_distance_ms: int
) -> None:
    window = CommitWindow(WindowConfig(intervals=intervals, min_distance_ms=min_distance_ms))
    for offset, timestamp_ms, end_offset in stream:
        window.add(offset, timestamp_ms, end_offset)
    assert len(window.samples) <= intervals


@given(commit_streams, st.integers(1, 6))
def test_without_min_distance_the_window_is_the_newest_distinct_commits_in_time_order(
    stream: list[tuple[int, int, int]], intervals: int
) -> None:
    window = CommitWindow(WindowConfig(intervals=intervals))
    for offset, timestamp_ms, end_offset in stream:
        window.add(offset, timestamp_ms, end_offset)
    newest_distinct = sorted({timestamp_ms for _offset, timestamp_ms, _end in stream})[-intervals:]
    assert [sample.timestamp_ms for sample in window.samples] == newest_distinct


def test_a_dumped_window_restores_to_the_same_ring_and_keeps_applying_the_rules():
    config = WindowConfig(intervals=3, min_distance_ms=1000)
    window = CommitWindow(config)
    for n, (offset, at) in enumerate([(1, 0), (2, 5000), (3, 5500), (4, 9000)]):
        window.add(offset, at, broker_end_offset=10, order=n)
    restored = CommitWindow.restore(window.dump(), config)
    assert restored.samples == window.samples
    window.add(9, 9200, broker_end_offset=12, order=9)
    restored.add(9, 9200, broker_end_offset=12, order=9)
    assert restored.samples == window.samples


def test_stop_reason_for_a_single_commit_window_never_says_it_spans_zero() -> None:
    result = evaluate(commits((100, 0, 50)), now_minute=9)
    assert result.status is PartitionStatus.STOP
    assert "0 ms" not in result.reason and "spans" not in result.reason
    assert result.reason.startswith("no commit for 9 min, the window holds a single commit, so any silence counts")
    assert result.summary == "stopped: no commit for 9 min"


def test_stop_reason_for_commits_made_at_one_moment_says_so() -> None:
    result = evaluate(commits((100, 2, 50), (101, 2, 49), (102, 2, 48)), now_minute=5)
    assert result.status is PartitionStatus.STOP
    assert "0 ms" not in result.reason
    assert "the window's 3 commits were all made at the same moment" in result.reason


def test_every_status_has_a_one_line_summary_shorter_than_its_reason() -> None:
    decided = [
        evaluate(commits(*((100 + i, i, 50) for i in range(6))), now_minute=14),
        evaluate(REWOUND),
        evaluate(STALLED),
        evaluate(commits((100, 0, 10), (110, 1, 10), (120, 2, 20))),
        evaluate(CATCHING_UP),
        evaluate(STALLED, current_lag=0),
        evaluate([]),
    ]
    assert [result.summary for result in decided] == [
        "stopped: no commit for 9 min",
        "rewound: offset 120 → 90",
        "stalled at offset 100, lag 10",
        "falling behind: lag 10 → 20",
        "catching up, lag 10",
        "caught up",
        "no commits yet",
    ]
    assert all(len(result.summary) < len(result.reason) for result in decided)
