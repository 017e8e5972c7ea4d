"""Confluent's Avro serializer and deserializer (confluent-kafka, fastavro underneath) against a
live Eventline registry (issue 15): auto-registration on and off, use.latest.version, the wire
format byte for byte, and a reader schema resolving what an older writer wrote."""

from __future__ import annotations

import io
import json
import struct

import fastavro
import pytest
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

# shop.Address, and an order naming it without defining it (the definition lives in address-value).
from tests.schemas.test_registry_avro import ADDRESS_V1, SHIPPED_ORDER

pytestmark = pytest.mark.django_db(transaction=True)

ORDER_V1 = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [{"name": "id", "type": "long"}, {"name": "total", "type": "int"}],
}
ORDER_V2 = {
    **ORDER_V1,
    "fields": [*ORDER_V1["fields"], {"name": "currency", "type": "string", "default": "EUR"}],
}
CONTEXT = SerializationContext("orders", MessageField.VALUE)


@pytest.fixture
def client(live_server) -> SchemaRegistryClient:
    from core.services import api_key_create

    _, token = api_key_create(service_name="avro-client", scopes=["registry:write"])
    key_id, _, secret = token.partition(".")
    return SchemaRegistryClient({"url": live_server.url + "/registry", "basic.auth.user.info": f"{key_id}:{secret}"})


def test_auto_registering_serializer_writes_confluents_wire_format(client):
    serializer = AvroSerializer(client, json.dumps(ORDER_V1))

    payload = serializer({"id": 42, "total": 7}, CONTEXT)

    latest = client.get_latest_version("orders-value")
    assert latest.schema.schema_type == "AVRO"
    assert payload[0] == 0 and struct.unpack(">I", payload[1:5])[0] == latest.schema_id
    expected = io.BytesIO()
    fastavro.schemaless_writer(expected, fastavro.parse_schema(ORDER_V1), {"id": 42, "total": 7})
    assert payload[5:] == expected.getvalue()
    assert AvroDeserializer(client)(payload, CONTEXT) == {"id": 42, "total": 7}


def test_a_serializer_that_may_not_register_finds_an_equal_schema_and_refuses_an_unknown_one(client):
    schema_id = client.register_schema("orders-value", Schema(json.dumps(ORDER_V1), "AVRO"))
    # The same schema, formatted otherwise and documented: found by lookup, same id.
    documented = json.dumps({**ORDER_V1, "doc": "An order"}, indent=2)
    found = AvroSerializer(client, documented, conf={"auto.register.schemas": False})

    assert struct.unpack(">I", found({"id": 1, "total": 2}, CONTEXT)[1:5])[0] == schema_id
    unknown = AvroSerializer(client, json.dumps(ORDER_V2), conf={"auto.register.schemas": False})
    with pytest.raises(SchemaRegistryError) as refused:
        unknown({"id": 1, "total": 2, "currency": "USD"}, CONTEXT)
    assert refused.value.error_code == 40403


def test_use_latest_version_and_a_reader_schema_resolving_older_data(client):
    old_payload = AvroSerializer(client, json.dumps(ORDER_V1))({"id": 1, "total": 2}, CONTEXT)
    v2 = client.register_schema("orders-value", Schema(json.dumps(ORDER_V2), "AVRO"))
    latest = AvroSerializer(
        client, json.dumps(ORDER_V1), conf={"auto.register.schemas": False, "use.latest.version": True}
    )

    assert struct.unpack(">I", latest({"id": 3, "total": 4, "currency": "USD"}, CONTEXT)[1:5])[0] == v2
    reader = AvroDeserializer(client, json.dumps(ORDER_V2))
    assert reader(old_payload, CONTEXT) == {"id": 1, "total": 2, "currency": "EUR"}


def test_a_record_referencing_a_named_type_from_another_subject_round_trips(client):
    client.register_schema("address-value", Schema(json.dumps(ADDRESS_V1), "AVRO"))
    references = [SchemaReference("shop.Address", "address-value", 1)]
    client.register_schema("orders-value", Schema(json.dumps(SHIPPED_ORDER), "AVRO", references))
    serializer = AvroSerializer(
        client,
        Schema(json.dumps(SHIPPED_ORDER), "AVRO", references),
        conf={"auto.register.schemas": False, "use.latest.version": True},
    )
    order = {"id": 42, "ship_to": {"city": "Lyon", "zip": "69001"}}

    payload = serializer(order, CONTEXT)

    latest = client.get_latest_version("orders-value")
    assert [(ref.name, ref.subject, ref.version) for ref in latest.schema.references] == [
        ("shop.Address", "address-value", 1)
    ]
    assert payload[:5] == b"\x00" + latest.schema_id.to_bytes(4, "big")
    named_schemas: dict = {}
    fastavro.parse_schema(ADDRESS_V1, named_schemas=named_schemas)
    expected = io.BytesIO()
    fastavro.schemaless_writer(expected, fastavro.parse_schema(SHIPPED_ORDER, named_schemas=named_schemas), order)
    assert payload[5:] == expected.getvalue()
    # The deserializer resolves shop.Address only through the references the registry returns by id.
    assert AvroDeserializer(client)(payload, CONTEXT) == order


def test_an_incompatible_avro_schema_is_refused_to_the_client(client):
    client.register_schema("orders-value", Schema(json.dumps(ORDER_V1), "AVRO"))
    breaking = {**ORDER_V1, "fields": [*ORDER_V1["fields"], {"name": "email", "type": "string"}]}

    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema("orders-value", Schema(json.dumps(breaking), "AVRO"))

    assert refused.value.http_status_code == 409
    assert not client.test_compatibility("orders-value", Schema(json.dumps(breaking), "AVRO"))
