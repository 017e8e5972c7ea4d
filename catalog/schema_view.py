"""The catalog's read-only view of the registry: an event type's schema and versions are its
subject's; nothing is stored twice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from schemas.compatibility import CompatibilityLevel, SchemaVersion, check_compatibility
from schemas.models import SubjectVersion
from schemas.selectors import live_versions, loaded_schema, subject_names
from schemas.validation import resolve_subject

_CONSTRAINTS = (
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "const",
    "enum",
)


def iter_fields(schema: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any, bool, int]]:
    """(JSON pointer, sub-schema, required, depth) for every property, depth first. Array items
    appear under `/*`, so one pointer names the field in every element."""
    if not isinstance(schema, dict):
        return
    required = set(schema.get("required", [])) if isinstance(schema.get("required"), list) else set()
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, sub in properties.items():
            pointer = f"{prefix}/{name}"
            yield pointer, sub, name in required, depth
            yield from iter_fields(sub, pointer, depth + 1)
    items = schema.get("items")
    if isinstance(items, dict):
        yield from iter_fields(items, f"{prefix}/*", depth)


def _type_label(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any" if schema is True else "never"
    kind = schema.get("type")
    if isinstance(kind, list):
        label = " | ".join(kind)
    elif kind:
        label = str(kind)
    elif "$ref" in schema:
        label = "→ " + str(schema["$ref"]).rsplit("/", 1)[-1]
    elif "enum" in schema or "const" in schema:
        label = "enum"
    elif any(key in schema for key in ("anyOf", "oneOf", "allOf")):
        label = next(key for key in ("anyOf", "oneOf", "allOf") if key in schema)
    else:
        label = "any"
    if label == "array" and isinstance(schema.get("items"), dict):
        label = f"array of {_type_label(schema['items'])}"
    return label


@dataclass(frozen=True)
class FieldRow:
    pointer: str
    name: str
    depth: int
    type: str
    required: bool
    constraints: list[str]
    description: str
    personal: bool


@dataclass
class SubjectSchema:
    subject: str
    version: int | None
    schema_id: int | None
    schema: Any
    fields: list[FieldRow]
    versions: list[dict[str, Any]] = field(default_factory=list)


def format_field_rows(
    schema_type: str, schema: Any, documents: Any, personal_data: list[str] | None = None
) -> list[FieldRow]:
    """An Avro schema's record fields, or a Protobuf schema's message fields, as the same table:
    type, default or field number (as constraints) and doc."""
    from schemas.avro.fields import field_rows_of
    from schemas.protobuf.fields import field_rows_of as protobuf_field_rows_of

    rows_of = protobuf_field_rows_of if schema_type == "PROTOBUF" else field_rows_of
    personal = set(personal_data or [])
    return [
        FieldRow(
            pointer=row.path,
            name=row.name,
            depth=row.depth,
            type=row.type,
            required=row.required,
            constraints=[row.constraints] if row.constraints else [],
            description=row.description,
            personal=row.path in personal,
        )
        for row in rows_of(schema, dict(documents))
    ]


def field_rows(schema: Any, personal_data: list[str] | None = None) -> list[FieldRow]:
    """The schema as a table: one row per field, nested fields indented, with their constraints."""
    personal = set(personal_data or [])
    rows = []
    for pointer, sub, required, depth in iter_fields(schema):
        sub = sub if isinstance(sub, dict) else {}
        constraints = []
        for key in _CONSTRAINTS:
            if key in sub:
                value = sub[key]
                constraints.append(
                    f"{key}: {', '.join(map(str, value))}" if isinstance(value, list) else f"{key}: {value}"
                )
        rows.append(
            FieldRow(
                pointer=pointer,
                name=pointer.rsplit("/", 1)[-1],
                depth=min(depth, 4),
                type=_type_label(sub),
                required=required,
                constraints=constraints,
                description=str(sub.get("description", "")),
                personal=pointer in personal or pointer.replace("/*", "") in personal,
            )
        )
    return rows


def schema_field_names(subject: str) -> list[str]:
    """Property names of the subject's latest live schema (for search)."""
    schema = latest_schema(subject)
    if schema is None:
        return []
    return sorted({pointer.rsplit("/", 1)[-1] for pointer, _, _, _ in iter_fields(schema)})


def latest_schema(subject: str) -> dict[str, Any] | None:
    """The parsed latest live schema of `subject`, or None."""
    if not subject:
        return None
    resolved = resolve_subject(subject)
    if resolved is None:
        return None
    parsed = loaded_schema(resolved.schema_id).parsed
    return parsed if isinstance(parsed, dict) else None


def subject_schema(subject: str, *, personal_data: list[str] | None = None) -> SubjectSchema | None:
    """The latest schema of `subject` as a field table, with its version history: for each live
    version, what changed since the one before (structured differences, explained)."""
    if not subject:
        return None
    rows = live_versions(subject)
    if not rows:
        return None
    latest = rows[-1]
    latest_loaded = loaded_schema(latest.schema_id)
    schema = latest_loaded.parsed
    versions = []
    previous: SchemaVersion | None = None
    for row in rows:
        loaded = loaded_schema(row.schema_id)
        current = SchemaVersion(
            row.version, loaded.parsed, loaded.text, loaded.documents, schema_type=loaded.schema_type
        )
        differences: list[Any] = []
        if previous is not None:
            differences = check_compatibility(current, [previous], CompatibilityLevel.BACKWARD).differences
        versions.append(
            {
                "version": row.version,
                "schema_id": row.schema_id,
                "registered_at": row.created_at,
                "differences": differences,
            }
        )
        previous = current
    return SubjectSchema(
        subject=subject,
        version=latest.version,
        schema_id=latest.schema_id,
        schema=schema,
        fields=(
            format_field_rows(latest_loaded.schema_type, schema, latest_loaded.documents, personal_data)
            if latest_loaded.schema_type in ("AVRO", "PROTOBUF")
            else field_rows(schema, personal_data)
        ),
        versions=list(reversed(versions)),
    )


def recent_schema_changes(*, limit: int = 6) -> list[dict[str, Any]]:
    """The latest registrations, newest first: [{"subject", "version", "registered_at"}]."""
    rows = SubjectVersion.objects.filter(deleted=False).select_related("subject").order_by("-created_at", "-id")[:limit]
    return [{"subject": row.subject.name, "version": row.version, "registered_at": row.created_at} for row in rows]


def live_subject_names() -> list[str]:
    return subject_names()
