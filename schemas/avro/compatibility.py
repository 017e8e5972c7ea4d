"""Avro compatibility: can a reader schema read what a writer schema wrote? Avro's schema
resolution rules as Confluent applies them (Avro's SchemaCompatibility), with its incompatibility
types and JSON-pointer locations in the reader schema. Pure: no Django.

The rules (reader R, writer W):
* the same primitive, or a promotion: int to long, float or double; long to float or double;
  float to double; string to bytes and bytes to string;
* records, enums and fixed types match by unqualified name or by one of R's aliases naming W;
* a record field of R is read from W's field of the same name (or one R's field aliases name),
  or from its default; without either it is READER_FIELD_MISSING_DEFAULT_VALUE; W's other
  fields are skipped;
* every symbol W may write must be one of R's, unless R's enum has a default;
* fixed sizes must be equal; arrays and maps compare their items and values;
* a union W: each branch must be readable by R; a union R: some branch must read W.
Recursion is handled by assuming a pair under comparison compatible (as Avro does).

Eventline is stricter in one place, on purpose: a decimal whose scale or precision changes is
incompatible, because the same unscaled number would be read as another value.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from schemas.avro.schema import Node

_PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}


class AvroIncompatibility(enum.StrEnum):
    """Avro's SchemaIncompatibilityType names, which Confluent's messages carry."""

    NAME_MISMATCH = "NAME_MISMATCH"
    FIXED_SIZE_MISMATCH = "FIXED_SIZE_MISMATCH"
    MISSING_ENUM_SYMBOLS = "MISSING_ENUM_SYMBOLS"
    READER_FIELD_MISSING_DEFAULT_VALUE = "READER_FIELD_MISSING_DEFAULT_VALUE"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    MISSING_UNION_BRANCH = "MISSING_UNION_BRANCH"
    DECIMAL_SCALE_MISMATCH = "DECIMAL_SCALE_MISMATCH"


@dataclass(frozen=True)
class Incompatibility:
    """Why the reader cannot read the writer's data at `path` (a pointer into the reader)."""

    type: AvroIncompatibility
    path: str
    message: str
    reader: str  # the reader's type there, as text
    writer: str  # the writer's type there, as text


def incompatibilities(reader: Node, writer: Node) -> list[Incompatibility]:
    """Every reason `reader` cannot read data written with `writer` (empty: it can)."""
    return _Checker().check(reader, writer, "")


class _Checker:
    def __init__(self) -> None:
        # Pairs under comparison: met again inside themselves (recursion), they are assumed fine.
        self.assumed: set[tuple[int, int]] = set()
        self.done: dict[tuple[int, int], list[Incompatibility]] = {}

    def check(self, reader: Node, writer: Node, path: str) -> list[Incompatibility]:
        key = (id(reader), id(writer))
        if key in self.assumed:
            return []
        if key in self.done and not self.done[key]:
            return []
        self.assumed.add(key)
        try:
            found = self._check(reader, writer, path)
        finally:
            self.assumed.discard(key)
        self.done[key] = found
        return found

    def _check(self, reader: Node, writer: Node, path: str) -> list[Incompatibility]:
        if writer.kind == "union":
            found: list[Incompatibility] = []
            for index, branch in enumerate(writer.branches):
                if reader.kind == "union":
                    if not any(not self.check(option, branch, path) for option in reader.branches):
                        found.append(
                            _problem(
                                AvroIncompatibility.MISSING_UNION_BRANCH,
                                f"{path}/{index}" if path else f"/{index}",
                                f"the reader's union has no branch that reads the writer's {branch.describe()}",
                                reader,
                                branch,
                            )
                        )
                else:
                    found += self.check(reader, branch, path)
            return found
        if reader.kind == "union":
            for option in reader.branches:
                if not self.check(option, writer, path):
                    return []
            return [
                _problem(
                    AvroIncompatibility.MISSING_UNION_BRANCH,
                    path,
                    f"the reader's union has no branch that reads the writer's {writer.describe()}",
                    reader,
                    writer,
                )
            ]
        if reader.kind != writer.kind:
            if writer.kind in _PROMOTIONS and reader.kind in _PROMOTIONS[writer.kind]:
                return []
            return [
                _problem(
                    AvroIncompatibility.TYPE_MISMATCH,
                    path,
                    f"the reader's {reader.describe()} cannot read the writer's {writer.describe()}",
                    reader,
                    writer,
                )
            ]
        if reader.kind in ("record", "enum", "fixed") and not _names_match(reader, writer):
            return [
                _problem(
                    AvroIncompatibility.NAME_MISMATCH,
                    f"{path}/name",
                    f"the reader's {reader.kind} is named {reader.name}, the writer's {writer.name} "
                    "(and no alias of the reader names it)",
                    reader,
                    writer,
                )
            ]
        if reader.kind == "record":
            return self._record(reader, writer, path)
        if reader.kind == "enum":
            missing = [symbol for symbol in writer.symbols if symbol not in reader.symbols]
            if missing and reader.enum_default is None:
                return [
                    _problem(
                        AvroIncompatibility.MISSING_ENUM_SYMBOLS,
                        f"{path}/symbols",
                        f"the reader's enum {reader.name} lacks the symbol(s) {', '.join(missing)} and has no "
                        "default to read them as",
                        reader,
                        writer,
                    )
                ]
            return []
        if reader.kind == "fixed" and reader.size != writer.size:
            return [
                _problem(
                    AvroIncompatibility.FIXED_SIZE_MISMATCH,
                    f"{path}/size",
                    f"the reader's fixed {reader.name} is {reader.size} bytes, the writer's {writer.size}",
                    reader,
                    writer,
                )
            ]
        if reader.kind == "array" and reader.items is not None and writer.items is not None:
            return self.check(reader.items, writer.items, f"{path}/items")
        if reader.kind == "map" and reader.values is not None and writer.values is not None:
            return self.check(reader.values, writer.values, f"{path}/values")
        return _decimal(reader, writer, path)

    def _record(self, reader: Node, writer: Node, path: str) -> list[Incompatibility]:
        found: list[Incompatibility] = []
        by_name = {item.name: item for item in writer.fields}
        for index, item in enumerate(reader.fields):
            source = by_name.get(item.name) or next(
                (by_name[alias] for alias in item.aliases if alias in by_name), None
            )
            at = f"{path}/fields/{index}"
            if source is None:
                if not item.has_default:
                    found.append(
                        _problem(
                            AvroIncompatibility.READER_FIELD_MISSING_DEFAULT_VALUE,
                            at,
                            f"the reader's field '{item.name}' of {reader.name} has no default, and the writer "
                            "does not write it",
                            reader,
                            writer,
                        )
                    )
                continue
            found += self.check(item.type, source.type, f"{at}/type")
        return found


def _names_match(reader: Node, writer: Node) -> bool:
    return reader.short_name == writer.short_name or writer.name in reader.aliases


def _decimal(reader: Node, writer: Node, path: str) -> list[Incompatibility]:
    if reader.logical == writer.logical == "decimal" and (reader.scale or 0, reader.precision) != (
        writer.scale or 0,
        writer.precision,
    ):
        return [
            _problem(
                AvroIncompatibility.DECIMAL_SCALE_MISMATCH,
                path,
                f"the reader's decimal({reader.precision}, {reader.scale or 0}) would read the writer's "
                f"decimal({writer.precision}, {writer.scale or 0}) as other numbers",
                reader,
                writer,
            )
        ]
    return []


def _problem(kind: AvroIncompatibility, path: str, message: str, reader: Node, writer: Node) -> Incompatibility:
    return Incompatibility(kind, path or "/", message, reader.describe(), writer.describe())
