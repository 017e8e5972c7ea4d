"""Confluent's wire format for record values: a zero magic byte, the 4-byte big-endian schema id,
then the payload (JSON text for JSON Schema, Avro binary for Avro), so Confluent's
JSONDeserializer and AvroDeserializer read what Eventline writes. Event data arrives as JSON (Avro
data in Avro's JSON encoding, as the registry validates it); Avro is converted both ways here.
Protobuf values are not framed (the JSON is written as-is): its message indexes and binary
encoding are left for later."""

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

_writers: dict[int, tuple[str, Any]] = {}  # schema id -> (type, fastavro schema or None); ids are immutable
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
    with _lock:
        _writers[schema_id] = (document.schema_type, parsed)
    return document.schema_type, parsed


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
    read (no magic byte, an unknown id, or a type it does not frame)."""
    if len(value) < _HEADER.size or value[:1] != MAGIC_BYTE:
        return None
    _, schema_id = _HEADER.unpack_from(value)
    try:
        schema_type, avro = _schema(schema_id)
    except LookupError:
        return None
    payload = value[_HEADER.size :]
    if schema_type == _JSON:
        return schema_id, loads(payload)
    if schema_type != _AVRO:
        return None
    from fastavro import json_writer, schemaless_reader

    datum = schemaless_reader(io.BytesIO(payload), avro, None)
    text = io.StringIO()
    json_writer(text, avro, [datum])
    return schema_id, loads(text.getvalue().strip())


__all__ = ["MAGIC_BYTE", "decode", "encode"]
