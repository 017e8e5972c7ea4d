"""The dispatcher: compares one (original, update) pair of nodes and recurses.

``original`` is the writer schema and ``update`` the reader: a difference is compatible
when everything the original accepts is still accepted by the update. The dispatch
follows Confluent's order (reference §3): missing sides, ``$ref`` (already followed by
the node model), memo and cycles, non-combined -> combined, combined -> non-combined,
kind change, annotations, then the per-kind comparator from ``COMPARATORS``.

Recursion: a pair met again while it is still being compared is assumed compatible
(optimistic cut). Results are memoised per pair and rebased onto the current path.
Only when a cut pair later turns out incompatible is the whole diff re-run, seeding the
pairs found incompatible, until no new such pair appears; so non-recursive schemas take
exactly one pass.
"""

from __future__ import annotations

from collections.abc import Callable

from .arrays import compare_array
from .combined import check_one_of_overlap, compare_combined, compare_not
from .conditionals import compare_conditionals
from .difference import Difference
from .jsonvalues import MISSING, ROOT_PATH, Maybe, json_equal, present_or_none, rebase, same_schema
from .levels import CompatibilityPolicy
from .nodes import Kind, Node
from .objects import compare_object
from .scalars import compare_enum, compare_number, compare_string
from .types import ALLOWED_BY_POLICY, DifferenceType

T = DifferenceType
Pair = tuple[Node, Node]
Comparator = Callable[["Differ", str, Node, Node, list[Difference]], None]

#: Per-kind comparators (kinds without keywords have none).
COMPARATORS: dict[Kind, Comparator] = {
    Kind.STRING: compare_string,
    Kind.NUMBER: compare_number,
    Kind.OBJECT: compare_object,
    Kind.ARRAY: compare_array,
    Kind.ENUM: compare_enum,
    Kind.COMBINED: compare_combined,
    Kind.NOT: compare_not,
}

#: Annotations compared on the node, in Confluent's order; first keyword present wins.
ANNOTATIONS: tuple[tuple[DifferenceType, tuple[str, ...]], ...] = (
    (T.ID_CHANGED, ("$id", "id")),
    (T.TITLE_CHANGED, ("title",)),
    (T.DESCRIPTION_CHANGED, ("description",)),
    (T.DEFAULT_CHANGED, ("default",)),
)


class Differ:
    """One diff between two sides; holds the memo, so create one per pair of schemas."""

    def __init__(self, policy: CompatibilityPolicy = CompatibilityPolicy.STRICT) -> None:
        self.policy = policy
        self.allowed = ALLOWED_BY_POLICY[policy]
        self._memo: dict[Pair, tuple[str, list[Difference]]] = {}
        self._active: set[Pair] = set()
        self._cut: set[Pair] = set()
        self._seeds: dict[Pair, tuple[str, list[Difference]]] = {}
        self.passes = 0

    def diff(self, original: Node, update: Node) -> list[Difference]:
        """All differences between two root nodes, in emission order."""
        while True:
            self.passes += 1
            self._memo, self._active, self._cut = {}, set(), set()
            result = self.compare(ROOT_PATH, original, update)
            wrong = {
                pair: self._memo[pair]
                for pair in self._cut
                if pair in self._memo and pair not in self._seeds and not self.compatible(self._memo[pair][1])
            }
            if not wrong:
                return result
            self._seeds.update(wrong)

    def compatible(self, differences: list[Difference]) -> bool:
        allowed = self.allowed
        return all(difference.type in allowed for difference in differences)

    def identical(self, path: str, first: Node, second: Node) -> bool:
        """No difference at all in either direction."""
        return not self.compare(path, first, second) and not self.compare(path, second, first)

    def compare_schemas(
        self, path: str, original: Node, old_schema: Maybe, update: Node, new_schema: Maybe
    ) -> list[Difference]:
        """Compare two subschemas written inside ``original`` and ``update`` (MISSING = absent)."""
        if old_schema is MISSING:
            return [] if new_schema is MISSING else [Difference(T.SCHEMA_ADDED, path, None, new_schema)]
        if new_schema is MISSING:
            return [Difference(T.SCHEMA_REMOVED, path, old_schema, None)]
        # The same text means the same thing only under the same draft (``prefixItems`` in draft-07...).
        if original.doc.draft is update.doc.draft and same_schema(old_schema, new_schema):
            return []
        return self.compare(path, original.child(old_schema), update.child(new_schema))

    def compare(self, path: str, original: Node | None, update: Node | None) -> list[Difference]:
        if original is None:
            return [] if update is None else [Difference(T.SCHEMA_ADDED, path, None, update.raw)]
        if update is None:
            return [Difference(T.SCHEMA_REMOVED, path, original.raw, None)]
        pair = (original, update)
        known = self._memo.get(pair)
        if known is not None:
            return _rebased(known, path)
        if pair in self._active:
            self._cut.add(pair)
            seeded = self._seeds.get(pair)
            return _rebased(seeded, path) if seeded is not None else []
        self._active.add(pair)
        try:
            result = self._compare_nodes(path, original, update)
        finally:
            self._active.discard(pair)
        self._memo[pair] = (path, result)
        return result

    def _compare_nodes(self, path: str, original: Node, update: Node) -> list[Difference]:
        out: list[Difference] = []
        self._compare_structure(path, original, update, out)
        if (
            original.top
            and update.top
            and original.kind is not Kind.FALSE
            and (original.has_conditional or update.has_conditional)
        ):
            extra: list[Difference] = []
            compare_conditionals(self, path, original, update, extra)
            out.extend(difference for difference in extra if difference not in out)
        return out

    def _compare_structure(self, path: str, original: Node, update: Node, out: list[Difference]) -> None:
        original_combined = original.kind is Kind.COMBINED
        update_combined = update.kind is Kind.COMBINED
        if update_combined and not original_combined:
            if self._into_combined(path, original, update, out):
                return
        elif original_combined and not update_combined:
            if self._from_combined(path, original, update, out):
                return
        if original.kind is not update.kind:
            if original.kind is Kind.FALSE or update.kind is Kind.EMPTY:
                return
            if _connect_bytes(original) and _connect_bytes(update):
                return
            out.append(Difference(T.TYPE_CHANGED, path, original.label, update.label))
            return
        if original.top and update.top:
            _compare_annotations(path, original, update, out)
        if original.requires_type is not update.requires_type:
            _compare_type_requirement(path, original, update, out)
        comparator = COMPARATORS.get(original.kind)
        if comparator is not None:
            comparator(self, path, original, update, out)

    def _into_combined(self, path: str, original: Node, update: Node, out: list[Difference]) -> bool:
        """A plain schema became combined: it must fit one branch (Confluent §3 step 4)."""
        branches = update.branches()
        if len(branches) == 1:
            inner = self.compare(path, original, branches[0][1])
            if self.compatible(inner):
                out.extend(inner)
                return True
            return False
        if update.criterion not in ("anyOf", "oneOf"):
            return False
        for index, (_segment, branch) in enumerate(branches):
            inner = self.compare(path, original, branch)
            if self.compatible(inner):
                out.extend(inner)
                out.append(Difference(T.SUM_TYPE_EXTENDED, path, 1, len(branches)))
                if update.criterion == "oneOf":
                    check_one_of_overlap(self, path, [original], {0: index}, update, False, out)
                return True
        return False

    def _from_combined(self, path: str, original: Node, update: Node, out: list[Difference]) -> bool:
        """A combined schema became plain (Confluent §3 step 5)."""
        branches = original.branches()
        if len(branches) == 1:
            inner = self.compare(path, branches[0][1], update)
            if self.compatible(inner):
                out.extend(inner)
                return True
            return False
        if original.criterion != "allOf":
            return False
        for _segment, branch in branches:
            inner = self.compare(path, branch, update)
            if self.compatible(inner):
                out.extend(inner)
                out.append(Difference(T.PRODUCT_TYPE_NARROWED, path, len(branches), 1))
                return True
        return False


def _rebased(known: tuple[str, list[Difference]], path: str) -> list[Difference]:
    base, differences = known
    if base == path:
        return differences
    return [
        Difference(difference.type, rebase(difference.path, base, path), difference.old_value, difference.new_value)
        for difference in differences
    ]


def _connect_bytes(node: Node) -> bool:
    return node.keywords.get("connect.type") == "bytes"


_ANNOTATION_KEYWORDS = frozenset(name for _type, names in ANNOTATIONS for name in names)


def _compare_annotations(path: str, original: Node, update: Node, out: list[Difference]) -> None:
    old_keywords, new_keywords = original.keywords, update.keywords
    if _ANNOTATION_KEYWORDS.isdisjoint(old_keywords) and _ANNOTATION_KEYWORDS.isdisjoint(new_keywords):
        return
    for difference_type, names in ANNOTATIONS:
        old: Maybe = MISSING
        new: Maybe = MISSING
        for name in names:
            if name in old_keywords:
                old = old_keywords[name]
                break
        for name in names:
            if name in new_keywords:
                new = new_keywords[name]
                break
        if old is new or (old.__class__ is new.__class__ and isinstance(old, str) and old == new):
            continue
        if not json_equal(old, new):
            out.append(Difference(difference_type, path, present_or_none(old), present_or_none(new)))


def _compare_type_requirement(path: str, original: Node, update: Node, out: list[Difference]) -> None:
    """Eventline: ``{"minLength": 1}`` accepts numbers too; adding ``type`` narrows that."""
    if original.requires_type == update.requires_type:
        return
    if update.requires_type:
        out.append(Difference(T.TYPE_REQUIREMENT_ADDED, path, None, update.label))
    else:
        out.append(Difference(T.TYPE_REQUIREMENT_REMOVED, path, original.label, None))
