"""Consumer lag: live figures per group and partition, the sampler that keeps history and Burrow
status, and the roll-ups the dashboard and the API show. The maths is monitoring/evaluation; this
module reads the broker's tables in a few batched queries (never one per partition)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from broker.choices import ActivityKind
from broker.models import ConsumerGroup, GroupActivity, GroupMember, GroupPartition, Partition
from broker.selectors import event_columns_at
from core.jsonutil import dumps
from monitoring.evaluation import (
    CommitWindow,
    GroupEvaluation,
    PartitionEvaluation,
    PartitionStatus,
    WindowConfig,
    consume_rate,
    eta_seconds,
    evaluate_group,
    evaluate_partition,
    offset_lag,
    produce_rate,
    time_lag_ms,
)
from monitoring.models import GroupLagState, LagSample, SamplerCursor

# Burrow's window: the last ten commits, commits closer than five seconds share a slot (so a
# consumer committing every poll still spans about a minute).
WINDOW = WindowConfig(intervals=10, min_distance_ms=5_000, allowed_lag=0)
BROKER_OFFSET_RING = 10
RECENT_SAMPLES = 120  # 30 min at 15 s
STATE_FRESH_MS = 45_000


@dataclass
class PartitionLag:
    """One partition of one group: where the log ends, where the group stands, how far behind."""

    group_id: int
    topic_id: int
    topic: str
    partition: int
    log_start_offset: int
    log_end_offset: int
    committed_offset: int | None
    committed_ms: int | None
    lag: int | None
    time_lag_ms: int | None
    consumer_id: str = ""
    client_id: str = ""
    status: str = ""
    status_reason: str = ""
    status_summary: str = ""

    @property
    def key(self) -> str:
        return f"{self.topic_id}:{self.partition}"

    def as_dict(self) -> dict[str, Any]:
        """Confluent REST v3's `lags` fields, plus time lag."""
        return {
            "topic": self.topic,
            "partition": self.partition,
            "current_offset": self.committed_offset,
            "log_end_offset": self.log_end_offset,
            "lag": self.lag,
            "time_lag_ms": self.time_lag_ms,
            "consumer_id": self.consumer_id,
            "client_id": self.client_id,
        }


def _append_times(positions: Iterable[tuple[int, int, int]]) -> dict[tuple[int, int, int], int]:
    """Append time of the events at these (topic id, partition, offset) positions: from the
    events table, or on the Kafka backend the records' timestamps (monitoring.kafka_groups)."""
    from broker.log import get_topic_admin

    if get_topic_admin() is not None:
        from monitoring.kafka_groups import record_times

        return record_times(sorted(set(positions)))
    found = event_columns_at(sorted(set(positions)), ["append_time_ms"])
    return {position: row[0] for position, row in found.items()}


def _owners(group_ids: Sequence[int] | None) -> dict[tuple[int, str, int], tuple[str, str]]:
    members = GroupMember.objects.all() if group_ids is None else GroupMember.objects.filter(group_id__in=group_ids)
    owners: dict[tuple[int, str, int], tuple[str, str]] = {}
    for group_id, member_id, client_id, assignment in members.values_list(
        "group_id", "member_id", "client_id", "assignment"
    ):
        for topic, partition in assignment:
            owners[(group_id, topic, partition)] = (member_id, client_id)
    return owners


def partition_lags(*, group_ids: Sequence[int] | None = None, now_ms: int) -> dict[int, list[PartitionLag]]:
    """Live lag of every partition a group has an offset or a member on, per group id. Time lag
    is exact: the age of the oldest unconsumed event (the one at the committed offset)."""
    rows = GroupPartition.objects.all() if group_ids is None else GroupPartition.objects.filter(group_id__in=group_ids)
    rows_list = list(
        rows.values_list(
            "group_id", "topic_id", "topic__name", "partition", "committed_offset", "committed_ms"
        ).order_by("group_id", "topic__name", "partition")
    )
    topic_ids = {row[1] for row in rows_list}
    logs = {
        (p.topic_id, p.number): p
        for p in Partition.objects.filter(topic_id__in=topic_ids).only(
            "topic_id", "number", "log_start_offset", "end_offset"
        )
    }
    owners = _owners(group_ids)
    oldest_unread: list[tuple[int, int, int]] = []
    for _, topic_id, _, number, committed, _ in rows_list:
        log = logs.get((topic_id, number))
        if log is not None and committed is not None and committed < log.end_offset:
            oldest_unread.append((topic_id, number, max(committed, log.log_start_offset)))
    appended = _append_times(oldest_unread)
    result: dict[int, list[PartitionLag]] = defaultdict(list)
    for group_id, topic_id, topic, number, committed, committed_ms in rows_list:
        log = logs.get((topic_id, number))
        if log is None:
            continue
        oldest = (topic_id, number, max(committed, log.log_start_offset)) if committed is not None else None
        member, client = owners.get((group_id, topic, number), ("", ""))
        result[group_id].append(
            PartitionLag(
                group_id=group_id,
                topic_id=topic_id,
                topic=topic,
                partition=number,
                log_start_offset=log.log_start_offset,
                log_end_offset=log.end_offset,
                committed_offset=committed,
                committed_ms=committed_ms,
                lag=offset_lag(log.end_offset, committed),
                time_lag_ms=time_lag_ms(
                    now_ms=now_ms,
                    committed_offset=committed,
                    log_end_offset=log.end_offset,
                    append_time_of_committed_ms=appended.get(oldest) if oldest else None,
                ),
                consumer_id=member,
                client_id=client,
            )
        )
    return dict(result)


# -- Burrow windows kept between samplings ------------------------------------------------------


@dataclass
class _PartitionWindows:
    commits: CommitWindow
    # Per sampling: (at_ms, broker end offset, committed offset or None). Burrow's broker-offset
    # ring, and the two rates (produce from the end offsets, consume from the commits).
    ends: list[tuple[int, int, int | None]] = field(default_factory=list)

    @classmethod
    def load(cls, stored: dict[str, Any] | None) -> _PartitionWindows:
        stored = stored or {}
        ends = [(e[0], e[1], e[2] if len(e) > 2 else None) for e in stored.get("ends", [])]
        return cls(CommitWindow.restore(stored.get("commits", []), WINDOW), ends)

    def dump(self) -> dict[str, Any]:
        return {"commits": [list(row) for row in self.commits.dump()], "ends": [list(e) for e in self.ends]}


def _new_commits(after_id: int, group_ids: Sequence[int] | None) -> tuple[dict[int, list[tuple]], int]:
    commits = GroupActivity.objects.filter(kind=ActivityKind.COMMIT, id__gt=after_id)
    if group_ids is not None:
        commits = commits.filter(group_id__in=group_ids)
    by_group: dict[int, list[tuple]] = defaultdict(list)
    last = after_id
    for row in commits.order_by("id").values_list(
        "id", "group_id", "topic_id", "partition", "at_ms", "end_offset", "log_end_offset"
    ):
        by_group[row[1]].append(row)
        last = row[0]
    return by_group, last


@dataclass
class GroupLagReport:
    """A group's lag right now: partitions with their Burrow status, roll-ups, the group status."""

    group_id: int
    partitions: list[PartitionLag]
    evaluation: GroupEvaluation
    windows: dict[str, _PartitionWindows]

    @property
    def total_lag(self) -> int:
        return sum(p.lag or 0 for p in self.partitions)

    @property
    def max_lag(self) -> int:
        return max((p.lag or 0 for p in self.partitions), default=0)

    @property
    def max_time_lag_ms(self) -> int | None:
        values = [p.time_lag_ms for p in self.partitions if p.time_lag_ms is not None]
        return max(values) if values else None

    def rates(self, key: str) -> tuple[float, float]:
        """(consume, produce) events/s of one partition over its windows."""
        window = self.windows.get(key)
        if window is None:
            return 0.0, 0.0
        committed = [(at, offset) for at, _, offset in window.ends if offset is not None]
        return consume_rate(committed), produce_rate([(at, end) for at, end, _ in window.ends])


def evaluate_groups(
    lags: dict[int, list[PartitionLag]], windows: dict[int, dict[str, _PartitionWindows]], *, now_ms: int
) -> dict[int, GroupLagReport]:
    reports = {}
    for group_id, partitions in lags.items():
        group_windows = windows.get(group_id, {})
        evaluations: dict[tuple[str, int], PartitionEvaluation] = {}
        for lag in partitions:
            window = group_windows.get(lag.key)
            if lag.committed_offset is None or window is None:
                continue
            evaluation = evaluate_partition(
                window.commits.samples,
                current_lag=lag.lag or 0,
                broker_end_offsets=[end for _, end, _ in window.ends],
                now_ms=now_ms,
                config=WINDOW,
            )
            evaluations[(lag.topic, lag.partition)] = evaluation
            lag.status = evaluation.status.label
            lag.status_reason = evaluation.reason
            lag.status_summary = evaluation.summary
        reports[group_id] = GroupLagReport(group_id, partitions, evaluate_group(evaluations), group_windows)
    return reports


def _windows_with(
    stored: dict[str, Any], commits: Sequence[tuple], lags: Sequence[PartitionLag], now_ms: int
) -> dict[str, _PartitionWindows]:
    windows = {key: _PartitionWindows.load(value) for key, value in stored.items()}
    for activity_id, _, topic_id, partition, at_ms, offset, log_end in commits:
        window = windows.setdefault(f"{topic_id}:{partition}", _PartitionWindows.load(None))
        window.commits.add(offset, at_ms, log_end if log_end is not None else offset, order=activity_id)
    for lag in lags:
        window = windows.setdefault(lag.key, _PartitionWindows.load(None))
        window.ends = [*window.ends, (now_ms, lag.log_end_offset, lag.committed_offset)][-BROKER_OFFSET_RING:]
    return windows


def group_report(group: ConsumerGroup, *, now_ms: int) -> GroupLagReport:
    """The live report of one group (API and group page). Burrow's windows come from the sampler's
    state, brought up to date with commits it has not read yet."""
    state = GroupLagState.objects.filter(group=group).first()
    lags = partition_lags(group_ids=[group.id], now_ms=now_ms).get(group.id, [])
    if state is not None:
        commits, _ = _new_commits(_cursor(), [group.id])
        stored = state.windows
    else:
        commits, stored = _recent_commits(group.id), {}
    windows = _windows_with(stored, commits.get(group.id, []), lags, now_ms)
    return evaluate_groups({group.id: lags}, {group.id: windows}, now_ms=now_ms).get(
        group.id, GroupLagReport(group.id, [], evaluate_group({}), {})
    )


def _recent_commits(group_id: int) -> dict[int, list[tuple]]:
    """Without sampler state: each partition's last commits straight from the log."""
    rows = list(
        GroupActivity.objects.filter(group_id=group_id, kind=ActivityKind.COMMIT)
        .order_by("-id")
        .values_list("id", "group_id", "topic_id", "partition", "at_ms", "end_offset", "log_end_offset")[
            : 50 * WINDOW.intervals
        ]
    )
    return {group_id: list(reversed(rows))}


def _cursor() -> int:
    cursor = SamplerCursor.objects.first()
    return cursor.last_activity_id if cursor else 0


def lag_summary(report: GroupLagReport) -> dict[str, Any]:
    """Confluent REST v3's `lag-summary` fields, plus time lag and the time to drain."""
    worst = max(report.partitions, key=lambda p: p.lag or 0, default=None)
    consume = sum(report.rates(p.key)[0] for p in report.partitions)
    produce = sum(report.rates(p.key)[1] for p in report.partitions)
    return {
        "max_lag": report.max_lag,
        "total_lag": report.total_lag,
        "max_time_lag_ms": report.max_time_lag_ms,
        "eta_seconds": eta_seconds(lag=report.total_lag, consume_rate=consume, produce_rate=produce),
        "consume_rate": round(consume, 3),
        "produce_rate": round(produce, 3),
        "max_lag_consumer_id": worst.consumer_id if worst else None,
        "max_lag_client_id": worst.client_id if worst else None,
        "max_lag_topic_name": worst.topic if worst else None,
        "max_lag_partition_id": worst.partition if worst else None,
    }


# -- the sampler ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleRound:
    groups: int
    partitions: int
    commits_read: int


def lag_sample_round(*, now_ms: int) -> SampleRound:
    """One sampling round over every group: live lag, Burrow windows brought up to date with the
    commits since the last round, status, the sparkline ring, and one history row per group."""
    from monitoring.kafka_groups import cluster_groups_mirror

    cluster_groups_mirror(now_ms=now_ms)  # the Kafka backend's groups; nothing on SQL
    cursor = SamplerCursor.objects.first() or SamplerCursor.objects.create()
    commits, last_id = _new_commits(cursor.last_activity_id, None)
    lags = partition_lags(now_ms=now_ms)
    states = {state.group_id: state for state in GroupLagState.objects.all()}
    group_ids = list(ConsumerGroup.objects.values_list("id", flat=True))
    windows = {
        group_id: _windows_with(
            states[group_id].windows if group_id in states else {},
            commits.get(group_id, []),
            lags.get(group_id, []),
            now_ms,
        )
        for group_id in group_ids
    }
    reports = evaluate_groups({group_id: lags.get(group_id, []) for group_id in group_ids}, windows, now_ms=now_ms)
    to_update, to_create, samples = [], [], []
    for group_id, report in reports.items():
        state = states.get(group_id) or GroupLagState(group_id=group_id, sampled_ms=now_ms)
        state.sampled_ms = now_ms
        state.total_lag = report.total_lag
        state.max_lag = report.max_lag
        state.max_time_lag_ms = report.max_time_lag_ms
        state.status = report.evaluation.status.label
        state.status_reason = _group_reason(report)
        state.complete = report.evaluation.complete
        state.partition_count = len(report.partitions)
        state.windows = {key: window.dump() for key, window in report.windows.items()}
        state.partitions = [
            {
                **p.as_dict(),
                "status": p.status,
                "summary": p.status_summary,
                "reason": p.status_reason,
                "topic_id": p.topic_id,
            }
            for p in report.partitions
        ]
        state.recent = [*state.recent, [now_ms, report.total_lag, report.max_time_lag_ms]][-RECENT_SAMPLES:]
        (to_update if group_id in states else to_create).append(state)
        samples.append(
            LagSample(
                group_id=group_id, at_ms=now_ms, total_lag=report.total_lag, max_time_lag_ms=report.max_time_lag_ms
            )
        )
    with transaction.atomic():
        GroupLagState.objects.bulk_create(to_create)
        _save_states(to_update)
        LagSample.objects.bulk_create(samples, batch_size=1000)
        SamplerCursor.objects.filter(pk=cursor.pk).update(last_activity_id=last_id)
    return SampleRound(
        len(reports), sum(len(r.partitions) for r in reports.values()), sum(len(c) for c in commits.values())
    )


_STATE_FIELDS = (
    "sampled_ms",
    "total_lag",
    "max_lag",
    "max_time_lag_ms",
    "status",
    "status_reason",
    "complete",
    "partition_count",
)
_STATE_JSON_FIELDS = ("windows", "partitions", "recent")


def _save_states(states: Sequence[GroupLagState]) -> None:
    """One prepared UPDATE per state row. Django's bulk_update builds a CASE expression per field
    and row, which cost seconds for a thousand groups; this costs milliseconds."""
    if not states:
        return
    json_placeholder = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    assignments = [f"{name} = %s" for name in _STATE_FIELDS] + [
        f"{name} = {json_placeholder}" for name in _STATE_JSON_FIELDS
    ]
    sql = f"UPDATE {GroupLagState._meta.db_table} SET {', '.join(assignments)} WHERE group_id = %s"
    rows = [
        [getattr(state, name) for name in _STATE_FIELDS]
        + [dumps(getattr(state, name)).decode() for name in _STATE_JSON_FIELDS]
        + [state.group_id]
        for state in states
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _group_reason(report: GroupLagReport) -> str:
    worst = [p for p in report.partitions if p.status and p.status != "OK"]
    if not worst:
        return "every partition is keeping up" if report.partitions else "no committed offsets yet"
    first = max(worst, key=lambda p: PartitionStatus[p.status].value)
    return f"{first.topic}/{first.partition} {first.status}: {first.status_summary}"


@dataclass(frozen=True)
class StatusLine:
    """One line of a group page's status notice: a partition status, the partitions in it (worst
    lag first) and the summary of the first, with every partition's full reason kept for details."""

    status: str
    partitions: list[PartitionLag]

    @property
    def summary(self) -> str:
        return self.partitions[0].status_summary


def status_lines(partitions: Sequence[PartitionLag]) -> list[StatusLine]:
    """The partitions above OK, one line per status, worst status first."""
    by_status: dict[str, list[PartitionLag]] = {}
    for partition in partitions:
        if partition.status and partition.status != "OK":
            by_status.setdefault(partition.status, []).append(partition)
    return [
        StatusLine(status, sorted(found, key=lambda p: -(p.lag or 0)))
        for status, found in sorted(by_status.items(), key=lambda item: -PartitionStatus[item[0]].value)
    ]


def lag_history(group_id: int, *, since_ms: int) -> list[tuple[int, int, int | None]]:
    """(at_ms, total lag, max time lag) points of a group since `since_ms`, oldest first."""
    rows = LagSample.objects.filter(group_id=group_id, at_ms__gte=since_ms).order_by("at_ms")
    return list(rows.values_list("at_ms", "total_lag", "max_time_lag_ms"))


def lag_history_compact(
    *, now_ms: int, raw_for_ms: int = 86_400_000, keep_ms: int = 7 * 86_400_000, bucket_ms: int = 300_000
) -> int:
    """Keep raw samples a day, then one row per five minutes holding the peak (so spikes survive
    downsampling), for seven days. Returns how many raw rows were folded into buckets."""
    LagSample.objects.filter(at_ms__lt=now_ms - keep_ms).delete()
    cutoff = now_ms - raw_for_ms
    cutoff -= cutoff % bucket_ms
    old = LagSample.objects.filter(resolution=LagSample.RAW, at_ms__lt=cutoff)
    peaks: dict[tuple[int, int], tuple[int, int | None]] = {}
    for group_id, at_ms, total, time_lag in old.values_list("group_id", "at_ms", "total_lag", "max_time_lag_ms"):
        bucket = (group_id, at_ms - at_ms % bucket_ms)
        peak_total, peak_time = peaks.get(bucket, (0, None))
        times = [t for t in (peak_time, time_lag) if t is not None]
        peaks[bucket] = (max(peak_total, total), max(times) if times else None)
    with transaction.atomic():
        folded, _ = old.delete()
        LagSample.objects.bulk_create(
            [
                LagSample(
                    group_id=group, at_ms=at, resolution=LagSample.BUCKET, total_lag=total, max_time_lag_ms=time_lag
                )
                for (group, at), (total, time_lag) in peaks.items()
            ],
            batch_size=1000,
        )
    return folded
