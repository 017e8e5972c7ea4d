"""A Protobuf schema as the pages list it: one row per field of the event's message (the schema's
first message, as Confluent's serializers use by default), nested messages indented as far as a
few levels, each with its type as people write it in `.proto`, its number, its oneof and its
proto2 default. Paths use the JSON names, as events in Protobuf's JSON mapping do, so personal-data
pointers and validation errors name the same fields. Pure: no Django."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from schemas.protobuf.schema import ProtobufSchemaError, parse_protobuf, scalar_type_name
from schemas.protobuf.validation import first_message, is_map_field, is_synthetic_oneof_member

MAX_DEPTH = 4
FD = FieldDescriptor
# Message types whose JSON form is a scalar or a free value: listed by name, never expanded.
_OPAQUE_PACKAGE = "google.protobuf."


@dataclass(frozen=True)
class ProtobufFieldRow:
    """One field. `required` is proto2's `required` (a proto3 field is always optional on the
    wire); `constraints` carries the field number, its oneof and its default, where the JSON
    Schema rows carry theirs."""

    path: str
    name: str
    depth: int
    type: str
    required: bool
    description: str
    constraints: str


def type_label(item: FieldDescriptor) -> str:
    """`string`, `repeated int64`, `map<string, Order>`, `Status {NEW, PAID}`, `google.protobuf.Timestamp`."""
    if is_map_field(item):
        key, value = item.message_type.fields_by_name["key"], item.message_type.fields_by_name["value"]
        return f"map<{_single_label(key)}, {_single_label(value)}>"
    label = _single_label(item)
    return f"repeated {label}" if item.is_repeated else label


def _single_label(item: FieldDescriptor) -> str:
    if item.type == FD.TYPE_ENUM:
        symbols = ", ".join(value.name for value in item.enum_type.values)
        return f"{item.enum_type.name} {{{symbols}}}"
    if item.message_type is not None:
        full = item.message_type.full_name
        return full if full.startswith(_OPAQUE_PACKAGE) else item.message_type.name
    return scalar_type_name(item.type)


def _constraints(item: FieldDescriptor) -> str:
    parts = [f"#{item.number}"]
    if item.containing_oneof is not None and not is_synthetic_oneof_member(item):
        parts.append(f"oneof {item.containing_oneof.name}")
    if item.has_default_value and not item.is_repeated and item.message_type is None:
        default = item.default_value
        if item.type == FD.TYPE_ENUM:
            default = item.enum_type.values_by_number[default].name
        elif isinstance(default, bytes):
            default = default.decode("utf-8", "replace")
        parts.append(f"default: {str(default).lower() if isinstance(default, bool) else default}")
    if item.json_name != item.name:
        parts.append(f"json: {item.json_name}")
    return ", ".join(parts)


def field_rows(message: Descriptor) -> list[ProtobufFieldRow]:
    rows: list[ProtobufFieldRow] = []
    _walk(message, "", 0, rows, set())
    return rows


def _walk(message: Descriptor, prefix: str, depth: int, rows: list[ProtobufFieldRow], open_messages: set[str]) -> None:
    if depth >= MAX_DEPTH or message.full_name in open_messages:
        return  # a recursive message is listed once, where it first appears
    open_messages.add(message.full_name)
    for item in message.fields:
        path = f"{prefix}/{item.json_name}"
        rows.append(
            ProtobufFieldRow(
                path=path,
                name=item.name,
                depth=depth,
                type=type_label(item),
                required=item.is_required,
                description="",
                constraints=_constraints(item),
            )
        )
        inner = item.message_type
        if inner is not None and is_map_field(item):
            inner = item.message_type.fields_by_name["value"].message_type
        if inner is not None and not inner.full_name.startswith(_OPAQUE_PACKAGE):
            _walk(inner, path, depth + 1, rows, open_messages)
    open_messages.discard(message.full_name)


def field_rows_of(text: str, references: Mapping[str, Any] | None = None) -> list[ProtobufFieldRow]:
    """Rows for a schema's `.proto` text; one that does not compile, or declares no message, has
    none (the page shows its text)."""
    try:
        return field_rows(
            first_message(parse_protobuf(text, {name: str(body) for name, body in (references or {}).items()}))
        )
    except (ProtobufSchemaError, LookupError):
        return []
