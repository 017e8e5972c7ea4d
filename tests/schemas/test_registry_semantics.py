"""The registry's rules, each as a property (registry-api.md §6)."""

from __future__ import annotations

import json

import pytest

from schemas.models import Schema, SubjectVersion
from tests.schemas.factories import DRAFT_URIS, object_schema, sr_body

pytestmark = pytest.mark.django_db

V1 = object_schema(name="string")
V2 = object_schema(name="string", email="string")
V3 = object_schema(name="string", email="string", phone="string")
BREAKING = object_schema(name="integer")


def test_registering_a_live_schema_again_returns_its_id_without_a_new_version(registry):
    first = registry.register("s", V1).json()
    registry.register("s", V2)
    again = registry.register("s", json.dumps(V1, indent=2)).json()
    assert (again["id"], again["version"]) == (first["id"], 1)
    assert registry.get("/subjects/s/versions").json() == [1, 2]


def test_registering_a_live_schema_again_skips_the_compatibility_check(registry):
    registry.register("s", V1)
    registry.put("/config/s", {"compatibility": "NONE"})
    registry.register("s", BREAKING)
    registry.put("/config/s", {"compatibility": "BACKWARD_TRANSITIVE"})
    # V1 is incompatible with the latest (BREAKING) version, but it is live: no check, no version.
    assert registry.register("s", V1).json()["version"] == 1


def test_whitespace_only_differences_share_an_id(registry):
    compact = registry.registered_id("a", json.dumps(V1, separators=(",", ":")))
    spaced = registry.registered_id("b", json.dumps(V1, indent=8))
    assert compact == spaced


def test_the_same_schema_under_another_subject_reuses_its_global_id(registry):
    first = registry.registered_id("orders-value", V1)
    response = registry.register("payments-value", V1).json()
    assert response["id"] == first
    assert response["version"] == 1
    assert Schema.objects.count() == 1


def test_different_references_make_a_different_id(registry):
    registry.put("/config/address", {"compatibility": "NONE"})
    registry.register("address", object_schema(city="string", closed=False))
    registry.register("address", object_schema(city="string", zip="string", closed=False))
    schema = {"properties": {"home": {"$ref": "address.json"}}}
    one = registry.registered_id(
        "c1", schema, references=[{"name": "address.json", "subject": "address", "version": 1}]
    )
    two = registry.registered_id(
        "c2", schema, references=[{"name": "address.json", "subject": "address", "version": 2}]
    )
    assert one != two


def test_versions_are_max_of_all_versions_plus_one_soft_deleted_included(registry):
    registry.register("s", V1)
    registry.register("s", V2)
    registry.delete("/subjects/s/versions/2")
    assert registry.register("s", V3).json()["version"] == 3


def test_after_a_subject_soft_delete_the_same_schemas_keep_their_ids_and_get_new_versions(registry):
    ids = [registry.registered_id("s", V1), registry.registered_id("s", V2)]
    assert registry.delete("/subjects/s").json() == [1, 2]
    again = [registry.register("s", V1).json(), registry.register("s", V2).json()]
    assert [item["id"] for item in again] == ids
    assert [item["version"] for item in again] == [3, 4]
    assert registry.get("/subjects/s/versions/1").json()["error_code"] == 40402


def test_soft_deleted_versions_disappear_from_latest(registry):
    registry.register("s", V1)
    registry.register("s", V2)
    registry.delete("/subjects/s/versions/2")
    assert registry.get("/subjects/s/versions/latest").json()["version"] == 1
    assert registry.get("/subjects/s/versions/2?deleted=true").json()["deleted"] is True


def test_soft_deleted_versions_are_left_out_of_compatibility_checks(registry):
    registry.register("s", V1)
    registry.put("/config/s", {"compatibility": "NONE"})
    registry.register("s", BREAKING)
    registry.put("/config/s", {"compatibility": "BACKWARD"})
    assert registry.post("/compatibility/subjects/s/versions", sr_body(V2)).json() == {"is_compatible": False}
    registry.delete("/subjects/s/versions/2")
    assert registry.post("/compatibility/subjects/s/versions", sr_body(V2)).json() == {"is_compatible": True}
    assert registry.register("s", V2).json()["version"] == 3


def test_soft_deleted_ids_stay_readable_until_deleted_permanently(registry):
    schema_id = registry.registered_id("s", V1)
    registry.delete("/subjects/s")
    assert registry.get(f"/schemas/ids/{schema_id}").status_code == 200
    registry.delete("/subjects/s?permanent=true")
    assert registry.get(f"/schemas/ids/{schema_id}").json()["error_code"] == 40403


def test_a_permanently_deleted_subject_is_not_found_even_with_deleted_true(registry):
    registry.register("s", V1)
    registry.delete("/subjects/s")
    registry.delete("/subjects/s?permanent=true")
    assert registry.get("/subjects/s/versions?deleted=true").json()["error_code"] == 40401
    assert registry.get("/subjects/s/versions/1?deleted=true").json()["error_code"] == 40401
    assert registry.get("/subjects?deleted=true").json() == []


def test_permanent_subject_delete_removes_its_config_and_mode(registry):
    registry.register("s", V1)
    registry.put("/config/s", {"compatibility": "FULL"})
    registry.put("/mode/s", {"mode": "READWRITE"})
    registry.delete("/subjects/s")
    assert registry.get("/config/s").json() == {"compatibilityLevel": "FULL"}  # soft delete keeps it
    registry.delete("/subjects/s?permanent=true")
    assert registry.get("/config/s").json()["error_code"] == 40408
    assert registry.get("/mode/s").json()["error_code"] == 40409


def test_ids_are_never_reused_after_a_permanent_delete(registry):
    first = registry.registered_id("s", V1)
    registry.delete("/subjects/s")
    registry.delete("/subjects/s?permanent=true")
    assert registry.registered_id("t", V2) == first + 1


def test_a_schema_held_by_another_subject_survives_a_permanent_delete(registry):
    schema_id = registry.registered_id("a", V1)
    registry.register("b", V1)
    registry.delete("/subjects/a")
    registry.delete("/subjects/a?permanent=true")
    assert registry.get(f"/schemas/ids/{schema_id}").status_code == 200


def test_a_different_schema_type_is_incompatible_unless_the_level_is_none(registry):
    from schemas.compatibility import CompatibilityLevel, SchemaVersion, check_compatibility

    old = SchemaVersion(1, '"string"', '"string"', schema_type="AVRO")
    new = SchemaVersion(None, {"type": "string"}, '{"type":"string"}', schema_type="JSON")
    result = check_compatibility(new, [old], CompatibilityLevel.BACKWARD)
    assert (result.is_compatible, result.messages) == (False, ["Incompatible because of different schema type"])
    assert check_compatibility(new, [old], CompatibilityLevel.NONE).is_compatible


def test_compatibility_with_a_version_checks_only_that_version(registry):
    registry.put("/config/s", {"compatibility": "NONE"})
    registry.register("s", V1)
    registry.register("s", BREAKING)
    registry.put("/config/s", {"compatibility": "BACKWARD_TRANSITIVE"})
    candidate = sr_body(object_schema(name="integer", email="string"))
    assert registry.post("/compatibility/subjects/s/versions/2", candidate).json() == {"is_compatible": True}
    assert registry.post("/compatibility/subjects/s/versions/1", candidate).json() == {"is_compatible": False}
    # Without a version: what registration would do, i.e. every live version at a transitive level.
    assert registry.post("/compatibility/subjects/s/versions", candidate).json() == {"is_compatible": False}
    assert registry.register("s", candidate["schema"]).status_code == 409


def test_compatibility_without_a_version_agrees_with_registration(registry):
    registry.register("s", V1)
    for candidate, expected in ((V2, True), (BREAKING, False)):
        checked = registry.post("/compatibility/subjects/s/versions", sr_body(candidate)).json()["is_compatible"]
        assert checked is expected
        assert (registry.register("s", candidate).status_code == 200) is expected


def test_latest_on_an_empty_or_unknown_subject_is_compatible(registry):
    assert registry.post("/compatibility/subjects/nope/versions/latest", sr_body(V1)).json() == {"is_compatible": True}
    registry.register("s", V1)
    registry.delete("/subjects/s")
    assert registry.post("/compatibility/subjects/s/versions/latest", sr_body(BREAKING)).json() == {
        "is_compatible": True
    }


def test_the_default_global_level_is_backward(registry):
    assert registry.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    registry.register("s", V1)
    # Backward: the new schema must read old data; dropping 'name' from a closed model breaks that.
    assert registry.register("s", object_schema(email="string")).status_code == 409


def test_levels_are_case_insensitive_on_input_and_upper_case_on_output(registry):
    assert registry.put("/config/s", {"compatibility": "forward_Transitive"}).json() == {
        "compatibility": "FORWARD_TRANSITIVE"
    }
    assert registry.get("/config/s").json() == {"compatibilityLevel": "FORWARD_TRANSITIVE"}


def test_the_subject_level_overrides_the_global_one(registry):
    registry.put("/config", {"compatibility": "NONE"})
    registry.put("/config/s", {"compatibility": "BACKWARD"})
    registry.register("s", V1)
    registry.register("t", V1)
    assert registry.register("s", BREAKING).status_code == 409
    assert registry.register("t", BREAKING).status_code == 200


def test_lenient_policy_accepts_an_optional_property_added_to_an_open_model(registry):
    open_v1 = object_schema(name="string", closed=False)
    open_v2 = object_schema(name="string", email="string", closed=False)
    registry.register("s", open_v1)
    assert registry.register("s", open_v2).status_code == 409
    registry.put("/config/s", {"compatibilityPolicy": "LENIENT"})
    assert registry.register("s", open_v2).status_code == 200


def test_full_transitive_checks_every_live_version(registry):
    registry.put("/config/s", {"compatibility": "NONE"})
    registry.register("s", V1)
    registry.register("s", V2)
    # Compatible both ways with v2 (a new title), but v1 could not read its 'email' (closed model).
    candidate = {**V2, "title": "Person"}
    registry.put("/config/s", {"compatibility": "FULL"})
    assert registry.post("/compatibility/subjects/s/versions", sr_body(candidate)).json() == {"is_compatible": True}
    registry.put("/config/s", {"compatibility": "FULL_TRANSITIVE"})
    response = registry.register("s", candidate)
    assert response.status_code == 409
    assert "{oldSchemaVersion: 1}" in response.json()["message"]


def test_import_mode_registers_with_the_given_id_and_version_and_no_compatibility_check(registry):
    registry.put("/mode", {"mode": "IMPORT"})
    registry.post("/subjects/s/versions", sr_body(V1, id=100, version=3))
    response = registry.post("/subjects/s/versions", sr_body(BREAKING, id=7, version=4))
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["version"]) == (7, 4)
    assert registry.get("/subjects/s/versions").json() == [3, 4]
    registry.put("/mode", {"mode": "READWRITE"})
    # New ids continue after the largest imported one.
    assert registry.registered_id("t", V3) == 101


def test_switching_to_import_removes_soft_deleted_versions_for_good(registry):
    registry.register("s", V1)
    registry.delete("/subjects/s")
    assert registry.put("/mode/s", {"mode": "IMPORT"}).json() == {"mode": "IMPORT"}
    assert not SubjectVersion.objects.filter(subject__name="s").exists()


def test_read_only_allows_reads(registry):
    registry.register("s", V1)
    registry.put("/mode", {"mode": "READONLY"})
    assert registry.get("/subjects/s/versions/latest").status_code == 200
    assert registry.post("/subjects/s", sr_body(V1)).status_code == 200
    assert registry.post("/compatibility/subjects/s/versions", sr_body(V2)).status_code == 200


def test_references_resolve_refs_across_subjects_without_any_fetch(registry):
    registry.register("address", object_schema(city="string", required=("city",)))
    references = [{"name": "https://example.com/schemas/address.json", "subject": "address", "version": 1}]
    schema = {"$id": "https://example.com/schemas/customer.json", "properties": {"home": {"$ref": "address.json"}}}
    response = registry.register("customer", schema, references=references)
    assert response.status_code == 200, response.content
    # The referenced schema takes part in compatibility: making 'city' an integer there breaks backward.
    incompatible = {"$id": "https://example.com/schemas/customer.json", "properties": {"home": {"type": "string"}}}
    assert registry.post("/compatibility/subjects/customer/versions", sr_body(incompatible)).json() == {
        "is_compatible": False
    }


def test_references_to_latest_are_pinned_to_the_live_latest_version(registry):
    registry.put("/config/address", {"compatibility": "NONE"})
    registry.register("address", object_schema(city="string", closed=False))
    registry.register("address", object_schema(city="string", zip="string", closed=False))
    body = registry.register(
        "c",
        {"properties": {"a": {"$ref": "a.json"}}},
        references=[{"name": "a.json", "subject": "address", "version": -1}],
    ).json()
    assert body["references"] == [{"name": "a.json", "subject": "address", "version": 2}]


@pytest.mark.parametrize("draft", list(DRAFT_URIS))
def test_every_supported_draft_registers_and_checks(registry, draft):
    assert registry.register("s", object_schema(name="string", draft=draft)).status_code == 200
    assert registry.register("s", object_schema(name="integer", draft=draft)).status_code == 409


def test_a_2020_12_only_keyword_is_meta_validated_by_its_draft(registry):
    tuple_2020 = {
        "$schema": DRAFT_URIS["2020-12"],
        "type": "array",
        "prefixItems": [{"type": "string"}],
        "items": False,
    }
    assert registry.register("tuple", tuple_2020).status_code == 200
    old_style = {"$schema": DRAFT_URIS["2020-12"], "type": "array", "items": [{"type": "string"}]}
    assert registry.register("tuple2", old_style).json()["error_code"] == 42201
    draft7_tuple = {"$schema": DRAFT_URIS["draft-07"], "type": "array", "items": [{"type": "string"}]}
    assert registry.register("tuple3", draft7_tuple).status_code == 200


def test_a_tuple_schema_without_dollar_schema_registers_and_is_checked_as_draft_07(registry):
    pair = {"type": "array", "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": False}
    assert registry.register("pair", pair).status_code == 200
    # additionalItems: false -> a schema for the extra positions reopens them: compatible.
    widened = {**pair, "additionalItems": {"type": "boolean"}}
    assert registry.register("pair", widened).status_code == 200
    narrowed = {**pair, "items": [{"type": "string"}, {"type": "string"}]}
    assert registry.register("pair", narrowed).status_code == 409


def test_normalize_config_canonicalises_key_order(registry):
    registry.put("/config/s", {"normalize": True})
    one = registry.register("s", {"type": "object", "properties": {"a": {"type": "string"}}}).json()
    two = registry.register("s", {"properties": {"a": {"type": "string"}}, "type": "object"}).json()
    assert (one["id"], one["version"]) == (two["id"], two["version"])
    assert one["schema"] == '{"properties":{"a":{"type":"string"}},"type":"object"}'
