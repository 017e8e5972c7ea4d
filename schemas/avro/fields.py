"""An Avro schema as the pages list it: one row per record field (nested records indented, as
far as a few levels), with its type as people read it, its default and its doc. Pure: no Django."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from schemas.avro.schema import Node

MAX_DEPTH = 4


@dataclass(frozen=True)
class AvroFieldRow:
    """One field. `required` means it has no default (a reader cannot do without it); the
    template shows `constraints` where JSON Schema rows show theirs, here the default."""

    path: str
    name: str
    depth: int
    type: str
    required: bool
    description: str
    default_json: str

    @property
    def constraints(self) -> str:
        return f"default: {self.default_json}" if self.default_json else ""


def type_label(node: Node) -> str:
    """`long (timestamp-millis)`, `record shop.Address`, `null | string`, `array<string>`."""
    if node.kind == "union":
        return " | ".join(type_label(branch) for branch in node.branches)
    if node.kind == "enum":
        return f"enum {node.short_name} {{{', '.join(node.symbols)}}}"
    if node.kind == "fixed":
        return f"fixed {node.short_name} ({node.size} bytes)"
    if node.logical == "decimal":
        return f"{node.kind} (decimal({node.precision}, {node.scale or 0}))"
    return node.describe()


def field_rows(root: Node) -> list[AvroFieldRow]:
    rows: list[AvroFieldRow] = []
    _walk(root, "", 0, rows, set())
    return rows


def _walk(node: Node, prefix: str, depth: int, rows: list[AvroFieldRow], open_records: set[int]) -> None:
    record = _record_inside(node)
    if record is None or depth >= MAX_DEPTH or id(record) in open_records:
        return  # a recursive type is listed once, where it first appears
    open_records.add(id(record))
    for item in record.fields:
        path = f"{prefix}/{item.name}"
        rows.append(
            AvroFieldRow(
                path=path,
                name=item.name,
                depth=depth,
                type=type_label(item.type),
                required=not item.has_default,
                description=item.doc,
                default_json=json.dumps(item.default, ensure_ascii=False) if item.has_default else "",
            )
        )
        _walk(item.type, path, depth + 1, rows, open_records)
    open_records.discard(id(record))


def _record_inside(node: Node) -> Node | None:
    """The record a field holds: itself, an array's or map's items, or a union's one record."""
    if node.kind == "record":
        return node
    if node.kind == "array" and node.items is not None:
        return _record_inside(node.items)
    if node.kind == "map" and node.values is not None:
        return _record_inside(node.values)
    if node.kind == "union":
        records = [found for branch in node.branches if (found := _record_inside(branch)) is not None]
        return records[0] if len(records) == 1 else None
    return None


def field_rows_of(raw: Any, references: dict[str, Any] | None = None) -> list[AvroFieldRow]:
    """Rows for a schema's JSON value; an unparsable schema has none (the page shows its JSON)."""
    from schemas.avro.schema import AvroSchemaError, parse_avro

    try:
        return field_rows(parse_avro(raw, references).root)
    except AvroSchemaError:
        return []
