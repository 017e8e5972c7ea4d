"""Protobuf in the registry: `.proto` text compiled by protoc into descriptors with an identity
for deduplication (schema.py, printer.py), compatibility by Confluent's Protobuf rules
(compatibility.py, levels.py) and event data in Protobuf's JSON mapping (validation.py)."""

from schemas.protobuf.printer import render as render_proto
from schemas.protobuf.schema import ParsedProto, ProtobufSchemaError, parse_protobuf
from schemas.protobuf.validation import ProtobufEventValidator

__all__ = ["ParsedProto", "ProtobufEventValidator", "ProtobufSchemaError", "parse_protobuf", "render_proto"]
