"""Regexes in schemas sent to /registry/ cannot stall a worker (issue 13): compatibility checks,
open to any key, match user patterns in linear time, and a pattern that needs a backtracking
engine is a 422 at registration and in checks, never a hang."""

from __future__ import annotations

import pytest

from tests.schemas.factories import sr_body

pytestmark = pytest.mark.django_db

NESTED_QUANTIFIER = "^(a+)+$"
MANY_OPTIONAL_GROUPS = "^" + "(.?)" * 36 + "Z"
NAME_THAT_BACKTRACKS = "a" * 30 + "!"


@pytest.mark.timeout(10)
def test_compatibility_check_with_a_read_only_key_runs_hostile_patterns_in_linear_time(registry, make_registry):
    registry.registered_id("s", {"type": "object", "properties": {NAME_THAT_BACKTRACKS: {"type": "string"}}})
    reader = make_registry("consume:nothing")
    update = {
        "type": "object",
        "patternProperties": {NESTED_QUANTIFIER: {"type": "string"}, MANY_OPTIONAL_GROUPS: {}},
        "additionalProperties": False,
    }

    response = reader.post("/compatibility/subjects/s/versions/latest?verbose=true", sr_body(update))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["is_compatible"] is False
    assert any("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL" in message for message in body["messages"])


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": "(?=a)b"},
        {"type": "object", "patternProperties": {r"^(a)\1$": {}}},
        {"type": "object", "propertyNames": {"pattern": "(?<!x)y"}},
    ],
)
def test_pattern_that_needs_backtracking_is_refused_with_42201(registry, schema):
    response = registry.register("s", schema)

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error_code"] == 42201
    assert "regex" in body["message"]


def test_pattern_that_needs_backtracking_is_refused_by_a_compatibility_check(registry):
    registry.registered_id("s", {"type": "string"})

    response = registry.post("/compatibility/subjects/s/versions/latest", sr_body({"type": "string", "pattern": "(?=a)b"}))

    assert response.status_code == 422, response.content
    assert response.json()["error_code"] == 42201


def test_linear_patterns_still_validate_events(registry):
    from schemas.validation import validator_for

    schema_id = registry.registered_id("s", {"type": "string", "pattern": NESTED_QUANTIFIER})

    validator = validator_for(schema_id)
    assert validator.is_valid("aaaa")
    assert not validator.is_valid(NAME_THAT_BACKTRACKS)
