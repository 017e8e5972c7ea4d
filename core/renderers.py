"""A JSON renderer on orjson: several times faster than the stdlib encoder on event batches."""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import BaseRenderer

from core.jsonutil import dumps


class FastJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        return dumps(data)
