"""Candidate events for an Avro pair: writer datums in Avro's JSON encoding, built so the failing
rule shows first (a missing field's record without it, each enum symbol, each union branch, a
value of the writer's type where the reader wants another).

The writer is the old schema for BACKWARD and the new one for FORWARD; the example is a datum the
writer's validator accepts and the reader's refuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from schemas.avro.schema import Node
from schemas.examples.search import Target

_MAX_DEPTH = 8
_PRIMITIVES: dict[str, list[Any]] = {
    "null": [None],
    "boolean": [True],
    "int": [1, -1],
    "long": [1, 2**40],
    "float": [1.5],
    "double": [1.5],
    "string": ["text"],
    "bytes": ["\u00ff"],
}


def datums(node: Node, depth: int = 0, stack: frozenset[int] = frozenset()) -> list[Any]:
    """A base datum first, then variants that change one choice (an enum symbol, a union branch,
    a field's value) at a time."""
    if depth > _MAX_DEPTH or id(node) in stack:
        return []
    kind = node.kind
    if kind in _PRIMITIVES:
        return list(_PRIMITIVES[kind])
    if kind == "enum":
        return list(node.symbols)
    if kind == "fixed":
        return ["\u0001" * (node.size or 0)]
    inner = stack | {id(node)}
    if kind == "array" and node.items is not None:
        return [[], *([value] for value in datums(node.items, depth + 1, inner)[:4])]
    if kind == "map" and node.values is not None:
        return [{}, *({"key": value} for value in datums(node.values, depth + 1, inner)[:4])]
    if kind == "union":
        out: list[Any] = []
        for branch in node.branches:
            for value in datums(branch, depth + 1, inner)[:4]:
                out.append(None if branch.kind == "null" else {branch.branch_name(): value})
        return out
    if kind == "record":
        per_field = {item.name: datums(item.type, depth + 1, inner) or [None] for item in node.fields}
        base = {name: values[0] for name, values in per_field.items()}
        out = [base]
        for name, values in per_field.items():
            out += [{**base, name: value} for value in values[1:6]]
        return out
    return []


def targets(writer: Node, incompatibilities: list[tuple[str, str]]) -> list[Target]:
    """The writer's datums for each incompatibility (type, path): they differ in one choice at a
    time, so the one that trips the failing rule is among the first; then the general search."""
    found = datums(writer)
    return [
        *(Target(rule, path, iter(found)) for rule, path in incompatibilities[:1]),
        Target(None, None, _without_fields(found)),
    ]


def _without_fields(found: list[Any]) -> Iterator[Any]:
    yield from found
    for datum in found:
        if isinstance(datum, dict):
            for name in datum:
                yield {key: value for key, value in datum.items() if key != name}
