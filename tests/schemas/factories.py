"""Schemas to register in tests, built from a few words."""

from __future__ import annotations

from typing import Any

DRAFT_URIS = {
    "draft-04": "http://json-schema.org/draft-04/schema#",
    "draft-06": "http://json-schema.org/draft-06/schema#",
    "draft-07": "http://json-schema.org/draft-07/schema#",
    "2019-09": "https://json-schema.org/draft/2019-09/schema",
    "2020-12": "https://json-schema.org/draft/2020-12/schema",
}


def object_schema(
    *, required: tuple[str, ...] = (), closed: bool = True, draft: str | None = None, **properties: Any
) -> dict[str, Any]:
    """An object schema: `name="string"` declares a string property, or pass a subschema dict."""
    schema: dict[str, Any] = {}
    if draft:
        schema["$schema"] = DRAFT_URIS[draft]
    schema["type"] = "object"
    schema["properties"] = {
        name: ({"type": value} if isinstance(value, str) else value) for name, value in properties.items()
    }
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def sr_body(schema: Any, **extra: Any) -> dict[str, Any]:
    """A RegisterSchemaRequest body for a JSON schema."""
    import json

    return {"schemaType": "JSON", "schema": schema if isinstance(schema, str) else json.dumps(schema), **extra}
