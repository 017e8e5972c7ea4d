"""What differs between the registry's schema formats, in one place: how a schema is checked,
what text is stored and what text decides that two registrations are the same schema (its id),
and how event data is validated against it. Everything else (subjects, versions, ids, modes,
references) is the same for every format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas import constants as c
from schemas.avro import AvroSchemaError, avro_json_issues, canonical_form, parse_avro
from schemas.avro.validation import compile_check
from schemas.documents import (
    canonical_text,
    check_nesting,
    check_schema,
    compile_validator,
    json_pointer,
    parse_schema_text,
)
from schemas.errors import InvalidSchema
from schemas.protobuf import ProtobufSchemaError, parse_protobuf, render_proto


def parse(schema_type: str, text: str) -> Any:
    """The request's schema text as the format reads it before references are resolved: the JSON
    value for JSON Schema and Avro; the text itself for Protobuf (protoc compiles it with its
    imports in `check`)."""
    if schema_type == c.SCHEMA_TYPE_PROTOBUF:
        if not text.strip():
            raise InvalidSchema("Empty schema")
        return text
    return parse_schema_text(text)


def check_depth(schema_type: str, parsed: Any, documents: Mapping[str, Any]) -> None:
    """42201 for JSON documents nested past EVENTLINE_MAX_JSON_DEPTH (protoc bounds .proto itself)."""
    if schema_type != c.SCHEMA_TYPE_PROTOBUF:
        check_nesting(parsed, documents)


def check(schema_type: str, parsed: Any, documents: Mapping[str, Any]) -> Any:
    """Check a schema with its referenced documents; 42201 naming the problem. Returns what the
    check built (a compiled JSON Schema validator, or the parsed Avro schema)."""
    if schema_type == c.SCHEMA_TYPE_AVRO:
        try:
            return parse_avro(parsed, documents)
        except AvroSchemaError as exc:
            raise InvalidSchema(str(exc)) from None
    if schema_type == c.SCHEMA_TYPE_PROTOBUF:
        return _protobuf(parsed, documents)
    return check_schema(parsed, documents)[1]


def _protobuf(text: str, documents: Mapping[str, Any] | None) -> Any:
    try:
        return parse_protobuf(text, documents)
    except ProtobufSchemaError as exc:
        raise InvalidSchema(str(exc)) from None


def texts(
    schema_type: str, parsed: Any, *, normalize: bool, documents: Mapping[str, Any] | None = None
) -> tuple[str, str]:
    """(the text stored, the text that identifies the schema). JSON Schema: compact JSON in the
    key order given (sorted when normalising), which is both. Avro: the schema as given, or its
    canonical form when normalising; identified by its canonical form either way (Parsing
    Canonical Form plus defaults, aliases and logical types), so formatting, key order and
    documentation do not make a new id. Protobuf: the text as given (a base64 descriptor, as
    Confluent's serializers send, or any text when normalising, is rendered as `.proto` text);
    identified by its compiled descriptor, so formatting and comments do not make a new id."""
    if schema_type == c.SCHEMA_TYPE_PROTOBUF:
        compiled = _protobuf(parsed, documents)
        if normalize or parsed != compiled.text:
            return render_proto(compiled.file), compiled.identity
        return parsed, compiled.identity
    if schema_type == c.SCHEMA_TYPE_AVRO:
        canonical = canonical_form(parsed)
        return (canonical if normalize else canonical_text(parsed)), canonical
    text = canonical_text(parsed, normalize=normalize)
    return text, text


class AvroEventValidator:
    """Event data (JSON) against an Avro schema in Avro's JSON encoding."""

    __slots__ = ("_root", "_valid", "schema_id")

    def __init__(self, schema_id: int, root: Any) -> None:
        self.schema_id = schema_id
        self._root = root
        self._valid = compile_check(root)

    def validate(self, instance: Any) -> list[Any]:
        if self._valid(instance):
            return []
        from schemas.validation import ValidationIssue

        return [
            ValidationIssue(pointer=pointer, reason=reason)
            for pointer, reason in avro_json_issues(self._root, instance)
        ]

    def is_valid(self, instance: Any) -> bool:
        return self._valid(instance)


def event_validator(schema_id: int, schema_type: str, parsed: Any, documents: Mapping[str, Any]) -> Any:
    """The validator events bound to this schema are checked with on produce."""
    if schema_type == c.SCHEMA_TYPE_AVRO:
        return AvroEventValidator(schema_id, parse_avro(parsed, documents).root)
    if schema_type == c.SCHEMA_TYPE_PROTOBUF:
        from schemas.protobuf import ProtobufEventValidator

        return ProtobufEventValidator(schema_id, _protobuf(parsed, documents))
    from schemas.validation import EventValidator

    return EventValidator(schema_id, compile_validator(parsed, documents))


__all__ = ["AvroEventValidator", "check", "check_depth", "event_validator", "json_pointer", "parse", "texts"]
