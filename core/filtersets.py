"""One FilterSet serves the audit page and `GET /api/v1/audit/`."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from core.choices import ActorKind, AuditAction
from core.models import AuditEntry
from core.scopes import NameRule
from core.selectors import name_rule_q


class AuditEntryFilterSet(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    target_type = django_filters.CharFilter(help_text="topic, subject, registry_config, api_key, event_type, ...")
    target = django_filters.CharFilter(method="by_target", help_text="an exact name, or a prefix ending in *")
    actor = django_filters.CharFilter(method="by_actor", help_text="a service, user or system name, or a key id")
    actor_kind = django_filters.ChoiceFilter(choices=ActorKind.choices)
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte", help_text="ISO 8601, inclusive")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt", help_text="ISO 8601, exclusive")

    class Meta:
        model = AuditEntry
        fields: list[str] = []

    def by_target(self, queryset: QuerySet[AuditEntry], name: str, value: str) -> QuerySet[AuditEntry]:
        if value.endswith("*"):
            return queryset.filter(name_rule_q(NameRule(prefixes=(value[:-1],)), "target"))
        return queryset.filter(target=value)

    def by_actor(self, queryset: QuerySet[AuditEntry], name: str, value: str) -> QuerySet[AuditEntry]:
        return queryset.filter(Q(actor=value) | Q(actor_key_id=value))
