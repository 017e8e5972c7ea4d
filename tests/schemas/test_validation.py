"""The broker-facing validation API (schemas.validation): subject resolution that sees every
committed registry write, and compiled validators that report JSON pointers, in all five drafts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.errors import SchemaNotFound
from schemas.services import schema_version_delete, schema_version_register, subject_delete
from schemas.validation import ResolvedSchema, ValidationIssue, resolve_schema_id, resolve_subject, validator_for
from tests.schemas.factories import DRAFT_URIS, object_schema

ROOT = Path(__file__).resolve().parents[2]

ORDER = object_schema(
    order_id="string",
    customer=object_schema(email={"type": "string", "format": "email"}, required=("email",)),
    items={"type": "array", "items": {"type": "integer", "minimum": 1}},
    required=("order_id", "customer"),
)


def register(subject: str, schema, **kwargs) -> int:
    return schema_version_register(
        subject=subject, schema=schema if isinstance(schema, str) else json.dumps(schema), schema_type="JSON", **kwargs
    ).schema_id


@pytest.mark.django_db
def test_a_valid_event_has_no_issues():
    validator = validator_for(register("orders-value", ORDER))
    assert validator.validate({"order_id": "o-1", "customer": {"email": "a@example.com"}, "items": [1, 2]}) == []


@pytest.mark.django_db
def test_each_failure_names_the_json_pointer_of_the_failing_value():
    validator = validator_for(register("orders-value", ORDER))
    issues = validator.validate({"order_id": 5, "customer": {"email": "not-an-email"}, "items": [1, 0]})
    assert {issue.pointer for issue in issues} == {"/order_id", "/customer/email", "/items/1"}
    by_pointer = {issue.pointer: issue.reason for issue in issues}
    assert "string" in by_pointer["/order_id"]
    assert "email" in by_pointer["/customer/email"]
    assert "minimum" in by_pointer["/items/1"]


@pytest.mark.django_db
def test_a_failure_at_the_root_has_the_empty_pointer():
    validator = validator_for(register("orders-value", ORDER))
    issues = validator.validate({"customer": {"email": "a@example.com"}, "extra": 1})
    assert {issue.pointer for issue in issues} == {""}
    assert len(issues) == 2  # order_id missing, 'extra' not allowed
    assert all(isinstance(issue, ValidationIssue) for issue in issues)


@pytest.mark.django_db
def test_pointer_tokens_are_escaped():
    validator = validator_for(register("s", {"properties": {"a/b": {"properties": {"c~d": {"type": "string"}}}}}))
    assert validator.validate({"a/b": {"c~d": 1}})[0].pointer == "/a~1b/c~0d"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("draft", "schema", "valid", "invalid"),
    [
        ("draft-04", {"type": "number", "maximum": 10, "exclusiveMaximum": True}, 9, 10),
        ("draft-06", {"type": "array", "contains": {"const": "x"}}, ["a", "x"], ["a"]),
        (
            "draft-07",
            {"if": {"properties": {"k": {"const": 1}}}, "then": {"required": ["v"]}},
            {"k": 1, "v": 0},
            {"k": 1},
        ),
        (
            "2019-09",
            {"type": "object", "properties": {"a": {"type": "string"}}, "unevaluatedProperties": False},
            {"a": "x"},
            {"a": "x", "b": 1},
        ),
        ("2020-12", {"type": "array", "prefixItems": [{"type": "string"}], "items": False}, ["x"], ["x", 1]),
    ],
)
def test_every_supported_draft_validates_by_its_own_rules(draft, schema, valid, invalid):
    validator = validator_for(register(f"s-{draft}", {"$schema": DRAFT_URIS[draft], **schema}))
    assert validator.validate(valid) == []
    assert validator.validate(invalid) != []


@pytest.mark.django_db
def test_registry_references_are_resolved_locally():
    register("address", object_schema(city="string", required=("city",)))
    references = [{"name": "address.json", "subject": "address", "version": 1}]
    customer = register("customer", {"properties": {"home": {"$ref": "address.json"}}}, references=references)
    issues = validator_for(customer).validate({"home": {"city": 7}})
    assert [(issue.pointer, "string" in issue.reason) for issue in issues] == [("/home/city", True)]


@pytest.mark.django_db
def test_a_validator_is_compiled_once_per_schema_id():
    schema_id = register("orders-value", ORDER)
    assert validator_for(schema_id) is validator_for(schema_id)


@pytest.mark.django_db
def test_an_unknown_schema_id_raises_schema_not_found():
    with pytest.raises(SchemaNotFound):
        validator_for(12345)


@pytest.mark.django_db
def test_resolve_subject_gives_the_latest_live_version_or_the_one_asked_for():
    first = register("s", object_schema(a="string"))
    second = register("s", object_schema(a="string", b="string"))
    assert resolve_subject("s") == ResolvedSchema(second, "s", 2)
    assert resolve_subject("s", 1) == ResolvedSchema(first, "s", 1)
    assert resolve_subject("s", 3) is None
    assert resolve_subject("nope") is None


@pytest.mark.django_db
def test_resolve_subject_sees_a_registration_and_a_soft_delete_at_once():
    first = register("s", object_schema(a="string"))
    assert resolve_subject("s").schema_id == first
    second = register("s", object_schema(a="string", b="string"))
    assert resolve_subject("s").schema_id == second
    schema_version_delete(subject="s", version=2)
    assert resolve_subject("s") == ResolvedSchema(first, "s", 1)
    assert resolve_subject("s", 2) is None
    subject_delete(subject="s")
    assert resolve_subject("s") is None


@pytest.mark.django_db
def test_resolve_schema_id_names_a_live_holder():
    schema_id = register("b-value", object_schema(a="string"))
    register("a-value", object_schema(a="string"))
    assert resolve_schema_id(schema_id) == ResolvedSchema(schema_id, "a-value", 1)
    subject_delete(subject="a-value")
    assert resolve_schema_id(schema_id) == ResolvedSchema(schema_id, "b-value", 1)
    subject_delete(subject="b-value")
    assert resolve_schema_id(schema_id) is None
    assert resolve_schema_id(999) is None


def _in_another_process(*args: str) -> str:
    from django.db import connection

    env = {**os.environ, "EVENTLINE_TEST_DB_NAME": str(connection.settings_dict["NAME"]), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests/schemas/registry_process.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.django_db(transaction=True)
def test_a_write_committed_in_another_process_is_seen_by_the_next_resolution_here():
    first = register("orders-value", ORDER)
    assert resolve_subject("orders-value").schema_id == first
    validator_for(first)
    newer = {**ORDER, "properties": {**ORDER["properties"], "note": {"type": "string"}}}
    registered = json.loads(_in_another_process("register", "orders-value", json.dumps(newer)))
    assert resolve_subject("orders-value") == ResolvedSchema(registered["id"], "orders-value", 2)
    _in_another_process("delete", "orders-value", "permanent")
    assert resolve_subject("orders-value") is None
    # The permanently deleted ids' validators were dropped here too.
    from schemas.cache import registry_cache

    assert first not in registry_cache.validators
    with pytest.raises(SchemaNotFound):
        validator_for(first)
