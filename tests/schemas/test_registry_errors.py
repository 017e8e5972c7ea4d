"""Every error code the registry answers with, with Confluent's HTTP status and message."""

from __future__ import annotations

import json

import pytest
from django.db import DatabaseError

from tests.schemas.factories import object_schema, sr_body

pytestmark = pytest.mark.django_db

V1 = object_schema(name="string")
V2 = object_schema(name="string", email="string")


def _error(response, status: int, code: int) -> str:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error_code", "message"}
    assert body["error_code"] == code
    return body["message"]


def test_40401_subject_not_found(registry):
    assert _error(registry.get("/subjects/nope/versions"), 404, 40401) == "Subject 'nope' not found."
    _error(registry.get("/subjects/nope/versions/1"), 404, 40401)
    _error(registry.get("/subjects/nope/versions/latest"), 404, 40401)
    _error(registry.delete("/subjects/nope"), 404, 40401)
    _error(registry.post("/subjects/nope", sr_body(V1)), 404, 40401)
    _error(registry.delete("/config/nope"), 404, 40401)
    _error(registry.delete("/mode/nope"), 404, 40401)


def test_40402_version_not_found(registry):
    registry.register("s", V1)
    assert _error(registry.get("/subjects/s/versions/7"), 404, 40402) == "Version 7 not found."
    _error(registry.delete("/subjects/s/versions/7"), 404, 40402)
    registry.register("s", V2)
    registry.delete("/subjects/s/versions/1")
    _error(registry.get("/subjects/s/versions/1"), 404, 40402)


def test_40402_for_a_numeric_compatibility_version_even_when_the_subject_does_not_exist(registry):
    message = _error(registry.post("/compatibility/subjects/nope/versions/3", sr_body(V1)), 404, 40402)
    assert message == "Version 3 not found."


def test_40403_schema_not_found(registry):
    assert _error(registry.get("/schemas/ids/99"), 404, 40403) == "Schema 99 not found"
    _error(registry.get("/schemas/ids/99/schema"), 404, 40403)
    _error(registry.get("/schemas/ids/99/subjects"), 404, 40403)
    _error(registry.get("/schemas/ids/99/versions"), 404, 40403)
    _error(registry.get("/schemas/ids/abc"), 404, 40403)
    registry.register("s", V1)
    assert _error(registry.post("/subjects/s", sr_body(V2)), 404, 40403) == "Schema not found"


@pytest.mark.parametrize("schema_id", ["24626168415742926848", "2147483648", "0", "-1"])
@pytest.mark.parametrize("suffix", ["", "/schema", "/subjects", "/versions"])
def test_an_id_out_of_a_java_ints_range_is_40403_not_a_500(registry, schema_id, suffix):
    # Past 64 bits SQLite could not even bind the id (OverflowError, a 500; found by schemathesis).
    message = _error(registry.get(f"/schemas/ids/{schema_id}{suffix}"), 404, 40403)
    assert schema_id in message


def test_40404_soft_deleting_a_soft_deleted_subject(registry):
    registry.register("s", V1)
    registry.delete("/subjects/s")
    message = _error(registry.delete("/subjects/s"), 404, 40404)
    assert message == "Subject 's' was soft deleted.Set permanent=true to delete permanently"


def test_40405_permanent_subject_delete_without_soft_delete(registry):
    registry.register("s", V1)
    message = _error(registry.delete("/subjects/s?permanent=true"), 404, 40405)
    assert message == "Subject 's' was not deleted first before being permanently deleted"


def test_40406_soft_deleting_a_soft_deleted_version(registry):
    registry.register("s", V1)
    registry.register("s", V2)
    registry.delete("/subjects/s/versions/1")
    message = _error(registry.delete("/subjects/s/versions/1"), 404, 40406)
    assert message == "Subject 's' Version 1 was soft deleted.Set permanent=true to delete permanently"


def test_40407_permanent_version_delete_without_soft_delete(registry):
    registry.register("s", V1)
    message = _error(registry.delete("/subjects/s/versions/1?permanent=true"), 404, 40407)
    assert message == "Subject 's' Version 1 was not deleted first before being permanently deleted"


def test_40408_subject_without_its_own_compatibility(registry):
    registry.register("s", V1)
    message = _error(registry.get("/config/s"), 404, 40408)
    assert message == "Subject 's' does not have subject-level compatibility configured"


def test_40409_subject_without_its_own_mode(registry):
    message = _error(registry.get("/mode/s"), 404, 40409)
    assert message == "Subject 's' does not have subject-level mode configured"


def test_409_incompatible_schema_opens_as_confluent_then_says_what_breaks_before_the_details(registry):
    registry.register("s", V1)
    message = _error(registry.register("s", object_schema(name="integer")), 409, 40901)
    assert message.startswith(
        'Schema being registered is incompatible with an earlier schema for subject "s": Field \'name\' is '
    )
    assert ' Details: [{errorType:"TYPE_CHANGED", description:"A type at path \'#/properties/name\'' in message
    assert message.endswith("{validateFields: 'false', compatibility: 'BACKWARD'}]")
    assert "{oldSchema: " not in message, "the old schema is read at {oldSchemaVersion: 1}, not pasted in"


def test_incompatible_code_is_409_when_the_legacy_setting_asks_for_it(registry, settings):
    settings.EVENTLINE = {**settings.EVENTLINE, "REGISTRY_INCOMPATIBLE_ERROR_CODE": 409}
    registry.register("s", V1)
    _error(registry.register("s", object_schema(name="integer")), 409, 409)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"schemaType": "JSON", "schema": "{not json"}, "not valid JSON"),
        ({"schemaType": "JSON", "schema": ""}, "Empty schema"),
        ({"schemaType": "JSON"}, "Empty schema"),
        ({"schemaType": "JSON", "schema": '{"type": "strin"}'}, "at /type"),
        (
            {"schemaType": "JSON", "schema": '{"$schema": "http://example.com/my-draft", "type": "string"}'},
            "unknown JSON Schema draft",
        ),
        (
            {"schemaType": "JSON", "schema": '{"$ref": "#/definitions/missing"}'},
            "Unresolved $ref '#/definitions/missing'",
        ),
        ({"schemaType": "JSON", "schema": '{"$ref": "https://example.com/remote.json"}'}, "never fetched"),
        ({"schemaType": "JSON", "schema": "[1, 2]"}, "object or a boolean"),
        ({"schemaType": "JSON", "schema": {"type": "string"}}, "must be a string"),
        ({"schema": '{"type": "strin"}'}, "Invalid Avro schema"),  # no schemaType: Avro, as in Confluent
        ({"schemaType": "AVRO", "schema": '{"type": "record", "name": "A"}'}, "Invalid Avro schema"),
        ({"schemaType": "PROTOBUF", "schema": "syntax = 'proto3'; message A { B b = 1; }"}, '"B" is not defined'),
        ({"schemaType": "XML", "schema": "<x/>"}, "supports JSON"),
    ],
)
def test_42201_invalid_schema_names_the_problem(registry, body, fragment):
    message = _error(registry.post("/subjects/s/versions", body), 422, 42201)
    assert fragment in message


def test_42201_reference_to_a_version_that_does_not_exist(registry):
    references = [{"name": "address.json", "subject": "address", "version": 1}]
    message = _error(registry.register("s", {"$ref": "address.json"}, references=references), 422, 42201)
    assert "address" in message and "does not exist" in message


def test_42201_explicit_version_that_is_not_the_next_one(registry):
    registry.register("s", V1)
    response = registry.post("/subjects/s/versions", sr_body(V2, version=5))
    assert _error(response, 422, 42201) == "Version is not one more than previous version"
    assert registry.post("/subjects/s/versions", sr_body(V2, version=2)).json()["version"] == 2


@pytest.mark.parametrize("version", ["0", "-2", "abc", "2147483648", "1.5"])
def test_42202_invalid_version(registry, version):
    registry.register("s", V1)
    message = _error(registry.get(f"/subjects/s/versions/{version}"), 422, 42202)
    assert message == (
        f"The specified version '{version}' is not a valid version id. "
        'Allowed values are between [1, 2^31-1] and the string "latest"'
    )
    _error(registry.delete(f"/subjects/s/versions/{version}"), 422, 42202)
    _error(registry.post(f"/compatibility/subjects/s/versions/{version}", sr_body(V1)), 422, 42202)


def test_42203_invalid_compatibility_level(registry):
    message = _error(registry.put("/config", {"compatibility": "SIDEWAYS"}), 422, 42203)
    assert message.startswith("Invalid compatibility level. Valid values are none, backward")
    _error(registry.put("/config/s", {"compatibility": 3}), 422, 42203)
    _error(registry.put("/config/s", {"compatibilityPolicy": "LOOSE"}), 422, 42203)


def test_42204_invalid_mode_and_forward_on_a_subject(registry):
    assert _error(registry.put("/mode", {"mode": "WRITEONLY"}), 422, 42204) == (
        "Invalid mode. Valid values are READWRITE, READONLY, IMPORT and FORWARD."
    )
    assert (
        _error(registry.put("/mode/s", {"mode": "FORWARD"}), 422, 42204)
        == "Forward mode only supported on global level"
    )
    assert registry.put("/mode", {"mode": "FORWARD"}).json() == {"mode": "FORWARD"}


def test_42205_read_only_refuses_registration_and_deletes(registry):
    registry.register("s", V1)
    registry.put("/mode/s", {"mode": "READONLY"})
    assert _error(registry.register("s", V2), 422, 42205) == "Subject s in context . is in read-only mode"
    _error(registry.delete("/subjects/s"), 422, 42205)
    _error(registry.delete("/subjects/s/versions/1"), 422, 42205)
    registry.put("/mode", {"mode": "READONLY"})
    _error(registry.register("other", V1), 422, 42205)


def test_42205_explicit_id_outside_import_mode(registry):
    message = _error(registry.post("/subjects/s/versions", sr_body(V1, id=42)), 422, 42205)
    assert message == "Subject s in context . is not in import mode"


def test_42205_switching_to_import_with_live_subjects_needs_force(registry):
    registry.register("s", V1)
    assert (
        _error(registry.put("/mode", {"mode": "IMPORT"}), 422, 42205) == "Cannot import since found existing subjects"
    )
    _error(registry.put("/mode/s", {"mode": "IMPORT"}), 422, 42205)
    assert registry.put("/mode/s?force=true", {"mode": "IMPORT"}).json() == {"mode": "IMPORT"}


def test_42206_a_referenced_version_cannot_be_deleted(registry):
    registry.register("address", object_schema(city="string", closed=False))
    references = [{"name": "address.json", "subject": "address", "version": 1}]
    registry.register("customer", {"properties": {"home": {"$ref": "address.json"}}}, references=references)
    message = _error(registry.delete("/subjects/address/versions/1"), 422, 42206)
    assert message == "One or more references exist to the schema {magic=1,keytype=SCHEMA,subject=address,version=1}."
    _error(registry.delete("/subjects/address"), 422, 42206)
    # Once the referrer is soft-deleted the soft delete goes through; permanent deletion waits
    # until the referrer is gone for good, since its id must stay resolvable.
    registry.delete("/subjects/customer")
    assert registry.delete("/subjects/address").json() == [1]
    _error(registry.delete("/subjects/address?permanent=true"), 422, 42206)
    registry.delete("/subjects/customer?permanent=true")
    assert registry.delete("/subjects/address?permanent=true").json() == [1]


def test_42207_import_with_an_id_bound_to_other_content(registry):
    registry.put("/mode", {"mode": "IMPORT"})
    registry.post("/subjects/a/versions", sr_body(V1, id=10))
    message = _error(registry.post("/subjects/b/versions", sr_body(V2, id=10)), 422, 42207)
    assert message == "The ID of an imported schema does not match the existing ID"


@pytest.mark.parametrize("subject", ["__GLOBAL", "__EMPTY", "bad%01name", "tab%09name"])
def test_42208_invalid_subject(registry, subject):
    message = _error(registry.register(subject, V1), 422, 42208)
    assert message.endswith("is not a valid.")
    _error(registry.put(f"/config/{subject}", {"compatibility": "NONE"}), 422, 42208)


def test_50001_store_error(registry, monkeypatch):
    from schemas import selectors

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(selectors, "subject_names", broken)
    message = _error(registry.get("/subjects"), 500, 50001)
    assert "store" in message


def _properties(levels: int, leaf: str = "string") -> dict:
    schema: dict = {"type": leaf}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def _items(levels: int, leaf: str = "string") -> dict:
    schema: dict = {"type": leaf}
    for _ in range(levels):
        schema = {"type": "array", "items": schema}
    return schema


def _ref_chain(links: int, leaf: str = "string") -> dict:
    """Shallow as JSON, deep once each `$ref` is followed: a0 -> a1 -> ... -> a<links>."""
    defs = {f"a{i}": {"type": "object", "properties": {"x": {"$ref": f"#/$defs/a{i + 1}"}}} for i in range(links)}
    defs[f"a{links}"] = {"type": leaf}
    return {"$defs": defs, "$ref": "#/$defs/a0"}


@pytest.mark.parametrize(
    "schema", [_properties(400), _items(500), _ref_chain(200)], ids=["properties", "items", "refs"]
)
def test_42201_a_schema_nested_deeper_than_the_limit_in_registration_and_compatibility_checks(
    registry, schema, settings
):
    """These used to end in a server error: the compatibility checker ran out of recursion."""
    limit = str(settings.EVENTLINE["MAX_JSON_DEPTH"])
    message = _error(registry.register("s", json.dumps(schema)), 422, 42201)  # past orjson's 254 levels
    assert limit in message and "EVENTLINE_MAX_JSON_DEPTH" in message
    registry.register("s", V1)
    for path in ("/compatibility/subjects/s/versions/latest", "/compatibility/subjects/s/versions", "/subjects/s"):
        message = _error(registry.post(path, sr_body(schema)), 422, 42201)
        assert limit in message


def test_schemas_at_the_limit_register_and_are_checked_for_compatibility(registry, settings):
    limit = settings.EVENTLINE["MAX_JSON_DEPTH"]
    at_limit = {
        "properties": _properties((limit - 1) // 2),  # object + properties per level, and the leaf
        "items": _items(limit - 1),
        "refs": _ref_chain((limit - 4) // 3),  # root, $defs, then object + properties + holder per link
    }
    for name, schema in at_limit.items():
        assert registry.register(name, schema).status_code == 200, name
        changed = registry.post(f"/compatibility/subjects/{name}/versions/latest", sr_body(_swap_leaf(schema)))
        assert changed.status_code == 200, (name, changed.content)
        assert changed.json() == {"is_compatible": False}, name


def _swap_leaf(schema: dict) -> dict:
    return json.loads(json.dumps(schema).replace('"string"', '"integer"'))


def test_a_recursive_schema_is_not_too_deep_a_reference_back_into_its_own_path_counts_once(registry):
    tree = {
        "$defs": {
            "node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}
        },
        "$ref": "#/$defs/node",
    }
    assert registry.register("tree", tree).status_code == 200
    loop = {
        "$defs": {"a": {"allOf": [{"$ref": "#/$defs/b"}]}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}},
        "$ref": "#/$defs/a",
    }
    assert registry.register("loop", loop).status_code == 200
    response = registry.post("/compatibility/subjects/tree/versions/latest", sr_body(tree))
    assert response.json() == {"is_compatible": True}


def test_a_body_nested_deeper_than_the_limit_or_holding_a_nul_is_422_not_a_store_error(registry, settings):
    limit = settings.EVENTLINE["MAX_JSON_DEPTH"]
    deep = sr_body(V1, references=[{"name": "x", "subject": "y", "version": 1, "extra": _items(limit)}])
    message = _error(registry.post("/subjects/s/versions", deep), 422, 422)
    assert str(limit) in message
    past_the_parser = b'{"schema": "{}", "x": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    assert _error(registry.post("/subjects/s/versions", past_the_parser), 422, 422) == message
    nul = sr_body(
        {"$ref": "address.json"}, references=[{"name": "address.json", "subject": "add\x00ress", "version": 1}]
    )
    message = _error(registry.post("/subjects/s/versions", nul), 422, 422)
    assert "references[0].subject" in message and "NUL" in message
