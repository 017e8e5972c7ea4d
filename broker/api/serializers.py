"""Request and response shapes of the broker API. They validate the small control-plane bodies and
describe every endpoint in the OpenAPI document; the produce and fetch hot paths parse by hand
(broker/envelope.py) and only use these for documentation."""

from __future__ import annotations

from rest_framework import serializers


class TopicCreateSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="1-249 of a-z, A-Z, 0-9, '.', '_', '-'")
    partitions = serializers.IntegerField(required=False, default=1)
    config = serializers.DictField(
        required=False, help_text='{"retention.ms": 604800000, "retention.bytes": -1, "max.message.bytes": 1048588}'
    )


class TopicUpdateSerializer(serializers.Serializer):
    partitions = serializers.IntegerField(required=False, help_text="new partition count; can only grow")
    config = serializers.DictField(required=False)


class PartitionSerializer(serializers.Serializer):
    partition = serializers.IntegerField()
    log_start_offset = serializers.IntegerField()
    end_offset = serializers.IntegerField()
    size_bytes = serializers.IntegerField()
    events = serializers.IntegerField()
    last_append_time = serializers.DateTimeField(allow_null=True)


class TopicSerializer(serializers.Serializer):
    name = serializers.CharField()
    partition_count = serializers.IntegerField()
    config = serializers.DictField()
    size_bytes = serializers.IntegerField()
    partitions = PartitionSerializer(many=True)
    created_at = serializers.DateTimeField()


class TopicSummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    partition_count = serializers.IntegerField()
    size_bytes = serializers.IntegerField()
    last_append_time = serializers.DateTimeField(allow_null=True)
    config = serializers.DictField()


class HeaderSerializer(serializers.Serializer):
    key = serializers.CharField()
    value = serializers.CharField(allow_null=True)


class EventInSerializer(serializers.Serializer):
    """A CloudEvent in structured mode. Unknown lowercase attributes are kept as extensions."""

    id = serializers.CharField(required=False, help_text="generated when missing")
    source = serializers.CharField(required=False, help_text="the caller's service when missing")
    type = serializers.CharField(required=False, help_text="the topic name when missing")
    specversion = serializers.CharField(required=False, default="1.0")
    time = serializers.DateTimeField(required=False)
    subject = serializers.CharField(required=False)
    datacontenttype = serializers.CharField(required=False)
    dataschema = serializers.CharField(required=False)
    partitionkey = serializers.CharField(
        required=False, help_text="the Kafka key; hashed with murmur2 to pick the partition"
    )
    partition = serializers.IntegerField(required=False, help_text="explicit partition; wins over the key")
    correlationid = serializers.CharField(required=False)
    causationid = serializers.CharField(required=False)
    traceparent = serializers.CharField(required=False, help_text="W3C trace context")
    headers = HeaderSerializer(many=True, required=False, help_text="ordered; keys may repeat")
    data = serializers.JSONField(required=False)
    data_base64 = serializers.CharField(required=False)


class ProducedSerializer(serializers.Serializer):
    id = serializers.CharField()
    partition = serializers.IntegerField()
    offset = serializers.IntegerField()
    timestamp = serializers.IntegerField(help_text="event time, epoch ms")
    duplicate = serializers.BooleanField()


class ProduceResponseSerializer(serializers.Serializer):
    events = ProducedSerializer(many=True)


class EventOutSerializer(EventInSerializer):
    topic = serializers.CharField()
    offset = serializers.IntegerField()
    key = serializers.CharField(allow_null=True)
    timestamp = serializers.IntegerField(help_text="event time, epoch ms")
    append_time = serializers.IntegerField(help_text="when the broker appended it, epoch ms")


class EventPageSerializer(serializers.Serializer):
    events = EventOutSerializer(many=True)
    next_offset = serializers.IntegerField()
    log_start_offset = serializers.IntegerField()
    end_offset = serializers.IntegerField()


class FetchResponseSerializer(serializers.Serializer):
    events = EventOutSerializer(many=True)


class TopicPartitionSerializer(serializers.Serializer):
    topic = serializers.CharField()
    partition = serializers.IntegerField()


class JoinSerializer(serializers.Serializer):
    topics = serializers.ListField(child=serializers.CharField())
    auto_offset_reset = serializers.ChoiceField(choices=["earliest", "latest"], required=False, default="latest")
    session_timeout_ms = serializers.IntegerField(required=False, default=45000)
    assignor = serializers.ChoiceField(choices=["range", "roundrobin"], required=False)
    client_id = serializers.CharField(required=False, allow_blank=True)
    member_id = serializers.CharField(required=False, help_text="rejoin as this member")


class MemberSerializer(serializers.Serializer):
    member_id = serializers.CharField()
    generation = serializers.IntegerField()
    assignment = TopicPartitionSerializer(many=True)
    rebalance_in_progress = serializers.BooleanField()
    state = serializers.CharField()


class SeekSerializer(serializers.Serializer):
    topic = serializers.CharField()
    partition = serializers.IntegerField()
    to = serializers.JSONField(help_text='"beginning" | "end" | {"offset": n} | {"timestamp": ms}')


class EventCoordinatesSerializer(serializers.Serializer):
    topic = serializers.CharField()
    partition = serializers.IntegerField(min_value=0)
    offset = serializers.IntegerField(min_value=0)


class ErrorDescriptionSerializer(serializers.Serializer):
    # "class" is a keyword in Python: declared by name below.
    message = serializers.CharField(required=False, allow_blank=True)
    stack = serializers.CharField(required=False, allow_blank=True)


ErrorDescriptionSerializer._declared_fields["class"] = serializers.CharField(
    required=False, allow_blank=True, help_text="the exception's class name"
)


class NackSerializer(EventCoordinatesSerializer):
    error = ErrorDescriptionSerializer(required=False)


class RetryPolicySerializer(serializers.Serializer):
    initial_delay_ms = serializers.IntegerField(min_value=0, required=False, help_text="default 1000")
    multiplier = serializers.FloatField(min_value=1, max_value=100, required=False, help_text="default 2")
    max_delay_ms = serializers.IntegerField(min_value=0, required=False, help_text="default 30000")
    max_attempts = serializers.IntegerField(
        min_value=1, max_value=100, required=False, help_text="deliveries in all, the first included (default 3)"
    )
    dead_letter_topic = serializers.CharField(
        required=False, allow_null=True, help_text="default {topic}.{group}.dlq"
    )


class OffsetSerializer(serializers.Serializer):
    topic = serializers.CharField()
    partition = serializers.IntegerField()
    offset = serializers.IntegerField(help_text="the next offset to read (last processed + 1)")
    metadata = serializers.CharField(required=False, allow_blank=True)


class CommitSerializer(serializers.Serializer):
    member_id = serializers.CharField(required=False)
    generation = serializers.IntegerField(required=False)
    offsets = OffsetSerializer(many=True)


class CommittedOffsetSerializer(OffsetSerializer):
    committed_time = serializers.DateTimeField(allow_null=True)
    log_end_offset = serializers.IntegerField(allow_null=True)


class OffsetsResponseSerializer(serializers.Serializer):
    offsets = CommittedOffsetSerializer(many=True)


class ResetSerializer(serializers.Serializer):
    topic = serializers.CharField()
    partitions = serializers.ListField(child=serializers.IntegerField(), required=False)
    to = serializers.JSONField(help_text='"earliest" | "latest" | {"offset": n} | {"timestamp": ms} | {"shift_by": n}')
    dry_run = serializers.BooleanField(required=False, default=True)


class ResetRowSerializer(serializers.Serializer):
    topic = serializers.CharField()
    partition = serializers.IntegerField()
    before = serializers.IntegerField(allow_null=True)
    after = serializers.IntegerField()


class ResetResponseSerializer(serializers.Serializer):
    group = serializers.CharField()
    dry_run = serializers.BooleanField()
    partitions = ResetRowSerializer(many=True)


class GroupMemberSerializer(serializers.Serializer):
    member_id = serializers.CharField()
    client_id = serializers.CharField()
    client_host = serializers.CharField()
    service = serializers.CharField(allow_null=True)
    topics = serializers.ListField(child=serializers.CharField())
    generation = serializers.IntegerField()
    assignment = TopicPartitionSerializer(many=True)
    session_timeout_ms = serializers.IntegerField()
    last_seen_time = serializers.DateTimeField()


class GroupSerializer(serializers.Serializer):
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=["Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"])
    generation = serializers.IntegerField()
    assignor = serializers.CharField()
    state_changed_time = serializers.DateTimeField()
    members = GroupMemberSerializer(many=True)


class GroupSummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    state = serializers.CharField()
    generation = serializers.IntegerField()
    members = serializers.IntegerField()


class DeadLetterSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    group = serializers.CharField()
    topic = serializers.CharField()
    partition = serializers.IntegerField()
    offset = serializers.IntegerField()
    event_id = serializers.CharField()
    event_type = serializers.CharField()
    dead_letter_topic = serializers.CharField()
    dead_letter_partition = serializers.IntegerField()
    dead_letter_offset = serializers.IntegerField()
    attempts = serializers.IntegerField()
    error_class = serializers.CharField()
    error_message = serializers.CharField()
    dead_lettered_ms = serializers.IntegerField()
    redrive_count = serializers.IntegerField()
    redriven_ms = serializers.IntegerField(allow_null=True)
    resolved_ms = serializers.IntegerField(allow_null=True)
    resolved_by = serializers.CharField()


class DeadLetterRedriveSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), required=False, help_text="rows to redrive")
    group = serializers.CharField(required=False, help_text='with "all": true, every unresolved row of the group')
    all = serializers.BooleanField(required=False, default=False)
    rate_per_s = serializers.FloatField(required=False, help_text="events per second (default 50, at most 1000)")


class DeadLetterRedriveResponseSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    redriven = serializers.ListField(child=serializers.DictField())
    skipped = serializers.ListField(child=serializers.IntegerField(), help_text="already resolved")
    failed = serializers.ListField(child=serializers.DictField())
    remaining = serializers.IntegerField(help_text="rows past this request's cap: call again")


class DeadLetterEditSerializer(serializers.Serializer):
    data = serializers.JSONField(help_text="the edited event data, sent as a new event with a new id")
