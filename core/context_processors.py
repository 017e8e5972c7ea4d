"""Navigation for the base layout."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

NAV = [
    ("Home", "home"),
    ("Admin", "admin:index"),
]


def navigation(request: HttpRequest) -> dict[str, list[dict[str, object]]]:
    items = []
    for label, name in NAV:
        url = reverse(name)
        active = request.path == url if url == "/" else request.path.startswith(url)
        items.append({"label": label, "url": url, "active": active})
    return {"nav_items": items}
