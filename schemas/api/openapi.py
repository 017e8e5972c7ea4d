"""The registry's paths in the one OpenAPI document (/api/schema/), under /registry/.

The registry is plain Django views speaking Confluent's API (registry-api.md), which spectacular
cannot introspect, so its operations are written out here as data and added by a postprocessing
hook. Shapes, content types and error codes are Confluent's: answers come as
`application/vnd.schemaregistry.v1+json` (or the other two types a client's Accept names), errors
as `{"error_code", "message"}`."""

from __future__ import annotations

from typing import Any

from schemas import constants as c

_MEDIA_TYPES = (c.CONTENT_TYPE_V1, c.CONTENT_TYPE_DEFAULT, c.CONTENT_TYPE_JSON)
_REQUEST_TYPES = (*_MEDIA_TYPES, "application/octet-stream")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


COMPONENTS: dict[str, Any] = {
    "RegistryError": {
        "type": "object",
        "required": ["error_code", "message"],
        "properties": {"error_code": {"type": "integer"}, "message": {"type": "string"}},
    },
    "RegistrySchemaReference": {
        "type": "object",
        "required": ["name", "subject", "version"],
        "properties": {"name": {"type": "string"}, "subject": {"type": "string"}, "version": {"type": "integer"}},
    },
    "RegistryRegisterSchemaRequest": {
        "type": "object",
        "required": ["schema"],
        "properties": {
            "schema": {"type": "string"},
            "schemaType": {"type": "string", "enum": ["JSON", "AVRO", "PROTOBUF"]},
            "references": {"type": "array", "items": _ref("RegistrySchemaReference")},
            "version": {"type": "integer"},
            "id": {"type": "integer"},
        },
    },
    "RegistrySchema": {
        "type": "object",
        "required": ["subject", "version", "id", "schema"],
        "properties": {
            "subject": {"type": "string"},
            "version": {"type": "integer"},
            "id": {"type": "integer"},
            "schemaType": {"type": "string"},
            "references": {"type": "array", "items": _ref("RegistrySchemaReference")},
            "schema": {"type": "string"},
            "deleted": {"type": "boolean"},
        },
    },
    "RegistrySchemaString": {
        "type": "object",
        "required": ["schema"],
        "properties": {
            "schema": {"type": "string"},
            "schemaType": {"type": "string"},
            "references": {"type": "array", "items": _ref("RegistrySchemaReference")},
            "maxId": {"type": "integer"},
        },
    },
    "RegistryRegisterSchemaResponse": {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "integer"}},
    },
    "RegistryCompatibility": {
        "type": "object",
        "required": ["is_compatible"],
        "properties": {"is_compatible": {"type": "boolean"}, "messages": {"type": "array"}},
    },
    "RegistryConfig": {
        "type": "object",
        "properties": {
            "compatibilityLevel": {"type": "string"},
            "compatibility": {"type": "string"},
            "normalize": {"type": "boolean"},
        },
    },
    "RegistryMode": {"type": "object", "required": ["mode"], "properties": {"mode": {"type": "string"}}},
}

_STRINGS = {"type": "array", "items": {"type": "string"}}
_INTS = {"type": "array", "items": {"type": "integer"}}
_SUBJECT_VERSIONS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["subject", "version"],
        "properties": {"subject": {"type": "string"}, "version": {"type": "integer"}},
    },
}
_TEXT = {"type": "string", "description": "the schema text itself, not a JSON document"}

_SUBJECT = {"name": "subject", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
_VERSION = {
    "name": "version",
    "in": "path",
    "required": True,
    "description": "1 to 2^31-1, `latest` or -1",
    "schema": {"type": "string"},
}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _flag(name: str) -> dict[str, Any]:
    # As Confluent's server (Jersey) reads a flag: not refused when it is not a boolean.
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": "`true` in any case is true; anything else, or leaving it out, is false",
        "schema": {"type": "string"},
    }


# (path, method, summary, parameters, request body schema or None, 200 answer schema, error statuses)
_OPERATIONS: list[tuple[str, str, str, list[dict[str, Any]], dict[str, Any] | None, dict[str, Any], tuple[int, ...]]] = [
    ("/registry/", "get", "Root", [], None, {"type": "object"}, ()),
    ("/registry/schemas/types", "get", "Schema types", [], None, _STRINGS, ()),
    ("/registry/contexts", "get", "Contexts", [], None, _STRINGS, ()),
    ("/registry/subjects", "get", "Subjects", [_flag("deleted")], None, _STRINGS, ()),
    ("/registry/subjects/{subject}", "post", "Look a schema up under a subject", [_SUBJECT, _flag("deleted")],
     _ref("RegistryRegisterSchemaRequest"), _ref("RegistrySchema"), (404, 422)),
    ("/registry/subjects/{subject}", "delete", "Delete a subject", [_SUBJECT, _flag("permanent")], None, _INTS,
     (404, 422)),
    ("/registry/subjects/{subject}/versions", "get", "Versions of a subject", [_SUBJECT, _flag("deleted")], None,
     _INTS, (404,)),
    ("/registry/subjects/{subject}/versions", "post", "Register a schema", [_SUBJECT, _flag("normalize")],
     _ref("RegistryRegisterSchemaRequest"), _ref("RegistryRegisterSchemaResponse"), (409, 422)),
    ("/registry/subjects/{subject}/versions/{version}", "get", "A version", [_SUBJECT, _VERSION, _flag("deleted")],
     None, _ref("RegistrySchema"), (404, 422)),
    ("/registry/subjects/{subject}/versions/{version}", "delete", "Delete a version",
     [_SUBJECT, _VERSION, _flag("permanent")], None, {"type": "integer"}, (404, 422)),
    ("/registry/subjects/{subject}/versions/{version}/schema", "get", "A version's schema text",
     [_SUBJECT, _VERSION, _flag("deleted")], None, _TEXT, (404, 422)),
    ("/registry/subjects/{subject}/versions/{version}/referencedby", "get", "Ids of schemas referencing a version",
     [_SUBJECT, _VERSION], None, _INTS, (404, 422)),
    ("/registry/schemas", "get", "Schemas", [_flag("deleted"), _flag("latestOnly")], None,
     {"type": "array", "items": _ref("RegistrySchema")}, ()),
    ("/registry/schemas/ids/{id}", "get", "A schema by id", [_ID], None, _ref("RegistrySchemaString"), (404,)),
    ("/registry/schemas/ids/{id}/schema", "get", "A schema's text by id", [_ID], None, _TEXT, (404,)),
    ("/registry/schemas/ids/{id}/subjects", "get", "Subjects using a schema id", [_ID, _flag("deleted")], None,
     _STRINGS, (404,)),
    ("/registry/schemas/ids/{id}/versions", "get", "Subject versions using a schema id", [_ID, _flag("deleted")],
     None, _SUBJECT_VERSIONS, (404,)),
    ("/registry/compatibility/subjects/{subject}/versions/{version}", "post", "Check against one version",
     [_SUBJECT, _VERSION, _flag("verbose")], _ref("RegistryRegisterSchemaRequest"), _ref("RegistryCompatibility"),
     (404, 422)),
    ("/registry/compatibility/subjects/{subject}/versions", "post", "Check against the versions compatibility names",
     [_SUBJECT, _flag("verbose")], _ref("RegistryRegisterSchemaRequest"), _ref("RegistryCompatibility"), (404, 422)),
    ("/registry/config", "get", "Global compatibility", [], None, _ref("RegistryConfig"), ()),
    ("/registry/config", "put", "Set global compatibility", [], _ref("RegistryConfig"), _ref("RegistryConfig"), (422,)),
    ("/registry/config", "delete", "Reset global compatibility", [], None, _ref("RegistryConfig"), ()),
    ("/registry/config/{subject}", "get", "A subject's compatibility", [_SUBJECT, _flag("defaultToGlobal")], None,
     _ref("RegistryConfig"), (404,)),
    ("/registry/config/{subject}", "put", "Set a subject's compatibility", [_SUBJECT], _ref("RegistryConfig"),
     _ref("RegistryConfig"), (422,)),
    ("/registry/config/{subject}", "delete", "Remove a subject's compatibility", [_SUBJECT], None,
     _ref("RegistryConfig"), (404,)),
    ("/registry/mode", "get", "Global mode", [], None, _ref("RegistryMode"), ()),
    ("/registry/mode", "put", "Set the global mode", [_flag("force")], _ref("RegistryMode"), _ref("RegistryMode"),
     (422,)),
    ("/registry/mode", "delete", "Reset the global mode", [], None, _ref("RegistryMode"), ()),
    ("/registry/mode/{subject}", "get", "A subject's mode", [_SUBJECT, _flag("defaultToGlobal")], None,
     _ref("RegistryMode"), (404,)),
    ("/registry/mode/{subject}", "put", "Set a subject's mode", [_SUBJECT, _flag("force")], _ref("RegistryMode"),
     _ref("RegistryMode"), (422,)),
    ("/registry/mode/{subject}", "delete", "Remove a subject's mode", [_SUBJECT], None, _ref("RegistryMode"), (404,)),
]

# Any operation: no or a bad key (401), a key without registry:write for a write (403), a body
# too large (413: EVENTLINE_MAX_REQUEST_BYTES) or chunked and unreadable (411), a body type other
# than Confluent's (415), a malformed body or URL (400, 422: 42201 for a schema nested past
# EVENTLINE_MAX_JSON_DEPTH).
_ALWAYS = (400, 401, 403, 404, 405, 411, 413, 415, 422)


def _content(schema: dict[str, Any], types: tuple[str, ...] = _MEDIA_TYPES) -> dict[str, Any]:
    return {media_type: {"schema": schema} for media_type in types}


def _operation_id(path: str, method: str) -> str:
    words = [part.strip("{}") for part in path.split("/") if part]
    return "_".join([*words, method])


def _operation(
    operation_id: str,
    summary: str,
    parameters: list[dict[str, Any]],
    body: dict[str, Any] | None,
    answer: dict[str, Any],
    errors: tuple[int, ...],
) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": summary, "content": _content(answer)}}
    for status in sorted({*_ALWAYS, *errors}):
        responses[str(status)] = {
            "description": "Confluent's error envelope",
            "content": _content(_ref("RegistryError")),
        }
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "tags": ["registry"],
        "summary": summary,
        "parameters": parameters,
        "responses": responses,
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": _content(body, _REQUEST_TYPES)}
    return operation


def add_registry_paths(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS: Confluent's Schema Registry API under /registry/."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    paths = result.setdefault("paths", {})
    for path, method, summary, parameters, body, answer, errors in _OPERATIONS:
        paths.setdefault(path, {})[method] = _operation(
            _operation_id(path, method), summary, parameters, body, answer, errors
        )
    return result
