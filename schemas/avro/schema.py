"""Avro schemas as the registry handles them: parsed into a small node model with named types
resolved (references from other subjects included), checked by fastavro (the library Confluent's
Python serializer uses), and given a canonical form for deduplication.

Pure: no Django, no database. The canonical form is Avro's Parsing Canonical Form (full names,
only the attributes that matter, in the specification's order) plus what Confluent keeps because
it changes what a reader does: field defaults, aliases, logical types (with precision and scale)
and an enum's default. Documentation and other properties do not change the canonical form, so
two schemas that differ only there share an id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import fastavro
from fastavro.schema import SchemaParseException, UnknownType

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED_KINDS = frozenset({"record", "error", "enum", "fixed"})
# Parsing Canonical Form keeps these attributes, in this order; the rest of `_KEPT` follows.
_ORDER = ("name", "type", "fields", "symbols", "items", "values", "size")
_KEPT = ("default", "aliases", "logicalType", "precision", "scale")


class AvroSchemaError(ValueError):
    """The text is not a valid Avro schema (with its references); the message says why."""


@dataclass(eq=False)
class Node:
    """One Avro type. `kind` is a primitive name, record, enum, fixed, array, map or union."""

    kind: str
    name: str = ""  # full name of a named type
    aliases: tuple[str, ...] = ()  # full names
    logical: str | None = None
    precision: int | None = None
    scale: int | None = None
    fields: list[AvroField] = field(default_factory=list)
    symbols: tuple[str, ...] = ()
    enum_default: str | None = None
    size: int | None = None
    items: Node | None = None
    values: Node | None = None
    branches: list[Node] = field(default_factory=list)

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    def describe(self) -> str:
        """How the type reads in a message: `int`, `record com.acme.Order`, `array<string>`."""
        if self.kind in ("record", "enum", "fixed"):
            return f"{self.kind} {self.name}"
        if self.kind == "array" and self.items is not None:
            return f"array<{self.items.describe()}>"
        if self.kind == "map" and self.values is not None:
            return f"map<{self.values.describe()}>"
        if self.kind == "union":
            return "union[" + ", ".join(branch.describe() for branch in self.branches) + "]"
        return self.kind if self.logical is None else f"{self.kind} ({self.logical})"

    def branch_name(self) -> str:
        """The name a union branch has in Avro's JSON encoding."""
        return self.name if self.kind in ("record", "enum", "fixed") else self.kind


@dataclass(eq=False)
class AvroField:
    name: str
    type: Node
    aliases: tuple[str, ...] = ()
    has_default: bool = False
    default: Any = None
    doc: str = ""


@dataclass(frozen=True)
class ParsedAvro:
    """A checked Avro schema: the JSON it was given, its node model and its canonical text."""

    raw: Any
    root: Node
    canonical: str


def parse_avro(raw: Any, references: Mapping[str, Any] | None = None) -> ParsedAvro:
    """Check `raw` (the schema's JSON value) with fastavro and build its node model. Named types
    defined by `references` (name -> the referenced schema's JSON value) may be used by name."""
    named: dict[str, Any] = {}
    try:
        for document in (references or {}).values():
            fastavro.parse_schema(document, named_schemas=named, _write_hint=False)
        fastavro.parse_schema(raw, named_schemas=dict(named), _write_hint=False)
    except (SchemaParseException, UnknownType, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise AvroSchemaError(f"Invalid Avro schema: {_reason(exc)}") from None
    except RecursionError:
        raise AvroSchemaError("Invalid Avro schema: nested too deeply") from None
    builder = _Builder()
    try:
        for document in (references or {}).values():
            builder.build(document, "")
        root = builder.build(raw, "")
        canonical = canonical_form(raw)
    except (KeyError, TypeError, AttributeError) as exc:  # what fastavro let through, such as a record without fields
        raise AvroSchemaError(f"Invalid Avro schema: missing or malformed attribute {exc}") from None
    return ParsedAvro(raw=raw, root=root, canonical=canonical)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, UnknownType):
        return f"unknown type {text} (define it, or reference the subject that does)"
    return text.splitlines()[0]


class _Builder:
    """Builds nodes from schema JSON with Avro's namespace rules; named types are registered
    before their fields are built, so a record may refer to itself."""

    def __init__(self) -> None:
        self.named: dict[str, Node] = {}

    def build(self, raw: Any, namespace: str) -> Node:
        if isinstance(raw, str):
            if raw in PRIMITIVES:
                return Node(kind=raw)
            return self.named.get(_full_name(raw, namespace)) or self.named[raw]
        if isinstance(raw, list):
            return Node(kind="union", branches=[self.build(branch, namespace) for branch in raw])
        assert isinstance(raw, dict)
        kind = raw["type"]
        if _wraps_a_type(kind):
            return self.build(kind, namespace)  # {"type": {...}} or {"type": "com.acme.Named"}
        logical = raw.get("logicalType") if isinstance(raw.get("logicalType"), str) else None
        if kind in PRIMITIVES:
            return Node(kind=kind, logical=logical, precision=raw.get("precision"), scale=raw.get("scale"))
        if kind == "array":
            return Node(kind="array", items=self.build(raw["items"], namespace))
        if kind == "map":
            return Node(kind="map", values=self.build(raw["values"], namespace))
        name = _full_name(raw["name"], raw.get("namespace", namespace))
        own_namespace = name.rsplit(".", 1)[0] if "." in name else ""
        aliases = tuple(_full_name(alias, own_namespace) for alias in raw.get("aliases", ()) or ())
        if kind == "enum":
            node = Node(kind="enum", name=name, aliases=aliases, symbols=tuple(raw["symbols"]), enum_default=raw.get("default"))
        elif kind == "fixed":
            node = Node(
                kind="fixed", name=name, aliases=aliases, size=raw["size"], logical=logical,
                precision=raw.get("precision"), scale=raw.get("scale"),
            )
        else:
            node = Node(kind="record", name=name, aliases=aliases)
        self.named[name] = node
        if node.kind == "record":
            for item in raw["fields"]:
                node.fields.append(
                    AvroField(
                        name=item["name"],
                        type=self.build(item["type"], own_namespace),
                        aliases=tuple(item.get("aliases", ()) or ()),
                        has_default="default" in item,
                        default=item.get("default"),
                        doc=str(item.get("doc", "")),
                    )
                )
        return node


def _wraps_a_type(kind: Any) -> bool:
    """`{"type": {...}}`, `{"type": [...]}` or `{"type": "com.acme.Named"}`: a type in a wrapper."""
    return isinstance(kind, (dict, list)) or (isinstance(kind, str) and kind not in _TYPE_WORDS)


_TYPE_WORDS = PRIMITIVES | NAMED_KINDS | {"array", "map"}


def _full_name(name: str, namespace: str | None) -> str:
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def canonical_form(raw: Any) -> str:
    """Parsing Canonical Form plus defaults, aliases, logical types and enum defaults."""
    return json.dumps(_canonical(raw, "", set()), separators=(",", ":"), ensure_ascii=False)


def _canonical(raw: Any, namespace: str, defined: set[str]) -> Any:
    if isinstance(raw, str):
        return raw if raw in PRIMITIVES else _full_name(raw, namespace)
    if isinstance(raw, list):
        return [_canonical(branch, namespace, defined) for branch in raw]
    if not isinstance(raw, dict):
        return raw
    kind = raw.get("type")
    if _wraps_a_type(kind) and not any(key in raw for key in _KEPT):
        return _canonical(kind, namespace, defined)
    out: dict[str, Any] = {}
    if kind in NAMED_KINDS:
        name = _full_name(raw["name"], raw.get("namespace", namespace))
        namespace = name.rsplit(".", 1)[0] if "." in name else ""
        defined.add(name)
        out["name"] = name
        out["type"] = "record" if kind == "error" else kind
        if kind in ("record", "error"):
            out["fields"] = [_canonical_field(item, namespace, defined) for item in raw.get("fields", [])]
        if kind == "enum":
            out["symbols"] = list(raw.get("symbols", []))
        if kind == "fixed":
            out["size"] = raw.get("size")
        if raw.get("aliases"):
            out["aliases"] = sorted(_full_name(alias, namespace) for alias in raw["aliases"])
    else:
        out["type"] = kind if isinstance(kind, str) and kind in _TYPE_WORDS else _canonical(kind, namespace, defined)
        if kind == "array":
            out["items"] = _canonical(raw.get("items"), namespace, defined)
        if kind == "map":
            out["values"] = _canonical(raw.get("values"), namespace, defined)
    for key in ("default", "logicalType", "precision", "scale"):
        if key in raw:
            out[key] = raw[key]
    if len(out) == 1 and "type" in out and isinstance(out["type"], str):
        return out["type"]
    return {key: out[key] for key in (*_ORDER, *_KEPT) if key in out}


def _canonical_field(item: dict[str, Any], namespace: str, defined: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": item["name"], "type": _canonical(item["type"], namespace, defined)}
    if "default" in item:
        out["default"] = item["default"]
    if item.get("aliases"):
        out["aliases"] = sorted(item["aliases"])
    return out


def named_types(node: Node) -> Iterator[Node]:
    """Every named type reachable from `node`, once each."""
    seen: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.kind in ("record", "enum", "fixed"):
            yield current
        stack.extend(item.type for item in current.fields)
        stack.extend(current.branches)
        stack.extend(child for child in (current.items, current.values) if child is not None)

