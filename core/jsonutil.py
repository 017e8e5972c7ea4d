"""One place for JSON encoding and decoding (orjson), so every path serialises the same way."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, (uuid.UUID, datetime.timedelta)):
        return str(value)
    if hasattr(value, "__str__"):
        # Lazy translation strings and DRF ErrorDetail objects.
        return str(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any, *, indent: bool = False) -> bytes:
    return orjson.dumps(value, default=_default, option=_OPTIONS | (orjson.OPT_INDENT_2 if indent else 0))


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


JSONDecodeError = orjson.JSONDecodeError
