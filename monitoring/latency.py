"""Per-event latency per consumer group, derived from the fetch and commit log: time in broker
(append to the group's first fetch of the event) and processing time (that fetch to the commit
that covers it). No write per event per consumer exists, so nothing else could give it. A group
with commits and no fetch log (a native Kafka client; any group on the Kafka backend) gets its
fetches estimated from its commits, and its figures say so (`fetch_estimated`).

Over a long window a busy partition holds millions of events; the percentiles come from a
sample of at most `SAMPLE_PER_PARTITION` offsets spread evenly over what the group fetched in the
window, read by position (indexed), never by scanning."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from broker.choices import ActivityKind
from broker.models import GroupActivity
from broker.selectors import event_columns_at, scalar_lookups
from monitoring.evaluation import CommitRecord, FetchRecord, commit_only_latencies, event_latencies, percentiles

SAMPLE_PER_PARTITION = 2_000


@dataclass(frozen=True)
class LatencyFigures:
    """Percentiles (ms) of one group over a window, for all its events or one event type."""

    group: str
    event_type: str  # "" for all types
    events: int
    time_in_broker: dict[str, float | None]
    processing: dict[str, float | None]
    # The group has no fetch log (a native client, or any group on Kafka): its fetches are
    # estimated from its commits (monitoring.evaluation.latency.estimated_fetch_ms).
    fetch_estimated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "event_type": self.event_type or None,
            "events": self.events,
            "time_in_broker_ms": self.time_in_broker,
            "processing_ms": self.processing,
            "fetch_estimated": self.fetch_estimated,
        }


def _events_at(positions: list[tuple[int, int, int]]) -> dict[tuple[int, int, int], tuple[int, str]]:
    """(append time, type) of the events at these (topic id, partition, offset) positions."""
    found = event_columns_at(positions, ["append_time_ms", "type"])
    return {position: (append_ms, event_type) for position, (append_ms, event_type) in found.items()}


_LAST_COMMIT_BEFORE = (
    "(SELECT id FROM broker_groupactivity WHERE group_id = %s AND topic_id = %s AND partition = %s "
    f"AND kind = {int(ActivityKind.COMMIT)} AND at_ms < %s ORDER BY at_ms DESC LIMIT 1)"
)


def _commits_before(group_id: int, keys: list[tuple[int, int]], since_ms: int) -> dict[tuple[int, int], CommitRecord]:
    """The group's last commit before the window on each partition, where there is one: a lookup
    per partition (broker.selectors.scalar_lookups), then the rows found."""
    found = scalar_lookups(_LAST_COMMIT_BEFORE, [(key, (group_id, *key, since_ms)) for key in keys])
    ids = [row_id for row_id in found.values() if row_id is not None]
    return {
        (topic_id, partition): CommitRecord(at_ms, offset)
        for topic_id, partition, at_ms, offset in GroupActivity.objects.filter(id__in=ids).values_list(
            "topic_id", "partition", "at_ms", "end_offset"
        )
    }


def group_latencies(
    *, group_id: int, group_name: str, since_ms: int, topic_ids: list[int] | None = None, by_type: bool = True
) -> list[LatencyFigures]:
    """Latency percentiles of a group's events fetched since `since_ms`: one row for all events,
    then (with `by_type`) one per event type, most events first."""
    activity = GroupActivity.objects.filter(group_id=group_id, at_ms__gte=since_ms)
    if topic_ids is not None:
        activity = activity.filter(topic_id__in=topic_ids)
    fetches: dict[tuple[int, int], list[FetchRecord]] = defaultdict(list)
    commits: dict[tuple[int, int], list[CommitRecord]] = defaultdict(list)
    for topic_id, partition, kind, at_ms, start, end in activity.order_by("at_ms", "id").values_list(
        "topic_id", "partition", "kind", "at_ms", "start_offset", "end_offset"
    ):
        if kind == ActivityKind.FETCH:
            fetches[(topic_id, partition)].append(FetchRecord(at_ms, start, end))
        else:
            commits[(topic_id, partition)].append(CommitRecord(at_ms, end))
    sampled: list[tuple[int, int, int]] = []
    # A group with no fetch log at all (a native client; any group on Kafka) is known by its
    # commits only: what it consumed from where it stood before the window, its fetches estimated
    # from the commit before each (with none known, what the first commit covers is left out).
    commit_only = {} if fetches else dict(commits)
    for key, before in _commits_before(group_id, sorted(commit_only), since_ms).items():
        commit_only[key] = [before, *commit_only[key]]
    ranges = [
        *(
            (key, min(r.start_offset for r in records), max(r.end_offset for r in records))
            for key, records in fetches.items()
        ),
        *((key, records[0].offset, max(r.offset for r in records)) for key, records in commit_only.items()),
    ]
    for (topic_id, partition), low, high in ranges:
        step = max(1, (high - low) // SAMPLE_PER_PARTITION)
        sampled.extend((topic_id, partition, offset) for offset in range(low, high, step))
    found = _events_at(sampled)
    appends: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
    for (topic_id, partition, offset), (append_ms, _) in found.items():
        appends[(topic_id, partition)][offset] = append_ms
    in_broker: dict[str, list[float]] = defaultdict(list)
    processing: dict[str, list[float]] = defaultdict(list)
    measured = [(key, event_latencies(appends[key], records, commits.get(key, []))) for key, records in fetches.items()]
    measured += [(key, commit_only_latencies(appends[key], records)) for key, records in commit_only.items()]
    for key, latencies in measured:
        for latency in latencies:
            event_type = found[(key[0], key[1], latency.offset)][1]
            for bucket in ("", event_type) if by_type else ("",):
                if latency.time_in_broker_ms is not None:
                    in_broker[bucket].append(latency.time_in_broker_ms)
                if latency.processing_ms is not None:
                    processing[bucket].append(latency.processing_ms)
    names = sorted(set(in_broker) | set(processing), key=lambda name: (name != "", -len(in_broker.get(name, []))))
    return [
        LatencyFigures(
            group_name,
            name,
            len(in_broker.get(name, [])),
            percentiles(in_broker.get(name, [])),
            percentiles(processing.get(name, [])),
            fetch_estimated=bool(commit_only),
        )
        for name in names
    ]
