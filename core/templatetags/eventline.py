"""Template filters shared by every page."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from core import units
from core.timeutil import ms_to_datetime, now_ms
from core.ui import has_role as ui_has_role
from core.ui import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    return mark_safe(render_markdown(text))  # noqa: S308 - sanitised by nh3 in render_markdown


@register.filter
def ms_datetime(value: int | None) -> Any:
    return ms_to_datetime(value)


@register.filter
def ago(value: int | None) -> str:
    """'12 s ago' from epoch milliseconds."""
    if value is None:
        return "never"
    seconds = max(0, (now_ms() - int(value)) // 1000)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


@register.filter
def compact_number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    for suffix, size in (("M", 1_000_000), ("k", 1_000)):
        if abs(number) >= size:
            return f"{number / size:.1f}{suffix}"
    return f"{number:.0f}" if number == int(number) else f"{number:.1f}"


@register.simple_tag(takes_context=True)
def query_with(context: dict, **changes: Any) -> str:
    """The current query string with `changes` applied (None removes a key)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


LIFECYCLE_BADGES = {"draft": "secondary", "active": "success", "deprecated": "warning", "retired": "dark"}


@register.filter
def lifecycle_badge(value: str) -> str:
    return LIFECYCLE_BADGES.get(value, "secondary")


@register.filter
def duration_ms(value: Any) -> str:
    """'1.2 s', '340 ms', '3 min 5 s' from milliseconds; '–' when unknown."""
    if value is None or value == "":
        return "–"
    ms = float(value)
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@register.filter
def break_at_underscores(value: str) -> str:
    """A code such as PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL that may wrap after an underscore,
    never inside a word (pair with a style that forbids breaking anywhere else)."""
    return mark_safe("_<wbr>".join(escape(part) for part in str(value).split("_")))  # noqa: S308 - parts escaped


@register.filter
def split(value: str, separator: str = " ") -> list[str]:
    return value.split(separator) if separator != " " else value.split()


@register.filter
def pairs(value: str) -> list[tuple[str, str]]:
    """'a:A,b:B' -> [('a', 'A'), ('b', 'B')] for small fixed choice lists in templates."""
    return [tuple(item.split(":", 1)) for item in value.split(",")]  # type: ignore[misc]


@register.filter
def has_role(request: Any, role: str) -> bool:
    """`{% if request|has_role:"editor" %}`: whether the logged-in person holds `role`."""
    return ui_has_role(request, role)


@register.filter
def duration_label(value: int | None) -> str:
    """'7 days', '1 h 30 min', 'forever' (-1) from milliseconds: retention and other settings."""
    return units.duration_label(None if value in (None, "") else int(value))


@register.filter
def duration_input(value: int) -> str:
    """Milliseconds as a retention field shows them to be edited, exactly ('1 day 12 h', 'forever')."""
    return units.duration_input(int(value))


@register.filter
def size_label(value: int | None) -> str:
    """'1.5 GB', 'no size limit' (-1) from bytes."""
    return units.size_label(None if value in (None, "") else int(value))


@register.filter
def compact_json(value: Any) -> str:
    """One line of JSON for a table cell (the payload column); the details row shows it pretty."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
