"""One FilterSet serves the audit page and `GET /api/v1/audit/`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from core.choices import ActorKind, AuditAction
from core.constants import FALSE_WORDS, TRUE_WORDS
from core.models import AuditEntry
from core.scopes import NameRule
from core.selectors import name_rule_q


class StrictNullBooleanField(forms.NullBooleanField):
    """Empty is "not filtered"; a value that is not a yes or a no is an error (Django's field
    quietly reads `null`, `2` or `maybe` as "not filtered", so a client's typo went unnoticed)."""

    widget = forms.TextInput

    def to_python(self, value: Any) -> bool | None:
        if value in (None, "") or isinstance(value, bool):
            return value if isinstance(value, bool) else None
        word = str(value)
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise forms.ValidationError("must be true or false", code="invalid")

    def validate(self, value: Any) -> None:
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictNullBooleanField


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """ISO 8601 allows offsets up to ±23:59, PostgreSQL only ±15:59 (it refused `...-16:44` with a
    500): the same instant is sent in UTC. One past the range of datetime in UTC is before or
    after every stored time, so the edge of that range says the same."""

    def filter(self, qs: QuerySet[Any], value: datetime | None) -> QuerySet[Any]:
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:
                edge = datetime.min if value.year == datetime.min.year else datetime.max
                value = edge.replace(tzinfo=UTC)
        return super().filter(qs, value)


class AuditEntryFilterSet(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    target_type = django_filters.CharFilter(help_text="topic, subject, registry_config, api_key, event_type, ...")
    target = django_filters.CharFilter(method="by_target", help_text="an exact name, or a prefix ending in *")
    actor = django_filters.CharFilter(method="by_actor", help_text="a service, user or system name, or a key id")
    actor_kind = django_filters.ChoiceFilter(choices=ActorKind.choices)
    since = UtcIsoDateTimeFilter(field_name="at", lookup_expr="gte", help_text="ISO 8601, inclusive")
    until = UtcIsoDateTimeFilter(field_name="at", lookup_expr="lt", help_text="ISO 8601, exclusive")

    class Meta:
        model = AuditEntry
        fields: list[str] = []

    def by_target(self, queryset: QuerySet[AuditEntry], name: str, value: str) -> QuerySet[AuditEntry]:
        if value.endswith("*"):
            return queryset.filter(name_rule_q(NameRule(prefixes=(value[:-1],)), "target"))
        return queryset.filter(target=value)

    def by_actor(self, queryset: QuerySet[AuditEntry], name: str, value: str) -> QuerySet[AuditEntry]:
        return queryset.filter(Q(actor=value) | Q(actor_key_id=value))
