"""Shapes of the audit API."""

from __future__ import annotations

from rest_framework import serializers

from core.models import AuditEntry


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
