from django.contrib import admin

from core.models import ApiKey, Service


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
