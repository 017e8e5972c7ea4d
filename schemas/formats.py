"""What differs between the registry's schema formats, in one place: how a schema is checked,
what text is stored and what text decides that two registrations are the same schema (its id),
and how event data is validated against it. Everything else (subjects, versions, ids, modes,
references) is the same for every format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas import constants as c
from schemas.avro import AvroSchemaError, avro_json_issues, canonical_form, parse_avro
from schemas.documents import canonical_text, check_schema, compile_validator, json_pointer
from schemas.errors import InvalidSchema


def check(schema_type: str, parsed: Any, documents: Mapping[str, Any]) -> Any:
    """Check a schema with its referenced documents; 42201 naming the problem. Returns what the
    check built (a compiled JSON Schema validator, or the parsed Avro schema)."""
    if schema_type == c.SCHEMA_TYPE_AVRO:
        try:
            return parse_avro(parsed, documents)
        except AvroSchemaError as exc:
            raise InvalidSchema(str(exc)) from None
    return check_schema(parsed, documents)[1]


def texts(schema_type: str, parsed: Any, *, normalize: bool) -> tuple[str, str]:
    """(the text stored, the text that identifies the schema). JSON Schema: compact JSON in the
    key order given (sorted when normalising), which is both. Avro: the schema as given, or its
    canonical form when normalising; identified by its canonical form either way (Parsing
    Canonical Form plus defaults, aliases and logical types), so formatting, key order and
    documentation do not make a new id."""
    if schema_type == c.SCHEMA_TYPE_AVRO:
        canonical = canonical_form(parsed)
        return (canonical if normalize else canonical_text(parsed)), canonical
    text = canonical_text(parsed, normalize=normalize)
    return text, text


class AvroEventValidator:
    """Event data (JSON) against an Avro schema in Avro's JSON encoding."""

    __slots__ = ("_root", "schema_id")

    def __init__(self, schema_id: int, root: Any) -> None:
        self.schema_id = schema_id
        self._root = root

    def validate(self, instance: Any) -> list[Any]:
        from schemas.validation import ValidationIssue

        return [ValidationIssue(pointer=pointer, reason=reason) for pointer, reason in avro_json_issues(self._root, instance)]

    def is_valid(self, instance: Any) -> bool:
        return not avro_json_issues(self._root, instance)


def event_validator(schema_id: int, schema_type: str, parsed: Any, documents: Mapping[str, Any]) -> Any:
    """The validator events bound to this schema are checked with on produce."""
    if schema_type == c.SCHEMA_TYPE_AVRO:
        return AvroEventValidator(schema_id, parse_avro(parsed, documents).root)
    from schemas.validation import EventValidator

    return EventValidator(schema_id, compile_validator(parsed, documents))


__all__ = ["AvroEventValidator", "check", "event_validator", "json_pointer", "texts"]
