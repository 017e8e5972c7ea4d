"""Keyword rules shared by several kinds, written as data.

* ``BoundRule``: a numeric limit (``maxLength``, ``minimum``, ``maxItems``...): added,
  removed, increased or decreased each map to one difference type.
* ``PresenceRule``: a keyword compared by value (``pattern``, ``format``): added, removed
  or changed.
* ``PERMIT_TABLE``: ``additionalProperties``-like keywords, whose value is absent/``true``
  (permit anything), ``false`` (permit nothing) or a schema.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from .difference import Difference
from .jsonvalues import JSON, MISSING, Maybe, as_number, join, present_or_none
from .types import DifferenceType

if TYPE_CHECKING:
    from .differ import Differ
    from .nodes import Node

T = DifferenceType


class BoundRule(NamedTuple):
    keyword: str
    added: DifferenceType
    removed: DifferenceType
    increased: DifferenceType
    decreased: DifferenceType


def compare_bounds(
    path: str, rules: tuple[BoundRule, ...], old: dict[str, JSON], new: dict[str, JSON], out: list[Difference]
) -> None:
    for rule in rules:
        old_raw, new_raw = old.get(rule.keyword), new.get(rule.keyword)
        if old_raw is None and new_raw is None:
            continue
        old_value, new_value = as_number(old_raw), as_number(new_raw)
        if old_value is None and new_value is None:
            continue
        if old_value is None:
            found = rule.added
        elif new_value is None:
            found = rule.removed
        elif new_value > old_value:
            found = rule.increased
        elif new_value < old_value:
            found = rule.decreased
        else:
            continue
        out.append(Difference(found, join(path, rule.keyword), old_value, new_value))


class PresenceRule(NamedTuple):
    keyword: str
    added: DifferenceType
    removed: DifferenceType
    changed: DifferenceType
    normalise: Callable[[JSON], JSON]


def compare_presence(
    path: str, rules: tuple[PresenceRule, ...], old: dict[str, JSON], new: dict[str, JSON], out: list[Difference]
) -> None:
    for rule in rules:
        old_value: Maybe = old.get(rule.keyword, MISSING)
        new_value: Maybe = new.get(rule.keyword, MISSING)
        if old_value is MISSING and new_value is MISSING:
            continue
        if old_value is MISSING:
            found = rule.added
        elif new_value is MISSING:
            found = rule.removed
        elif rule.normalise(old_value) != rule.normalise(new_value):
            found = rule.changed
        else:
            continue
        out.append(Difference(found, join(path, rule.keyword), present_or_none(old_value), present_or_none(new_value)))


class Permit(enum.Enum):
    """State of an ``additionalProperties``-like keyword. Absent means ``true``."""

    ANYTHING = "anything"
    NOTHING = "nothing"
    SCHEMA = "schema"


def permit_state(value: Maybe) -> Permit:
    if value is MISSING or value is True:
        return Permit.ANYTHING
    if value is False:
        return Permit.NOTHING
    return Permit.SCHEMA


class PermitFamily(NamedTuple):
    added: DifferenceType
    removed: DifferenceType
    extended: DifferenceType
    narrowed: DifferenceType


#: (original state, update state) -> which member of the family, or "recurse".
#: Eventline reads absent as ``true`` for the ``unevaluated*`` keywords too (Confluent
#: reports absent -> ``true`` as NARROWED, reference §10 #7, and ``true`` -> absent as EXTENDED).
PERMIT_TABLE: dict[tuple[Permit, Permit], str | None] = {
    (Permit.ANYTHING, Permit.ANYTHING): None,
    (Permit.ANYTHING, Permit.NOTHING): "removed",
    (Permit.ANYTHING, Permit.SCHEMA): "narrowed",
    (Permit.NOTHING, Permit.ANYTHING): "added",
    (Permit.NOTHING, Permit.NOTHING): None,
    (Permit.NOTHING, Permit.SCHEMA): "added",
    (Permit.SCHEMA, Permit.ANYTHING): "extended",
    (Permit.SCHEMA, Permit.NOTHING): "removed",
    (Permit.SCHEMA, Permit.SCHEMA): "recurse",
}

ADDITIONAL_PROPERTIES = PermitFamily(
    T.ADDITIONAL_PROPERTIES_ADDED,
    T.ADDITIONAL_PROPERTIES_REMOVED,
    T.ADDITIONAL_PROPERTIES_EXTENDED,
    T.ADDITIONAL_PROPERTIES_NARROWED,
)
UNEVALUATED_PROPERTIES = PermitFamily(
    T.UNEVALUATED_PROPERTIES_ADDED,
    T.UNEVALUATED_PROPERTIES_REMOVED,
    T.UNEVALUATED_PROPERTIES_EXTENDED,
    T.UNEVALUATED_PROPERTIES_NARROWED,
)
ADDITIONAL_ITEMS = PermitFamily(
    T.ADDITIONAL_ITEMS_ADDED,
    T.ADDITIONAL_ITEMS_REMOVED,
    T.ADDITIONAL_ITEMS_EXTENDED,
    T.ADDITIONAL_ITEMS_NARROWED,
)
UNEVALUATED_ITEMS = PermitFamily(
    T.UNEVALUATED_ITEMS_ADDED,
    T.UNEVALUATED_ITEMS_REMOVED,
    T.UNEVALUATED_ITEMS_EXTENDED,
    T.UNEVALUATED_ITEMS_NARROWED,
)


def compare_permit(
    differ: Differ,
    path: str,
    family: PermitFamily,
    original: Node,
    old_value: Maybe,
    update: Node,
    new_value: Maybe,
    out: list[Difference],
) -> None:
    """Compare two ``additionalProperties``-like values found at ``path``."""
    outcome = PERMIT_TABLE[(permit_state(old_value), permit_state(new_value))]
    if outcome is None:
        return
    if outcome == "recurse":
        out.extend(differ.compare_schemas(path, original, old_value, update, new_value))
        return
    found: DifferenceType = getattr(family, outcome)
    out.append(Difference(found, path, present_or_none(old_value), present_or_none(new_value)))
