"""The log (topics, partitions, events) and consumer groups (members, offsets, the fetch and
commit log)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from broker.choices import ActivityKind, Assignor, GroupState
from broker.constants import (
    ACCESS_OPEN,
    DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_RETENTION_BYTES,
    DEFAULT_RETENTION_MS,
    SUBJECT_STRATEGY_TOPIC,
    TOPIC_NAME_MAX_LENGTH,
    VALIDATION_ENFORCE,
)


class Topic(models.Model):
    """A named, partitioned, append-only log with Kafka's retention settings."""

    name = models.CharField(max_length=TOPIC_NAME_MAX_LENGTH, unique=True)
    partition_count = models.PositiveIntegerField()
    retention_ms = models.BigIntegerField(default=DEFAULT_RETENTION_MS)
    retention_bytes = models.BigIntegerField(default=DEFAULT_RETENTION_BYTES)
    max_message_bytes = models.IntegerField(default=DEFAULT_MAX_MESSAGE_BYTES)
    # Which registry subject holds an event's schema: TopicNameStrategy ("{topic}-value", or
    # `value_subject` when set) or TopicRecordNameStrategy ("{topic}-{event type}").
    subject_strategy = models.CharField(max_length=30, default=SUBJECT_STRATEGY_TOPIC)
    value_subject = models.CharField(max_length=255, blank=True, default="")
    # enforce: refuse invalid events (422); warn: append them flagged and count them; off: no check.
    validation_mode = models.CharField(max_length=10, default=VALIDATION_ENFORCE)
    validation_failures = models.BigIntegerField(default=0)
    # Who may produce and consume besides the key's scopes (broker.access): open (scopes only),
    # declared (the catalog's declared producers/consumers) or explicit (the service names below).
    access_policy = models.CharField(max_length=10, default=ACCESS_OPEN)
    access_producers = models.JSONField(default=list, blank=True)
    access_consumers = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def config(self) -> dict[str, int | str | list[str]]:
        return {
            "retention.ms": self.retention_ms,
            "retention.bytes": self.retention_bytes,
            "max.message.bytes": self.max_message_bytes,
            "value.subject.name.strategy": self.subject_strategy,
            "value.subject": self.value_subject or f"{self.name}-value",
            "validation.mode": self.validation_mode,
            "access.policy": self.access_policy,
            "access.producers": list(self.access_producers),
            "access.consumers": list(self.access_consumers),
        }


class Partition(models.Model):
    """One partition of a topic. `end_offset` is the log end offset (the offset the next append
    gets); `log_start_offset` moves up when retention deletes the oldest events."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="partitions")
    number = models.PositiveIntegerField()
    log_start_offset = models.BigIntegerField(default=0)
    end_offset = models.BigIntegerField(default=0)
    size_bytes = models.BigIntegerField(default=0)
    last_append_ms = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["topic_id", "number"]
        constraints = [models.UniqueConstraint(fields=["topic", "number"], name="broker_partition_unique")]

    def __str__(self) -> str:
        return f"{self.topic_id}/{self.number}"


class Event(models.Model):
    """One event in a partition. `payload` is the event exactly as reads return it (serialised once
    at append time); the other columns are what governance queries need."""

    # Neither foreign key is checked by PostgreSQL (db_constraint=False, migration 0014): a row
    # trigger each, which cost more than the rest of an insert. The ORM still deletes a topic's
    # events and clears a deleted service from its events (on_delete).
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    event_id = models.CharField(max_length=255)
    source = models.CharField(max_length=500)
    type = models.CharField(max_length=255)
    key = models.TextField(null=True, blank=True)
    correlation_id = models.CharField(max_length=255, null=True, blank=True)
    causation_id = models.CharField(max_length=255, null=True, blank=True)
    trace_id = models.CharField(max_length=32, null=True, blank=True)
    producer = models.ForeignKey(
        "core.Service",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    schema_id = models.IntegerField(null=True, blank=True)
    timestamp_ms = models.BigIntegerField(help_text="Event time (CloudEvents `time`, else append time).")
    append_time_ms = models.BigIntegerField()
    size_bytes = models.IntegerField()
    payload = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "partition", "offset"], name="broker_event_position"),
            # Idempotent produce: (source, id) is appended at most once per topic. Led by event_id so
            # the same index also finds an event by its id across topics (tracing).
            models.UniqueConstraint(fields=["event_id", "source", "topic"], name="broker_event_identity"),
        ]
        # Partial: most events carry no causation or trace id, and an index entry per NULL would
        # cost every append for nothing.
        indexes = [
            models.Index(
                fields=["correlation_id"], name="broker_event_correlation", condition=Q(correlation_id__isnull=False)
            ),
            models.Index(fields=["trace_id"], name="broker_event_trace", condition=Q(trace_id__isnull=False)),
            models.Index(
                fields=["causation_id"], name="broker_event_causation", condition=Q(causation_id__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic_id}/{self.partition}@{self.offset}"


class ConsumerGroup(models.Model):
    """A consumer group: members share the partitions of the topics they subscribe to."""

    name = models.CharField(max_length=255, unique=True)
    state = models.CharField(max_length=32, choices=GroupState.choices, default=GroupState.EMPTY)
    generation = models.IntegerField(default=0)
    assignor = models.CharField(max_length=20, choices=Assignor.choices, default=Assignor.RANGE)
    # The reset policy last asked for, used when retention overtakes a commit while no one is joined.
    auto_offset_reset = models.CharField(max_length=10, default="latest")
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_ms = models.BigIntegerField(default=0)
    # On Kafka, the client ids and hosts of the group's members as the lag round last saw them
    # (what maps a native group to its catalog service, beside the group's name).
    client_ids = models.JSONField(default=list, blank=True)
    hosts = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GroupMember(models.Model):
    """A live member of a group. `generation` is the group generation this member last joined or
    acknowledged; fetches and commits from an older one are refused. A member id is not a
    credential: only the key (or person) in `joined_by` may act as the member."""

    group = models.ForeignKey(ConsumerGroup, on_delete=models.CASCADE, related_name="members")
    member_id = models.CharField(max_length=100, unique=True)
    # Principal.identity of who joined: the API key id, or `user:<pk>` for a browser session.
    joined_by = models.CharField(max_length=64, blank=True, default="")
    client_id = models.CharField(max_length=255, blank=True, default="")
    client_host = models.CharField(max_length=255, blank=True, default="")
    service = models.ForeignKey("core.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    topics = models.JSONField(default=list)
    session_timeout_ms = models.IntegerField()
    auto_offset_reset = models.CharField(max_length=10)
    generation = models.IntegerField()
    # The generation whose assignment the member has confirmed by calling again (heartbeat or
    # fetch) after it was handed over: Kafka's SyncGroup. Until every member has, the group is
    # CompletingRebalance.
    synced_generation = models.IntegerField(default=0)
    assignment = models.JSONField(default=list)
    joined_ms = models.BigIntegerField()
    last_seen_ms = models.BigIntegerField()

    class Meta:
        ordering = ["member_id"]

    def __str__(self) -> str:
        return self.member_id


class GroupPartition(models.Model):
    """Per group and partition: the committed offset (next to read, Kafka's convention) and the
    fetch position of the member that owns it in the current generation."""

    group = models.ForeignKey(ConsumerGroup, on_delete=models.CASCADE, related_name="partitions")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+")
    partition = models.IntegerField()
    committed_offset = models.BigIntegerField(null=True, blank=True)
    commit_metadata = models.TextField(blank=True, default="")
    committed_ms = models.BigIntegerField(null=True, blank=True)
    position = models.BigIntegerField(null=True, blank=True)
    position_member_id = models.CharField(max_length=100, blank=True, default="")
    position_generation = models.IntegerField(default=-1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "topic", "partition"], name="broker_group_partition_unique")
        ]

    def __str__(self) -> str:
        return f"{self.group_id}:{self.topic_id}/{self.partition}"


class GroupActivity(models.Model):
    """The fetch and commit log: one row per fetch that returned events and per commit, per group
    and partition. Lag, time in broker and processing time are derived from it, so the broker
    never writes per event per consumer. A fetch covers [start_offset, end_offset); a commit
    stores the committed offset in both. `log_end_offset` is the partition's end offset at that
    moment, so the lag at each commit is known later (Burrow's evaluation needs it)."""

    group = models.ForeignKey(ConsumerGroup, on_delete=models.CASCADE, related_name="+", db_index=False)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+", db_index=False)
    partition = models.IntegerField()
    kind = models.SmallIntegerField(choices=ActivityKind.choices)
    at_ms = models.BigIntegerField()
    start_offset = models.BigIntegerField()
    end_offset = models.BigIntegerField()
    member_id = models.CharField(max_length=100, blank=True, default="")
    log_end_offset = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["group", "topic", "partition", "at_ms"], name="broker_activity_lookup"),
            models.Index(fields=["topic", "partition", "end_offset"], name="broker_activity_offsets"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.topic_id}/{self.partition} [{self.start_offset}, {self.end_offset})"


class FlowStat(models.Model):
    """Observed traffic, per minute: who produced which event type to a topic, and which group
    (and its service) consumed from it. Written in the same transaction as the append or fetch it
    counts, so lineage and the catalog see real flows without scanning the log. Zero means
    "unknown" for service_id and group_id (no NULLs, so the unique key works as an upsert key)."""

    ROLE_PRODUCE = 1
    ROLE_CONSUME = 2

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+", db_index=False)
    role = models.SmallIntegerField(choices=[(ROLE_PRODUCE, "produce"), (ROLE_CONSUME, "consume")])
    service_id = models.BigIntegerField(default=0)
    group_id = models.BigIntegerField(default=0)
    event_type = models.CharField(max_length=255, blank=True, default="")
    minute_ms = models.BigIntegerField()
    events = models.BigIntegerField(default=0)
    last_seen_ms = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "role", "service_id", "group_id", "event_type", "minute_ms"],
                name="broker_flowstat_key",
            )
        ]
        indexes = [models.Index(fields=["minute_ms"], name="broker_flowstat_minute")]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.topic_id} svc={self.service_id} grp={self.group_id} {self.event_type}"


class RetryPolicy(models.Model):
    """How a consumer group retries the events its members nack on a topic ("" = every topic):
    exponential backoff for up to `max_attempts` deliveries in all, then the group's dead-letter
    topic (`{topic}.{group}.dlq` unless `dead_letter_topic` names one)."""

    group = models.CharField(max_length=255)
    topic = models.CharField(max_length=TOPIC_NAME_MAX_LENGTH, blank=True, default="")
    initial_delay_ms = models.BigIntegerField()
    multiplier = models.FloatField()
    max_delay_ms = models.BigIntegerField()
    max_attempts = models.IntegerField()
    dead_letter_topic = models.CharField(max_length=TOPIC_NAME_MAX_LENGTH, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "topic"], name="broker_retrypolicy_unique")]

    def __str__(self) -> str:
        return f"{self.group}/{self.topic or '*'}"


class PendingRetry(models.Model):
    """An event a group's member nacked, waiting to be delivered again to that group only.
    `attempts` counts the failed deliveries; `due_ms` is when it may be handed out next."""

    group = models.CharField(max_length=255)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+")
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    attempts = models.IntegerField()
    due_ms = models.BigIntegerField()
    leased_to = models.CharField(max_length=100, blank=True, default="")
    error_class = models.TextField(blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    error_stack = models.TextField(blank=True, default="")
    first_failed_ms = models.BigIntegerField()
    last_failed_ms = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "topic", "partition", "offset"], name="broker_pendingretry_unique")
        ]
        indexes = [models.Index(fields=["group", "due_ms"], name="broker_pendingretry_due")]

    def __str__(self) -> str:
        return f"{self.group}: {self.topic_id}/{self.partition}@{self.offset} after {self.attempts} failures"


class DeadLetter(models.Model):
    """An event a group gave up on: where it came from, where it went in the dead-letter topic,
    the last error, and what people did about it (redriven, resolved)."""

    group = models.CharField(max_length=255)
    topic = models.CharField(max_length=TOPIC_NAME_MAX_LENGTH)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=255, blank=True, default="")
    dead_letter_topic = models.CharField(max_length=TOPIC_NAME_MAX_LENGTH)
    dead_letter_partition = models.IntegerField()
    dead_letter_offset = models.BigIntegerField()
    attempts = models.IntegerField()
    error_class = models.TextField(blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    error_stack = models.TextField(blank=True, default="")
    dead_lettered_ms = models.BigIntegerField()
    redrive_count = models.IntegerField(default=0)
    redriven_ms = models.BigIntegerField(null=True, blank=True)
    resolved_ms = models.BigIntegerField(null=True, blank=True)
    resolved_by = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-dead_lettered_ms", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "topic", "partition", "offset"], name="broker_deadletter_unique")
        ]
        indexes = [models.Index(fields=["group", "resolved_ms"], name="broker_deadletter_open")]

    def __str__(self) -> str:
        return f"{self.group}: {self.topic}/{self.partition}@{self.offset} -> {self.dead_letter_topic}"


class BusinessKey(models.Model):
    """A business-key value (an order id) an event carries, at the event's position: what the
    trace search, the topic browser and the global search find events by. Filled from the log by
    broker.business_keys.business_keys_index (a periodic task), not by the append, so the produce
    path pays nothing; `name` is the field's last pointer segment (`order_id` for /order_id)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+", db_index=False)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    event_type = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    value = models.CharField(max_length=255)
    correlation_id = models.CharField(max_length=255, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "partition", "offset", "name", "value"], name="broker_businesskey_position"
            )
        ]
        indexes = [models.Index(fields=["value", "name"], name="broker_businesskey_value")]

    def __str__(self) -> str:
        return f"{self.name}={self.value} at {self.topic_id}/{self.partition}@{self.offset}"


class BusinessKeyCursor(models.Model):
    """How far the business-key index has read a partition: `next_offset` is the next to read
    (Kafka's convention), so the indexer reads each event once."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+", db_index=False)
    partition = models.IntegerField()
    next_offset = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "partition"], name="broker_businesskeycursor_partition")
        ]

    def __str__(self) -> str:
        return f"{self.topic_id}/{self.partition} next {self.next_offset}"


class ProducedId(models.Model):
    """On the Kafka backend, the (topic, source, id) of each event appended with a client's id
    within the repeat window (EVENTLINE_KAFKA_REPEAT_WINDOW_S), and where it landed: what lets a
    retry from any process get the original coordinates (broker.log.claims). A row without
    coordinates is a claim: a request is appending that event right now."""

    topic = models.CharField(max_length=TOPIC_NAME_MAX_LENGTH)
    source = models.CharField(max_length=500)
    event_id = models.CharField(max_length=255)
    claim = models.CharField(max_length=32)
    claimed_ms = models.BigIntegerField()
    partition = models.IntegerField(null=True, blank=True)
    offset = models.BigIntegerField(null=True, blank=True)
    timestamp_ms = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event_id", "source", "topic"], name="broker_producedid_identity")
        ]
        indexes = [models.Index(fields=["topic", "claimed_ms"], name="broker_producedid_age")]

    def __str__(self) -> str:
        return f"{self.topic}: {self.source}/{self.event_id}"


class IndexerState(models.Model):
    """What a member of the Kafka indexer (broker.indexer: one `run_indexer` process of the group)
    last reported of itself, every few seconds: how far behind its share of the governed topics it
    is, and what it has indexed and skipped since it started. The group's figures are the sums
    over its live members (broker.selectors.indexer_summary)."""

    name = models.CharField(max_length=255, unique=True, help_text="The member: group@host:pid/instance.")
    group = models.CharField(max_length=255, default="", help_text="The indexer's Kafka group.")
    lag = models.JSONField(default=dict, help_text="Records not yet indexed, per topic.")
    total_lag = models.BigIntegerField(default=0)
    indexed = models.BigIntegerField(default=0)
    skipped = models.BigIntegerField(default=0)
    skipped_by_topic = models.JSONField(default=dict)
    started_ms = models.BigIntegerField(default=0)
    updated_ms = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: lag {self.total_lag}"


class CommitLogState(models.Model):
    """How far the commit-log reader (broker.commit_log) has read Kafka's `__consumer_offsets`:
    its next offset per partition, written in the transaction of what it recorded."""

    name = models.CharField(max_length=100, unique=True)
    positions = models.JSONField(default=dict, help_text="{partition: next offset to read}")
    commits = models.BigIntegerField(default=0, help_text="Commits recorded since the reader first ran.")
    # The reader that holds the lease (host:pid:nonce): one reads at a time; another takes over
    # when this one has not written for broker.commit_log.FRESH_MS.
    owner = models.CharField(max_length=200, blank=True, default="")
    updated_ms = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.commits} commits"


class ContractViolation(models.Model):
    """Records from native Kafka clients that broke their data contract, as the indexer found them
    (broker.indexer), counted per topic, kind, event type, producing service and minute, with the
    last one kept as an example (masked when shown)."""

    UNKNOWN_SCHEMA = "unknown_schema"
    MISSING_WIRE_FORMAT = "missing_wire_format"
    INVALID = "invalid"
    KINDS = {
        UNKNOWN_SCHEMA: "schema id not in the registry",
        MISSING_WIRE_FORMAT: "no schema id (Confluent's wire format) on a topic whose subject is registered",
        INVALID: "payload fails its schema",
    }

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)
    event_type = models.CharField(max_length=255)
    producer = models.ForeignKey("core.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    minute_ms = models.BigIntegerField()
    count = models.BigIntegerField(default=0)
    last_seen_ms = models.BigIntegerField()
    example_partition = models.IntegerField()
    example_offset = models.BigIntegerField()
    example_reason = models.TextField()
    example_payload = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "kind", "event_type", "producer", "minute_ms"], name="broker_contractviolation_minute"
            )
        ]
        indexes = [models.Index(fields=["last_seen_ms"], name="broker_contractviolation_seen")]

    def __str__(self) -> str:
        return f"{self.topic_id} {self.kind} x{self.count}"
