"""Property: when the checker calls a change BACKWARD-compatible under STRICT, every
instance the old schema accepts is accepted by the new one.

Instances come from hypothesis-jsonschema; validation uses jsonschema's validator for
the schema's draft (format is not asserted, as by default). LENIENT is knowingly unsound
(it allows optional properties added to open objects), so it is not tested here.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from schemas.compatibility import CompatibilityPolicy, diff_schemas, is_allowed
from schemas.compatibility.drafts import Draft, detect_draft

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
VALIDATORS: dict[Draft, Any] = {
    Draft.DRAFT_04: jsonschema.Draft4Validator,
    Draft.DRAFT_06: jsonschema.Draft6Validator,
    Draft.DRAFT_07: jsonschema.Draft7Validator,
    Draft.DRAFT_2019_09: jsonschema.Draft201909Validator,
    Draft.DRAFT_2020_12: jsonschema.Draft202012Validator,
}
SETTINGS = settings(
    deadline=None,
    max_examples=40,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def backward_compatible(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return all(is_allowed(d.type, CompatibilityPolicy.STRICT) for d in diff_schemas(old, new))


@functools.cache
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    return VALIDATORS[detect_draft(schema)](schema)


def assert_accepted(new: dict[str, Any], instance: Any, old: dict[str, Any]) -> None:
    errors = list(_validator(json.dumps(new, sort_keys=True)).iter_errors(instance))
    assert not errors, (
        f"checker said compatible, but {instance!r} valid under\n{json.dumps(old)}\nis refused by\n"
        f"{json.dumps(new)}:\n{errors[0].message}"
    )


def d7(schema: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": DRAFT_07, **schema}


# ---- fixed pairs: each exercises one rule; the test checks the compatible ones ----
FIXED_PAIRS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("maxLength increased", d7({"type": "string", "maxLength": 3}), d7({"type": "string", "maxLength": 6})),
    ("integer to number", d7({"type": "integer", "maximum": 50}), d7({"type": "number"})),
    ("multipleOf reduced", d7({"type": "integer", "multipleOf": 6}), d7({"type": "integer", "multipleOf": 3})),
    ("enum extended", d7({"enum": ["a", 1, None]}), d7({"enum": ["a", 1, None, True]})),
    ("const to enum", d7({"const": "x"}), d7({"enum": ["x", "y"]})),
    ("null added", d7({"type": "string"}), d7({"type": ["string", "null"]})),
    (
        "closed object gains optional property",
        d7({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}),
        d7(
            {
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
                "additionalProperties": False,
            }
        ),
    ),
    (
        "property removed from open object",
        d7({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}),
        d7({"type": "object", "properties": {"a": {"type": "string"}}}),
    ),
    (
        "property removed, covered by additionalProperties",
        d7(
            {
                "type": "object",
                "properties": {"b": {"type": "integer", "minimum": 0}},
                "additionalProperties": {"type": "integer"},
            }
        ),
        d7({"type": "object", "additionalProperties": {"type": "integer"}}),
    ),
    (
        "required removed",
        d7({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}),
        d7({"type": "object", "properties": {"a": {"type": "integer"}}}),
    ),
    (
        "tuple item added to closed array",
        d7({"type": "array", "items": [{"type": "string"}], "additionalItems": False}),
        d7({"type": "array", "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": False}),
    ),
    (
        "tuple item removed, covered",
        d7(
            {
                "type": "array",
                "items": [{"type": "string"}, {"type": "integer", "minimum": 0}],
                "additionalItems": {"type": "integer"},
            }
        ),
        d7({"type": "array", "items": [{"type": "string"}], "additionalItems": {"type": "integer"}}),
    ),
    (
        "anyOf gains a branch",
        d7({"anyOf": [{"type": "string"}, {"type": "integer"}]}),
        d7({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]}),
    ),
    (
        "oneOf discriminated union gains a branch",
        d7(
            {
                "oneOf": [
                    {"type": "object", "properties": {"k": {"const": "a"}, "x": {"type": "string"}}, "required": ["k"]},
                    {"type": "object", "properties": {"k": {"const": "b"}}, "required": ["k"]},
                ]
            }
        ),
        d7(
            {
                "oneOf": [
                    {"type": "object", "properties": {"k": {"const": "a"}, "x": {"type": "string"}}, "required": ["k"]},
                    {"type": "object", "properties": {"k": {"const": "b"}}, "required": ["k"]},
                    {"type": "object", "properties": {"k": {"const": "c"}}, "required": ["k"]},
                ]
            }
        ),
    ),
    (
        "oneOf overlap (must be refused)",
        d7({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
        d7({"oneOf": [{"type": "string"}, {"type": "integer"}, {"maxLength": 3}]}),
    ),
    (
        "allOf loses a branch",
        d7({"allOf": [{"type": "string"}, {"maxLength": 4}]}),
        d7({"allOf": [{"type": "string"}]}),
    ),
    ("not narrowed", d7({"not": {"type": "string"}}), d7({"not": {"type": "string", "maxLength": 2}})),
    (
        "dependency narrowed",
        d7({"type": "object", "dependencies": {"a": ["b", "c"]}}),
        d7({"type": "object", "dependencies": {"a": ["b"]}}),
    ),
    (
        "then widened",
        d7({"type": "object", "if": {"required": ["k"]}, "then": {"required": ["a", "b"]}}),
        d7({"type": "object", "if": {"required": ["k"]}, "then": {"required": ["a"]}}),
    ),
    (
        "local $ref target widened",
        d7(
            {
                "definitions": {"s": {"type": "string", "maxLength": 2}},
                "type": "object",
                "properties": {"x": {"$ref": "#/definitions/s"}},
            }
        ),
        d7(
            {
                "definitions": {"s": {"type": "string"}},
                "type": "object",
                "properties": {"x": {"$ref": "#/definitions/s"}},
            }
        ),
    ),
    (
        "patternProperties widened",
        d7({"type": "object", "patternProperties": {"^n": {"type": "integer"}}, "additionalProperties": False}),
        d7({"type": "object", "patternProperties": {"^n": {"type": "number"}}, "additionalProperties": False}),
    ),
    ("uniqueItems removed", d7({"type": "array", "uniqueItems": True, "maxItems": 4}), d7({"type": "array"})),
    (
        "type requirement dropped",
        d7({"type": "object", "properties": {"a": {"type": "string"}}}),
        d7({"properties": {"a": {"type": "string"}}}),
    ),
    (
        "empty property added and required (must be refused)",
        d7({"type": "object", "properties": {"a": {"type": "string"}}}),
        d7({"type": "object", "properties": {"a": {"type": "string"}, "b": {}}, "required": ["b"]}),
    ),
    (
        "required with default (must be refused)",
        d7({"type": "object", "properties": {"a": {"type": "string"}}}),
        d7({"type": "object", "properties": {"a": {"type": "string", "default": "x"}}, "required": ["a"]}),
    ),
]
COMPATIBLE_FIXED = [(name, old, new) for name, old, new in FIXED_PAIRS if backward_compatible(old, new)]


def test_fixed_pairs_are_not_vacuous() -> None:
    names = {name for name, _old, _new in COMPATIBLE_FIXED}
    assert len(COMPATIBLE_FIXED) >= 20
    assert not names & {
        "oneOf overlap (must be refused)",
        "empty property added and required (must be refused)",
        "required with default (must be refused)",
    }


@pytest.mark.parametrize(("name", "old", "new"), COMPATIBLE_FIXED, ids=[name for name, _o, _n in COMPATIBLE_FIXED])
@SETTINGS
@given(data=st.data())
def test_instances_of_old_schema_are_valid_under_a_backward_compatible_new_schema(
    name: str, old: dict[str, Any], new: dict[str, Any], data: st.DataObject
) -> None:
    instance = data.draw(from_schema(old))
    assert_accepted(new, instance, old)


# ---- mutations of a base schema ----
Mutation = Callable[[dict[str, Any]], None]


def _set(name: str, key: str, value: Any) -> Mutation:
    def mutate(schema: dict[str, Any]) -> None:
        if name in schema["properties"]:
            schema["properties"][name] = {**schema["properties"][name], key: copy.deepcopy(value)}

    return mutate


def _drop(name: str, key: str) -> Mutation:
    def mutate(schema: dict[str, Any]) -> None:
        if name in schema["properties"]:
            schema["properties"][name] = {k: v for k, v in schema["properties"][name].items() if k != key}

    return mutate


def _add_property(name: str, sub: dict[str, Any], required: bool = False) -> Mutation:
    def mutate(schema: dict[str, Any]) -> None:
        schema["properties"][name] = copy.deepcopy(sub)
        if required:
            schema["required"] = sorted({*schema.get("required", []), name})

    return mutate


def _remove_property(name: str) -> Mutation:
    def mutate(schema: dict[str, Any]) -> None:
        schema["properties"].pop(name, None)
        schema["required"] = [n for n in schema.get("required", []) if n != name]

    return mutate


def _require(name: str, on: bool) -> Mutation:
    def mutate(schema: dict[str, Any]) -> None:
        names = set(schema.get("required", []))
        schema["required"] = sorted(names | {name} if on else names - {name})

    return mutate


def _set_root(key: str, value: Any) -> Mutation:
    return lambda schema: schema.__setitem__(key, value)


def _drop_root(key: str) -> Mutation:
    return lambda schema: schema.pop(key, None)


MUTATIONS: list[Mutation] = [
    _add_property("extra", {"type": "string"}),
    _add_property("extra", {"type": "integer", "minimum": 0}, required=True),
    _add_property("extra", {}),
    _remove_property("score"),
    _remove_property("name"),
    _require("name", True),
    _require("kind", False),
    _set("id", "maximum", 500),
    _set("id", "maximum", 5000),
    _drop("id", "maximum"),
    _set("id", "minimum", 10),
    _set("id", "minimum", -10),
    _set("id", "type", "number"),
    _set("score", "type", "integer"),
    _set("id", "multipleOf", 2),
    _set("name", "maxLength", 4),
    _set("name", "maxLength", 30),
    _drop("name", "minLength"),
    _set("name", "minLength", 3),
    _set("name", "pattern", "^[a-m]*$"),
    _set("kind", "enum", ["a", "b"]),
    _set("kind", "enum", ["a", "b", "c", "d"]),
    _set("kind", "enum", ["a", "b", "x"]),
    _set("tags", "maxItems", 1),
    _set("tags", "maxItems", 6),
    _set("tags", "uniqueItems", True),
    _set("tags", "items", {"type": "string", "maxLength": 2}),
    _set("tags", "items", {"type": "string"}),
    _set("note", "type", "string"),
    _set("note", "type", ["string", "null", "integer"]),
    _set("score", "exclusiveMaximum", 5),
    _set("score", "maximum", 20),
    _set_root("additionalProperties", False),
    _drop_root("additionalProperties"),
    _set_root("additionalProperties", {"type": "integer"}),
    _set_root("maxProperties", 3),
    _set_root("minProperties", 1),
    _set_root("dependencies", {"name": ["score"]}),
]


def base_schema(closed: bool) -> dict[str, Any]:
    schema = d7(
        {
            "type": "object",
            "properties": {
                "id": {"type": "integer", "minimum": 0, "maximum": 1000},
                "name": {"type": "string", "minLength": 1, "maxLength": 10},
                "kind": {"enum": ["a", "b", "c"]},
                "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 3},
                "score": {"type": "number", "minimum": 0, "maximum": 10},
                "note": {"type": ["string", "null"]},
            },
            "required": ["id", "kind"],
        }
    )
    if closed:
        schema["additionalProperties"] = False
    return schema


def mutated(closed: bool, mutations: list[int]) -> dict[str, Any]:
    schema = copy.deepcopy(base_schema(closed))
    for index in mutations:
        MUTATIONS[index](schema)
    return schema


@functools.cache
def _strategy(schema_json: str) -> st.SearchStrategy[Any]:
    return from_schema(json.loads(schema_json))


mutation_lists = st.lists(st.integers(0, len(MUTATIONS) - 1), min_size=0, max_size=2)


@settings(SETTINGS, max_examples=300)
@given(
    closed=st.booleans(),
    common=mutation_lists,
    extra=st.lists(st.integers(0, len(MUTATIONS) - 1), min_size=1, max_size=2),
    swap=st.booleans(),
    data=st.data(),
)
def test_mutations_called_backward_compatible_accept_every_old_instance(
    closed: bool, common: list[int], extra: list[int], swap: bool, data: st.DataObject
) -> None:
    old, new = mutated(closed, common), mutated(closed, common + extra)
    if swap:
        old, new = new, old
    if not backward_compatible(old, new):
        return
    instance = data.draw(_strategy(json.dumps(old, sort_keys=True)))
    assert_accepted(new, instance, old)


def test_mutation_space_has_compatible_and_incompatible_pairs() -> None:
    verdicts = [
        backward_compatible(mutated(closed, []), mutated(closed, [index]))
        for closed in (False, True)
        for index in range(len(MUTATIONS))
    ]
    assert 15 <= sum(verdicts) <= len(verdicts) - 15
