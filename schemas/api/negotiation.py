"""Content types of the registry API (registry-api.md §1): answer in the type the client prefers
among Confluent's three (the v1 type when it names none); read bodies sent as any of the three
or as application/octet-stream (clients that send no type)."""

from __future__ import annotations

from django.http import HttpRequest

from schemas import constants as c

_QUALITY_ORDER = (c.CONTENT_TYPE_V1, c.CONTENT_TYPE_DEFAULT, c.CONTENT_TYPE_JSON)


def response_content_type(request: HttpRequest) -> str:
    accept = request.headers.get("Accept", "")
    if not accept or c.CONTENT_TYPE_V1 in accept:
        return c.CONTENT_TYPE_V1
    # Confluent's server-side preference (1.0, 0.9, 0.5) decides among types the client accepts.
    offered = {part.split(";", 1)[0].strip().lower() for part in accept.split(",")}
    for media_type in _QUALITY_ORDER:
        if media_type in offered:
            return media_type
    return c.CONTENT_TYPE_V1


def request_body_type_is_accepted(request: HttpRequest) -> bool:
    content_type = request.content_type or ""
    return not content_type or content_type.lower() in c.REQUEST_CONTENT_TYPES
