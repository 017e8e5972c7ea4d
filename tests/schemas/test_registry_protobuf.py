"""Protobuf through /registry/ (issue 15): `.proto` text (proto2 and proto3) compiled by protoc,
ids deduplicated on the compiled descriptor, Confluent's Protobuf compatibility rules, imports
as references, the well-known types without registration, and produce validated in Protobuf's
JSON mapping."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

ORDER = '''
syntax = "proto3";
package shop;

import "google/protobuf/timestamp.proto";

// An order as the shop writes it.
message Order {
  int64 id = 1;
  int32 total = 2;
  google.protobuf.Timestamp placed_at = 3;
  repeated string tags = 4;
  map<string, int32> quantities = 5;
  Status status = 6;
  enum Status {
    UNKNOWN = 0;
    PLACED = 1;
  }
}
'''


def proto(schema: str, **extra):
    return {"schemaType": "PROTOBUF", "schema": schema, **extra}


def test_a_proto3_schema_registers_and_reads_back_as_given(registry):
    response = registry.post("/subjects/orders-value/versions", proto(ORDER))

    assert response.status_code == 200, response.content
    schema_id = response.json()["id"]
    by_id = registry.get(f"/schemas/ids/{schema_id}").json()
    assert by_id == {"schema": ORDER, "schemaType": "PROTOBUF"}
    assert registry.get("/subjects/orders-value/versions/1").json()["schemaType"] == "PROTOBUF"
    assert registry.get("/schemas/types").json() == ["JSON", "AVRO", "PROTOBUF"]


def test_comments_and_formatting_do_not_make_a_new_id(registry):
    first = registry.post("/subjects/s/versions", proto(ORDER)).json()["id"]
    squeezed = " ".join(line.split("//")[0].strip() for line in ORDER.splitlines())

    again = registry.post("/subjects/s/versions", proto(squeezed))
    found = registry.post("/subjects/s", proto("/* other words */\n" + squeezed))

    assert again.json()["id"] == first
    assert registry.get("/subjects/s/versions").json() == [1]
    assert found.status_code == 200 and found.json()["id"] == first


def test_a_field_number_changes_the_identity(registry):
    first = registry.post("/subjects/a/versions", proto(ORDER)).json()["id"]
    second = registry.post("/subjects/b/versions", proto(ORDER.replace("int32 total = 2", "int32 total = 7")))
    assert second.json()["id"] != first


def test_a_base64_descriptor_is_the_same_schema_and_format_serialized_answers_one(registry):
    import base64

    from google.protobuf import descriptor_pb2

    schema_id = registry.post("/subjects/s/versions", proto(ORDER)).json()["id"]
    serialized = registry.get(f"/schemas/ids/{schema_id}?format=serialized").json()["schema"]
    descriptor = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(serialized))

    assert [message.name for message in descriptor.message_type] == ["Order"]
    same = registry.post("/subjects/s", proto(serialized))
    assert same.status_code == 200 and same.json()["id"] == schema_id
    elsewhere = registry.post("/subjects/t/versions", proto(serialized)).json()["id"]
    assert elsewhere == schema_id
    version = registry.get("/subjects/s/versions/1?format=serialized").json()
    assert version["schema"] == serialized


def test_normalize_stores_the_rendered_text(registry):
    schema_id = registry.post("/subjects/s/versions?normalize=true", proto(ORDER)).json()["id"]

    stored = registry.get(f"/schemas/ids/{schema_id}").json()["schema"]

    assert "//" not in stored and "message Order {" in stored
    assert "  .google.protobuf.Timestamp placed_at = 3;" in stored


def test_proto2_required_and_defaults_register(registry):
    schema = 'syntax = "proto2"; message A { required int32 id = 1; optional string s = 2 [default = "x"]; }'
    assert registry.post("/subjects/s/versions", proto(schema)).status_code == 200


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ('syntax = "proto3"; message A { Foo f = 1; }', '"Foo" is not defined'),
        ('syntax = "proto3"; message A { int32 a = 1; int32 b = 1; }', "Field number 1 has already been used"),
        ('syntax = "proto3"; message A { int32 a = 1 }', "Expected \";\""),
        ('syntax = "proto3"; import "other.proto"; message A {}', "other.proto"),
        ('syntax = "proto3"; message A { reserved 2; int32 a = 2; }', "reserved"),
        ("", "Empty schema"),
    ],
)
def test_invalid_protobuf_is_42201_with_protocs_reason(registry, schema, reason):
    response = registry.post("/subjects/s/versions", proto(schema))

    assert response.status_code == 422, response.content
    assert response.json()["error_code"] == 42201
    assert reason in response.json()["message"]


def test_an_import_is_a_reference_named_by_its_path(registry):
    address = 'syntax = "proto3"; package shop; message Address { string city = 1; }'
    registry.post("/subjects/address.proto/versions", proto(address))
    customer = 'syntax = "proto3"; package shop; import "address.proto"; message Customer { Address home = 1; }'
    references = [{"name": "address.proto", "subject": "address.proto", "version": 1}]

    response = registry.post("/subjects/customer-value/versions", proto(customer, references=references))

    assert response.status_code == 200, response.content
    assert registry.get("/subjects/address.proto/versions/1/referencedby").json() == [response.json()["id"]]
    missing = registry.post("/subjects/other/versions", proto(customer))
    assert missing.status_code == 422 and "address.proto" in missing.json()["message"]


def test_a_change_in_an_imported_message_is_judged_through_the_field(registry):
    registry.post("/subjects/address.proto/versions", proto('syntax = "proto3"; message Address { string city = 1; }'))
    registry.post(
        "/subjects/address.proto/versions?", proto('syntax = "proto3"; message Address { int32 city = 1; }'),
    )  # refused (string -> int32) in its own subject
    registry.put("/config/address.proto", {"compatibility": "NONE"})
    registry.post("/subjects/address.proto/versions", proto('syntax = "proto3"; message Address { int32 city = 1; }'))
    customer = 'syntax = "proto3"; import "address.proto"; message Customer { Address home = 1; }'
    registry.post(
        "/subjects/c/versions", proto(customer, references=[{"name": "address.proto", "subject": "address.proto", "version": 1}])
    )

    answer = registry.post(
        "/compatibility/subjects/c/versions/latest?verbose=true",
        proto(customer, references=[{"name": "address.proto", "subject": "address.proto", "version": 2}]),
    ).json()

    assert answer["is_compatible"] is False
    assert any("FIELD_SCALAR_KIND_CHANGED" in message and "#/Address/1" in message for message in answer["messages"])
    assert any("FIELD_NAMED_TYPE_CHANGED" in message and "#/Customer/1" in message for message in answer["messages"])


def test_backward_refuses_a_scalar_kind_change_and_names_the_path(registry):
    registry.post("/subjects/s/versions", proto(ORDER))

    refused = registry.post("/subjects/s/versions", proto(ORDER.replace("int32 total = 2", "string total = 2")))
    widened = registry.post("/subjects/s/versions", proto(ORDER.replace("int32 total = 2", "int64 total = 2")))

    assert refused.status_code == 409, refused.content
    assert "FIELD_SCALAR_KIND_CHANGED" in refused.json()["message"] and "#/Order/2" in refused.json()["message"]
    assert widened.status_code == 200, widened.content


def test_removing_a_message_is_refused_and_a_renamed_field_is_not(registry):
    two = ORDER + "\nmessage Refund { int64 order_id = 1; }\n"
    registry.post("/subjects/s/versions", proto(two))

    removed = registry.post("/compatibility/subjects/s/versions/latest?verbose=true", proto(ORDER)).json()
    renamed = registry.post("/compatibility/subjects/s/versions/latest", proto(two.replace("int32 total", "int32 amount")))

    assert removed["is_compatible"] is False and "MESSAGE_REMOVED" in removed["messages"][0]
    assert renamed.json() == {"is_compatible": True}


def test_transitive_levels_check_every_version(registry):
    registry.put("/config/s", {"compatibility": "BACKWARD_TRANSITIVE"})
    registry.post("/subjects/s/versions", proto('syntax = "proto3"; message A { int32 a = 1; }'))
    registry.post("/subjects/s/versions", proto('syntax = "proto3"; message A { }'))  # field removed: compatible

    reused = registry.post("/subjects/s/versions", proto('syntax = "proto3"; message A { string a = 1; }'))

    assert reused.status_code == 409
    assert "FIELD_SCALAR_KIND_CHANGED" in reused.json()["message"] and "{oldSchemaVersion: 1}" in reused.json()["message"]


def test_a_schema_type_change_is_incompatible(registry):
    registry.post("/subjects/s/versions", {"schemaType": "JSON", "schema": '{"type": "object"}'})
    refused = registry.post("/subjects/s/versions", proto(ORDER))
    assert refused.status_code == 409 and "different schema type" in refused.json()["message"]


def test_produce_validates_data_in_protobufs_json_mapping(registry, api, make_topic):
    make_topic("orders")
    registry.post("/subjects/orders-value/versions", proto(ORDER))

    good = api.post(
        "/api/v1/topics/orders/events",
        [{"data": {"id": "9007199254740993", "total": 5, "placedAt": "2026-12-07T06:31:21Z", "tags": ["a"],
                   "quantities": {"sku": 2}, "status": "PLACED"}}],
    )
    bad = api.post(
        "/api/v1/topics/orders/events",
        [{"data": {"id": "one", "total": 2**31, "placed_at": "yesterday", "tags": "a", "quantities": {"sku": "x"},
                   "status": "LOST", "extra": 1}}],
    )

    assert good.status_code == 200, good.content
    assert bad.status_code == 422
    errors = {error["pointer"]: error["reason"] for error in bad.json()["error"]["details"]["errors"]}
    assert set(errors) == {
        "/data/id", "/data/total", "/data/placed_at", "/data/tags", "/data/quantities/sku", "/data/status", "/data/extra",
    }, errors
    assert errors["/data/id"].startswith("must be a int64")
    assert errors["/data/total"].startswith("is out of the int32 range")
    assert errors["/data/placed_at"].startswith("must be an RFC 3339 timestamp")
    assert errors["/data/extra"].startswith("is not a field of shop.Order")
