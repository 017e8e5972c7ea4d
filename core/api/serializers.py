"""Shapes of the audit API."""

from __future__ import annotations

from rest_framework import serializers

from core.models import ApiKey, AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = (
            "id",
            "at",
            "actor_kind",
            "actor",
            "actor_key_id",
            "actor_user_id",
            "action",
            "target_type",
            "target",
            "before",
            "after",
            "request_id",
            "remote_addr",
        )
        read_only_fields = fields


class ApiKeySerializer(serializers.ModelSerializer):
    """A key as the API shows it: never its secret or digest."""

    service = serializers.CharField(source="service.name", read_only=True)
    state = serializers.CharField(read_only=True, help_text="active, expired or revoked")
    replaced_by = serializers.CharField(source="replaced_by.key_id", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ApiKey
        fields = (
            "key_id",
            "service",
            "scopes",
            "label",
            "state",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "replaced_by",
        )
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    service = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.CharField(max_length=300), min_length=1, max_length=100)
    label = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ApiKeyRotateSerializer(serializers.Serializer):
    grace_seconds = serializers.IntegerField(
        min_value=0, max_value=90 * 24 * 3600, required=False, default=24 * 3600, help_text="default one day"
    )


class NewApiKeySerializer(ApiKeySerializer):
    """A key just made: the one answer that carries its plaintext `<key id>.<secret>`."""

    key = serializers.CharField(read_only=True, help_text="the plaintext key; it is never shown again")

    class Meta(ApiKeySerializer.Meta):
        fields = (*ApiKeySerializer.Meta.fields, "key")
        read_only_fields = fields
