"""Read-only admin views of the registry: every change must go through the services (and so bump
the registry generation that per-process caches rely on), so the admin only shows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from schemas.models import RegistryState, Schema, SchemaReference, Subject, SubjectVersion


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Subject)
class SubjectAdmin(ReadOnlyAdmin):
    list_display = ("name", "compatibility_level", "compatibility_policy", "mode", "created_at")
    search_fields = ("name",)


@admin.register(SubjectVersion)
class SubjectVersionAdmin(ReadOnlyAdmin):
    list_display = ("subject", "version", "schema", "deleted", "created_at")
    list_filter = ("deleted",)
    search_fields = ("subject__name",)
    list_select_related = ("subject", "schema")


@admin.register(Schema)
class SchemaAdmin(ReadOnlyAdmin):
    list_display = ("id", "schema_type", "fingerprint", "created_at")


@admin.register(SchemaReference)
class SchemaReferenceAdmin(ReadOnlyAdmin):
    list_display = ("schema", "name", "subject", "version")


@admin.register(RegistryState)
class RegistryStateAdmin(ReadOnlyAdmin):
    list_display = ("generation", "next_schema_id", "compatibility_level", "mode")
