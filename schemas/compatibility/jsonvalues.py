"""JSON helpers shared by the comparators: the value type, equality, paths, sentinels."""

from __future__ import annotations

import enum
from fractions import Fraction
from typing import TypeAlias

JSON: TypeAlias = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]
JSONObject = dict[str, JSON]


class _Missing(enum.Enum):
    """A keyword that is absent (distinct from a keyword whose value is ``null``)."""

    MISSING = "MISSING"


MISSING = _Missing.MISSING
Maybe: TypeAlias = JSON | _Missing

ROOT_PATH = "#/"


def join(path: str, segment: str) -> str:
    """Append one segment to a Confluent-style path (root is ``#/``; names are not escaped)."""
    if path == ROOT_PATH:
        return path + segment
    return path + "/" + segment


def rebase(path: str, old_base: str, new_base: str) -> str:
    """Move ``path`` (found under ``old_base``) under ``new_base``."""
    if path == old_base:
        return new_base
    rest = path[len(old_base) :]
    if old_base != ROOT_PATH:
        rest = rest[1:]
    return join(new_base, rest)


def json_key(value: JSON) -> object:
    """A hashable key with JSON equality: ``1 == 1.0`` but ``true != 1``; objects unordered."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("num", value)
    if isinstance(value, list):
        return ("list", tuple(json_key(item) for item in value))
    return ("obj", frozenset((key, json_key(item)) for key, item in value.items()))


def json_equal(left: Maybe, right: Maybe) -> bool:
    """JSON equality (see ``json_key``); MISSING equals only MISSING."""
    if left is MISSING or right is MISSING:
        return left is right
    return json_key(left) == json_key(right)


def as_number(value: Maybe) -> int | float | None:
    """The numeric value of a keyword, or None when absent or not a number (booleans excluded)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def as_fraction(value: int | float) -> Fraction:
    """Exact decimal value of a JSON number, so that 0.1 is 1/10 rather than a binary float."""
    return Fraction(str(value)) if isinstance(value, float) else Fraction(value)


def string_list(value: Maybe) -> list[str]:
    """A keyword holding a list of names (``required``, dependencies); anything else is empty."""
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def schema_map(value: Maybe) -> dict[str, JSON]:
    """A keyword holding name -> schema (``properties``, ``patternProperties``...)."""
    return value if isinstance(value, dict) else {}


def present_or_none(value: Maybe) -> JSON:
    """A keyword value for reporting: absent keywords are reported as None."""
    return None if value is MISSING else value


_REFERENCE_KEYWORDS = frozenset({"$ref", "$dynamicRef", "$recursiveRef"})


def same_schema(left: JSON, right: JSON) -> bool:
    """Identical JSON without any reference inside, so it means the same on both sides.

    A fast path only: False just means "diff it". ``==`` runs first (in C); the walk then
    rules out ``true == 1`` and references, whose targets may differ between sides.
    """
    return left == right and _strictly_same(left, right)


def _strictly_same(left: JSON, right: JSON) -> bool:
    if left.__class__ is not right.__class__:
        return False
    if isinstance(left, dict):
        assert isinstance(right, dict)
        for key, value in left.items():
            if key in _REFERENCE_KEYWORDS or not _strictly_same(value, right[key]):
                return False
        return True
    if isinstance(left, list):
        assert isinstance(right, list)
        return all(_strictly_same(item, other) for item, other in zip(left, right, strict=True))
    return True
