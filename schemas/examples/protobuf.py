"""Candidate events for a Protobuf pair in Protobuf's JSON mapping: the accepting schema's first
message with one field set at a time to a value of its kind (so a changed field shows with a value
of the old kind), nested messages filled the same way.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from schemas.examples.search import Target

FD = FieldDescriptor
_MAX_DEPTH = 5
_SCALARS: dict[int, list[Any]] = {
    FD.TYPE_BOOL: [True],
    FD.TYPE_STRING: ["text"],
    FD.TYPE_BYTES: ["dGV4dA=="],
    FD.TYPE_FLOAT: [1.5],
    FD.TYPE_DOUBLE: [1.5],
    FD.TYPE_INT32: [-1, 7],
    FD.TYPE_SINT32: [-1, 7],
    FD.TYPE_SFIXED32: [-1, 7],
    FD.TYPE_UINT32: [7, 4000000000],
    FD.TYPE_FIXED32: [7, 4000000000],
    FD.TYPE_INT64: [-1, 7, 2**40],
    FD.TYPE_SINT64: [-1, 7, 2**40],
    FD.TYPE_SFIXED64: [-1, 7, 2**40],
    FD.TYPE_UINT64: [7, 2**40],
    FD.TYPE_FIXED64: [7, 2**40],
}


def messages(message: Descriptor, depth: int = 0) -> list[dict[str, Any]]:
    """{} first, then one field set at a time to each value of its kind."""
    out: list[dict[str, Any]] = [{}]
    if depth > _MAX_DEPTH:
        return out
    required = {item.name: (_values(item, depth) or [None])[0] for item in message.fields if item.is_required}
    out = [required]
    for item in message.fields:
        for value in _values(item, depth)[:4]:
            out.append({**required, item.name: value})
    return out


def _values(item: FieldDescriptor, depth: int) -> list[Any]:
    entry = item.message_type
    if entry is not None and entry.GetOptions().map_entry:
        return [{"1": value} for value in _single(entry.fields_by_name["value"], depth)[:2]]
    single = _single(item, depth)
    return [[value] for value in single[:2]] if item.is_repeated else single


def _single(item: FieldDescriptor, depth: int) -> list[Any]:
    if item.message_type is not None:
        return messages(item.message_type, depth + 1)[1:4] or [{}]
    if item.type == FD.TYPE_ENUM:
        return [value.name for value in item.enum_type.values]
    return list(_SCALARS.get(item.type, []))


def targets(accepting: Descriptor, changes: list[tuple[str, str]]) -> list[Target]:
    found = messages(accepting)
    return [*(Target(rule, path, iter(found)) for rule, path in changes[:1]), Target(None, None, iter(found))]
