"""Avro through /registry/ (issue 15): the default schema type, as in Confluent; ids deduplicated
on the canonical form; Avro's resolution rules at every level; references to named types of
other subjects; and event data validated against an Avro-bound topic in Avro's JSON encoding."""

from __future__ import annotations

import json

import pytest

from tests.schemas.conftest import SR_JSON

pytestmark = pytest.mark.django_db

ORDER_V1 = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [{"name": "id", "type": "long"}, {"name": "total", "type": "int"}],
}


def avro_body(schema, **extra):
    return {"schema": schema if isinstance(schema, str) else json.dumps(schema), **extra}


def with_fields(*fields, base=ORDER_V1):
    return {**base, "fields": [*base["fields"], *fields]}


def test_a_registration_without_schema_type_is_avro_and_answers_as_confluent_does(registry):
    response = registry.post("/subjects/orders-value/versions", avro_body(ORDER_V1))

    assert response.status_code == 200, response.content
    schema_id = response.json()["id"]
    by_id = registry.get(f"/schemas/ids/{schema_id}").json()
    assert "schemaType" not in by_id, "Confluent leaves schemaType out for AVRO"
    assert json.loads(by_id["schema"]) == ORDER_V1
    version = registry.get("/subjects/orders-value/versions/1").json()
    assert version["id"] == schema_id and "schemaType" not in version
    assert "AVRO" in registry.get("/schemas/types").json()


def test_formatting_key_order_and_docs_do_not_make_a_new_id(registry):
    first = registry.post("/subjects/s/versions", avro_body(ORDER_V1)).json()["id"]
    reordered = {
        "fields": [{"type": "long", "name": "id", "doc": "the order id"}, {"name": "total", "type": "int"}],
        "name": "Order",
        "type": "record",
        "namespace": "shop",
        "doc": "An order",
    }
    spaced = json.dumps(reordered, indent=4)

    again = registry.post("/subjects/s/versions", avro_body(spaced))

    assert again.json()["id"] == first
    assert registry.get("/subjects/s/versions").json() == [1]
    found = registry.post("/subjects/s", avro_body(spaced))
    assert found.status_code == 200 and found.json()["id"] == first


def test_a_default_changes_the_identity(registry):
    first = registry.post(
        "/subjects/s/versions", avro_body(with_fields({"name": "note", "type": "string", "default": ""}))
    )
    second = registry.post(
        "/subjects/other/versions", avro_body(with_fields({"name": "note", "type": "string", "default": "n/a"}))
    )
    assert first.json()["id"] != second.json()["id"]


def test_normalize_stores_the_canonical_form(registry):
    spaced = json.dumps(
        {"namespace": "shop", "name": "Order", "type": "record", "fields": ORDER_V1["fields"]}, indent=2
    )

    schema_id = registry.post("/subjects/s/versions?normalize=true", avro_body(spaced)).json()["id"]

    stored = registry.get(f"/schemas/ids/{schema_id}").json()["schema"]
    assert (
        stored
        == '{"name":"shop.Order","type":"record","fields":[{"name":"id","type":"long"},{"name":"total","type":"int"}]}'
    )


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"type": "record", "name": "A"}, "fields"),
        ({"type": "record", "name": "A", "fields": [{"name": "x", "type": "Nope"}]}, "Nope"),
        ({"type": "enum", "name": "E", "symbols": ["A", "A"]}, ""),
        ({"type": "record", "name": "A", "fields": [{"name": "x", "type": "int", "default": "one"}]}, ""),
        ("not json", "JSON"),
    ],
)
def test_invalid_avro_is_42201(registry, schema, reason):
    response = registry.post("/subjects/s/versions", avro_body(schema))

    assert response.status_code == 422, response.content
    assert response.json()["error_code"] == 42201
    assert reason in response.json()["message"]


def test_backward_adding_a_field_needs_a_default(registry):
    registry.post("/subjects/s/versions", avro_body(ORDER_V1))

    refused = registry.post("/subjects/s/versions", avro_body(with_fields({"name": "email", "type": "string"})))
    accepted = registry.post(
        "/subjects/s/versions", avro_body(with_fields({"name": "email", "type": ["null", "string"], "default": None}))
    )

    assert refused.status_code == 409, refused.content
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in refused.json()["message"]
    assert accepted.status_code == 200, accepted.content


def test_verbose_compatibility_names_the_rule_and_path(registry):
    registry.post("/subjects/s/versions", avro_body(ORDER_V1))
    narrowed = {**ORDER_V1, "fields": [{"name": "id", "type": "int"}, {"name": "total", "type": "int"}]}

    answer = registry.post("/compatibility/subjects/s/versions/latest?verbose=true", avro_body(narrowed)).json()

    assert answer["is_compatible"] is False
    assert any("TYPE_MISMATCH" in message and "/fields/0/type" in message for message in answer["messages"])


def test_type_promotion_is_backward_compatible_but_not_forward(registry):
    registry.post("/subjects/s/versions", avro_body(ORDER_V1))
    widened = {**ORDER_V1, "fields": [{"name": "id", "type": "long"}, {"name": "total", "type": "double"}]}
    check = "/compatibility/subjects/s/versions/latest"

    assert registry.post(check, avro_body(widened)).json()["is_compatible"] is True
    registry.put("/config/s", {"compatibility": "FORWARD"})
    assert registry.post(check, avro_body(widened)).json()["is_compatible"] is False


def test_transitive_levels_check_every_version(registry):
    registry.put("/config/s", {"compatibility": "BACKWARD_TRANSITIVE"})
    registry.post("/subjects/s/versions", avro_body({"type": "enum", "name": "Status", "symbols": ["A", "B"]}))
    registry.post(
        "/subjects/s/versions",
        avro_body({"type": "enum", "name": "Status", "symbols": ["A", "B", "C"], "default": "A"}),
    )
    # Readable after v2 (it has a default) but not after v1 (no default there, B missing): v1 wrote B.
    narrowed = {"type": "enum", "name": "Status", "symbols": ["A", "C"]}

    answer = registry.post("/subjects/s/versions", avro_body(narrowed))

    assert answer.status_code == 409
    assert "MISSING_ENUM_SYMBOLS" in answer.json()["message"]


def test_a_reference_to_a_named_type_of_another_subject(registry):
    address = {"type": "record", "name": "Address", "namespace": "shop", "fields": [{"name": "city", "type": "string"}]}
    registry.post("/subjects/address/versions", avro_body(address))
    customer = {
        "type": "record",
        "name": "Customer",
        "namespace": "shop",
        "fields": [{"name": "home", "type": "shop.Address"}],
    }
    references = [{"name": "shop.Address", "subject": "address", "version": 1}]

    response = registry.post("/subjects/customer/versions", avro_body(customer, references=references))

    assert response.status_code == 200, response.content
    assert registry.get("/subjects/address/versions/1/referencedby").json() == [response.json()["id"]]
    missing = registry.post("/subjects/other/versions", avro_body(customer))
    assert missing.status_code == 422 and "shop.Address" in missing.json()["message"]


def test_produce_validates_data_against_the_bound_avro_schema(registry, api, make_topic):
    make_topic("orders")
    schema = with_fields({"name": "email", "type": ["null", "string"], "default": None})
    registry.post("/subjects/orders-value/versions", avro_body(schema))

    good = api.post("/api/v1/topics/orders/events", [{"data": {"id": 1, "total": 5, "email": {"string": "a@b.c"}}}])
    bad = api.post("/api/v1/topics/orders/events", [{"data": {"id": "one", "email": "a@b.c", "extra": 1}}])

    assert good.status_code == 200, good.content
    assert bad.status_code == 422
    errors = {error["pointer"]: error["reason"] for error in bad.json()["error"]["details"]["errors"]}
    assert set(errors) == {"/data/id", "/data/total", "/data/email", "/data/extra"}, errors
    assert errors["/data/id"].startswith("must be an Avro long")
    assert errors["/data/total"].startswith("is required")
    assert errors["/data/email"].startswith('must be null or {"<branch>": value}')
    assert errors["/data/extra"].startswith("is not a field of shop.Order")


def test_content_type_is_confluents(registry):
    response = registry.post("/subjects/s/versions", avro_body(ORDER_V1))
    assert response["Content-Type"] == SR_JSON


ADDRESS_V1 = {
    "type": "record",
    "name": "Address",
    "namespace": "shop",
    "fields": [{"name": "city", "type": "string"}, {"name": "zip", "type": "string"}],
}
SHIPPED_ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [{"name": "id", "type": "long"}, {"name": "ship_to", "type": "shop.Address"}],
}


def address_reference(version):
    return [{"name": "shop.Address", "subject": "address-value", "version": version}]


@pytest.fixture
def shipped_orders(registry):
    """address-value v1 holds shop.Address; orders-value v1 uses it through a reference."""
    assert registry.post("/subjects/address-value/versions", avro_body(ADDRESS_V1)).status_code == 200
    response = registry.post(
        "/subjects/orders-value/versions", avro_body(SHIPPED_ORDER, references=address_reference(1))
    )
    assert response.status_code == 200, response.content
    return response.json()["id"]


def test_a_version_an_avro_schema_references_cannot_be_deleted(registry, shipped_orders):
    refused = registry.delete("/subjects/address-value/versions/1")

    assert refused.status_code == 422, refused.content
    assert refused.json() == {
        "error_code": 42206,
        "message": "One or more references exist to the schema "
        "{magic=1,keytype=SCHEMA,subject=address-value,version=1}.",
    }
    assert registry.delete("/subjects/address-value").json()["error_code"] == 42206
    assert registry.get("/subjects/address-value/versions").json() == [1], "nothing was deleted"
    registry.delete("/subjects/orders-value")
    registry.delete("/subjects/orders-value?permanent=true")
    assert registry.delete("/subjects/address-value/versions/1").json() == 1, "free once the referrer is gone"


def test_compatibility_reads_the_avro_types_a_candidate_references(registry, shipped_orders):
    registry.put("/config/address-value", {"compatibility": "NONE"})
    retyped = {**ADDRESS_V1, "fields": [{"name": "city", "type": "string"}, {"name": "zip", "type": "int"}]}
    extended = {**ADDRESS_V1, "fields": [*ADDRESS_V1["fields"], {"name": "country", "type": "string", "default": "NL"}]}
    assert registry.post("/subjects/address-value/versions", avro_body(retyped)).json()["version"] == 2
    assert registry.post("/subjects/address-value/versions", avro_body(extended)).json()["version"] == 3
    check = "/compatibility/subjects/orders-value/versions/latest?verbose=true"

    # The order's own text is unchanged: only the referenced Address differs from what v1 used.
    breaking = registry.post(check, avro_body(SHIPPED_ORDER, references=address_reference(2))).json()
    compatible = registry.post(check, avro_body(SHIPPED_ORDER, references=address_reference(3))).json()

    assert breaking["is_compatible"] is False
    assert breaking["messages"][0].startswith("{errorType:'TYPE_MISMATCH'")
    assert "'/fields/1/type/fields/1/type'" in breaking["messages"][0], "the path runs into Address's zip"
    assert "{validateFields: 'false', compatibility: 'BACKWARD'}" in breaking["messages"]
    assert compatible == {"is_compatible": True}
    refused = registry.post(
        "/subjects/orders-value/versions", avro_body(SHIPPED_ORDER, references=address_reference(2))
    )
    assert refused.status_code == 409 and "/fields/1/type/fields/1/type" in refused.json()["message"]


def test_dropping_a_field_of_a_referenced_type_breaks_forward_only(registry, shipped_orders):
    # Avro's reader ignores a field the writer has: dropping one is what BACKWARD allows; an old
    # reader, though, needs a default for the field new writers no longer send.
    registry.put("/config/address-value", {"compatibility": "NONE"})
    dropped = {**ADDRESS_V1, "fields": [{"name": "city", "type": "string"}]}
    registry.post("/subjects/address-value/versions", avro_body(dropped))
    candidate = avro_body(SHIPPED_ORDER, references=address_reference(2))
    check = "/compatibility/subjects/orders-value/versions/latest?verbose=true"

    backward = registry.post(check, candidate).json()
    registry.put("/config/orders-value", {"compatibility": "FORWARD"})
    forward = registry.post(check, candidate).json()

    assert backward == {"is_compatible": True}
    assert forward["is_compatible"] is False
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in forward["messages"][0]
    assert "/fields/1/type/fields/1" in forward["messages"][0]


def test_a_lookup_finds_an_avro_schema_by_its_text_and_references(registry, shipped_orders):
    found = registry.post("/subjects/orders-value", avro_body(SHIPPED_ORDER, references=address_reference(1)))

    assert found.status_code == 200, found.content
    assert (found.json()["id"], found.json()["version"]) == (shipped_orders, 1)
    assert found.json()["references"] == address_reference(1)
    # Without its references the text names a type it does not define: as Confluent, that is an
    # invalid schema (42201), not one the subject lacks.
    unresolved = registry.post("/subjects/orders-value", avro_body(SHIPPED_ORDER))
    assert unresolved.status_code == 422
    assert unresolved.json()["error_code"] == 42201 and "shop.Address" in unresolved.json()["message"]
    extended = {**ADDRESS_V1, "fields": [*ADDRESS_V1["fields"], {"name": "country", "type": "string", "default": "NL"}]}
    assert registry.post("/subjects/address-value/versions", avro_body(extended)).json()["version"] == 2
    other_version = registry.post("/subjects/orders-value", avro_body(SHIPPED_ORDER, references=address_reference(2)))
    assert other_version.json()["error_code"] == 40403
