"""Combined schemas (``allOf``/``anyOf``/``oneOf``) and ``not`` (reference §6).

Branches are paired order-independently: every original branch is diffed against every
update branch, and a maximum-cardinality bipartite matching over the compatible pairs
decides which differences are reported (under ``<criterion>/<original index>``).

Eventline adds one soundness check Confluent lacks: an instance valid under a ``oneOf``
must match *exactly one* branch, so when the update is a ``oneOf`` the data an original
branch accepts must not also match another update branch. That is proven only for
branches that are disjoint by type, by ``enum``/``const`` values, or by a required
property whose schemas are disjoint (the usual discriminator); otherwise
``ONE_OF_BRANCHES_MAY_OVERLAP`` is reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .difference import Difference
from .jsonvalues import JSON, join, json_key, schema_map, string_list
from .nodes import Kind, Node
from .types import DifferenceType

if TYPE_CHECKING:
    from .differ import Differ

T = DifferenceType

_SINGLE = "single"
_ANY = "any"

#: Criterion change rules, first match wins; no match -> COMBINED_TYPE_CHANGED (and stop).
#: A pattern is a criterion name, "single" (exactly one branch) or "any".
CRITERION_RULES: tuple[tuple[str, str, DifferenceType], ...] = (
    (_ANY, "anyOf", T.COMBINED_TYPE_EXTENDED),
    (_SINGLE, _SINGLE, T.COMBINED_TYPE_EXTENDED),
    (_SINGLE, "oneOf", T.COMBINED_TYPE_EXTENDED),
    ("allOf", _SINGLE, T.COMBINED_TYPE_EXTENDED),
)


def _matches(pattern: str, criterion: str, size: int) -> bool:
    return pattern == _ANY or pattern == criterion or (pattern == _SINGLE and size == 1)


def criterion_change(old: str, old_size: int, new: str, new_size: int) -> DifferenceType | None:
    if old == new:
        return None
    for old_pattern, new_pattern, found in CRITERION_RULES:
        if _matches(old_pattern, old, old_size) and _matches(new_pattern, new, new_size):
            return found
    return T.COMBINED_TYPE_CHANGED


def compare_combined(differ: Differ, path: str, original: Node, update: Node, out: list[Difference]) -> None:
    old_branches, new_branches = original.branches(), update.branches()
    change = criterion_change(original.criterion, len(old_branches), update.criterion, len(new_branches))
    if change is not None:
        out.append(Difference(change, path, original.criterion, update.criterion))
        if change is T.COMBINED_TYPE_CHANGED:
            return
    if len(new_branches) > len(old_branches):
        grown = T.PRODUCT_TYPE_EXTENDED if update.criterion == "allOf" else T.SUM_TYPE_EXTENDED
        out.append(Difference(grown, path, len(old_branches), len(new_branches)))
    elif len(new_branches) < len(old_branches):
        shrunk = T.SUM_TYPE_NARROWED if original.criterion in ("anyOf", "oneOf") else T.PRODUCT_TYPE_NARROWED
        out.append(Difference(shrunk, path, len(old_branches), len(new_branches)))
    compatible_pairs: list[list[tuple[int, int]]] = []
    results: dict[tuple[int, int], list[Difference]] = {}
    for i, (segment, old_branch) in enumerate(old_branches):
        at = join(path, segment)
        options: list[tuple[int, int]] = []
        for j, (_new_segment, new_branch) in enumerate(new_branches):
            if _plainly_different(old_branch, new_branch):
                continue
            inner = differ.compare(at, old_branch, new_branch)
            if differ.compatible(inner):
                results[(i, j)] = inner
                options.append((len(inner), j))
        options.sort()
        compatible_pairs.append(options)
    matching = maximum_matching([[j for _count, j in options] for options in compatible_pairs])
    for i in sorted(matching):
        out.extend(results[(i, matching[i])])
    if len(matching) < min(len(old_branches), len(new_branches)):
        unmatched = [segment for i, (segment, _branch) in enumerate(old_branches) if i not in matching]
        out.append(Difference(T.COMBINED_TYPE_SUBSCHEMAS_CHANGED, path, unmatched, len(new_branches)))
        return
    if update.criterion == "oneOf" and len(new_branches) > 1 and len(matching) == len(old_branches):
        check_one_of_overlap(
            differ,
            path,
            [branch for _segment, branch in old_branches],
            matching,
            update,
            original.criterion == "oneOf",
            out,
        )


_PLAIN_KINDS = frozenset(
    {Kind.BOOLEAN, Kind.NULL, Kind.STRING, Kind.NUMBER, Kind.OBJECT, Kind.ARRAY, Kind.ENUM, Kind.NOT}
)


def _plainly_different(first: Node, second: Node) -> bool:
    """Kinds that can only yield TYPE_CHANGED: skip the pair without diffing it."""
    return (
        first.kind is not second.kind
        and first.kind in _PLAIN_KINDS
        and second.kind in _PLAIN_KINDS
        and "connect.type" not in first.keywords
    )


def maximum_matching(options: list[list[int]]) -> dict[int, int]:
    """Kuhn's augmenting paths; ``options[i]`` lists the right vertices of left vertex i, preferred first."""
    owner: dict[int, int] = {}

    def augment(left: int, seen: set[int]) -> bool:
        for right in options[left]:
            if right in seen:
                continue
            seen.add(right)
            if right not in owner or augment(owner[right], seen):
                owner[right] = left
                return True
        return False

    for left in range(len(options)):
        augment(left, set())
    return {left: right for right, left in owner.items()}


def check_one_of_overlap(
    differ: Differ,
    path: str,
    old_branches: list[Node],
    matching: dict[int, int],
    update: Node,
    original_is_one_of: bool,
    out: list[Difference],
) -> None:
    """Report once if data of an original branch may match a second branch of the update ``oneOf``."""
    new_branches = [branch for _segment, branch in update.branches()]
    for i, old_branch in enumerate(old_branches):
        for k, new_branch in enumerate(new_branches):
            if k == matching[i] or disjoint(old_branch, new_branch):
                continue
            if original_is_one_of and any(
                m != i and differ.identical(path, other, new_branch) for m, other in enumerate(old_branches)
            ):
                continue  # the old oneOf already kept branch i's data out of this branch
            out.append(Difference(T.ONE_OF_BRANCHES_MAY_OVERLAP, path, None, update.criterion))
            return


def compare_not(differ: Differ, path: str, original: Node, update: Node, out: list[Difference]) -> None:
    """``not`` bodies are compared reversed: the update may only forbid less."""
    at = join(path, "not")
    old_body, new_body = original.keywords.get("not"), update.keywords.get("not")
    inner = differ.compare(at, update.child(new_body), original.child(old_body))
    if not inner:
        return
    found = T.NOT_TYPE_NARROWED if differ.compatible(inner) else T.NOT_TYPE_EXTENDED
    out.append(Difference(found, at, old_body, new_body))


# ---- disjointness (conservative: False means "could not prove") ----


def instance_types(node: Node) -> frozenset[str] | None:
    """JSON types an instance of ``node`` can have; None when unknown/any."""
    kind = node.kind
    if kind is Kind.FALSE:
        return frozenset()
    if kind in (Kind.EMPTY, Kind.NOT):
        return None
    if kind is Kind.ENUM:
        return frozenset(_value_type(value) for value in node.enum_values)
    if kind is Kind.COMBINED:
        branch_types = [instance_types(branch) for _segment, branch in node.branches()]
        if node.criterion == "allOf":
            known = [types for types in branch_types if types is not None]
            if not known:
                return None
            result = known[0]
            for types in known[1:]:
                result = _intersect(result, types)
            return result
        if any(types is None for types in branch_types):
            return None
        return frozenset().union(*[types for types in branch_types if types is not None])
    if not node.requires_type:
        return None
    return frozenset({node.label})


def _value_type(value: JSON) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _intersect(first: frozenset[str], second: frozenset[str]) -> frozenset[str]:
    result = set(first & second)
    if "number" in first and "integer" in second or "integer" in first and "number" in second:
        result.add("integer")
    return frozenset(result)


def disjoint(first: Node, second: Node, depth: int = 0) -> bool:
    """True only when no instance can be valid under both nodes."""
    first_types, second_types = instance_types(first), instance_types(second)
    if first_types is not None and second_types is not None and not _intersect(first_types, second_types):
        return True
    if first.kind is Kind.ENUM and second.kind is Kind.ENUM:
        first_values = {json_key(value) for value in first.enum_values}
        return first_values.isdisjoint(json_key(value) for value in second.enum_values)
    if (
        depth < 3
        and first.kind is Kind.OBJECT
        and second.kind is Kind.OBJECT
        and (first.requires_type or second.requires_type)
    ):
        return _disjoint_by_discriminator(first, second, depth)
    return False


def _disjoint_by_discriminator(first: Node, second: Node, depth: int) -> bool:
    first_properties = schema_map(first.keywords.get("properties"))
    second_properties = schema_map(second.keywords.get("properties"))
    shared_required = set(string_list(first.keywords.get("required"))) & set(
        string_list(second.keywords.get("required"))
    )
    for name in sorted(shared_required):
        if (
            name in first_properties
            and name in second_properties
            and disjoint(first.child(first_properties[name]), second.child(second_properties[name]), depth + 1)
        ):
            return True
    return False
