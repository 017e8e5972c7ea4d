"""One place for JSON encoding and decoding (orjson), so every path serialises the same way, and
the checks every JSON document from outside goes through: how deep it nests (one limit,
EVENTLINE_MAX_JSON_DEPTH, for request bodies, events, schemas and AsyncAPI documents) and where a
NUL character hides in it."""

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


def max_json_depth() -> int:
    """EVENTLINE_MAX_JSON_DEPTH: how many arrays and objects a document from outside may nest.
    Well under what the code that walks documents can take (orjson encodes 254 levels, the
    compatibility checker recurses a few Python frames per level), so a document that passes is
    one every part of the app can handle."""
    from django.conf import settings

    return int(settings.EVENTLINE["MAX_JSON_DEPTH"])


def parser_depth_exceeded(error: JSONDecodeError) -> bool:
    """orjson stops at 1,024 levels: such a document is too deep, not malformed."""
    return "depth limit exceeded" in str(error)


# Counting brackets costs about 0.6 us per KB: worth it for a single event (a walk costs about 1 us
# per KB), wasted on a batch, whose brackets always outnumber the limit.
_COUNT_BRACKETS_UP_TO = 16 * 1024


def nesting_exceeds(value: Any, limit: int, *, text: bytes | str | None = None, shared: bool = False) -> bool:
    """Whether `value` nests more than `limit` arrays and objects (`[]` is one level, `[{}]` two).

    `text`, the JSON `value` was parsed from, lets a small document (up to 16 KB) go without a
    walk: it cannot nest deeper than it has brackets. The walk goes level by level, without recursion; it costs
    a batch about as much as parsing it (about 1 us per 1 KB event), so it is kept bare. `shared`
    (YAML, whose aliases can share a node or make it contain itself) walks each node once per
    level, so shared nodes cost no more than their distinct count and a cycle is too deep."""
    if text is not None and len(text) <= _COUNT_BRACKETS_UP_TO:
        brackets = text.count(b"[") + text.count(b"{") if isinstance(text, bytes) else text.count("[") + text.count("{")
        if brackets <= limit:
            return False
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        if shared:
            level = list({id(node): node for node in level}.values())
        below: list[Any] = []
        append = below.append
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) is dict or type(child) is list:
                    append(child)
        level = below
    return False


def nul_location(value: Any) -> list[str | int] | None:
    """Where a NUL character sits in `value`: the path of the first object key or string holding
    one (`[]` for `value` itself), or None. PostgreSQL can store no NUL in a text, and a name or
    an id with one reads differently in every tool."""
    stack: list[tuple[list[str | int], Any]] = [([], value)]
    seen: set[int] = set()
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return path
        elif isinstance(node, (dict, list)) and id(node) not in seen:
            seen.add(id(node))
            children = node.items() if isinstance(node, dict) else enumerate(node)
            found: list[tuple[list[str | int], Any]] = []
            for key, child in children:
                if isinstance(key, str) and "\x00" in key:
                    return [*path, key]
                found.append(([*path, key], child))
            stack.extend(reversed(found))
    return None


def dotted(path: list[str | int]) -> str:
    """A field path as the API's errors name it: `offsets[0].metadata`, `body` for the whole."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name or "body"
