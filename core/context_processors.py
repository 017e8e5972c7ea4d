"""Navigation for the base layout. A section appears once its pages exist."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

NAV = [
    ("Catalog", "catalog:event-type-list"),
    ("Schemas", "schemas:subject-list"),
    ("Lineage", "lineage:graph"),
    ("Monitoring", "monitoring:groups"),
    ("Dead letters", "monitoring:dead-letters"),
    ("Traces", "traces:search"),
    ("Topics", "topics:topic-list"),
]


def navigation(request: HttpRequest) -> dict[str, object]:
    items = []
    for label, name in NAV:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": request.path.startswith(url)})
    return {"nav_items": items, "admin_url": reverse("admin:index")}
