"""Avro in the registry: parsing and canonical form (schema.py), compatibility by Avro's schema
resolution rules (compatibility.py) and event data in Avro's JSON encoding (validation.py)."""

from schemas.avro.compatibility import AvroIncompatibility, Incompatibility, incompatibilities
from schemas.avro.schema import AvroSchemaError, Node, ParsedAvro, canonical_form, parse_avro
from schemas.avro.validation import avro_json_issues

__all__ = [
    "AvroIncompatibility",
    "AvroSchemaError",
    "Incompatibility",
    "Node",
    "ParsedAvro",
    "avro_json_issues",
    "canonical_form",
    "incompatibilities",
    "parse_avro",
]
