"""An example event with every refusal (issue 15): each example is accepted by one schema and
refused by the other, as the registry's own validators judge, and shows the failing rule; the
verbose check, the 409 and the subject page's check carry it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas.compatibility.checker import SchemaVersion
from schemas.compatibility.levels import Direction
from schemas.examples import _validator, counterexample
from tests.schemas.factories import object_schema, sr_body


def json_version(schema: Any, version: int | None = None) -> SchemaVersion:
    return SchemaVersion(version, schema, json.dumps(schema))


def avro_version(schema: Any, version: int | None = None) -> SchemaVersion:
    return SchemaVersion(version, schema, json.dumps(schema), schema_type="AVRO")


def proto_version(text: str, version: int | None = None) -> SchemaVersion:
    return SchemaVersion(version, text, text, schema_type="PROTOBUF")


def assert_shows(old: SchemaVersion, new: SchemaVersion, direction: Direction, rule: str) -> Any:
    example = counterexample(old, new, direction, budget_ms=1000)
    assert example is not None
    accepting, refusing = (old, new) if direction is Direction.BACKWARD else (new, old)
    assert _validator(accepting).is_valid(example.event)
    assert not _validator(refusing).is_valid(example.event)
    assert example.rule == rule and example.direction == direction.value and example.reason
    return example.event


JSON_RULES = [
    (
        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        object_schema(x="string"),
        object_schema(),
        {"x": "text"},
    ),
    ("TYPE_CHANGED", object_schema(x={"type": ["string", "integer"]}), object_schema(x="string"), None),
    ("ENUM_ARRAY_NARROWED", object_schema(x={"enum": ["a", "b"]}), object_schema(x={"enum": ["a"]}), {"x": "b"}),
    ("REQUIRED_ATTRIBUTE_ADDED", object_schema(email="string"), object_schema(email="string", required=("email",)), {}),
    (
        "MAX_LENGTH_DECREASED",
        object_schema(zip={"type": "string", "maxLength": 10}),
        object_schema(zip={"type": "string", "maxLength": 5}),
        None,
    ),
]


@pytest.mark.parametrize(("rule", "old", "new", "expected"), JSON_RULES, ids=[rule for rule, *_ in JSON_RULES])
def test_a_json_schema_backward_refusal_comes_with_an_event_the_old_schema_accepts_and_the_new_refuses(
    rule, old, new, expected
):
    event = assert_shows(json_version(old, 1), json_version(new), Direction.BACKWARD, rule)
    if expected is not None:
        assert event == expected


def test_a_forward_refusal_shows_an_event_the_new_schema_accepts_and_the_old_refuses():
    # FORWARD diffs new -> old, so extending the enum is reported as the old one narrowing it.
    old, new = object_schema(x={"enum": ["a"]}), object_schema(x={"enum": ["a", "b"]})
    assert assert_shows(json_version(old, 1), json_version(new), Direction.FORWARD, "ENUM_ARRAY_NARROWED") == {"x": "b"}


USER = {"type": "record", "name": "User", "fields": [{"name": "name", "type": "string"}]}


def test_an_avro_field_without_default_is_shown_by_a_record_the_writer_wrote_without_it():
    new = {**USER, "fields": [*USER["fields"], {"name": "email", "type": "string"}]}
    event = assert_shows(
        avro_version(USER, 1), avro_version(new), Direction.BACKWARD, "READER_FIELD_MISSING_DEFAULT_VALUE"
    )
    assert event == {"name": "text"}


def test_an_avro_enum_symbol_removed_is_shown_by_that_symbol():
    old = {"type": "enum", "name": "Colour", "symbols": ["RED", "BLUE"]}
    new = {"type": "enum", "name": "Colour", "symbols": ["RED"]}
    assert assert_shows(avro_version(old, 1), avro_version(new), Direction.BACKWARD, "MISSING_ENUM_SYMBOLS") == "BLUE"


def test_an_avro_type_mismatch_is_shown_by_a_value_of_the_writers_type():
    new = {**USER, "fields": [{"name": "name", "type": "int"}]}
    assert assert_shows(avro_version(USER, 1), avro_version(new), Direction.BACKWARD, "TYPE_MISMATCH") == {
        "name": "text"
    }


OLD_PROTO = 'syntax = "proto3";\nmessage Order { int32 quantity = 1; string note = 2; }\n'
NEW_PROTO = 'syntax = "proto3";\nmessage Order { string quantity = 1; string note = 2; }\n'


@pytest.mark.parametrize("direction", [Direction.BACKWARD, Direction.FORWARD])
def test_a_protobuf_scalar_kind_change_is_shown_by_a_value_in_the_changed_field(direction):
    event = assert_shows(proto_version(OLD_PROTO, 1), proto_version(NEW_PROTO), direction, "FIELD_SCALAR_KIND_CHANGED")
    assert set(event) == {"quantity"}


def test_no_example_is_made_up_when_none_is_found_in_the_budget():
    assert (
        counterexample(json_version(object_schema(x="string"), 1), json_version(object_schema()), Direction.BACKWARD, 0)
        is None
    )


V1 = object_schema(name="string", required=("name",))
BREAKING = object_schema(name="integer", required=("name",))


@pytest.mark.django_db
def test_verbose_compatibility_carries_the_example_and_keeps_confluents_fields(registry):
    registry.register("s", V1)
    body = registry.post("/compatibility/subjects/s/versions/latest?verbose=true", sr_body(BREAKING)).json()
    assert body["is_compatible"] is False and body["messages"] and body["differences"]
    example = body["example"]
    assert example["event"] == {"name": "text"} and example["rule"] == "TYPE_CHANGED"
    assert example["accepted_by"] == "version 1" and example["refused_by"] == "the new schema"
    assert example["direction"] == "backward" and example["path"] == "#/properties/name"


@pytest.mark.django_db
def test_the_409_says_in_one_line_which_event_the_old_version_accepts_and_the_new_schema_refuses(registry):
    registry.register("s", V1)
    response = registry.post("/subjects/s/versions", sr_body(BREAKING))
    assert response.status_code == 409
    message = response.json()["message"]
    line = 'Example: {"name": "text"} is accepted by version 1 and refused by the new schema.'
    assert line in message and message.index(line) < message.index("Details: [")


@pytest.mark.django_db
def test_the_subject_pages_check_shows_the_example(as_role):
    from schemas.services import schema_version_register

    schema_version_register(subject="orders-value", schema=json.dumps(V1), schema_type="JSON")
    page = as_role("editor").post("/schemas/orders-value/check/", {"schema": json.dumps(BREAKING)}).content.decode()
    assert 'id="check-example"' in page and "{&quot;name&quot;: &quot;text&quot;}" in page
    assert "accepted by version 1 and refused by the new schema" in page


@pytest.mark.django_db(transaction=True)
def test_the_409s_example_is_searched_for_after_the_registry_lock_is_released(registry, monkeypatch):
    """The search may take its whole budget: a registration refused must not hold the registry's
    lock (and other registrations) meanwhile. Autocommit outside the search = no transaction open."""
    from django.db import connection

    import schemas.selectors

    searched_in_transaction = []
    search = schemas.selectors.example_for_result

    def watched(*args, **kwargs):
        searched_in_transaction.append(connection.in_atomic_block)
        return search(*args, **kwargs)

    monkeypatch.setattr(schemas.selectors, "example_for_result", watched)
    registry.register("s", V1)

    response = registry.post("/subjects/s/versions", sr_body(BREAKING))

    assert response.status_code == 409 and "Example: " in response.json()["message"]
    assert searched_in_transaction == [False]
