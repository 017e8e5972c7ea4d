"""One FilterSet serves the catalog page and the API (NetBox's habit)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from catalog.choices import Lifecycle
from catalog.models import EventType
from core.filtersets import StrictBooleanFilter

SORTS = {
    "name": ("name",),
    "-name": ("-name",),
    "updated": ("-updated_at", "name"),
    "domain": ("domain__name", "name"),
    "owner": ("owner_team__name", "name"),
    "lifecycle": ("lifecycle", "name"),
}


class EventTypeFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    domain = django_filters.CharFilter(field_name="domain__name")
    owner = django_filters.CharFilter(field_name="owner_team__name", label="Owner team")
    tag = django_filters.CharFilter(method="by_tag")
    lifecycle = django_filters.ChoiceFilter(choices=Lifecycle.choices)
    no_consumers = StrictBooleanFilter(method="without_consumers", label="No consumers")
    undocumented = StrictBooleanFilter(method="underdocumented", label="Undocumented")
    sort = django_filters.ChoiceFilter(choices=[(key, key) for key in SORTS], method="order", empty_label=None)

    class Meta:
        model = EventType
        fields: list[str] = []

    def search(self, queryset: QuerySet[EventType], name: str, value: str) -> QuerySet[EventType]:
        """Every word must appear in the name, summary, meaning, tags or schema field names."""
        for word in value.lower().split():
            queryset = queryset.filter(search_text__contains=word)
        return queryset

    def by_tag(self, queryset: QuerySet[EventType], name: str, value: str) -> QuerySet[EventType]:
        return queryset.filter(tags__name=value.lower())

    def without_consumers(self, queryset: QuerySet[EventType], name: str, value: bool | None) -> QuerySet[EventType]:
        return queryset.filter(consumer_count=0) if value else queryset

    def underdocumented(self, queryset: QuerySet[EventType], name: str, value: bool | None) -> QuerySet[EventType]:
        return queryset.filter(Q(business_meaning="") | Q(subject="")) if value else queryset

    def order(self, queryset: QuerySet[EventType], name: str, value: str) -> QuerySet[EventType]:
        return queryset.order_by(*SORTS.get(value, SORTS["name"]))
