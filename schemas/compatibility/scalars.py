"""Strings, numbers and enums (reference §5), plus ``format`` and draft-04 boolean bounds.

Patterns are compared as text: ``PATTERN_CHANGED`` is reported unless the two regexes
are equal after a trivial normalisation that only drops an unanchored leading or
trailing ``.*`` (redundant because ``pattern`` searches rather than matches). No regex
inclusion reasoning is attempted, so ``^a+$`` -> ``^a*$`` is still reported as a change.

``multipleOf`` divisibility is decided on exact decimal values (0.3 is a multiple of 0.1),
as the specification says; validators that divide binary floats may still refuse such
values, so float steps are best avoided in event schemas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from .difference import Difference
from .jsonvalues import JSON, as_fraction, as_number, join, json_key
from .rules import BoundRule, PresenceRule, compare_bounds, compare_presence
from .types import DifferenceType

if TYPE_CHECKING:
    from .differ import Differ
    from .nodes import Node

T = DifferenceType


def normalise_pattern(pattern: JSON) -> JSON:
    """Drop redundant unanchored ``.*`` at either end of a search pattern."""
    if not isinstance(pattern, str):
        return pattern
    text = pattern
    while text.startswith(".*") and text[2:3] not in ("?", "+", "*", "{"):
        text = text[2:]
    while text.endswith(".*") and not _escaped(text, len(text) - 2):
        text = text[:-2]
    return text


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _same(value: JSON) -> JSON:
    return value


STRING_BOUNDS: tuple[BoundRule, ...] = (
    BoundRule("maxLength", T.MAX_LENGTH_ADDED, T.MAX_LENGTH_REMOVED, T.MAX_LENGTH_INCREASED, T.MAX_LENGTH_DECREASED),
    BoundRule("minLength", T.MIN_LENGTH_ADDED, T.MIN_LENGTH_REMOVED, T.MIN_LENGTH_INCREASED, T.MIN_LENGTH_DECREASED),
)
PATTERN_RULE = PresenceRule("pattern", T.PATTERN_ADDED, T.PATTERN_REMOVED, T.PATTERN_CHANGED, normalise_pattern)
FORMAT_RULE = PresenceRule("format", T.FORMAT_ADDED, T.FORMAT_REMOVED, T.FORMAT_CHANGED, _same)

NUMBER_BOUNDS: tuple[BoundRule, ...] = (
    BoundRule("maximum", T.MAXIMUM_ADDED, T.MAXIMUM_REMOVED, T.MAXIMUM_INCREASED, T.MAXIMUM_DECREASED),
    BoundRule("minimum", T.MINIMUM_ADDED, T.MINIMUM_REMOVED, T.MINIMUM_INCREASED, T.MINIMUM_DECREASED),
    BoundRule(
        "exclusiveMaximum",
        T.EXCLUSIVE_MAXIMUM_ADDED,
        T.EXCLUSIVE_MAXIMUM_REMOVED,
        T.EXCLUSIVE_MAXIMUM_INCREASED,
        T.EXCLUSIVE_MAXIMUM_DECREASED,
    ),
    BoundRule(
        "exclusiveMinimum",
        T.EXCLUSIVE_MINIMUM_ADDED,
        T.EXCLUSIVE_MINIMUM_REMOVED,
        T.EXCLUSIVE_MINIMUM_INCREASED,
        T.EXCLUSIVE_MINIMUM_DECREASED,
    ),
)


class FlagRule(NamedTuple):
    """Draft-04 boolean ``exclusiveMaximum``/``exclusiveMinimum`` next to its bound."""

    flag: str
    bound: str
    added: DifferenceType
    removed: DifferenceType


DRAFT4_FLAGS: tuple[FlagRule, ...] = (
    FlagRule("exclusiveMaximum", "maximum", T.EXCLUSIVE_MAXIMUM_FLAG_ADDED, T.EXCLUSIVE_MAXIMUM_FLAG_REMOVED),
    FlagRule("exclusiveMinimum", "minimum", T.EXCLUSIVE_MINIMUM_FLAG_ADDED, T.EXCLUSIVE_MINIMUM_FLAG_REMOVED),
)


def compare_string(differ: Differ, path: str, original: Node, update: Node, out: list[Difference]) -> None:
    old, new = original.keywords, update.keywords
    compare_bounds(path, STRING_BOUNDS, old, new, out)
    compare_presence(path, (PATTERN_RULE, FORMAT_RULE), old, new, out)


def compare_number(differ: Differ, path: str, original: Node, update: Node, out: list[Difference]) -> None:
    old, new = original.keywords, update.keywords
    compare_bounds(path, NUMBER_BOUNDS, old, new, out)
    _compare_multiple_of(path, old, new, out)
    if original.integer and not update.integer:
        out.append(Difference(T.TYPE_EXTENDED, path, "integer", "number"))
    elif update.integer and not original.integer:
        out.append(Difference(T.TYPE_NARROWED, path, "number", "integer"))
    _compare_draft4_flags(path, old, new, out)
    compare_presence(path, (FORMAT_RULE,), old, new, out)


def _compare_multiple_of(path: str, old: dict[str, JSON], new: dict[str, JSON], out: list[Difference]) -> None:
    old_value, new_value = as_number(old.get("multipleOf")), as_number(new.get("multipleOf"))
    if old_value is None and new_value is None:
        return
    at = join(path, "multipleOf")
    if old_value is None:
        out.append(Difference(T.MULTIPLE_OF_ADDED, at, None, new_value))
        return
    if new_value is None:
        out.append(Difference(T.MULTIPLE_OF_REMOVED, at, old_value, None))
        return
    old_step, new_step = as_fraction(old_value), as_fraction(new_value)
    if old_step == new_step:
        return
    if old_step <= 0 or new_step <= 0:
        found = T.MULTIPLE_OF_CHANGED
    elif (new_step / old_step).denominator == 1:
        found = T.MULTIPLE_OF_EXPANDED
    elif (old_step / new_step).denominator == 1:
        found = T.MULTIPLE_OF_REDUCED
    else:
        found = T.MULTIPLE_OF_CHANGED
    out.append(Difference(found, at, old_value, new_value))


def _compare_draft4_flags(path: str, old: dict[str, JSON], new: dict[str, JSON], out: list[Difference]) -> None:
    """Only a flag flip on an unchanged bound matters: a moved bound is judged by its own rule."""
    for rule in DRAFT4_FLAGS:
        old_flag, new_flag = old.get(rule.flag) is True, new.get(rule.flag) is True
        if old_flag == new_flag:
            continue
        old_bound, new_bound = as_number(old.get(rule.bound)), as_number(new.get(rule.bound))
        if old_bound is None or new_bound is None or old_bound != new_bound:
            continue
        found = rule.added if new_flag else rule.removed
        out.append(Difference(found, join(path, rule.flag), old_flag, new_flag))


def compare_enum(differ: Differ, path: str, original: Node, update: Node, out: list[Difference]) -> None:
    """``enum``/``const`` as value sets (order-insensitive, JSON equality)."""
    old_keys = {json_key(value) for value in original.enum_values}
    new_keys = {json_key(value) for value in update.enum_values}
    if old_keys == new_keys:
        return
    if old_keys < new_keys:
        found = T.ENUM_ARRAY_EXTENDED
    elif new_keys < old_keys:
        found = T.ENUM_ARRAY_NARROWED
    else:
        found = T.ENUM_ARRAY_CHANGED
    keyword = "const" if original.enum_keyword == update.enum_keyword == "const" else "enum"
    out.append(Difference(found, join(path, keyword), _values(original), _values(update)))


def _values(node: Node) -> JSON:
    if node.enum_keyword == "const":
        return node.enum_values[0]
    return list(node.enum_values)
