"""On the Kafka backend, the cluster's consumer groups, native ones included, seen by the lag
pages as the SQL backend's groups are (issue 17): each sampling round mirrors every group's
committed offsets and every partition's log start and end into the tables lag.py reads, so
offsets, time lag, Burrow status, history and time to drain work unchanged, and each commit that
moved is counted as an observed consume flow of the group, so lineage shows native groups as
consumers of their topics.

Commits: while the indexer's commit-log reader (broker.commit_log) is running, it records every
commit at its own time from `__consumer_offsets`, and this round leaves commits and flows to it.
Without it, a commit is seen at the next round (LAG_SAMPLE_INTERVAL_S, 15 s by default) and its
time is the round's. Time lag stays exact either way, from the timestamp of the record at the
committed offset (lag.py reads it from Kafka). Once a minute a round also notes the members'
client ids and hosts of every group, which map native groups to catalog services. Nothing here runs on the SQL
backend."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import connection, transaction

from broker.choices import ActivityKind
from broker.commit_log import reader_is_fresh
from broker.flows import FlowKey, consumed, record_flows
from broker.log import get_log, get_topic_admin
from broker.models import ConsumerGroup, GroupActivity, GroupPartition, Partition, Topic


def cluster_groups_mirror(*, now_ms: int) -> int:
    """Mirror the cluster's groups and the offsets of their partitions; returns how many group
    partitions were seen. A no-op on the SQL backend.

    A round costs a handful of Kafka requests whatever the number of groups (their offset
    fetches are sent together, the log offsets of all partitions in two requests) and a few
    queries, plus a write per commit that moved."""
    if get_topic_admin() is None:
        return 0
    from broker.services.topics import topics_sync_with_cluster

    topics_sync_with_cluster()
    log: Any = get_log()
    groups = log.group_offsets()
    topic_ids = dict(Topic.objects.values_list("name", "id"))
    wanted = sorted(
        {(topic, partition) for committed in groups.values() for topic, partition, _ in committed if topic in topic_ids}
    )
    ends: dict[tuple[int, int], int] = {}
    logs = log.offsets_of(wanted)
    partitions = {
        (row.topic_id, row.number): row
        for row in Partition.objects.filter(topic_id__in={topic_ids[topic] for topic, _ in wanted})
    }
    moved = []
    for (topic, number), offsets in logs.items():
        ends[(topic_ids[topic], number)] = offsets.end
        row = partitions.get((topic_ids[topic], number))
        if row is not None and (row.log_start_offset, row.end_offset) != (offsets.start, offsets.end):
            row.log_start_offset, row.end_offset = offsets.start, offsets.end
            moved.append(row)
    seen = 0
    sampling = not reader_is_fresh(now=now_ms)
    members = _members_seen(list(groups), now_ms)
    with transaction.atomic():
        Partition.objects.bulk_update(moved, ["log_start_offset", "end_offset"], batch_size=500)
        known = dict(ConsumerGroup.objects.filter(name__in=list(groups)).values_list("name", "id"))
        missing = [ConsumerGroup(name=name) for name in groups if name not in known]
        if missing:
            ConsumerGroup.objects.bulk_create(missing, ignore_conflicts=True, batch_size=500)
            known = dict(ConsumerGroup.objects.filter(name__in=list(groups)).values_list("name", "id"))
        _note_members(known, members)
        rows = {
            (row.group_id, row.topic_id, row.partition): row
            for row in GroupPartition.objects.filter(group_id__in=list(known.values()))
        }
        created, changed, commits = [], [], []
        consumed_flows: Counter[FlowKey] = Counter()
        for name, committed in groups.items():
            group_id = known[name]
            for topic, partition, offset in committed:
                topic_id = topic_ids.get(topic)
                if topic_id is None:
                    continue
                seen += 1
                row = rows.get((group_id, topic_id, partition))
                if row is None:
                    created.append(
                        GroupPartition(
                            group_id=group_id,
                            topic_id=topic_id,
                            partition=partition,
                            committed_offset=offset,
                            # The reader dates commits itself; a sampled one is dated by the round.
                            committed_ms=now_ms if sampling else None,
                        )
                    )
                elif not sampling:
                    continue  # the commit-log reader keeps committed offsets, at their own times
                elif row.committed_offset != offset:
                    if row.committed_offset is not None and offset > row.committed_offset:
                        # What the group read since the last round, as an observed flow (lineage's
                        # consumers): the offsets it moved past, transaction markers included.
                        consumed_flows.update(consumed(topic_id, None, group_id, offset - row.committed_offset))
                    row.committed_offset, row.committed_ms = offset, now_ms
                    changed.append(row)
                else:
                    continue
                if not sampling:
                    continue  # a new row: the commit-log reader records the commit itself
                # A commit seen, as the SQL backend logs one: Burrow's windows are built from these.
                commits.append(
                    GroupActivity(
                        group_id=group_id,
                        topic_id=topic_id,
                        partition=partition,
                        kind=ActivityKind.COMMIT,
                        at_ms=now_ms,
                        start_offset=offset,
                        end_offset=offset,
                        log_end_offset=ends.get((topic_id, partition)),
                    )
                )
        GroupPartition.objects.bulk_create(created, batch_size=500, ignore_conflicts=True)  # the reader may add one
        GroupPartition.objects.bulk_update(changed, ["committed_offset", "committed_ms"], batch_size=500)
        GroupActivity.objects.bulk_create(commits, batch_size=500)
        if consumed_flows:
            with connection.cursor() as cursor:
                record_flows(cursor, consumed_flows, now_ms)
    return seen


MEMBERS_EVERY_MS = 60_000
_members_described_ms = 0


def members_due() -> None:
    """Have the next round describe the groups' members whenever the last one did (tests)."""
    global _members_described_ms
    _members_described_ms = 0


def _members_seen(names: list[str], now_ms: int) -> dict[str, tuple[list[str], list[str]]]:
    """Each group's members' client ids and hosts, from one describe of all groups, at most once
    a minute per process (members change far more rarely than offsets, and describing a thousand
    groups costs as much as the rest of a round)."""
    global _members_described_ms
    if not names or now_ms - _members_described_ms < MEMBERS_EVERY_MS:
        return {}
    _members_described_ms = now_ms
    from broker.services.hosted_groups import cluster_groups_described

    try:
        described = cluster_groups_described(names)
    except Exception:  # noqa: BLE001 - a describe that fails leaves the last ones seen
        return {}
    return {
        name: (
            sorted({m["client_id"] for m in group["members"] if m["client_id"]}),
            sorted({m["client_host"].lstrip("/") for m in group["members"] if m["client_host"]}),
        )
        for name, group in described.items()
    }


def _note_members(known: dict[str, int], members: dict[str, tuple[list[str], list[str]]]) -> None:
    """Keep the client ids and hosts last seen of groups with members (an empty group keeps its
    last ones: what maps it to a service should not vanish when it stops)."""
    seen = {known[name]: value for name, value in members.items() if name in known and value[0]}
    for group_id, client_ids, hosts in ConsumerGroup.objects.filter(pk__in=list(seen)).values_list(
        "id", "client_ids", "hosts"
    ):
        if (client_ids, hosts) != seen[group_id]:
            ConsumerGroup.objects.filter(pk=group_id).update(client_ids=seen[group_id][0], hosts=seen[group_id][1])


def record_times(positions: list[tuple[int, int, int]]) -> dict[tuple[int, int, int], int]:
    """The timestamp of the record at (or, past a transaction marker, just after) each (topic
    id, partition, offset), read from Kafka: what a group's exact time lag is measured from.
    Each partition is read once, forward through its positions (KafkaLog.record_timestamps)."""
    log: Any = get_log()
    names = dict(Topic.objects.filter(id__in={topic_id for topic_id, _, _ in positions}).values_list("id", "name"))
    ids = {name: topic_id for topic_id, name in names.items()}
    found = log.record_timestamps([(names[t], p, o) for t, p, o in positions if t in names])
    return {(ids[topic], partition, offset): stamp for (topic, partition, offset), stamp in found.items()}
