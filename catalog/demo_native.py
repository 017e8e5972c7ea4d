"""The demo's plain Kafka clients (issue 18): on BROKER_BACKEND=kafka some demo services never call
Eventline's broker API, as most services of a real estate do not. They use confluent-kafka with
Confluent's serializers pointed at Eventline's registry (`/registry`, HTTP Basic with the
service's API key), CloudEvents headers in binary mode and a W3C `traceparent`:

- Inventory writes Protobuf (ProtobufSerializer, one message per event type);
- Payments writes Avro (AvroSerializer) and reads the stock events in its own Kafka consumer
  group, with the deserializer the registry names for each record (so it fetches schemas by id,
  as any deserializer does);
- Shipping writes JSON (JSONSerializer, with the subjects the demo registers);
- Notifications reads in its own Kafka consumer group.

Serializers register their schemas themselves under TopicRecordNameStrategy
(`<topic>-<fully qualified record name>`), beside the JSON subjects the catalog documents. The
catalog maps the native groups to their services by name (seed_demo lists each service's
`<name>-service` group). Eventline sees these clients only through the indexer, the commit log,
the lag rounds and the registry's traffic."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from eventline.client import Event

logger = logging.getLogger("eventline.simulator")

NAMESPACE = "eventline.demo"
INVENTORY_PROTO = f"""syntax = "proto3";
package {NAMESPACE};

message StockReserved {{
  message Item {{
    string sku = 1;
    int32 quantity = 2;
  }}
  string order_id = 1;
  repeated Item items = 2;
  string warehouse = 3;
}}

message StockReservationFailed {{
  string order_id = 1;
  string reason = 2;
}}

message StockReleased {{
  string order_id = 1;
}}
"""
PAYMENT_AVRO: dict[str, dict[str, Any]] = {
    "PaymentCompleted": {
        "type": "record",
        "name": "PaymentCompleted",
        "namespace": NAMESPACE,
        "fields": [
            {"name": "order_id", "type": "string"},
            {"name": "amount", "type": "double"},
            {"name": "currency", "type": "string"},
            {"name": "method", "type": "string"},
        ],
    },
    "PaymentFailed": {
        "type": "record",
        "name": "PaymentFailed",
        "namespace": NAMESPACE,
        "fields": [{"name": "order_id", "type": "string"}, {"name": "reason", "type": "string"}],
    },
}
# Which demo service writes which format on Kafka.
NATIVE_FORMATS = {"inventory": "protobuf", "payments": "avro", "shipping": "json"}


def registry_client(url: str, api_key: str) -> Any:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    key_id, _, secret = api_key.partition(".")
    return SchemaRegistryClient({"url": f"{url}/registry", "basic.auth.user.info": f"{key_id}:{secret}"})


def protobuf_classes(text: str = INVENTORY_PROTO) -> dict[str, Any]:
    """Message classes of a .proto text by message name, built at run time from its compiled
    descriptor (what protoc's generated module would hold)."""
    from google.protobuf import descriptor_pool, message_factory

    from schemas.protobuf.schema import parse_protobuf

    parsed = parse_protobuf(text)
    pool = descriptor_pool.DescriptorPool()
    for file in parsed.files:
        pool.AddSerializedFile(file.SerializeToString())
    package = f"{parsed.file.package}." if parsed.file.package else ""
    return {
        message.name: message_factory.GetMessageClass(pool.FindMessageTypeByName(package + message.name))
        for message in parsed.file.message_type
    }


class NativeProducer:
    """One demo service writing with confluent-kafka and a Confluent serializer (`fmt`: json, avro
    or protobuf)."""

    def __init__(
        self, url: str, api_key: str, service: str, bootstrap: str, client_config: dict[str, Any], fmt: str = "json"
    ) -> None:
        from confluent_kafka import Producer as KafkaProducer

        self.service = service
        self.format = fmt
        self.registry = registry_client(url, api_key)
        self.serializers: dict[str, Any] = {}
        self.classes = protobuf_classes() if fmt == "protobuf" else {}
        self.kafka = KafkaProducer({"bootstrap.servers": bootstrap, **client_config, "linger.ms": 5})
        self._lock = threading.Lock()

    def _serializer(self, topic: str, event_type: str) -> Any:
        with self._lock:
            if event_type not in self.serializers:
                self.serializers[event_type] = self._new_serializer(topic, event_type)
            return self.serializers[event_type]

    def _new_serializer(self, topic: str, event_type: str) -> Any:
        from confluent_kafka.schema_registry import topic_record_subject_name_strategy

        if self.format == "avro":
            from confluent_kafka.schema_registry.avro import AvroSerializer

            return AvroSerializer(
                self.registry,
                json.dumps(PAYMENT_AVRO[event_type]),
                conf={"subject.name.strategy": topic_record_subject_name_strategy},
            )
        if self.format == "protobuf":
            from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

            return ProtobufSerializer(
                self.classes[event_type],
                self.registry,
                conf={"use.deprecated.format": False, "subject.name.strategy": topic_record_subject_name_strategy},
            )
        # JSON: the subject the demo registers for the type (`<topic>-<type>`), never registering.
        from confluent_kafka.schema_registry.json_schema import JSONSerializer

        subject = f"{topic}-{event_type}"
        latest = self.registry.get_latest_version(subject)
        return JSONSerializer(
            latest.schema.schema_str,
            self.registry,
            conf={
                "auto.register.schemas": False,
                "use.latest.version": True,
                "subject.name.strategy": lambda ctx, record_name: subject,
            },
        )

    def produce(
        self, topic: str, event_type: str, data: dict[str, Any], cause: Event | None, correlation_id: str
    ) -> None:
        from confluent_kafka.serialization import MessageField, SerializationContext

        record: Any = data
        if self.format == "protobuf":
            from google.protobuf import json_format

            record = json_format.ParseDict(data, self.classes[event_type]())
        value = self._serializer(topic, event_type)(record, SerializationContext(topic, MessageField.VALUE))
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", str(uuid.uuid4()).encode()),
            ("ce_source", f"/services/{self.service}".encode()),
            ("ce_type", event_type.encode()),
            ("ce_correlationid", correlation_id.encode()),
            ("traceparent", f"00-{uuid.UUID(correlation_id).hex}-{uuid.uuid4().hex[:16]}-01".encode()),
        ]
        if cause is not None:
            headers.append(("ce_causationid", cause.id.encode()))
        self.kafka.produce(topic, value=value, key=data["order_id"].encode(), headers=headers)
        self.kafka.poll(0)

    def close(self) -> None:
        self.kafka.flush(10)


class NativeConsumer:
    """One demo service reading with its own Kafka consumer group (`<service>-service`, client id
    `<service>-1`): each record is deserialized by Confluent's deserializer for the schema type the
    registry gives its id (JSON, Avro, or Protobuf with run-time message classes), handed to the
    handler as an Event, then committed."""

    def __init__(
        self, url: str, api_key: str, service: str, topics: list[str], bootstrap: str, client_config: dict[str, Any]
    ) -> None:
        from confluent_kafka import Consumer as KafkaConsumer

        self.service = service
        self.registry = registry_client(url, api_key)
        self.kafka = KafkaConsumer(
            {
                "bootstrap.servers": bootstrap,
                **client_config,
                "group.id": f"{service}-service",
                "client.id": f"{service}-1",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        self.kafka.subscribe(topics)
        self._deserializers: dict[tuple[int, str], Any] = {}
        self._classes = protobuf_classes()

    def run(self, stop: threading.Event, handler: Callable[[Event], None]) -> None:
        try:
            while not stop.is_set():
                message = self.kafka.poll(0.5)
                if message is None or message.error() is not None:
                    continue
                try:  # a record that does not deserialize is skipped as a failed one is
                    handler(self._event(message))
                except Exception:  # noqa: BLE001 - a failed record is logged and skipped, as on Kafka
                    logger.warning("%s skipped %s@%s", self.service, message.topic(), message.offset(), exc_info=True)
                self.kafka.commit(message=message, asynchronous=True)
        finally:
            self.kafka.close()

    def _event(self, message: Any) -> Event:
        headers = {name: (raw or b"").decode(errors="replace") for name, raw in message.headers() or []}
        return Event(
            topic=message.topic(),
            partition=message.partition(),
            offset=message.offset(),
            id=headers.get("ce_id", f"{message.topic()}-{message.partition()}-{message.offset()}"),
            source=headers.get("ce_source", ""),
            type=headers.get("ce_type", ""),
            key=message.key().decode(errors="replace") if message.key() else None,
            data=self._data(message),
            headers=list(headers.items()),
            timestamp=message.timestamp()[1],
            append_time=message.timestamp()[1],
            attributes={"correlationid": headers["ce_correlationid"]} if "ce_correlationid" in headers else {},
        )

    def _data(self, message: Any) -> Any:
        from confluent_kafka.serialization import MessageField, SerializationContext

        value = message.value() or b""
        if value[:1] != b"\0" or len(value) < 5:
            return json.loads(value) if value else None
        schema_id = int.from_bytes(value[1:5], "big")
        event_type = dict(message.headers() or []).get("ce_type", b"").decode()
        key = (schema_id, event_type)
        if key not in self._deserializers:
            self._deserializers[key] = self._deserializer(schema_id, event_type)
        found = self._deserializers[key](value, SerializationContext(message.topic(), MessageField.VALUE))
        if hasattr(found, "DESCRIPTOR"):
            from google.protobuf import json_format

            return json_format.MessageToDict(found, preserving_proto_field_name=True)
        return found

    def _deserializer(self, schema_id: int, event_type: str) -> Any:
        """Confluent's deserializer for the schema's type (the registry is asked for the id, as a
        deserializer does); Protobuf reads into the class the record's CloudEvents type names."""
        schema = self.registry.get_schema(schema_id)
        if schema.schema_type == "AVRO":
            from confluent_kafka.schema_registry.avro import AvroDeserializer

            return AvroDeserializer(self.registry)
        if schema.schema_type == "PROTOBUF":
            from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer

            return ProtobufDeserializer(self._classes[event_type], {"use.deprecated.format": False})
        from confluent_kafka.schema_registry.json_schema import JSONDeserializer

        return JSONDeserializer(None, schema_registry_client=self.registry)
