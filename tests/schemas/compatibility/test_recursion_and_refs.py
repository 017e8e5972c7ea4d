"""``$ref`` resolution, recursion and the one-pass guarantee."""

from __future__ import annotations

import pytest

from schemas.compatibility import UnresolvedReference, diff_schemas
from schemas.compatibility.differ import Differ
from schemas.compatibility.nodes import Resolver

LINKED_LIST = {"type": "object", "properties": {"value": {"type": "string"}, "next": {"$ref": "#"}}}


def _passes(original: object, update: object) -> int:
    differ = Differ()
    differ.diff(Resolver(original).root, Resolver(update).root)
    return differ.passes


def test_non_recursive_schemas_are_diffed_in_one_pass() -> None:
    original = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 5}}, "required": ["a"]}
    update = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 3}}}
    assert _passes(original, update) == 1


def test_recursive_schemas_rerun_only_when_a_cut_pair_was_incompatible() -> None:
    narrowed = {"type": "object", "properties": {"value": {"type": "string", "maxLength": 3}, "next": {"$ref": "#"}}}
    assert _passes(LINKED_LIST, LINKED_LIST) == 1
    assert _passes(LINKED_LIST, narrowed) == 2


def test_self_reference_terminates_without_recursion_error() -> None:
    assert diff_schemas({"$ref": "#"}, {"$ref": "#"}) == []
    chain = {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}
    assert diff_schemas({"type": "string"}, chain) == []  # a loop of refs constrains nothing


def test_deep_recursion_through_combinators_terminates() -> None:
    tree = {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"l": {"$ref": "#"}, "r": {"$ref": "#"}}}]}
    narrowed = {
        "anyOf": [
            {"type": "null"},
            {"type": "object", "properties": {"l": {"$ref": "#"}, "r": {"$ref": "#"}}, "required": ["l"]},
        ]
    }
    assert diff_schemas(tree, tree) == []
    assert [str(d) for d in diff_schemas(tree, narrowed)] == ["COMBINED_TYPE_SUBSCHEMAS_CHANGED #/"]


def test_unresolvable_local_pointer_raises_a_typed_exception() -> None:
    with pytest.raises(UnresolvedReference) as raised:
        diff_schemas({"type": "object", "properties": {"a": {"$ref": "#/definitions/missing"}}}, {"type": "object"})
    assert raised.value.ref == "#/definitions/missing"


def test_external_reference_without_the_document_raises_even_where_the_diff_does_not_reach() -> None:
    schema = {"properties": {"a": {"$ref": "https://example.com/customer.json#/definitions/x"}}}
    with pytest.raises(UnresolvedReference):
        diff_schemas({}, schema)


def test_named_reference_resolves_from_the_supplied_mapping() -> None:
    schema = {"type": "object", "properties": {"c": {"$ref": "customer.json#/definitions/id"}}}
    old_refs = {"customer.json": {"definitions": {"id": {"type": "integer"}}}}
    new_refs = {"customer.json": {"definitions": {"id": {"type": "number"}}}}
    differences = diff_schemas(schema, schema, original_references=old_refs, update_references=new_refs)
    assert [str(d) for d in differences] == ["TYPE_EXTENDED #/properties/c"]


def test_referenced_documents_may_reference_each_other() -> None:
    schema = {"$ref": "order.json"}
    refs = {
        "order.json": {"type": "object", "properties": {"customer": {"$ref": "customer.json"}}},
        "customer.json": {"type": "object", "properties": {"name": {"type": "string"}}},
    }
    narrowed = dict(
        refs, **{"customer.json": {"type": "object", "properties": {"name": {"type": "string", "minLength": 1}}}}
    )
    differences = diff_schemas(schema, schema, original_references=refs, update_references=narrowed)
    assert [str(d) for d in differences] == ["MIN_LENGTH_ADDED #/properties/customer/properties/name/minLength"]


def test_embedded_id_changes_the_base_of_nested_references() -> None:
    schema = {
        "$id": "https://example.com/root.json",
        "type": "object",
        "properties": {
            "inner": {
                "$id": "https://example.com/nested/inner.json",
                "$defs": {"x": {"type": "integer"}},
                "type": "object",
                "properties": {"v": {"$ref": "#/$defs/x"}},
            }
        },
    }
    assert diff_schemas(schema, schema) == []
