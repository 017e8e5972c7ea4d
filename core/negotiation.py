"""Content negotiation that settles the common case without parsing the Accept header."""

from __future__ import annotations

from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation

_ANY = ("", "*/*", "application/json")


class FastContentNegotiation(DefaultContentNegotiation):
    """Every API view renders JSON with one renderer. A request that accepts anything or JSON (what
    every client sends) gets it at once; DRF's parsing of the Accept header ran on every produce and
    fetch and cost more than the rest of their dispatch. Anything else goes through DRF's rules,
    so an unacceptable Accept header still gets 406."""

    def select_renderer(self, request: Any, renderers: list[Any], format_suffix: str | None = None) -> Any:
        if (
            len(renderers) == 1
            and format_suffix is None
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            accept = request.META.get("HTTP_ACCEPT", "")
            if accept in _ANY or accept == renderers[0].media_type:
                return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
