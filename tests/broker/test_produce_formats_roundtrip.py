"""Events on topics bound to Avro and Protobuf subjects: produced as JSON in the format's own JSON
encoding (Avro's tagged unions, Protobuf's JSON mapping), checked against the bound schema, and
read back, by browsing a partition and by a consumer group, as exactly the JSON produced. A bad
event is refused with the JSON pointer of each failure and nothing of its batch is appended."""

from __future__ import annotations

import json

import pytest

from broker.models import Event
from schemas.services import schema_version_register

pytestmark = pytest.mark.django_db

AVRO_ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "email", "type": ["null", "string"], "default": None},
        {"name": "amount", "type": ["null", "double", "string"], "default": None},
        {"name": "digest", "type": "bytes"},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}},
    ],
}
# Avro's JSON encoding: a non-null union value names its branch; bytes are a string of code points
# 0-255. The id is past 2**53, where a float on the way would lose it.
AVRO_EVENTS = [
    {"id": 9007199254740993, "email": {"string": "a@b.c"}, "amount": {"double": 1.5}, "digest": "\u00ff\u0000",
     "status": "PAID"},
    {"id": 2, "email": None, "amount": {"string": "n/a"}, "digest": "", "status": "NEW"},
]  # fmt: skip

PROTO_ORDER = """
syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";

message Order {
  int64 id = 1;
  google.protobuf.Timestamp placed_at = 2;
  bytes digest = 3;
  map<string, int32> quantities = 4;
  Status status = 5;
  oneof payment {
    string card_token = 6;
    string voucher = 7;
  }
  enum Status { UNKNOWN = 0; PLACED = 1; }
}
"""
# Protobuf's JSON mapping: lowerCamelCase names, int64 as a string, Timestamp in RFC 3339, bytes
# in base64, enums by name, a map as an object.
PROTO_EVENT = {
    "id": "9007199254740993",
    "placedAt": "2026-12-07T06:31:21Z",
    "digest": "/wA=",
    "quantities": {"sku": 2},
    "status": "PLACED",
    "voucher": "SPRING",
}


def bind(topic: str, schema: str, schema_type: str) -> int:
    """Register the topic's value subject (TopicNameStrategy): its events are checked against it."""
    return schema_version_register(subject=f"{topic}-value", schema=schema, schema_type=schema_type).schema_id


def browse(api, topic: str) -> list[dict]:
    return api.get(f"/api/v1/topics/{topic}/partitions/0/events", offset=0).json()["events"]


def consume(api, topic: str) -> list[dict]:
    member = api.post(f"/api/v1/groups/g-{topic}/members", {"topics": [topic], "auto_offset_reset": "earliest"})
    assert member.status_code == 200, member.content
    fetched = api.get(f"/api/v1/groups/g-{topic}/members/{member.json()['member_id']}/events", max_wait_ms=0)
    return fetched.json()["events"]


def refusals(response) -> dict[str, str]:
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "events_refused"
    return {error["pointer"]: error["reason"] for error in response.json()["error"]["details"]["errors"]}


def test_avro_json_encoded_events_are_read_back_as_produced(api, make_topic):
    make_topic("orders")
    schema_id = bind("orders", json.dumps(AVRO_ORDER), "AVRO")

    response = api.post("/api/v1/topics/orders/events", [{"data": data} for data in AVRO_EVENTS])

    assert response.status_code == 200, response.content
    assert set(Event.objects.values_list("schema_id", flat=True)) == {schema_id}, "checked against the Avro schema"
    assert [event["data"] for event in browse(api, "orders")] == AVRO_EVENTS
    assert [event["data"] for event in consume(api, "orders")] == AVRO_EVENTS


def test_protobuf_json_mapped_events_are_read_back_as_produced(api, make_topic):
    make_topic("payments")
    schema_id = bind("payments", PROTO_ORDER, "PROTOBUF")

    response = api.post("/api/v1/topics/payments/events", {"data": PROTO_EVENT})

    assert response.status_code == 200, response.content
    assert Event.objects.get().schema_id == schema_id, "checked against the Protobuf schema"
    assert [event["data"] for event in browse(api, "payments")] == [PROTO_EVENT]
    assert [event["data"] for event in consume(api, "payments")] == [PROTO_EVENT]


def test_a_bad_avro_event_is_refused_with_pointers_and_its_batch_is_not_appended(api, make_topic):
    make_topic("orders")
    bind("orders", json.dumps(AVRO_ORDER), "AVRO")
    bad = {**AVRO_EVENTS[0], "email": "a@b.c", "status": "LOST"}  # an untagged union value, an unknown symbol

    errors = refusals(api.post("/api/v1/topics/orders/events", [{"data": AVRO_EVENTS[1]}, {"data": bad}]))

    assert set(errors) == {"/data/email", "/data/status"}, errors
    assert errors["/data/email"].startswith('must be null or {"<branch>": value}')
    assert "orders-value version 1" in errors["/data/email"]
    assert browse(api, "orders") == []


def test_a_bad_protobuf_event_is_refused_with_pointers_and_its_batch_is_not_appended(api, make_topic):
    make_topic("payments")
    bind("payments", PROTO_ORDER, "PROTOBUF")
    bad = {**PROTO_EVENT, "cardToken": "tok", "quantities": {"sku": "two"}}  # two members of one oneof

    errors = refusals(api.post("/api/v1/topics/payments/events", [{"data": PROTO_EVENT}, {"data": bad}]))

    assert set(errors) == {"/data/cardToken", "/data/quantities/sku"}, errors
    assert errors["/data/cardToken"].startswith("oneof payment already has voucher set")
    assert "payments-value version 1" in errors["/data/cardToken"]
    assert browse(api, "payments") == []
