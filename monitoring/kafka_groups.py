"""On the Kafka backend, the cluster's consumer groups, native ones included, seen by the lag
pages as the SQL backend's groups are (issue 17): each sampling round mirrors every group's
committed offsets and every partition's log start and end into the tables lag.py reads, so
offsets, time lag, Burrow status, history and time to drain work unchanged.

Resolution: a commit is seen at the next round (LAG_SAMPLE_INTERVAL_S, 15 s by default), and its
time is the round's; time lag stays exact, from the timestamp of the record at the committed
offset (lag.py reads it from Kafka). Nothing here runs on the SQL backend."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from broker.choices import ActivityKind
from broker.log import get_log, get_topic_admin
from broker.models import ConsumerGroup, GroupActivity, GroupPartition, Partition, Topic


def cluster_groups_mirror(*, now_ms: int) -> int:
    """Mirror the cluster's groups and the offsets of their partitions; returns how many group
    partitions were seen. A no-op on the SQL backend."""
    if get_topic_admin() is None:
        return 0
    from broker.services.topics import topics_sync_with_cluster

    topics_sync_with_cluster()
    log: Any = get_log()
    groups = log.group_offsets()
    topic_ids = dict(Topic.objects.values_list("name", "id"))
    wanted = {
        (topic_ids[topic], partition)
        for committed in groups.values()
        for topic, partition, _ in committed
        if topic in topic_ids
    }
    ends: dict[tuple[int, int], int] = {}
    for topic_id, number in sorted(wanted):
        offsets = log.offsets(topic_id=topic_id, partition=number)
        ends[(topic_id, number)] = offsets.end
        Partition.objects.filter(topic_id=topic_id, number=number).update(
            log_start_offset=offsets.start, end_offset=offsets.end
        )
    seen = 0
    for name, committed in groups.items():
        with transaction.atomic():
            group, _ = ConsumerGroup.objects.get_or_create(name=name)
            rows = {(row.topic_id, row.partition): row for row in GroupPartition.objects.filter(group=group)}
            commits = []
            for topic, partition, offset in committed:
                topic_id = topic_ids.get(topic)
                if topic_id is None:
                    continue
                seen += 1
                row = rows.get((topic_id, partition))
                if row is None:
                    GroupPartition.objects.create(
                        group=group,
                        topic_id=topic_id,
                        partition=partition,
                        committed_offset=offset,
                        committed_ms=now_ms,
                    )
                elif row.committed_offset != offset:
                    row.committed_offset, row.committed_ms = offset, now_ms
                    row.save(update_fields=["committed_offset", "committed_ms"])
                else:
                    continue
                # A commit seen, as the SQL backend logs one: Burrow's windows are built from these.
                commits.append(
                    GroupActivity(
                        group=group,
                        topic_id=topic_id,
                        partition=partition,
                        kind=ActivityKind.COMMIT,
                        at_ms=now_ms,
                        start_offset=offset,
                        end_offset=offset,
                        log_end_offset=ends.get((topic_id, partition)),
                    )
                )
            GroupActivity.objects.bulk_create(commits)
    return seen


def record_times(positions: list[tuple[int, int, int]]) -> dict[tuple[int, int, int], int]:
    """The timestamp of the record at (or, past a transaction marker, just after) each (topic
    id, partition, offset), read from Kafka: what a group's exact time lag is measured from."""
    from core.jsonutil import loads

    log: Any = get_log()
    found: dict[tuple[int, int, int], int] = {}
    for topic_id, partition, offset in positions:
        batch = log.read(topic_id=topic_id, partition=partition, offset=offset, max_events=1, max_bytes=1 << 20)
        if batch.payloads:
            document = loads(batch.payloads[0])
            stamp = document.get("append_time") or document.get("timestamp")
            if isinstance(stamp, int):
                found[(topic_id, partition, offset)] = stamp
    return found
