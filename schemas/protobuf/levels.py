"""Protobuf compatibility at a subject's level: which versions to check, in which direction, and
the answer in the registry's shape (Confluent's messages, structured differences). BACKWARD
diffs old -> new (the new schema reads old data); FORWARD diffs new -> old."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.compatibility.checker import CompatibilityResult, SchemaVersion
from schemas.compatibility.levels import CompatibilityLevel, Direction
from schemas.compatibility.messages import (
    DIFFERENT_SCHEMA_TYPE,
    old_schema_message,
    old_version_message,
    settings_message,
)
from schemas.protobuf.compatibility import Change, ProtobufDifference, incompatibilities
from schemas.protobuf.schema import ParsedProto, parse_protobuf


@dataclass(frozen=True)
class ProtobufReportedDifference:
    """A Protobuf incompatibility as shown to people and tools, shaped as the JSON Schema ones."""

    type: ProtobufDifference
    path: str
    old_value: object
    new_value: object
    direction: str
    breaks: bool = True
    version: int | None = None

    @functools.cached_property
    def explanation(self) -> str:
        update, original = ("new", "old") if self.direction == Direction.BACKWARD.value else ("old", "new")
        return Change(self.type, self.path).description(update=update, original=original) + "."

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


def check_protobuf(
    new: SchemaVersion,
    previous: Sequence[SchemaVersion],
    level: CompatibilityLevel,
    *,
    validate_fields: bool = False,
) -> CompatibilityResult:
    """Check `new` against the live `previous` versions (oldest first) at `level`; transitive
    levels go newest first and stop at the first version that fails, as Confluent does."""
    if level is CompatibilityLevel.NONE or not previous:
        return CompatibilityResult(is_compatible=True)
    candidates = list(reversed(previous)) if level.is_transitive() else [previous[-1]]
    new_parsed: ParsedProto | None = None
    for old in candidates:
        if old.schema_type.upper() != new.schema_type.upper():
            return CompatibilityResult(False, [DIFFERENT_SCHEMA_TYPE], [], old.version)
        new_parsed = new_parsed or _parsed(new)
        old_parsed = _parsed(old)
        found: list[tuple[Direction, Change]] = []
        # Confluent lists FULL's forward strings first.
        if level.checks_forward:
            found += [(Direction.FORWARD, change) for change in incompatibilities(new_parsed, old_parsed)]
        if level.checks_backward:
            found += [(Direction.BACKWARD, change) for change in incompatibilities(old_parsed, new_parsed)]
        if found:
            reported = [
                ProtobufReportedDifference(
                    change.type,
                    change.path,
                    change.old,  # the original's value: forward swaps them, as JSON Schema's differences do
                    change.new,
                    direction.value,
                    True,
                    old.version,
                )
                for direction, change in found
            ]
            messages = [_message(direction, change) for direction, change in found]
            if old.version is not None:
                messages.append(old_version_message(old.version))
            messages.append(old_schema_message(old.schema_text))
            messages.append(settings_message(level, validate_fields))
            return CompatibilityResult(False, messages, list(reported), old.version)  # type: ignore[arg-type]
    return CompatibilityResult(True, [], [], None)


def _parsed(version: SchemaVersion) -> ParsedProto:
    return parse_protobuf(version.schema_text, {name: str(text) for name, text in version.references.items()})


def _message(direction: Direction, change: Change) -> str:
    """Confluent's shape: {errorType:'...', description:'...'}."""
    update, original = ("new", "old") if direction is Direction.BACKWARD else ("old", "new")
    return f"{{errorType:'{change.type.value}', description:'{change.description(update=update, original=original)}'}}"
