"""Reads of the broker: topics with partition figures, groups with members and offsets, events."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException
from django.db import connection
from django.db.models import Count, Max, QuerySet, Sum

from broker.log import PartitionOffsets, ReadBatch, get_log, get_topic_admin
from broker.models import ConsumerGroup, Event, GroupMember, GroupPartition, IndexerState, Partition, Topic
from core.auth import Principal
from core.constants import SCOPE_DESCRIBE, SCOPE_GROUP
from core.errors import NotFound, field_error
from core.jsonutil import loads
from core.selectors import name_rule_q
from core.timeutil import ms_to_iso

logger = logging.getLogger(__name__)

Position = tuple[int, int, int]  # (topic id, partition, offset)
_EVENT_COLUMNS = frozenset({"append_time_ms", "type"})  # what callers read so far


_LOOKUPS_PER_STATEMENT = 100


def scalar_lookups(template: str, lookups: Sequence[tuple[Any, Sequence[Any]]]) -> dict[Any, Any]:
    """Many one-value lookups (each a LIMIT 1 walk of an index, such as the fetch and commit log's
    (group, topic, partition, at_ms)) run as the scalar subqueries `template` of a few statements
    instead of one round trip each: {key: value, None where nothing matched}."""
    answers: dict[Any, Any] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(lookups), _LOOKUPS_PER_STATEMENT):
            chunk = lookups[start : start + _LOOKUPS_PER_STATEMENT]
            cursor.execute("SELECT " + ", ".join([template] * len(chunk)), [p for _, params in chunk for p in params])
            for (key, _), value in zip(chunk, cursor.fetchone(), strict=True):
                answers[key] = value
    return answers


def event_columns_at(positions: Sequence[Position], columns: Sequence[str]) -> dict[Position, tuple[Any, ...]]:
    """`columns` of the events at these positions (missing ones left out), in chunks of 300
    positions per query."""
    unknown = set(columns) - _EVENT_COLUMNS
    if unknown:
        raise ValueError(f"not an event column: {sorted(unknown)}")
    wanted = ", ".join(columns)
    found: dict[Position, tuple[Any, ...]] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(positions), 300):
            chunk = positions[start : start + 300]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            cursor.execute(
                f'SELECT topic_id, partition, "offset", {wanted} FROM broker_event '
                f'WHERE (topic_id, partition, "offset") IN (VALUES {values})',
                [value for position in chunk for value in position],
            )
            for topic_id, partition, offset, *row in cursor.fetchall():
                found[(topic_id, partition, offset)] = tuple(row)
    return found


# The columns of an index row event_documents needs.
STORED_EVENT_COLUMNS = (
    "topic_id",
    "partition",
    "offset",
    "payload",
    "event_id",
    "source",
    "type",
    "key",
    "correlation_id",
    "timestamp_ms",
    "append_time_ms",
)
_UNAVAILABLE = "the record is no longer in Kafka (retention), or Kafka did not answer: the index keeps its attributes"


def event_documents(rows: Sequence[Mapping[str, Any]], *, strict: bool = False) -> list[dict[str, Any]]:
    """The events of index rows (STORED_EVENT_COLUMNS) as reads return them, in order. A row of
    the SQL log stores its event. A row the Kafka indexer wrote keeps none (the record is in Kafka,
    and storing it again would halve the indexer's rate): its record is read back by position, all
    of them in one pass over their partitions. A record Kafka no longer has stands in as the
    row's attributes, marked "unavailable"; so do all of them when Kafka does not answer, unless
    `strict` (a caller that must not pass over records), which raises KafkaException then."""
    missing = [row for row in rows if not row["payload"]]
    names: dict[int, str] = {}
    found: dict[tuple[str, int, int], dict[str, Any]] = {}
    if missing:
        names = dict(Topic.objects.filter(id__in={row["topic_id"] for row in missing}).values_list("id", "name"))
        records_at = getattr(get_log(), "records_at", None)  # the Kafka log's; the SQL log stores every event
        if records_at is not None:
            positions = [(names[r["topic_id"]], r["partition"], r["offset"]) for r in missing if r["topic_id"] in names]
            try:
                found = records_at(positions, strict=strict)
            except KafkaException:
                if strict:
                    raise
                logger.warning("events: Kafka did not answer for %s records; shown as unavailable", len(positions))
    documents = []
    for row in rows:
        if row["payload"]:
            documents.append(loads(row["payload"]))
            continue
        topic = names.get(row["topic_id"], "")
        documents.append(found.get((topic, row["partition"], row["offset"])) or _stand_in(row, topic))
    return documents


def events_of(rows: QuerySet[Event]) -> list[dict[str, Any]]:
    """event_documents of the index rows a query selects, in its order."""
    return event_documents(list(rows.values(*STORED_EVENT_COLUMNS)))


def _stand_in(row: Mapping[str, Any], topic: str) -> dict[str, Any]:
    document = {
        "topic": topic,
        "partition": row["partition"],
        "offset": row["offset"],
        "id": row["event_id"],
        "source": row["source"],
        "type": row["type"],
        "key": row["key"],
        "timestamp": row["timestamp_ms"],
        "append_time": row["append_time_ms"],
        "unavailable": _UNAVAILABLE,
    }
    if row["correlation_id"]:
        document["correlationid"] = row["correlation_id"]
    return document


# A member whose last report is this much older than its group's latest is not counted: it has
# stopped, and its partitions are the others' now (members report every 5 s).
INDEXER_LIVE_MS = 30_000


@dataclass(frozen=True)
class IndexerSummary:
    """The Kafka indexer as its live members last reported it: sums over them."""

    group: str
    lag: dict[str, int]
    total_lag: int
    indexed: int
    skipped: int
    skipped_by_topic: dict[str, int]
    indexed_by_member: dict[str, int]
    updated_ms: int

    @property
    def members(self) -> list[str]:
        return list(self.indexed_by_member)


def indexer_summary() -> IndexerSummary | None:
    """The indexer group that reported last, added up over its members that reported within
    INDEXER_LIVE_MS of that (each `run_indexer` process reports its own share: broker.indexer);
    None before any indexer ran."""
    latest = IndexerState.objects.order_by("-updated_ms").first()
    if latest is None:
        return None
    members = list(  # `latest` among them
        IndexerState.objects.filter(group=latest.group, updated_ms__gte=latest.updated_ms - INDEXER_LIVE_MS).order_by(
            "name"
        )
    )
    lag: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    for member in members:
        lag.update(member.lag)
        skipped.update(member.skipped_by_topic)
    return IndexerSummary(
        group=latest.group,
        lag=dict(sorted(lag.items())),
        total_lag=sum(member.total_lag for member in members),
        indexed=sum(member.indexed for member in members),
        skipped=sum(member.skipped for member in members),
        skipped_by_topic=dict(sorted(skipped.items())),
        indexed_by_member={member.name: member.indexed for member in members},
        updated_ms=latest.updated_ms,
    )


def topic_get(*, name: str) -> Topic:
    """The topic `name`. On the Kafka backend a cluster topic with no row yet is adopted on sight
    (broker.services.topics.topic_adopt): the cluster decides which topics exist."""
    topic = Topic.objects.filter(name=name).first()
    if topic is None and get_topic_admin() is not None:
        from broker.services.topics import topic_adopt

        topic = topic_adopt(name=name)
    if topic is None:
        raise NotFound(f"Topic '{name}' does not exist.", code="topic_not_found")
    return topic


def topic_list(*, visible_to: Principal | None = None) -> QuerySet[Topic]:
    """Topics with their totals, in one query; with `visible_to`, only those it may describe. On
    the Kafka backend the rows are first matched to the cluster's topics (topics_sync_with_cluster:
    those other clients created are adopted, internal ones stay hidden)."""
    if get_topic_admin() is not None:
        from broker.services.topics import topics_sync_with_cluster

        topics_sync_with_cluster()
    topics = Topic.objects.all()
    if visible_to is not None:
        topics = topics.filter(name_rule_q(visible_to.rules[SCOPE_DESCRIBE]))
    return topics.annotate(
        total_size_bytes=Sum("partitions__size_bytes"),
        last_append_ms=Max("partitions__last_append_ms"),
    ).order_by("name")


def partition_summary(partition: Partition) -> dict[str, Any]:
    return {
        "partition": partition.number,
        "log_start_offset": partition.log_start_offset,
        "end_offset": partition.end_offset,
        "size_bytes": partition.size_bytes,
        "events": partition.end_offset - partition.log_start_offset,
        "last_append_time": ms_to_iso(partition.last_append_ms),
    }


def _offsets_from_cluster(topic: Topic, partitions: list[Partition]) -> None:
    """Kafka backend: the rows' offsets are not kept (the cluster holds them); copy the log's onto
    these rows (never saved) so they read as on SQL."""
    log = get_log()
    for row in partitions:
        offsets: PartitionOffsets = log.offsets(topic_id=topic.id, partition=row.number)
        row.log_start_offset, row.end_offset = offsets.start, offsets.end


def topic_describe(*, name: str) -> dict[str, Any]:
    """A topic with its partitions' offsets. On Kafka the offsets and cleanup.policy come from
    the cluster; size_bytes and last_append_time are not known there (0 and null)."""
    topic = topic_get(name=name)
    partitions = list(Partition.objects.filter(topic=topic).order_by("number"))
    config: dict[str, Any] = topic.config
    admin = get_topic_admin()
    if admin is not None:
        _offsets_from_cluster(topic, partitions)
        cluster_config = admin.topic_describe(name=topic.name).config
        config = {**config, "cleanup.policy": cluster_config.get("cleanup.policy", "delete")}
    return {
        "name": topic.name,
        "partitions": [partition_summary(p) for p in partitions],
        "partition_count": topic.partition_count,
        "config": config,
        "size_bytes": sum(p.size_bytes for p in partitions),
        "created_at": topic.created_at.isoformat(),
    }


def partition_read(
    *, topic_name: str, partition: int, offset: int | None, limit: int, timestamp_ms: int | None = None
) -> tuple[Partition, ReadBatch]:
    """Browse a partition without a group; an offset before the log start starts at the log start.
    With `timestamp_ms` (and no offset) reading starts at the first event whose time is at or
    after it, or at the log end when every event is older (a seek by time)."""
    topic = topic_get(name=topic_name)
    row = Partition.objects.filter(topic=topic, number=partition).first()
    if row is None:
        raise field_error(
            "partition", f"partition {partition} does not exist: '{topic_name}' has 0..{topic.partition_count - 1}"
        )
    if get_topic_admin() is not None:
        _offsets_from_cluster(topic, [row])
    if offset is None and timestamp_ms is not None:
        found = partition_offset_for_time(topic=topic, partition=partition, timestamp_ms=timestamp_ms)
        offset = row.end_offset if found is None else found
    start = row.log_start_offset if offset is None else max(offset, row.log_start_offset)
    batch = get_log().read(topic_id=topic.id, partition=partition, offset=start, max_events=limit, max_bytes=1 << 62)
    return row, batch


def partition_offset_for_time(*, topic: Topic, partition: int, timestamp_ms: int) -> int | None:
    """The first offset of the partition whose event time is at or after `timestamp_ms`; None
    when every event is older (Kafka's offsetsForTimes)."""
    return get_log().first_offset_at_or_after(topic_id=topic.id, partition=partition, timestamp_ms=timestamp_ms)


def group_list(*, visible_to: Principal | None = None) -> QuerySet[ConsumerGroup]:
    """Groups with their member counts; with `visible_to`, only those it may describe."""
    groups = ConsumerGroup.objects.all()
    if visible_to is not None:
        groups = groups.filter(name_rule_q(visible_to.rules[SCOPE_GROUP]))
    return groups.annotate(member_count=Count("members")).order_by("name")


def group_get(*, name: str) -> ConsumerGroup:
    group = ConsumerGroup.objects.filter(name=name).first()
    if group is None:
        raise NotFound(f"Consumer group '{name}' does not exist.", code="group_not_found")
    return group


def group_describe(*, name: str) -> dict[str, Any]:
    group = group_get(name=name)
    members = list(GroupMember.objects.filter(group=group).select_related("service").order_by("member_id"))
    return {
        "name": group.name,
        "state": group.state,
        "generation": group.generation,
        "assignor": group.assignor,
        "state_changed_time": ms_to_iso(group.state_changed_ms),
        "members": [
            {
                "member_id": member.member_id,
                "client_id": member.client_id,
                "client_host": member.client_host,
                "service": member.service.name if member.service else None,
                "topics": member.topics,
                "generation": member.generation,
                "assignment": [{"topic": t, "partition": p} for t, p in member.assignment],
                "session_timeout_ms": member.session_timeout_ms,
                "last_seen_time": ms_to_iso(member.last_seen_ms),
            }
            for member in members
        ],
    }


def group_offsets(*, name: str) -> list[dict[str, Any]]:
    """Committed offsets with the log end offset beside them."""
    group = group_get(name=name)
    rows = list(
        GroupPartition.objects.filter(group=group, committed_offset__isnull=False)
        .select_related("topic")
        .order_by("topic__name", "partition")
    )
    ends = {
        (p.topic_id, p.number): p.end_offset
        for p in Partition.objects.filter(topic_id__in={row.topic_id for row in rows})
    }
    return [
        {
            "topic": row.topic.name,
            "partition": row.partition,
            "offset": row.committed_offset,
            "metadata": row.commit_metadata,
            "committed_time": ms_to_iso(row.committed_ms),
            "log_end_offset": ends.get((row.topic_id, row.partition)),
        }
        for row in rows
    ]


def dead_letter_list(
    *, visible_to: Principal, group: str = "", topic: str = "", resolved: bool | None = None
) -> QuerySet[Any]:
    """Dead letters whose group and original topic `visible_to` may see, newest first."""
    from broker.models import DeadLetter

    rows = DeadLetter.objects.filter(
        name_rule_q(visible_to.rules[SCOPE_DESCRIBE], "topic") & name_rule_q(visible_to.rules[SCOPE_GROUP], "group")
    )
    if group:
        rows = rows.filter(group=group)
    if topic:
        rows = rows.filter(topic=topic)
    if resolved is not None:
        rows = rows.filter(resolved_ms__isnull=not resolved)
    return rows.order_by("-dead_lettered_ms", "-id")


def dead_letter_error_groups(*, rows: QuerySet[Any]) -> list[dict[str, Any]]:
    """`rows` grouped by (group, error class): count, last seen and the latest error message, in
    two queries whatever the number of groups."""
    from broker.models import DeadLetter

    groups = list(
        rows.order_by()
        .values("group", "error_class")
        .annotate(count=Count("id"), last_seen_ms=Max("dead_lettered_ms"), latest_id=Max("id"))
        .order_by("-last_seen_ms")
    )
    messages = dict(
        DeadLetter.objects.filter(id__in=[g["latest_id"] for g in groups]).values_list("id", "error_message")
    )
    for g in groups:
        g["example_message"] = messages.get(g["latest_id"], "")
    return groups


def dead_letter_get(*, id: int, visible_to: Principal) -> Any:
    """One dead letter the principal may see (NotFound otherwise, so ids do not leak)."""
    from broker.models import DeadLetter

    row = DeadLetter.objects.filter(id=id).first()
    if row is None or not (visible_to.may_describe(row.topic) and visible_to.may_use_group(row.group)):
        raise NotFound(f"No dead letter with id {id}.")
    return row


def contract_violations_recent(
    *, principal: Principal, topic_id: int | None = None, event_type: str | None = None, within_ms: int = 86_400_000
) -> list[dict[str, Any]]:
    """Data-contract violations of native Kafka records (broker.indexer) seen within the last
    `within_ms`, per topic, kind, event type and producer, with the rate per hour and the latest
    example masked for `principal`."""
    from broker.masking import mask_events
    from broker.models import ContractViolation
    from core.jsonutil import loads
    from core.timeutil import now_ms

    rows = ContractViolation.objects.filter(last_seen_ms__gte=now_ms() - within_ms)
    if topic_id is not None:
        rows = rows.filter(topic_id=topic_id)
    if event_type is not None:
        rows = rows.filter(event_type=event_type)
    merged: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for row in rows.select_related("producer", "topic").order_by("-last_seen_ms"):
        key = (row.topic.name, row.kind, row.event_type, row.producer.name if row.producer else "")
        if key not in merged:  # the newest row of the key holds the example
            merged[key] = {
                "topic": key[0],
                "kind": row.kind,
                "kind_label": ContractViolation.KINDS.get(row.kind, row.kind),
                "event_type": row.event_type,
                "producer": key[3],
                "count": 0,
                "last_seen_ms": row.last_seen_ms,
                "reason": row.example_reason,
                "partition": row.example_partition,
                "offset": row.example_offset,
                "example": mask_events([loads(row.example_payload)], principal)[0],
            }
        merged[key]["count"] += row.count
    for found in merged.values():
        found["per_hour"] = round(found["count"] / (within_ms / 3_600_000), 2)
    return list(merged.values())
