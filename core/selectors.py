"""Reads for service identities and API keys."""

from __future__ import annotations

from django.db.models import QuerySet

from core.models import ApiKey, Service


def service_list() -> QuerySet[Service]:
    return Service.objects.all()


def api_key_list(*, service_name: str | None = None) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.select_related("service")
    if service_name:
        keys = keys.filter(service__name=service_name)
    return keys
