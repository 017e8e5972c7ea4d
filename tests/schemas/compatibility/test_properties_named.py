"""Behaviour stated as properties (one rule per test)."""

from __future__ import annotations

from schemas.compatibility import (
    CompatibilityLevel,
    CompatibilityPolicy,
    DifferenceType,
    SchemaVersion,
    check_compatibility,
    diff_schemas,
    is_allowed,
)

OPEN = {"type": "object", "properties": {"id": {"type": "string"}}}
CLOSED = {"type": "object", "properties": {"id": {"type": "string"}}, "additionalProperties": False}


def _compatible(original: object, update: object, policy: CompatibilityPolicy = CompatibilityPolicy.STRICT) -> bool:
    return all(is_allowed(d.type, policy) for d in diff_schemas(original, update, policy=policy))


def _with(schema: dict[str, object], **properties: object) -> dict[str, object]:
    merged = dict(schema)
    merged["properties"] = {**schema["properties"], **properties}  # type: ignore[dict-item]
    return merged


def test_adding_optional_property_to_open_object_is_backward_incompatible_under_strict() -> None:
    assert not _compatible(OPEN, _with(OPEN, email={"type": "string"}))


def test_adding_optional_property_to_open_object_is_allowed_under_lenient() -> None:
    assert _compatible(OPEN, _with(OPEN, email={"type": "string"}), CompatibilityPolicy.LENIENT)


def test_adding_optional_property_to_closed_object_is_backward_compatible() -> None:
    assert _compatible(CLOSED, _with(CLOSED, email={"type": "string"}))


def test_adding_required_property_without_default_is_backward_incompatible() -> None:
    update = _with(CLOSED, email={"type": "string"})
    update["required"] = ["email"]
    assert not _compatible(CLOSED, update)


def test_adding_required_property_with_default_is_still_backward_incompatible() -> None:
    update = _with(CLOSED, email={"type": "string", "default": ""})
    update["required"] = ["email"]
    assert not _compatible(CLOSED, update, CompatibilityPolicy.STRICT)
    assert not _compatible(CLOSED, update, CompatibilityPolicy.LENIENT)


def test_removing_property_from_open_object_is_backward_compatible_and_forward_incompatible() -> None:
    with_email = _with(OPEN, email={"type": "string"})
    assert _compatible(with_email, OPEN)
    assert not _compatible(OPEN, with_email)


def test_annotations_never_break() -> None:
    update = {
        "type": "object",
        "title": "T",
        "description": "D",
        "$id": "https://x/y",
        "default": {},
        "properties": {"id": {"type": "string", "title": "ID"}},
    }
    assert _compatible(OPEN, update) and _compatible(update, OPEN)


def test_exclusive_maximum_decrease_is_reported_without_a_maximum() -> None:
    differences = diff_schemas({"exclusiveMaximum": 10, "type": "number"}, {"exclusiveMaximum": 5, "type": "number"})
    assert [d.type for d in differences] == [DifferenceType.EXCLUSIVE_MAXIMUM_DECREASED]
    assert (differences[0].old_value, differences[0].new_value) == (10, 5)


def test_const_is_a_one_value_enum() -> None:
    assert diff_schemas({"const": 3}, {"enum": [3]}) == []
    assert _compatible({"const": 3}, {"enum": [3, 4]})


def test_type_list_is_an_any_of() -> None:
    assert [
        str(d)
        for d in diff_schemas({"type": ["string", "integer"]}, {"anyOf": [{"type": "integer"}, {"type": "string"}]})
    ] == []


def test_explanation_names_the_property_the_version_and_the_consequence() -> None:
    old = SchemaVersion(3, OPEN, "{}")
    new_schema = dict(OPEN, required=["id"])
    result = check_compatibility(SchemaVersion(None, new_schema, "{}"), [old], CompatibilityLevel.BACKWARD)
    (difference,) = result.differences
    assert difference.explanation == (
        "The new schema makes 'id' required; version 3 does not, so events written with version 3 "
        "may be refused by the new schema."
    )
    assert difference.to_dict()["explanation"] == difference.explanation
    assert difference.to_dict()["path"] == "#/required/id"


def test_forward_explanation_swaps_reader_and_writer() -> None:
    old = SchemaVersion(2, {"type": "object", "properties": {"n": {"type": "integer", "maximum": 5}}}, "{}")
    new = SchemaVersion(None, {"type": "object", "properties": {"n": {"type": "integer", "maximum": 9}}}, "{}")
    result = check_compatibility(new, [old], CompatibilityLevel.FORWARD)
    (difference,) = result.differences
    assert difference.breaks and difference.direction == "forward"
    assert difference.explanation == (
        "Version 2 sets the maximum of field 'n' to 5; the new schema sets 9, so events written with the new "
        "schema may be refused by version 2."
    )


def test_every_difference_type_has_an_explanation_sentence() -> None:
    from schemas.compatibility.explanations import SENTENCES

    assert set(DifferenceType) <= SENTENCES.keys()
