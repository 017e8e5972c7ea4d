"""Shapes of the catalog API. Output serializers read objects loaded by the selectors (no extra
queries per row); write serializers only describe bodies for the OpenAPI document, because the
services validate input themselves (one set of rules for the API and the pages)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from catalog.choices import FlowEnding, FlowRole, Lifecycle


# Counts come from the list selectors' annotations; a single object (created, changed, fetched by
# name) has none and leaves them out. Output-only serializers, so `required=False` without
# `read_only` is what tells the OpenAPI document they may be absent (spectacular makes every
# read-only field required).
class DomainSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    event_type_count = serializers.IntegerField(required=False)
    service_count = serializers.IntegerField(required=False)
    updated_at = serializers.DateTimeField(read_only=True)


class TeamSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    contact = serializers.CharField(allow_blank=True)
    members = serializers.SerializerMethodField()
    event_type_count = serializers.IntegerField(required=False)
    service_count = serializers.IntegerField(required=False)

    def get_members(self, team: Any) -> list[str]:
        return sorted(user.username for user in team.members.all())


class TeamWriteSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    contact = serializers.CharField(required=False, allow_blank=True)
    members = serializers.ListField(child=serializers.CharField(), required=False)


class DomainWriteSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)


class ServiceSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    summary = serializers.SerializerMethodField()
    owner_team = serializers.SerializerMethodField()
    domain = serializers.SerializerMethodField()
    repository_url = serializers.SerializerMethodField()
    consumer_groups = serializers.SerializerMethodField()
    client_ids = serializers.SerializerMethodField()
    documented = serializers.SerializerMethodField()
    produces = serializers.IntegerField(required=False, help_text="declared event types it produces")
    consumes = serializers.IntegerField(required=False, help_text="declared event types it consumes")

    @staticmethod
    def _profile(service: Any) -> Any:
        return getattr(service, "profile", None) if hasattr(service, "profile") else None

    def get_summary(self, service: Any) -> str:
        profile = self._profile(service)
        return profile.summary if profile else ""

    def get_owner_team(self, service: Any) -> str | None:
        profile = self._profile(service)
        return profile.owner_team.name if profile and profile.owner_team else None

    def get_domain(self, service: Any) -> str | None:
        profile = self._profile(service)
        return profile.domain.name if profile and profile.domain else None

    def get_repository_url(self, service: Any) -> str:
        profile = self._profile(service)
        return profile.repository_url if profile else ""

    def get_consumer_groups(self, service: Any) -> list[str]:
        """Consumer group names or patterns (* and ?) of native Kafka clients this service runs."""
        profile = self._profile(service)
        return list(profile.consumer_groups) if profile else []

    def get_client_ids(self, service: Any) -> list[str]:
        """Kafka client-id patterns (* and ?) of this service's native consumers."""
        profile = self._profile(service)
        return list(profile.client_ids) if profile else []

    def get_documented(self, service: Any) -> bool:
        return self._profile(service) is not None


class ServiceWriteSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    summary = serializers.CharField(required=False, allow_blank=True)
    owner_team = serializers.CharField(required=False, allow_null=True)
    domain = serializers.CharField(required=False, allow_null=True)
    repository_url = serializers.URLField(required=False, allow_blank=True)
    consumer_groups = serializers.ListField(child=serializers.CharField(), required=False)
    client_ids = serializers.ListField(child=serializers.CharField(), required=False)


class FlowSerializer(serializers.Serializer):
    service = serializers.CharField()
    note = serializers.CharField(allow_blank=True, required=False)


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    domain = serializers.CharField(source="domain.name")
    owner_team = serializers.CharField(source="owner_team.name")
    summary = serializers.CharField()
    business_meaning = serializers.CharField(allow_blank=True)
    lifecycle = serializers.ChoiceField(choices=Lifecycle.choices)
    deprecation_note = serializers.CharField(allow_blank=True)
    sunset_date = serializers.DateField(allow_null=True)
    tags = serializers.SerializerMethodField()
    topics = serializers.SerializerMethodField()
    subject = serializers.CharField(allow_blank=True)
    personal_data_fields = serializers.ListField(child=serializers.CharField())
    business_key_fields = serializers.ListField(child=serializers.CharField())
    correlation_id_location = serializers.CharField(allow_blank=True)
    example = serializers.JSONField(allow_null=True)
    producers = serializers.SerializerMethodField()
    consumers = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField()

    def get_tags(self, event_type: Any) -> list[str]:
        return [tag.name for tag in event_type.tags.all()]

    def get_topics(self, event_type: Any) -> list[str]:
        return [topic.name for topic in event_type.topics.all()]

    def _flows(self, event_type: Any, role: str) -> list[dict[str, str]] | int:
        flows = getattr(event_type, "_prefetched_objects_cache", {}).get("declared_flows")
        if flows is None:
            return getattr(event_type, f"{role}_count", 0)
        return [{"service": flow.service.name, "note": flow.note} for flow in flows if flow.role == role]

    def get_producers(self, event_type: Any) -> Any:
        return self._flows(event_type, FlowRole.PRODUCER)

    def get_consumers(self, event_type: Any) -> Any:
        return self._flows(event_type, FlowRole.CONSUMER)


class EventTypeWriteSerializer(serializers.Serializer):
    name = serializers.CharField()
    domain = serializers.CharField()
    owner_team = serializers.CharField()
    summary = serializers.CharField()
    business_meaning = serializers.CharField(required=False, allow_blank=True, help_text="Markdown")
    lifecycle = serializers.ChoiceField(choices=Lifecycle.choices, required=False)
    deprecation_note = serializers.CharField(required=False, allow_blank=True)
    sunset_date = serializers.DateField(required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    topics = serializers.ListField(child=serializers.CharField(), required=False)
    subject = serializers.CharField(required=False, allow_blank=True)
    personal_data_fields = serializers.ListField(child=serializers.CharField(), required=False)
    business_key_fields = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="JSON pointers, e.g. /order_id"
    )
    correlation_id_location = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="Where the correlation id lives: $message.header#/<name> or $message.payload#/<pointer>; "
        "empty for the CloudEvents correlationid attribute",
    )
    example = serializers.JSONField(required=False)
    producers = FlowSerializer(many=True, required=False)
    consumers = FlowSerializer(many=True, required=False)


class ChangeSerializer(serializers.Serializer):
    object_type = serializers.CharField()
    object_name = serializers.CharField()
    action = serializers.CharField()
    changes = serializers.JSONField()
    actor = serializers.CharField()
    at = serializers.DateTimeField()


class InboxItemSerializer(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()
    detail = serializers.CharField()


class DismissSerializer(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()
    reason = serializers.CharField(required=False, allow_blank=True)


class BusinessFlowSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    start_event_type = serializers.CharField(source="start_event_type.name")
    terminals = serializers.SerializerMethodField(help_text='{"OrderShipped": "completed", ...}')
    stuck_after_seconds = serializers.IntegerField()
    updated_at = serializers.DateTimeField()

    def get_terminals(self, flow: Any) -> dict[str, str]:
        return {terminal.event_type.name: terminal.ending for terminal in flow.terminals.all()}


class BusinessFlowWriteSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    start_event_type = serializers.CharField()
    terminals = serializers.DictField(
        child=serializers.ChoiceField(choices=FlowEnding.choices), help_text='{"OrderShipped": "completed", ...}'
    )
    stuck_after_seconds = serializers.IntegerField(required=False, min_value=1)
