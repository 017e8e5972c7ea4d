"""Confluent's own Python client (confluent-kafka's SchemaRegistryClient, JSONSerializer,
JSONDeserializer) against a live Eventline server, authenticated with an API key over HTTP Basic."""

from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

pytestmark = pytest.mark.django_db(transaction=True)

ORDER_V1 = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Order",
    "type": "object",
    "properties": {
        "order_id": {"type": "string"},
        "total": {"type": "number", "minimum": 0},
    },
    "required": ["order_id", "total"],
    "additionalProperties": False,
}
ORDER_V2 = {
    **ORDER_V1,
    "properties": {**ORDER_V1["properties"], "currency": {"type": "string", "maxLength": 3}},
}
ORDER_BREAKING = {**ORDER_V1, "properties": {**ORDER_V1["properties"], "total": {"type": "string"}}}
ADDRESS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
CUSTOMER = {"type": "object", "properties": {"address": {"$ref": "address.json"}}, "required": ["address"]}


def _schema(document: dict) -> Schema:
    return Schema(json.dumps(document), "JSON")


def _framed(schema_id: int, value: dict) -> bytes:
    """Confluent's JSON wire format: magic byte, big-endian id, then the value as confluent-kafka
    encodes it (orjson, or its stdlib fallback: compact separators, non-ASCII kept)."""
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return b"\x00" + schema_id.to_bytes(4, "big") + body


@pytest.fixture
def client(live_server) -> SchemaRegistryClient:
    from core.services import api_key_create

    _, token = api_key_create(service_name="confluent-client", scopes=["registry:write"])
    key_id, _, secret = token.partition(".")
    return SchemaRegistryClient({"url": live_server.url + "/registry", "basic.auth.user.info": f"{key_id}:{secret}"})


def test_register_then_read_back_latest_by_id_and_by_lookup(client):
    schema_id = client.register_schema("orders-value", _schema(ORDER_V1))
    latest = client.get_latest_version("orders-value")
    assert (latest.schema_id, latest.version, latest.subject) == (schema_id, 1, "orders-value")
    assert json.loads(latest.schema.schema_str) == ORDER_V1
    assert latest.schema.schema_type == "JSON"
    by_id = client.get_schema(schema_id)
    assert json.loads(by_id.schema_str) == ORDER_V1
    found = client.lookup_schema("orders-value", _schema(ORDER_V1))
    assert (found.schema_id, found.version) == (schema_id, 1)
    assert client.get_subjects() == ["orders-value"]
    assert client.get_versions("orders-value") == [1]
    assert client.get_schema_types() == ["JSON", "AVRO", "PROTOBUF"]


def test_compatibility_test_and_level_round_trip(client):
    client.register_schema("orders-value", _schema(ORDER_V1))
    assert client.test_compatibility("orders-value", _schema(ORDER_V2)) is True
    assert client.test_compatibility("orders-value", _schema(ORDER_BREAKING)) is False
    assert client.test_compatibility_all_versions("orders-value", _schema(ORDER_V2)) is True
    assert client.get_compatibility() == "BACKWARD"
    assert client.set_compatibility("orders-value", "full") == {"compatibility": "FULL"}
    assert client.get_compatibility("orders-value") == "FULL"
    assert client.set_compatibility(level="FORWARD") == {"compatibility": "FORWARD"}
    assert client.get_compatibility() == "FORWARD"


def test_incompatible_registration_raises_409_with_confluents_message(client):
    client.register_schema("orders-value", _schema(ORDER_V1))
    with pytest.raises(SchemaRegistryError) as raised:
        client.register_schema("orders-value", _schema(ORDER_BREAKING))
    assert raised.value.http_status_code == 409
    assert raised.value.error_code == 40901
    assert 'is incompatible with an earlier schema for subject "orders-value"' in raised.value.error_message


def test_soft_then_permanent_delete_of_versions_and_subjects(client):
    first = client.register_schema("orders-value", _schema(ORDER_V1))
    client.register_schema("orders-value", _schema(ORDER_V2))
    assert client.delete_version("orders-value", 2) == 2
    assert client.get_versions("orders-value") == [1]
    assert client.delete_version("orders-value", 2, permanent=True) == 2
    with pytest.raises(SchemaRegistryError) as raised:
        client.delete_subject("orders-value", permanent=True)
    assert raised.value.error_code == 40405
    assert client.delete_subject("orders-value") == [1]
    assert client.get_schema(first).schema_str  # soft-deleted ids stay readable
    assert client.delete_subject("orders-value", permanent=True) == [1]
    assert client.get_subjects() == []
    with pytest.raises(SchemaRegistryError) as raised:
        client.get_latest_version("orders-value")
    assert raised.value.error_code == 40401


def test_references_resolve_across_subjects(client):
    client.register_schema("address", _schema(ADDRESS))
    schema_id = client.register_schema(
        "customer-value", Schema(json.dumps(CUSTOMER), "JSON", [SchemaReference("address.json", "address", 1)])
    )
    fetched = client.get_schema(schema_id)
    assert [(r.name, r.subject, r.version) for r in fetched.references] == [("address.json", "address", 1)]
    assert client.get_referenced_by("address", 1) == [schema_id]


def test_json_serializer_and_deserializer_round_trip_through_the_registry(client):
    client.register_schema("orders-value", _schema(ORDER_V1))
    serializer = JSONSerializer(
        json.dumps(ORDER_V1), client, conf={"auto.register.schemas": False, "use.latest.version": True}
    )
    deserializer = JSONDeserializer(None, schema_registry_client=client)
    context = SerializationContext("orders", MessageField.VALUE)
    order = {"order_id": "o-1", "total": 12.5}
    payload = serializer(order, context)
    assert payload[0] == 0  # Confluent's magic byte, then the 4-byte schema id
    assert deserializer(payload, context) == order


def test_json_serializer_auto_registers_and_validates(client):
    serializer = JSONSerializer(json.dumps(ORDER_V1), client)
    context = SerializationContext("payments", MessageField.VALUE)
    payload = serializer({"order_id": "o-2", "total": 3}, context)
    schema_id = int.from_bytes(payload[1:5], "big")
    assert client.get_latest_version("payments-value").schema_id == schema_id
    with pytest.raises(Exception, match="less than the minimum of 0"):
        serializer({"order_id": "o-3", "total": -1}, context)


def test_json_serializer_validates_and_writes_a_schema_whose_ref_lives_in_another_subject(client):
    client.register_schema("address", _schema(ADDRESS))
    customer = Schema(json.dumps(CUSTOMER), "JSON", [SchemaReference("address.json", "address", 1)])
    customer_id = client.register_schema("customers-value", customer)
    serializer = JSONSerializer(customer, client, conf={"auto.register.schemas": False, "use.latest.version": True})
    context = SerializationContext("customers", MessageField.VALUE)
    value = {"address": {"city": "Lyon"}}

    payload = serializer(value, context)

    assert payload == _framed(customer_id, value)
    # The referenced schema is enforced, so the registry served it: an address without a city is refused.
    with pytest.raises(SerializationError, match="'city' is a required property"):
        serializer({"address": {}}, context)
    # A consumer's own client resolves address.json through the references served with the id.
    consumer_client = SchemaRegistryClient(client.config())
    assert JSONDeserializer(None, schema_registry_client=consumer_client)(payload, context) == value


def test_json_serializer_that_may_not_register_looks_its_schema_up_and_fails_until_it_is_registered(client):
    serializer = JSONSerializer(
        json.dumps(ORDER_V1), client, conf={"auto.register.schemas": False, "use.latest.version": False}
    )
    context = SerializationContext("orders", MessageField.VALUE)
    order = {"order_id": "o-1", "total": 12.5}

    with pytest.raises(SchemaRegistryError) as refused:
        serializer(order, context)
    assert refused.value.error_code == 40401
    assert client.get_subjects() == []

    schema_id = client.register_schema("orders-value", _schema(ORDER_V1))
    assert serializer(order, context) == _framed(schema_id, order)
    unregistered = JSONSerializer(json.dumps(ORDER_V2), client, conf={"auto.register.schemas": False})
    with pytest.raises(SchemaRegistryError) as refused:
        unregistered({**order, "currency": "EUR"}, context)
    assert refused.value.error_code == 40403
