"""Every /registry/ endpoint through the HTTP client: paths, content types, JSON shapes, query
parameters and authentication, as Confluent's server answers them."""

from __future__ import annotations

import json

import pytest

from tests.schemas.conftest import SR_JSON
from tests.schemas.factories import object_schema, sr_body

pytestmark = pytest.mark.django_db

V1 = object_schema(name="string")
V2 = object_schema(name="string", email="string")


def test_root_answers_an_empty_object_in_the_v1_content_type(registry):
    response = registry.get("/")
    assert response.status_code == 200
    assert response.json() == {}
    assert response["Content-Type"] == SR_JSON
    assert response["Cache-Control"] == "no-cache, no-store, must-revalidate"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json", SR_JSON),
        ("application/vnd.schemaregistry+json", "application/vnd.schemaregistry+json"),
        ("application/json", "application/json"),
        ("*/*", SR_JSON),
    ],
)
def test_response_content_type_follows_accept(registry, accept, expected):
    assert registry.get("/subjects", HTTP_ACCEPT=accept)["Content-Type"] == expected


@pytest.mark.parametrize(
    "content_type",
    [SR_JSON, "application/vnd.schemaregistry+json", "application/json", "application/octet-stream"],
)
def test_register_accepts_all_four_request_content_types(registry, content_type):
    response = registry.post("/subjects/s/versions", json.dumps(sr_body(V1)), content_type=content_type)
    assert response.status_code == 200, response.content
    assert response.json()["id"] == 1


def test_other_request_content_types_are_415(registry):
    response = registry.post("/subjects/s/versions", json.dumps(sr_body(V1)), content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["error_code"] == 415


def test_unknown_request_fields_such_as_metadata_and_rule_set_are_ignored(registry):
    body = sr_body(V1, metadata={"properties": {"owner": "team-a"}}, ruleSet={"domainRules": []}, schemaTagsToAdd=[])
    response = registry.post("/subjects/s/versions", body)
    assert response.status_code == 200
    assert response.json()["id"] == 1


def test_register_returns_id_version_type_and_canonical_schema_without_empty_fields(registry):
    response = registry.register("orders-value", json.dumps(V1, indent=4))
    assert response.json() == {
        "id": 1,
        "version": 1,
        "schemaType": "JSON",
        "schema": json.dumps(V1, separators=(",", ":")),
    }


def test_get_version_returns_confluents_schema_entity(registry):
    registry.register("orders-value", V1)
    body = registry.get("/subjects/orders-value/versions/1").json()
    assert body == {
        "subject": "orders-value",
        "version": 1,
        "id": 1,
        "schemaType": "JSON",
        "schema": json.dumps(V1, separators=(",", ":")),
    }
    assert registry.get("/subjects/orders-value/versions/latest").json() == body
    assert registry.get("/subjects/orders-value/versions/-1").json() == body
    assert registry.get("/subjects/orders-value/versions/LATEST").json() == body


def test_raw_schema_endpoints_answer_the_schema_text_unescaped(registry):
    registry.register("orders-value", V1)
    for path in ("/subjects/orders-value/versions/1/schema", "/schemas/ids/1/schema"):
        response = registry.get(path)
        assert response.status_code == 200
        assert json.loads(response.content) == V1


def test_schema_by_id_returns_schema_and_type(registry):
    registry.register("orders-value", V1)
    assert registry.get("/schemas/ids/1").json() == {
        "schema": json.dumps(V1, separators=(",", ":")),
        "schemaType": "JSON",
    }
    with_max = registry.get("/schemas/ids/1?fetchMaxId=true").json()
    assert with_max["maxId"] == 1
    with_subject = registry.get("/schemas/ids/1?subject=orders-value").json()
    assert (with_subject["subject"], with_subject["version"]) == ("orders-value", 1)


def test_schema_id_subjects_and_versions_list_every_holder(registry):
    registry.register("a-value", V1)
    registry.register("b-value", V1)
    assert registry.get("/schemas/ids/1/subjects").json() == ["a-value", "b-value"]
    assert registry.get("/schemas/ids/1/versions").json() == [
        {"subject": "a-value", "version": 1},
        {"subject": "b-value", "version": 1},
    ]
    registry.delete("/subjects/b-value/versions/1")
    assert registry.get("/schemas/ids/1/subjects").json() == ["a-value"]
    assert registry.get("/schemas/ids/1/subjects?deleted=true").json() == ["a-value", "b-value"]
    assert registry.get("/schemas/ids/1/versions?deleted=true").json()[1] == {"subject": "b-value", "version": 1}


def test_schema_types_lists_json_avro_and_protobuf(registry):
    assert registry.get("/schemas/types").json() == ["JSON", "AVRO", "PROTOBUF"]


def test_contexts_lists_the_default_context(registry):
    assert registry.get("/contexts").json() == ["."]
    registry.register(":.staging:orders-value", V1)
    assert registry.get("/contexts").json() == [".", ".staging"]


def test_subjects_filters_by_prefix_and_pages(registry):
    for name in ("orders-value", "orders-key", "payments-value"):
        registry.register(name, V1)
    assert registry.get("/subjects").json() == ["orders-key", "orders-value", "payments-value"]
    assert registry.get("/subjects?subjectPrefix=orders").json() == ["orders-key", "orders-value"]
    assert registry.get("/subjects?subjectPrefix=:*:").json() == ["orders-key", "orders-value", "payments-value"]
    assert registry.get("/subjects?offset=1&limit=1").json() == ["orders-value"]


def test_subjects_deleted_and_deleted_only(registry):
    registry.register("live-value", V1)
    registry.register("gone-value", V1)
    registry.delete("/subjects/gone-value")
    assert registry.get("/subjects").json() == ["live-value"]
    assert registry.get("/subjects?deleted=true").json() == ["gone-value", "live-value"]
    assert registry.get("/subjects?deletedOnly=true").json() == ["gone-value"]


def test_versions_lists_live_versions_and_deleted_ones_on_request(registry):
    registry.register("s", V1)
    registry.register("s", V2)
    registry.delete("/subjects/s/versions/1")
    assert registry.get("/subjects/s/versions").json() == [2]
    assert registry.get("/subjects/s/versions?deleted=true").json() == [1, 2]
    assert registry.get("/subjects/s/versions?deletedOnly=true").json() == [1]
    assert registry.get("/subjects/s/versions?deletedAsNegative=true").json() == [-1, 2]


def test_lookup_returns_the_version_holding_the_schema(registry):
    registry.register("s", V1)
    registry.register("s", V2)
    response = registry.post("/subjects/s", sr_body(json.dumps(V1, indent=2)))
    assert response.status_code == 200
    assert response.json() == {
        "subject": "s",
        "version": 1,
        "id": 1,
        "schemaType": "JSON",
        "schema": json.dumps(V1, separators=(",", ":")),
    }


def test_lookup_sees_soft_deleted_versions_only_with_deleted_true(registry):
    registry.register("s", V1)
    registry.register("s", V2)
    registry.delete("/subjects/s/versions/1")
    assert registry.post("/subjects/s", sr_body(V1)).json()["error_code"] == 40403
    found = registry.post("/subjects/s?deleted=true", sr_body(V1)).json()
    assert (found["version"], found["deleted"]) == (1, True)


def test_lookup_with_normalize_matches_a_schema_registered_normalized(registry):
    original = {"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "string"}}}
    registry.register("s", original, normalize="true")
    reordered = {"properties": {"b": {"type": "string"}, "a": {"type": "string"}}, "type": "object"}
    assert registry.post("/subjects/s?normalize=true", sr_body(reordered)).json()["id"] == 1
    assert registry.post("/subjects/s?normalize=false", sr_body(original)).json()["error_code"] == 40403


def test_referencedby_lists_ids_of_referencing_schemas(registry):
    registry.register("address", object_schema(city="string", closed=False))
    references = [{"name": "address.json", "subject": "address", "version": 1}]
    referrer = registry.registered_id(
        "customer", {"properties": {"home": {"$ref": "address.json"}}}, references=references
    )
    assert registry.get("/subjects/address/versions/1/referencedby").json() == [referrer]
    assert registry.get("/subjects/customer/versions/1/referencedby").json() == []


def test_schemas_list_every_version_or_the_latest_only(registry):
    registry.register("a", V1)
    registry.register("a", V2)
    registry.register("b", V1)
    listed = registry.get("/schemas").json()
    assert [(item["subject"], item["version"]) for item in listed] == [("a", 1), ("a", 2), ("b", 1)]
    latest = registry.get("/schemas?latestOnly=true").json()
    assert [(item["subject"], item["version"]) for item in latest] == [("a", 2), ("b", 1)]


def test_references_are_echoed_by_version_and_id_reads(registry):
    registry.register("address", object_schema(city="string", closed=False))
    references = [{"name": "address.json", "subject": "address", "version": 1}]
    registry.register("customer", {"properties": {"home": {"$ref": "address.json"}}}, references=references)
    assert registry.get("/subjects/customer/versions/1").json()["references"] == references
    assert registry.get("/schemas/ids/2").json()["references"] == references


def test_compatibility_answers_is_compatible_only_without_verbose(registry):
    registry.register("s", V1)
    response = registry.post("/compatibility/subjects/s/versions/latest", sr_body(object_schema(name="integer")))
    assert response.status_code == 200
    assert response.json() == {"is_compatible": False}


def test_verbose_compatibility_carries_confluent_messages_and_structured_differences(registry):
    registry.register("s", V1)
    body = registry.post(
        "/compatibility/subjects/s/versions/1?verbose=true", sr_body(object_schema(name="integer"))
    ).json()
    assert body["is_compatible"] is False
    assert body["messages"][0] == (
        '{errorType:"TYPE_CHANGED", description:"A type at path \'#/properties/name\' is different between '
        "the new schema and the old schema'}"
    )
    assert body["messages"][1] == "{oldSchemaVersion: 1}"
    assert body["messages"][2].startswith("{oldSchema: '")
    assert body["messages"][3] == "{validateFields: 'false', compatibility: 'BACKWARD'}"
    difference = body["differences"][0]
    assert {key: difference[key] for key in ("type", "path", "old_value", "new_value", "direction", "breaks")} == {
        "type": "TYPE_CHANGED",
        "path": "#/properties/name",
        "old_value": "string",
        "new_value": "integer",
        "direction": "backward",
        "breaks": True,
    }
    assert "name" in difference["explanation"] and difference["version"] == 1


def test_verbose_compatibility_of_a_compatible_change_lists_the_allowed_differences(registry):
    registry.register("s", V1)
    body = registry.post("/compatibility/subjects/s/versions?verbose=true", sr_body(V2)).json()
    assert body["is_compatible"] is True
    assert "messages" not in body
    assert [d["type"] for d in body["differences"]] == ["OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"]
    assert body["differences"][0]["breaks"] is False


def test_config_get_uses_compatibility_level_and_put_echoes_compatibility(registry):
    assert registry.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert registry.put("/config", {"compatibility": "full_transitive"}).json() == {"compatibility": "FULL_TRANSITIVE"}
    assert registry.get("/config").json() == {"compatibilityLevel": "FULL_TRANSITIVE"}
    assert registry.put("/config/s", {"compatibility": "Forward", "compatibilityPolicy": "lenient"}).json() == {
        "compatibility": "FORWARD",
        "compatibilityPolicy": "LENIENT",
    }
    assert registry.get("/config/s").json() == {"compatibilityLevel": "FORWARD", "compatibilityPolicy": "LENIENT"}


def test_subject_config_default_to_global_returns_the_config_in_force(registry):
    registry.put("/config", {"compatibility": "FULL"})
    assert registry.get("/config/s?defaultToGlobal=true").json() == {"compatibilityLevel": "FULL"}
    registry.put("/config/s", {"normalize": True})
    assert registry.get("/config/s?defaultToGlobal=true").json() == {"compatibilityLevel": "FULL", "normalize": True}


def test_put_config_with_compatibility_level_key_is_ignored_like_any_unknown_field(registry):
    assert registry.put("/config", {"compatibilityLevel": "NONE"}).json() == {}
    assert registry.get("/config").json() == {"compatibilityLevel": "BACKWARD"}


def test_delete_config_returns_the_previous_config_and_restores_the_default(registry):
    registry.put("/config", {"compatibility": "NONE"})
    assert registry.delete("/config").json() == {"compatibilityLevel": "NONE"}
    assert registry.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    registry.put("/config/s", {"compatibility": "FULL"})
    assert registry.delete("/config/s").json() == {"compatibilityLevel": "FULL"}
    assert registry.get("/config/s").json()["error_code"] == 40408


def test_config_for_the_default_context_subject_is_the_global_config(registry):
    registry.put("/config/:.:", {"compatibility": "NONE"})
    assert registry.get("/config").json() == {"compatibilityLevel": "NONE"}


def test_mode_get_put_delete_globally_and_per_subject(registry):
    assert registry.get("/mode").json() == {"mode": "READWRITE"}
    assert registry.put("/mode/s", {"mode": "readonly"}).json() == {"mode": "READONLY"}
    assert registry.get("/mode/s").json() == {"mode": "READONLY"}
    assert registry.get("/mode/other?defaultToGlobal=true").json() == {"mode": "READWRITE"}
    assert registry.delete("/mode/s").json() == {"mode": "READONLY"}
    assert registry.put("/mode", {"mode": "IMPORT"}).json() == {"mode": "IMPORT"}
    assert registry.delete("/mode").json() == {"mode": "IMPORT"}
    assert registry.get("/mode").json() == {"mode": "READWRITE"}


def test_subjects_with_a_slash_are_routed_whole(registry):
    assert registry.register("team/orders-value", V1).status_code == 200
    assert registry.get("/subjects").json() == ["team/orders-value"]
    assert registry.get("/subjects/team%2Forders-value/versions/1").json()["subject"] == "team/orders-value"


def test_reads_need_a_valid_key(make_registry):
    from tests.schemas.conftest import Registry

    anonymous = Registry(None)
    response = anonymous.get("/subjects")
    assert response.status_code == 401
    assert response.json()["error_code"] == 40101
    bad = Registry("elk_nope.wrong")
    assert bad.get("/subjects").status_code == 401
    reader = make_registry("consume:*")
    assert reader.get("/subjects").status_code == 200


def test_writes_need_the_registry_write_scope(make_registry):
    reader = make_registry("consume:*")
    response = reader.register("s", V1)
    assert response.status_code == 403
    assert response.json()["error_code"] == 40301
    assert reader.put("/config", {"compatibility": "NONE"}).status_code == 403
    assert make_registry("admin").register("s", V1).status_code == 200


def test_bearer_keys_work_as_well_as_basic(make_api):
    api = make_api("registry:write")
    response = api.client.get("/registry/subjects")
    assert response.status_code == 200


def test_a_logged_in_user_may_read_the_registry(client, django_user_model):
    user = django_user_model.objects.create_user("viewer", password="pw-viewer-123")
    client.force_login(user)
    assert client.get("/registry/subjects").status_code == 200
    assert client.post("/registry/subjects/s/versions", sr_body(V1), content_type="application/json").status_code == 403


def test_malformed_json_bodies_are_400(registry):
    response = registry.post("/subjects/s/versions", b"{not json")
    assert response.status_code == 400
    assert response.json()["error_code"] == 400


def test_unknown_paths_are_404_and_wrong_methods_405_in_confluents_envelope(registry):
    assert registry.get("/nowhere").json() == {"error_code": 404, "message": "HTTP 404 Not Found"}
    response = registry.put("/subjects")
    assert response.status_code == 405
    assert response.json() == {"error_code": 405, "message": "HTTP 405 Method Not Allowed"}


def test_list_endpoints_take_a_fixed_number_of_queries(registry, django_assert_max_num_queries):
    for n in range(25):
        registry.register(f"subject-{n}", object_schema(name="string", title={"type": "string", "default": str(n)}))
    with django_assert_max_num_queries(3):
        assert len(registry.get("/subjects").json()) == 25
    with django_assert_max_num_queries(3):
        assert len(registry.get("/schemas").json()) == 25
    with django_assert_max_num_queries(3):
        assert registry.get("/subjects/subject-3/versions").json() == [1]


def test_reading_a_schema_by_id_takes_at_most_one_query_besides_the_key(registry, django_assert_max_num_queries):
    schema_id = registry.registered_id("s", V1)
    registry.get(f"/schemas/ids/{schema_id}")
    with django_assert_max_num_queries(2):  # the API key lookup, and at most one read
        assert registry.get(f"/schemas/ids/{schema_id}").status_code == 200
