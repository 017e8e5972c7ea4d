"""Which registry format a message payload is in, from its `schemaFormat` (AsyncAPI 3.0: on a
multi-format payload; 2.x: on the message), and the schema to register.

No format, AsyncAPI's own (`application/vnd.aai.asyncapi...`, a superset of draft-07) and JSON
Schema (`application/schema+json` or `+yaml`, any `version=draft-..`) are JSON Schema; the draft
named by the format is written into a schema that names none, so the registry checks it by the
right rules. Avro (`application/vnd.apache.avro...`) and Protobuf
(`application/vnd.google.protobuf...`) register as such when the registry parses them. Anything
else is imported without a schema and flagged, never refused."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from schemas import constants as c

_JSON = re.compile(r"^application/(vnd\.aai\.asyncapi|schema)(\+json|\+yaml)?(;|$)", re.IGNORECASE)
_AVRO = re.compile(r"^application/vnd\.apache\.avro(\+json|\+yaml)?(;|$)", re.IGNORECASE)
_PROTOBUF = re.compile(r"^application/(vnd\.google\.protobuf|x-protobuf)(;|$)", re.IGNORECASE)
_VERSION = re.compile(r"version\s*=\s*([^;\s]+)", re.IGNORECASE)
DRAFT_URIS = {
    "draft-04": "http://json-schema.org/draft-04/schema#",
    "draft-06": "http://json-schema.org/draft-06/schema#",
    "draft-07": "http://json-schema.org/draft-07/schema#",
    "2019-09": "https://json-schema.org/draft/2019-09/schema",
    "draft-2019-09": "https://json-schema.org/draft/2019-09/schema",
    "2020-12": "https://json-schema.org/draft/2020-12/schema",
    "draft-2020-12": "https://json-schema.org/draft/2020-12/schema",
}


@dataclass(frozen=True)
class Payload:
    """A payload to register (`schema_type` and `text`), or none with the reason (`flag`)."""

    schema_type: str | None
    text: str | None
    flag: str = ""


def schema_type_of(schema_format: str | None) -> str | None:
    """The registry's schema type for an AsyncAPI schemaFormat; None for an unknown one."""
    if not schema_format or _JSON.match(schema_format):
        return c.SCHEMA_TYPE_JSON
    if _AVRO.match(schema_format):
        return c.SCHEMA_TYPE_AVRO
    if _PROTOBUF.match(schema_format):
        return c.SCHEMA_TYPE_PROTOBUF
    return None


def registrable(schema_format: str | None, schema: Any) -> Payload:
    """What the registry is given for a payload `schema` (local references already inlined)."""
    schema_type = schema_type_of(schema_format)
    if schema_type is None:
        return Payload(
            None, None, f"schema format {schema_format!r} is not one the registry knows; imported without a schema"
        )
    if schema_type not in c.SUPPORTED_SCHEMA_TYPES:
        return Payload(None, None, f"the registry does not parse {schema_type} schemas yet; imported without a schema")
    if schema_type == c.SCHEMA_TYPE_PROTOBUF:
        if not isinstance(schema, str):
            return Payload(None, None, "a Protobuf payload is the text of a .proto file; imported without a schema")
        return Payload(schema_type, schema)
    if schema_type == c.SCHEMA_TYPE_JSON and isinstance(schema, dict) and "$schema" not in schema:
        version = _VERSION.search(schema_format or "")
        draft = DRAFT_URIS.get(version.group(1).lower()) if version and _JSON.match(schema_format or "") else None
        if draft and schema_format and schema_format.lower().startswith("application/schema"):
            schema = {"$schema": draft, **schema}
    if isinstance(schema, str) and schema_type == c.SCHEMA_TYPE_AVRO:
        try:  # the text of a schema, or the name of a primitive type ("string")
            json.loads(schema)
            return Payload(schema_type, schema)
        except ValueError:
            pass
    return Payload(schema_type, json.dumps(schema))
