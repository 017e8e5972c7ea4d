"""A JSON parser on orjson that turns malformed JSON into DRF's ParseError (400)."""

from __future__ import annotations

from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from core.jsonutil import JSONDecodeError, loads


class FastJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read() if stream is not None else b""
        if not raw:
            return {}
        try:
            return loads(raw)
        except JSONDecodeError as exc:
            raise ParseError(f"Malformed JSON: {exc}") from exc
