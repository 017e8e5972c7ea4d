"""Reads for service identities, API keys and the audit."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.db.models.functions import Left
from django.db.models.lookups import Exact

from core.models import ApiKey, AuditEntry, Service
from core.scopes import NameRule


def service_list() -> QuerySet[Service]:
    return Service.objects.all()


def api_key_list(*, service_name: str | None = None) -> QuerySet[ApiKey]:
    keys = ApiKey.objects.select_related("service", "replaced_by")
    if service_name:
        keys = keys.filter(service__name=service_name)
    return keys


def name_rule_q(rule: NameRule, field: str = "name") -> Q:
    """A filter for the rows whose `field` the rule matches. Prefixes compare the leading
    characters (not LIKE, which SQLite applies without regard to case)."""
    if rule.everything:
        return Q()
    matched = Q(**{f"{field}__in": sorted(rule.names)}) if rule.names else Q(pk__in=[])
    for prefix in rule.prefixes:
        matched |= Q(Exact(Left(field, len(prefix)), prefix))
    return matched


def audit_entry_list() -> QuerySet[AuditEntry]:
    """Audit entries, newest first. Rows hold no foreign keys: one query per page, whatever the rows."""
    return AuditEntry.objects.all()
