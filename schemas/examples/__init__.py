"""An example event with every refusal (issue 15): for a pair the checker calls incompatible, an
event one schema accepts and the other refuses, found within a time budget.

    example = counterexample(old, new, Direction.BACKWARD)   # old accepts it, new refuses it

BACKWARD looks for an event the old schema accepts and the new one refuses (data already written
that the new schema would not take); FORWARD the reverse. Candidates come from the format's own
generator, targeted by the failing rule (schemas/examples/json_schema.py, avro.py, protobuf.py),
and every example is confirmed with the registry's own validators (jsonschema-rs, Avro's JSON
encoding, Protobuf's JSON mapping) before it is shown, so it is never a guess.

Budget: EXAMPLE_BUDGET_MS (200 ms) of search per check, shared by every direction and rule of the
failing version (compiling a validator is not counted: the registry caches them per schema id); an
answer without an example is still the full answer. hypothesis-jsonschema is not used
at run time (it stays a dev dependency): the generator here is small, deterministic and has no
per-call start-up cost; the test suite uses hypothesis to look harder (tests/schemas/test_examples.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas.compatibility.checker import CompatibilityResult, SchemaVersion, check_compatibility
from schemas.compatibility.example import Example
from schemas.compatibility.levels import CompatibilityLevel, Direction
from schemas.examples.search import Deadline, EventValidator, Target, first_refused

EXAMPLE_BUDGET_MS = 200

__all__ = ["EXAMPLE_BUDGET_MS", "Example", "counterexample", "example_for_result"]


def counterexample(
    old: SchemaVersion,
    new: SchemaVersion,
    direction: Direction,
    budget_ms: float = EXAMPLE_BUDGET_MS,
    *,
    differences: Sequence[tuple[str, str]] | None = None,
    old_validator: EventValidator | None = None,
    new_validator: EventValidator | None = None,
) -> Example | None:
    """An event `old` accepts and `new` refuses (BACKWARD) or the reverse (FORWARD), or None if
    none is found within `budget_ms`. `differences` are the breaking (type, path) pairs of that
    direction, tried in order (computed with the checker when not given)."""
    return _search([(direction, differences)], old, new, budget_ms, old_validator, new_validator)


def example_for_result(
    result: CompatibilityResult,
    new: SchemaVersion,
    previous: Sequence[SchemaVersion],
    budget_ms: float = EXAMPLE_BUDGET_MS,
    *,
    old_validator: EventValidator | None = None,
    new_validator: EventValidator | None = None,
) -> Example | None:
    """The example for a failing check: against its failing version, for its breaking differences
    (BACKWARD ones first)."""
    if result.is_compatible:
        return None
    old = next((version for version in previous if version.version == result.failing_version), None)
    if old is None or old.schema_type.upper() != new.schema_type.upper():
        return None
    wanted: list[tuple[Direction, Sequence[tuple[str, str]] | None]] = []
    for direction in (Direction.BACKWARD, Direction.FORWARD):
        found = [(_value(d.type), d.path) for d in result.differences if d.breaks and d.direction == direction.value]
        if found:
            wanted.append((direction, found))
    return _search(wanted, old, new, budget_ms, old_validator, new_validator)


def _search(
    wanted: Sequence[tuple[Direction, Sequence[tuple[str, str]] | None]],
    old: SchemaVersion,
    new: SchemaVersion,
    budget_ms: float,
    old_validator: EventValidator | None,
    new_validator: EventValidator | None,
) -> Example | None:
    try:
        old_validator = old_validator or _validator(old)
        new_validator = new_validator or _validator(new)
    except Exception:  # noqa: BLE001 - a schema the validator cannot compile has no example
        return None
    # The budget is the search's: validators are compiled once per schema and cached by the registry.
    deadline = Deadline(budget_ms)
    for direction, differences in wanted:
        if deadline.passed():
            return None
        if differences is None:
            differences = _differences(old, new, direction)
        backward = direction is Direction.BACKWARD
        accepting, refusing = (old, new) if backward else (new, old)
        try:
            targets = _targets(accepting, refusing, list(differences))
        except Exception:  # noqa: BLE001, S112 - an example is an extra: a generator bug must not fail the check
            continue
        found = first_refused(
            targets,
            old_validator if backward else new_validator,
            new_validator if backward else old_validator,
            deadline,
        )
        if found is not None:
            return Example(
                event=found.event,
                direction=direction.value,
                accepted_by=_label(accepting, old),
                refused_by=_label(refusing, old),
                rule=found.rule,
                path=found.path,
                reason=found.reason,
            )
    return None


def _targets(accepting: SchemaVersion, refusing: SchemaVersion, differences: list[tuple[str, str]]) -> list[Target]:
    kind = accepting.schema_type.upper()
    if kind == "AVRO":
        from schemas.avro.schema import parse_avro
        from schemas.examples import avro

        return avro.targets(parse_avro(accepting.schema, accepting.references).root, differences)
    if kind == "PROTOBUF":
        from schemas.examples import protobuf
        from schemas.protobuf.schema import parse_protobuf
        from schemas.protobuf.validation import first_message

        parsed = parse_protobuf(accepting.schema_text, {name: str(text) for name, text in accepting.references.items()})
        return protobuf.targets(first_message(parsed), differences)
    from schemas.examples import json_schema

    return json_schema.targets(accepting.schema, refusing.schema, differences, dict(accepting.references))


def _validator(version: SchemaVersion) -> Any:
    from schemas import formats

    parsed: Any = version.schema_text if version.schema_type.upper() == "PROTOBUF" else version.schema
    return formats.event_validator(0, version.schema_type.upper(), parsed, version.references)


def _differences(old: SchemaVersion, new: SchemaVersion, direction: Direction) -> list[tuple[str, str]]:
    level = CompatibilityLevel.BACKWARD if direction is Direction.BACKWARD else CompatibilityLevel.FORWARD
    result = check_compatibility(new, [old], level)
    return [(_value(d.type), d.path) for d in result.differences if d.breaks]


def _value(kind: Any) -> str:
    return str(getattr(kind, "value", kind))


def _label(version: SchemaVersion, old: SchemaVersion) -> str:
    if version is not old:
        return "the new schema"
    return f"version {version.version}" if version.version is not None else "the old schema"
