"""Confluent's wire format for record values: a zero magic byte, the 4-byte big-endian schema id,
then the payload (JSON text for JSON Schema, Avro binary for Avro), so Confluent's
JSONDeserializer and AvroDeserializer read what Eventline writes. Event data arrives as JSON (Avro
data in Avro's JSON encoding, as the registry validates it); Avro is converted both ways here.
Protobuf values Eventline produces are not framed (the JSON is written as-is); Protobuf values a
native client framed (magic byte, id, Confluent's message indexes, the binary message) are read
here into Protobuf's JSON mapping, field names as in the .proto."""

from __future__ import annotations

import io
import struct
import threading
from typing import Any

from core.jsonutil import dumps, loads

MAGIC_BYTE = b"\0"
_HEADER = struct.Struct(">bI")
_JSON = "JSON"
_AVRO = "AVRO"
_PROTOBUF = "PROTOBUF"

# schema id -> (type, what reads it: a fastavro schema, Protobuf's (pool, file), or None for JSON);
# ids are immutable
_writers: dict[int, tuple[str, Any]] = {}
_lock = threading.Lock()


def forget_schemas() -> None:
    """Drop the cached schemas (for tests, whose databases reuse ids)."""
    _writers.clear()


def _schema(schema_id: int) -> tuple[str, Any]:
    found = _writers.get(schema_id)
    if found is not None:
        return found
    from schemas.selectors import loaded_schema

    document = loaded_schema(schema_id)
    parsed = None
    if document.schema_type == _AVRO:
        from fastavro import parse_schema

        named: dict[str, Any] = {}
        for referenced in document.documents.values():
            parse_schema(referenced, named_schemas=named)
        parsed = parse_schema(document.parsed, named_schemas=named)
    elif document.schema_type == _PROTOBUF:
        from google.protobuf import descriptor_pool

        from schemas import formats

        compiled = formats.check(document.schema_type, document.parsed, document.documents)
        pool = descriptor_pool.DescriptorPool()
        for file in compiled.files:
            pool.AddSerializedFile(file.SerializeToString())
        parsed = (pool, compiled.file)
    with _lock:
        _writers[schema_id] = (document.schema_type, parsed)
    return document.schema_type, parsed


def schema_type(schema_id: int) -> str:
    """JSON, AVRO or PROTOBUF; LookupError for an id the registry does not know."""
    return _schema(schema_id)[0]


def encode(schema_id: int, data: Any) -> bytes | None:
    """The framed value of `data` under schema `schema_id`; None when the schema's type is not
    framed (Protobuf) or the data does not fit it (events kept under validation.mode=warn)."""
    schema_type, avro = _schema(schema_id)
    header = _HEADER.pack(0, schema_id)
    if schema_type == _JSON:
        return header + dumps(data)
    if schema_type != _AVRO:
        return None
    from fastavro import json_reader, schemaless_writer

    try:
        [datum] = list(json_reader(io.StringIO(dumps(data).decode()), avro))
        out = io.BytesIO()
        out.write(header)
        schemaless_writer(out, avro, datum)
    except Exception:  # noqa: BLE001 - fastavro raises many kinds for data that does not fit
        return None
    return out.getvalue()


def decode(value: bytes) -> tuple[int, Any] | None:
    """(schema id, data as JSON) of a framed value; None when `value` is not one Eventline can
    read (no magic byte, or an unknown id). A value that does not parse under its schema raises."""
    if len(value) < _HEADER.size or value[:1] != MAGIC_BYTE:
        return None
    _, schema_id = _HEADER.unpack_from(value)
    try:
        schema_type, parsed = _schema(schema_id)
    except LookupError:
        return None
    payload = value[_HEADER.size :]
    if schema_type == _JSON:
        return schema_id, loads(payload)
    if schema_type == _PROTOBUF:
        return schema_id, _protobuf_json(parsed, payload)
    from fastavro import json_writer, schemaless_reader

    datum = schemaless_reader(io.BytesIO(payload), parsed, None)
    text = io.StringIO()
    json_writer(text, parsed, [datum])
    return schema_id, loads(text.getvalue().strip())


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """A zigzag varint (Confluent's message indexes) at `at`: (value, next position)."""
    raw, shift = 0, 0
    while True:
        if at >= len(data):
            raise ValueError("message indexes run past the value")
        byte = data[at]
        at += 1
        raw |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (raw >> 1) ^ -(raw & 1), at
        shift += 7


def _protobuf_json(schema: tuple[Any, Any], payload: bytes) -> Any:
    """The message a Protobuf value holds, in Protobuf's JSON mapping: Confluent's message indexes
    (a count, then the index at each nesting level; a lone 0 for the first message) pick the
    message type in the schema's file."""
    from google.protobuf import json_format, message_factory

    count, at = _varint(payload, 0)
    indexes = [0]
    if count:
        indexes = []
        for _ in range(count):
            index, at = _varint(payload, at)
            indexes.append(index)
    pool, file = schema
    package = f"{file.package}." if file.package else ""
    descriptor = pool.FindMessageTypeByName(package + file.message_type[indexes[0]].name)
    for index in indexes[1:]:
        descriptor = descriptor.nested_types[index]
    message = message_factory.GetMessageClass(descriptor)()
    message.ParseFromString(payload[at:])
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


__all__ = ["MAGIC_BYTE", "decode", "encode"]
