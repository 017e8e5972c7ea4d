"""Per-event latency from the fetch and commit logs, and nearest-rank percentiles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitoring.evaluation import CommitRecord, EventLatency, FetchRecord, event_latencies, percentiles


def test_time_in_broker_runs_to_the_first_fetch_and_processing_to_the_covering_commit() -> None:
    latencies = event_latencies({0: 1_000, 1: 1_100, 2: 1_200}, [FetchRecord(1_500, 0, 3)], [CommitRecord(1_800, 3)])
    assert latencies == [
        EventLatency(0, 1_000, 1_500, 1_800, 500, 300),
        EventLatency(1, 1_100, 1_500, 1_800, 400, 300),
        EventLatency(2, 1_200, 1_500, 1_800, 300, 300),
    ]


def test_a_refetch_after_a_rebalance_does_not_reset_the_fetch_time() -> None:
    fetches = [FetchRecord(5_000, 1, 3), FetchRecord(1_500, 0, 3)]  # log order does not matter
    latencies = event_latencies({0: 1_000, 1: 1_100, 2: 1_200}, fetches, [CommitRecord(6_000, 3)])
    assert [latency.first_fetch_ms for latency in latencies] == [1_500, 1_500, 1_500]


def test_each_event_is_covered_by_the_first_commit_past_its_offset() -> None:
    commits = [CommitRecord(1_600, 1), CommitRecord(1_700, 3)]
    latencies = event_latencies({0: 1_000, 1: 1_100, 2: 1_200}, [FetchRecord(1_500, 0, 3)], commits)
    assert [latency.commit_ms for latency in latencies] == [1_600, 1_700, 1_700]
    assert [latency.processing_ms for latency in latencies] == [100, 200, 200]


def test_a_commit_before_the_first_fetch_does_not_cover_the_event() -> None:
    commits = [CommitRecord(1_400, 3), CommitRecord(1_900, 3)]
    latencies = event_latencies({0: 1_000}, [FetchRecord(1_500, 0, 1)], commits)
    assert latencies[0].commit_ms == 1_900


def test_commits_that_went_back_after_a_reset_are_still_searched_correctly() -> None:
    # The group committed 3, was reset to 0, fetched again and committed its way back up.
    commits = [CommitRecord(1_600, 3), CommitRecord(1_900, 0), CommitRecord(2_500, 2), CommitRecord(2_600, 3)]
    latencies = event_latencies({0: 1_000, 2: 1_200}, [FetchRecord(2_000, 0, 3)], commits)
    assert [latency.commit_ms for latency in latencies] == [2_500, 2_600]


def test_events_not_yet_fetched_or_committed_have_no_latency() -> None:
    latencies = event_latencies({0: 1_000, 1: 1_100}, [FetchRecord(1_500, 0, 1)], [])
    assert latencies == [
        EventLatency(0, 1_000, 1_500, None, 500, None),
        EventLatency(1, 1_100, None, None, None, None),
    ]


def test_an_event_skipped_by_a_seek_has_a_commit_but_no_processing_time() -> None:
    latencies = event_latencies({5: 1_000}, [], [CommitRecord(900, 10), CommitRecord(2_000, 10)])
    assert latencies == [EventLatency(5, 1_000, None, 2_000, None, None)]


def test_fetch_ranges_are_half_open() -> None:
    latencies = event_latencies({2: 1_000, 3: 1_000}, [FetchRecord(1_500, 0, 3)], [])
    assert [latency.first_fetch_ms for latency in latencies] == [1_500, None]


def naive_latencies(
    appends: Mapping[int, int], fetches: Sequence[FetchRecord], commits: Sequence[CommitRecord]
) -> list[EventLatency]:
    """The definition, written the slow way."""
    result = []
    for offset in sorted(appends):
        covering_fetches = [fetch.at_ms for fetch in fetches if fetch.start_offset <= offset < fetch.end_offset]
        first_fetch = min(covering_fetches, default=None)
        since = appends[offset] if first_fetch is None else first_fetch
        covering_commits = [commit.at_ms for commit in commits if commit.at_ms >= since and commit.offset > offset]
        commit_ms = min(covering_commits, default=None)
        result.append(
            EventLatency(
                offset,
                appends[offset],
                first_fetch,
                commit_ms,
                None if first_fetch is None else first_fetch - appends[offset],
                None if first_fetch is None or commit_ms is None else commit_ms - first_fetch,
            )
        )
    return result


offsets = st.integers(0, 40)
times = st.integers(0, 5_000)


@given(
    st.dictionaries(offsets, times, max_size=30),
    st.lists(st.builds(FetchRecord, times, offsets, offsets), max_size=15),
    st.lists(st.builds(CommitRecord, times, offsets), max_size=15),
)
def test_event_latencies_match_the_definition(
    appends: dict[int, int], fetches: list[FetchRecord], commits: list[CommitRecord]
) -> None:
    assert event_latencies(appends, fetches, commits) == naive_latencies(appends, fetches, commits)


def test_overlapping_refetches_of_a_large_partition_are_joined_without_rescanning() -> None:
    # 50k events and 5k fetches that each re-read everything from offset 0: a per-fetch rescan
    # would touch 250M offsets; claiming each offset once touches 50k.
    event_count = 50_000
    appends = {offset: offset for offset in range(event_count)}
    fetches = [FetchRecord(100_000 + index, 0, (index + 1) * 10) for index in range(5_000)]
    commits = [CommitRecord(200_000 + index, (index + 1) * 10) for index in range(5_000)]
    latencies = event_latencies(appends, fetches, commits)
    assert len(latencies) == event_count
    assert latencies[12_345] == EventLatency(12_345, 12_345, 101_234, 201_234, 88_889, 100_000)


def test_percentiles_are_nearest_rank() -> None:
    assert percentiles([15, 20, 35, 40, 50], (5, 30, 40, 50, 100)) == {
        "p5": 15,
        "p30": 20,
        "p40": 20,
        "p50": 35,
        "p100": 50,
    }


def test_default_percentiles_are_p50_p95_p99() -> None:
    assert percentiles(range(1, 101)) == {"p50": 50, "p95": 95, "p99": 99}


def test_fractional_percentiles_get_readable_keys_and_exact_ranks() -> None:
    assert percentiles(range(1, 1_001), (99.9, 7)) == {"p99.9": 999, "p7": 70}


def test_percentiles_of_nothing_are_none() -> None:
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None}


def test_percentiles_outside_zero_to_a_hundred_are_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentiles([1.0], (101,))


# -- a group known by its commits only (a native Kafka client) -----------------------------------


def test_commit_only_fetch_is_the_later_of_append_and_the_previous_commit() -> None:
    from monitoring.evaluation import commit_only_latencies

    # Offsets 0-3 appended at 1000..1003; the group committed 2 at 1500 and 4 at 2500.
    appends = {offset: 1_000 + offset for offset in range(4)}
    commits = [CommitRecord(2_500, 4), CommitRecord(1_500, 2)]
    by_offset = {latency.offset: latency for latency in commit_only_latencies(appends, commits)}
    # Covered by the first commit, with no commit known before it: committed, nothing estimated.
    assert (by_offset[0].first_fetch_ms, by_offset[0].commit_ms, by_offset[0].processing_ms) == (None, 1_500, None)
    # Covered by the second: fetched right after the previous commit, at 1500.
    assert (by_offset[3].first_fetch_ms, by_offset[3].time_in_broker_ms, by_offset[3].processing_ms) == (
        1_500,
        497,
        1_000,
    )
    assert by_offset[3].commit_ms == 2_500


def test_commit_only_an_idle_group_fetches_as_appended_and_never_after_its_commit() -> None:
    from monitoring.evaluation import commit_only_latencies, estimated_fetch_ms

    [latency] = commit_only_latencies({5: 3_000}, [CommitRecord(1_000, 5), CommitRecord(3_040, 6)])
    assert (latency.first_fetch_ms, latency.time_in_broker_ms, latency.processing_ms) == (3_000, 0, 40)
    assert estimated_fetch_ms(3_000, 2_000, 2_990) == 2_990  # clock skew: the commit bounds it


def test_commit_only_an_event_no_commit_covers_has_no_figures() -> None:
    from monitoring.evaluation import commit_only_latencies

    [latency] = commit_only_latencies({7: 1_000}, [CommitRecord(2_000, 7)])
    assert (latency.first_fetch_ms, latency.commit_ms, latency.time_in_broker_ms, latency.processing_ms) == (
        None,
        None,
        None,
        None,
    )
