"""Levels, policies and the transitive loop of ``check_compatibility``."""

from __future__ import annotations

import json

import pytest

from schemas.compatibility import (
    CompatibilityLevel,
    CompatibilityPolicy,
    SchemaVersion,
    check_compatibility,
)

OPEN = {"type": "object", "properties": {"a": {"type": "string"}}}
WITH_B = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}
A_REQUIRED = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def version(number: int | None, schema: object, schema_type: str = "JSON") -> SchemaVersion:
    return SchemaVersion(version=number, schema=schema, schema_text=json.dumps(schema), schema_type=schema_type)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("backward", CompatibilityLevel.BACKWARD),
        (" Full_Transitive ", CompatibilityLevel.FULL_TRANSITIVE),
        ("NONE", CompatibilityLevel.NONE),
    ],
)
def test_level_parse_is_case_insensitive(text: str, level: CompatibilityLevel) -> None:
    assert CompatibilityLevel.parse(text) is level


def test_unknown_level_or_policy_raises_value_error() -> None:
    with pytest.raises(ValueError):
        CompatibilityLevel.parse("SIDEWAYS")
    with pytest.raises(ValueError):
        CompatibilityPolicy.parse("LOOSE")
    assert CompatibilityPolicy.parse("lenient") is CompatibilityPolicy.LENIENT


@pytest.mark.parametrize(
    ("level", "backward", "forward", "transitive"),
    [
        (CompatibilityLevel.NONE, False, False, False),
        (CompatibilityLevel.BACKWARD, True, False, False),
        (CompatibilityLevel.BACKWARD_TRANSITIVE, True, False, True),
        (CompatibilityLevel.FORWARD, False, True, False),
        (CompatibilityLevel.FORWARD_TRANSITIVE, False, True, True),
        (CompatibilityLevel.FULL, True, True, False),
        (CompatibilityLevel.FULL_TRANSITIVE, True, True, True),
    ],
)
def test_level_traits(level: CompatibilityLevel, backward: bool, forward: bool, transitive: bool) -> None:
    assert (level.checks_backward, level.checks_forward, level.is_transitive()) == (backward, forward, transitive)


def test_none_level_is_always_compatible_even_across_schema_types() -> None:
    result = check_compatibility(version(None, A_REQUIRED, "AVRO"), [version(1, OPEN)], CompatibilityLevel.NONE)
    assert result.is_compatible and result.messages == [] and result.failing_version is None


def test_first_version_is_always_compatible() -> None:
    result = check_compatibility(version(None, A_REQUIRED), [], CompatibilityLevel.FULL_TRANSITIVE)
    assert result.is_compatible


def test_backward_checks_only_the_latest_version() -> None:
    previous = [version(1, OPEN), version(2, A_REQUIRED)]
    result = check_compatibility(version(None, A_REQUIRED), previous, CompatibilityLevel.BACKWARD)
    assert result.is_compatible


def test_backward_transitive_checks_older_versions_too() -> None:
    previous = [version(1, OPEN), version(2, A_REQUIRED)]
    result = check_compatibility(version(None, A_REQUIRED), previous, CompatibilityLevel.BACKWARD_TRANSITIVE)
    assert not result.is_compatible and result.failing_version == 1


def test_transitive_check_reports_the_newest_failing_version_first() -> None:
    previous = [version(1, OPEN), version(2, OPEN), version(3, A_REQUIRED)]
    result = check_compatibility(version(None, A_REQUIRED), previous, CompatibilityLevel.BACKWARD_TRANSITIVE)
    assert result.failing_version == 2
    assert "{oldSchemaVersion: 2}" in result.messages
    assert {difference.version for difference in result.differences} == {2}


def test_forward_means_the_old_schema_reads_new_data() -> None:
    # Dropping a requirement: new data may lack "a", which version 1 requires.
    result = check_compatibility(version(None, OPEN), [version(1, A_REQUIRED)], CompatibilityLevel.FORWARD)
    assert not result.is_compatible
    assert [d.direction for d in result.differences] == ["forward"]
    assert check_compatibility(version(None, OPEN), [version(1, A_REQUIRED)], CompatibilityLevel.BACKWARD).is_compatible


def test_full_lists_forward_messages_first_then_backward_ones_then_version_schema_and_settings() -> None:
    old = {"type": "object", "properties": {"b": {"type": "integer"}}, "required": ["b"]}
    new = {"type": "object", "properties": {"b": {"type": "integer", "maximum": 3}}}
    result = check_compatibility(version(None, new), [version(7, old)], CompatibilityLevel.FULL)
    assert result.messages == [
        '{errorType:"REQUIRED_ATTRIBUTE_ADDED", description:"The keyword at path \'#/required/b\' in the old schema '
        "is not present in the new schema'}",
        '{errorType:"MAXIMUM_ADDED", description:"The keyword at path \'#/properties/b/maximum\' in the new schema '
        "is not present in the old schema'}",
        "{oldSchemaVersion: 7}",
        f"{{oldSchema: '{json.dumps(old)}'}}",
        "{validateFields: 'false', compatibility: 'FULL'}",
    ]
    assert [d.direction for d in result.differences if d.breaks] == ["forward", "backward"]


def test_unknown_old_version_omits_the_version_item() -> None:
    result = check_compatibility(
        version(None, A_REQUIRED), [version(None, OPEN)], CompatibilityLevel.BACKWARD, validate_fields=True
    )
    assert not any(message.startswith("{oldSchemaVersion") for message in result.messages)
    assert result.messages[-1] == "{validateFields: 'true', compatibility: 'BACKWARD'}"


def test_old_schema_text_is_cut_at_10_kib() -> None:
    big = {"type": "object", "description": "x" * 20000}
    old = SchemaVersion(version=1, schema=big, schema_text=json.dumps(big))
    result = check_compatibility(version(None, {"type": "string"}), [old], CompatibilityLevel.BACKWARD)
    item = result.messages[-2]
    assert item.startswith("{oldSchema: <truncated> '") and item.endswith("...'}")
    assert len(item) == len("{oldSchema: <truncated> '") + 10240 + len("...'}")


def test_schema_type_change_gives_the_single_confluent_message() -> None:
    result = check_compatibility(version(None, OPEN, "AVRO"), [version(1, OPEN)], CompatibilityLevel.BACKWARD)
    assert not result.is_compatible
    assert result.messages == ["Incompatible because of different schema type"]
    assert result.failing_version == 1


def test_compatible_result_lists_the_differences_checked_without_breaks() -> None:
    previous = [version(1, OPEN), version(2, OPEN)]
    new = {"type": "object", "properties": {"a": {"type": "string", "description": "the a"}}}
    result = check_compatibility(version(None, new), previous, CompatibilityLevel.FULL_TRANSITIVE)
    assert result.is_compatible and result.messages == []
    assert [(d.type.value, d.direction, d.version, d.breaks) for d in result.differences] == [
        ("DESCRIPTION_CHANGED", "forward", 2, False),
        ("DESCRIPTION_CHANGED", "backward", 2, False),
        ("DESCRIPTION_CHANGED", "forward", 1, False),
        ("DESCRIPTION_CHANGED", "backward", 1, False),
    ]


def test_lenient_policy_accepts_an_optional_property_on_an_open_object() -> None:
    strict = check_compatibility(version(None, WITH_B), [version(1, OPEN)], CompatibilityLevel.BACKWARD)
    lenient = check_compatibility(
        version(None, WITH_B), [version(1, OPEN)], CompatibilityLevel.BACKWARD, CompatibilityPolicy.LENIENT
    )
    assert not strict.is_compatible and lenient.is_compatible


def test_a_keyed_version_reuses_its_node_model_across_checks_and_answers_the_same() -> None:
    from schemas.compatibility import checker

    old = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}
    new = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "additionalProperties": False,
    }
    keyed = SchemaVersion(1, old, "{}", cache_key=("test", 1))
    first = check_compatibility(SchemaVersion(None, new, "{}"), [keyed], CompatibilityLevel.BACKWARD)
    side = checker._sides.get(("test", 1))
    second = check_compatibility(SchemaVersion(None, new, "{}"), [keyed], CompatibilityLevel.BACKWARD)
    assert side is not None
    assert checker._sides.get(("test", 1)) is side
    assert first.is_compatible == second.is_compatible is True
    assert [d.to_dict() for d in first.differences] == [d.to_dict() for d in second.differences]
