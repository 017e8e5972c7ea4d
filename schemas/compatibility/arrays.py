"""Arrays (reference §9) plus Eventline's ``contains`` check.

Tuple forms follow the schema's draft (nodes only see the keywords their draft knows):
array-form ``items`` (+ ``additionalItems``) up to 2019-09, ``prefixItems`` (+ ``items`` as
the schema of the remaining items) in 2020-12. As in Confluent, tuple entries are reported
at ``#/items/<i>`` and the remaining-items schema at ``#/additionalItems`` whichever
spelling the schema used. ``additionalItems`` without a tuple has no effect and is not
compared (Confluent compares it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from .difference import Difference
from .jsonvalues import JSON, MISSING, Maybe, as_number, join, present_or_none
from .objects import Model
from .rules import ADDITIONAL_ITEMS, UNEVALUATED_ITEMS, BoundRule, compare_bounds, compare_permit
from .types import DifferenceType

if TYPE_CHECKING:
    from .differ import Differ
    from .nodes import Node

T = DifferenceType

ITEM_COUNT_BOUNDS: tuple[BoundRule, ...] = (
    BoundRule("maxItems", T.MAX_ITEMS_ADDED, T.MAX_ITEMS_REMOVED, T.MAX_ITEMS_INCREASED, T.MAX_ITEMS_DECREASED),
    BoundRule("minItems", T.MIN_ITEMS_ADDED, T.MIN_ITEMS_REMOVED, T.MIN_ITEMS_INCREASED, T.MIN_ITEMS_DECREASED),
)
CONTAINS_COUNT_BOUNDS: tuple[BoundRule, ...] = (
    BoundRule(
        "maxContains",
        T.MAX_CONTAINS_ADDED,
        T.MAX_CONTAINS_REMOVED,
        T.MAX_CONTAINS_INCREASED,
        T.MAX_CONTAINS_DECREASED,
    ),
    BoundRule(
        "minContains",
        T.MIN_CONTAINS_ADDED,
        T.MIN_CONTAINS_REMOVED,
        T.MIN_CONTAINS_INCREASED,
        T.MIN_CONTAINS_DECREASED,
    ),
)
#: uniqueItems: (old, new) -> type.
UNIQUE_ITEMS: dict[tuple[bool, bool], DifferenceType] = {
    (False, True): T.UNIQUE_ITEMS_ADDED,
    (True, False): T.UNIQUE_ITEMS_REMOVED,
}
#: Tuple entry added to the original's model: (model, empty schema?) -> type.
ITEM_ADDED: dict[tuple[Model, bool], DifferenceType] = {
    (Model.OPEN, True): T.ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL,
    (Model.OPEN, False): T.ITEM_ADDED_TO_OPEN_CONTENT_MODEL,
    (Model.CLOSED, True): T.ITEM_ADDED_TO_CLOSED_CONTENT_MODEL,
    (Model.CLOSED, False): T.ITEM_ADDED_TO_CLOSED_CONTENT_MODEL,
}
#: Tuple entry removed, checked against the update's model: (model, old schema false?) -> type.
ITEM_REMOVED: dict[tuple[Model, bool], DifferenceType] = {
    (Model.OPEN, True): T.ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL,
    (Model.OPEN, False): T.ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL,
    (Model.CLOSED, True): T.ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL,
    (Model.CLOSED, False): T.ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL,
}
#: (added?, covered?) -> coverage type for a partially open array model.
ITEM_COVERAGE: dict[tuple[bool, bool], DifferenceType] = {
    (True, True): T.ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    (True, False): T.ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    (False, True): T.ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    (False, False): T.ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
}


class ArrayShape(NamedTuple):
    single: Maybe
    tuple_items: list[JSON] | None
    additional: Maybe


def array_shape(keywords: dict[str, JSON]) -> ArrayShape:
    items: Maybe = keywords.get("items", MISSING)
    prefix = keywords.get("prefixItems")
    if isinstance(items, list):
        return ArrayShape(MISSING, items, keywords.get("additionalItems", MISSING))
    if isinstance(prefix, list):
        additional = items if items is not MISSING else keywords.get("additionalItems", MISSING)
        return ArrayShape(MISSING, prefix, additional)
    return ArrayShape(items, None, MISSING)


def array_model(keywords: dict[str, JSON], shape: ArrayShape) -> tuple[Model, JSON]:
    """Model for positions past the tuple: (model, covering schema)."""
    additional = shape.additional
    if isinstance(additional, dict):
        return Model.PARTIAL, additional
    if additional is False:
        return Model.CLOSED, None
    if additional is MISSING:
        unevaluated = keywords.get("unevaluatedItems", MISSING)
        if isinstance(unevaluated, dict):
            return Model.PARTIAL, unevaluated
        if unevaluated is False:
            return Model.CLOSED, None
    return Model.OPEN, None


def compare_array(differ: Differ, path: str, original: Node, update: Node, out: list[Difference]) -> None:
    old, new = original.keywords, update.keywords
    old_shape, new_shape = array_shape(old), array_shape(new)
    items_path = join(path, "items")
    out.extend(differ.compare_schemas(items_path, original, old_shape.single, update, new_shape.single))
    _compare_tuples(differ, items_path, original, old_shape, update, new_shape, out)
    if old_shape.tuple_items is not None or new_shape.tuple_items is not None:
        compare_permit(
            differ,
            join(path, "additionalItems"),
            ADDITIONAL_ITEMS,
            original,
            old_shape.additional,
            update,
            new_shape.additional,
            out,
        )
    compare_permit(
        differ,
        join(path, "unevaluatedItems"),
        UNEVALUATED_ITEMS,
        original,
        old.get("unevaluatedItems", MISSING),
        update,
        new.get("unevaluatedItems", MISSING),
        out,
    )
    compare_bounds(path, ITEM_COUNT_BOUNDS, old, new, out)
    unique = UNIQUE_ITEMS.get((old.get("uniqueItems") is True, new.get("uniqueItems") is True))
    if unique is not None:
        out.append(Difference(unique, join(path, "uniqueItems"), old.get("uniqueItems"), new.get("uniqueItems")))
    if as_number(old.get("minContains")) == 0 and "minContains" not in new and "contains" in new:
        # Absent minContains means 1, so dropping an explicit 0 tightens rather than removes.
        compare_bounds(path, CONTAINS_COUNT_BOUNDS[:1], old, new, out)
        out.append(Difference(T.MIN_CONTAINS_INCREASED, join(path, "minContains"), 0, 1))
    else:
        compare_bounds(path, CONTAINS_COUNT_BOUNDS, old, new, out)
    _compare_contains(differ, path, original, update, out)


def _compare_tuples(
    differ: Differ,
    items_path: str,
    original: Node,
    old_shape: ArrayShape,
    update: Node,
    new_shape: ArrayShape,
    out: list[Difference],
) -> None:
    old_items, new_items = old_shape.tuple_items or [], new_shape.tuple_items or []
    common = min(len(old_items), len(new_items))
    for index in range(common):
        out.extend(
            differ.compare_schemas(join(items_path, str(index)), original, old_items[index], update, new_items[index])
        )
    if len(old_items) > common:
        model, covering = array_model(update.keywords, new_shape)
        for index in range(common, len(old_items)):
            at = join(items_path, str(index))
            old_node = original.child(old_items[index])
            if model is Model.PARTIAL:
                inner = differ.compare(at, old_node, update.child(covering))
                out.extend(inner)
                found = ITEM_COVERAGE[(False, differ.compatible(inner))]
            else:
                found = ITEM_REMOVED[(model, old_node.kind.name == "FALSE")]
            out.append(Difference(found, at, old_items[index], None))
    if len(new_items) > common:
        model, covering = array_model(original.keywords, old_shape)
        for index in range(common, len(new_items)):
            at = join(items_path, str(index))
            new_node = update.child(new_items[index])
            if model is Model.PARTIAL:
                inner = differ.compare(at, original.child(covering), new_node)
                out.extend(inner)
                found = ITEM_COVERAGE[(True, differ.compatible(inner))]
            else:
                found = ITEM_ADDED[(model, new_node.accepts_anything)]
            out.append(Difference(found, at, None, new_items[index]))


def _compare_contains(differ: Differ, path: str, original: Node, update: Node, out: list[Difference]) -> None:
    """Eventline: ``contains`` may only widen, and not at all under a ``maxContains``."""
    old: Maybe = original.keywords.get("contains", MISSING)
    new: Maybe = update.keywords.get("contains", MISSING)
    at = join(path, "contains")
    if old is MISSING and new is MISSING:
        return
    if old is MISSING:
        out.append(Difference(T.CONTAINS_ADDED, at, None, present_or_none(new)))
        return
    if new is MISSING:
        out.append(Difference(T.CONTAINS_REMOVED, at, old, None))
        return
    inner = differ.compare_schemas(at, original, old, update, new)
    out.extend(inner)
    if inner and "maxContains" in update.keywords and differ.compatible(inner):
        # More items may now match, so an old array can exceed maxContains.
        out.append(Difference(T.CONTAINS_EXTENDED_WITH_MAX_CONTAINS, at, old, new))
