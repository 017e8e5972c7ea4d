"""A JSON parser on orjson that turns malformed JSON into DRF's ParseError (400), and refuses
(422) a body nested deeper than EVENTLINE_MAX_JSON_DEPTH or holding a NUL character in any key or
string: every API endpoint but produce (which reads its own body, broker.envelope) gets its body
through here."""

from __future__ import annotations

from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from core.errors import nul_refused, too_deep
from core.jsonutil import (
    JSONDecodeError,
    dotted,
    loads,
    max_json_depth,
    nesting_exceeds,
    nul_location,
    parser_depth_exceeded,
)


class FastJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        if not raw:
            return {}
        limit = max_json_depth()
        try:
            value = loads(raw)
        except JSONDecodeError as exc:
            if parser_depth_exceeded(exc):
                raise too_deep(limit) from None
            raise ParseError(f"Malformed JSON: {exc}") from exc
        if nesting_exceeds(value, limit, text=raw):
            raise too_deep(limit)
        # A NUL can only arrive escaped; a body without the escape needs no walk.
        if b"\\u0000" in raw:
            where = nul_location(value)
            if where is not None:
                raise nul_refused(dotted(where))
        return value
