from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from core.models import ApiKey, AuditEntry, Service


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("key_id", "service", "scopes", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("key_id", "service__name")
    readonly_fields = ("key_id", "secret_digest", "created_at")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit is append-only, even for superusers."""

    list_display = ("at", "actor_kind", "actor", "action", "target_type", "target")
    list_filter = ("action", "actor_kind", "target_type")
    search_fields = ("actor", "actor_key_id", "target")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
