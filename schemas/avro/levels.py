"""Avro compatibility at a subject's level: which versions to check, in which direction, and
the answer in the registry's shape (Confluent's messages, structured differences)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas.avro.compatibility import AvroIncompatibility, Incompatibility, incompatibilities
from schemas.avro.schema import Node, parse_avro
from schemas.compatibility.checker import CompatibilityResult, SchemaVersion
from schemas.compatibility.levels import CompatibilityLevel, Direction
from schemas.compatibility.messages import (
    DIFFERENT_SCHEMA_TYPE,
    old_schema_message,
    old_version_message,
    settings_message,
)


@dataclass(frozen=True)
class AvroReportedDifference:
    """An Avro incompatibility as shown to people and tools, shaped as the JSON Schema ones."""

    type: AvroIncompatibility
    path: str
    old_value: object
    new_value: object
    direction: str
    breaks: bool = True
    version: int | None = None
    detail: str = field(default="", repr=False)

    @functools.cached_property
    def explanation(self) -> str:
        version = f"version {self.version}" if self.version is not None else "the registered version"
        if self.direction == Direction.BACKWARD.value:
            return f"The new schema cannot read data written with {version} at {self.path}: {self.detail}."
        return f"{version[0].upper()}{version[1:]} cannot read data written with the new schema at {self.path}: {self.detail}."

    def to_dict(self) -> dict[str, object]:
        return {
            "type": self.type.value,
            "path": self.path,
            "old_value": self.old_value,
            "new_value": self.new_value,
            "direction": self.direction,
            "breaks": self.breaks,
            "explanation": self.explanation,
            "version": self.version,
        }


def check_avro(
    new: SchemaVersion,
    previous: Sequence[SchemaVersion],
    level: CompatibilityLevel,
    *,
    validate_fields: bool = False,
) -> CompatibilityResult:
    """Check `new` against the live `previous` versions (oldest first) at `level`. BACKWARD: the
    new schema reads what the old one wrote; FORWARD: the old one reads what the new one writes."""
    if level is CompatibilityLevel.NONE or not previous:
        return CompatibilityResult(is_compatible=True)
    candidates = list(reversed(previous)) if level.is_transitive() else [previous[-1]]
    new_root: Node | None = None
    for old in candidates:
        if old.schema_type.upper() != new.schema_type.upper():
            return CompatibilityResult(False, [DIFFERENT_SCHEMA_TYPE], [], old.version)
        new_root = new_root or _root(new)
        old_root = _root(old)
        found: list[tuple[Direction, Incompatibility]] = []
        if level.checks_backward:
            found += [(Direction.BACKWARD, item) for item in incompatibilities(new_root, old_root)]
        if level.checks_forward:
            found += [(Direction.FORWARD, item) for item in incompatibilities(old_root, new_root)]
        if found:
            reported = [_report(direction, item, old.version) for direction, item in found]
            messages = [_message(direction, item) for direction, item in found]
            if old.version is not None:
                messages.append(old_version_message(old.version))
            messages.append(old_schema_message(old.schema_text))
            messages.append(settings_message(level, validate_fields))
            return CompatibilityResult(False, messages, list(reported), old.version)  # type: ignore[arg-type]
    return CompatibilityResult(True, [], [], None)


@functools.lru_cache(maxsize=256)
def _root_of_text(text: str, references: tuple[tuple[str, str], ...]) -> Node:
    import json

    return parse_avro(json.loads(text), {name: json.loads(doc) for name, doc in references}).root


def _root(version: SchemaVersion) -> Node:
    import json

    references = tuple((name, json.dumps(doc)) for name, doc in version.references.items())
    if len(version.schema_text) > 64 * 1024:  # large schemas are not kept
        return parse_avro(version.schema, version.references).root
    return _root_of_text(version.schema_text, references)


def _report(direction: Direction, item: Incompatibility, version: int | None) -> AvroReportedDifference:
    old_value, new_value = (item.writer, item.reader) if direction is Direction.BACKWARD else (item.reader, item.writer)
    return AvroReportedDifference(
        type=item.type,
        path=item.path,
        old_value=old_value,
        new_value=new_value,
        direction=direction.value,
        version=version,
        detail=item.message,
    )


def _message(direction: Direction, item: Incompatibility) -> str:
    """Confluent's shape: {errorType:'...', description:'...', additionalInfo:'...'}."""
    schema = "new" if direction is Direction.BACKWARD else "old"
    description = f"{item.message} (path '{item.path}' in the {schema} schema, read as the reader)"
    return f"{{errorType:'{item.type.value}', description:'{description}', additionalInfo:'{item.writer}'}}"

