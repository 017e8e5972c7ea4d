"""What drf-spectacular cannot see for itself, so that /api/schema/ describes the app as it runs:
API keys (Bearer and HTTP Basic), and the error envelope every /api/v1/ operation may answer with.

Loaded by CoreConfig.ready(): spectacular finds extensions by their import."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from core.constants import FALSE_WORDS, TRUE_WORDS

ERROR_COMPONENT = "Error"

# Every operation may answer these: the request limits (core.request_limits) run before any view,
# every key can lack a scope, every name can be unknown, and the edge validates input (422).
_COMMON_ERRORS = {
    "400": "Malformed request: unparsable JSON, or a NUL character in the URL",
    "401": "No API key, or an unknown, revoked or expired one",
    "403": "The key lacks the scope this needs",
    "404": "No such object",
    "405": "Method not allowed",
    "406": "Not acceptable: only JSON is served",
    "422": (
        "Input that parses but breaks a rule; `details.errors` lists each field and reason. `code` is "
        "`too_deep` for a JSON body nested deeper than EVENTLINE_MAX_JSON_DEPTH (default 64; `details.max_depth` "
        "says it), `nul_character` for a NUL (\\u0000) in an id, source, name or header key, `invalid` otherwise; "
        "a `limit` or `offset` that is not a whole number in range, or a query parameter given twice, is `invalid` too"
    ),
}
# Only operations that read a body.
_BODY_ERRORS = {
    "411": "A chunked body (no Content-Length) the server in front could not decode; send Content-Length",
    "413": (
        "The body is larger than EVENTLINE_MAX_REQUEST_BYTES (default 16 MiB; `details.max_bytes` says it), "
        "refused before it is parsed"
    ),
    "415": "Unsupported content type",
}
# Operations whose service can conflict or be briefly unavailable, by (path prefix, method).
_CONFLICT_ERRORS = {"409": "Conflicts with the current state (a name that exists, a stale generation)"}
_UNAVAILABLE_ERRORS = {"503": "Busy: nothing was done, send the same request again"}

_BODY_METHODS = frozenset({"post", "put", "patch"})


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """core.auth.ApiKeyAuthentication reads one API key from `Authorization`, two ways."""

    target_class = "core.auth.ApiKeyAuthentication"
    name = ["ApiKeyBearer", "ApiKeyBasic"]
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "<key id>.<secret>",
                "description": "An API key as `Authorization: Bearer <key id>.<secret>`.",
            },
            {
                "type": "http",
                "scheme": "basic",
                "description": "An API key as HTTP Basic credentials: the key id as user name, the secret as password.",
            },
        ]


def error_schema() -> dict[str, Any]:
    """`{"error": {"code", "message", "details"}}`, core.errors.EventlineError.as_envelope()."""
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string", "description": "stable, machine-readable: `not_found`, `invalid`..."},
                    "message": {"type": "string"},
                    "details": {"type": "object", "additionalProperties": True},
                },
            }
        },
    }


def _error_response(description: str, other_media_types: list[str]) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}}
    for media_type in other_media_types:
        # An operation that also answers in another format (lineage impact's CSV) renders its
        # errors in the format it negotiated.
        content[media_type] = {"schema": {"type": "string"}}
    return {"description": description, "content": content}


def _other_success_media_types(responses: dict[str, Any]) -> list[str]:
    found = {
        media_type
        for code, response in responses.items()
        if code.startswith("2") and isinstance(response, dict)
        for media_type in response.get("content", {})
        if media_type != "application/json"
    }
    return sorted(found)


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS: the error envelope on every /api/ operation, for each status it can
    really answer; an operation that declares a status itself keeps its own description."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = error_schema()
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            errors = dict(_COMMON_ERRORS)
            if method in _BODY_METHODS or "requestBody" in operation:
                errors.update(_BODY_ERRORS)
            if method != "get" or "/members/" in path:
                errors.update(_CONFLICT_ERRORS)
            if method in _BODY_METHODS:
                errors.update(_UNAVAILABLE_ERRORS)
            responses = operation.setdefault("responses", {})
            others = _other_success_media_types(responses)
            for code, description in errors.items():
                declared = responses.get(code)
                if declared is None:
                    responses[code] = _error_response(description, others)
                elif "content" not in declared:  # a view that named the status only: the body is the envelope
                    declared["content"] = _error_response(description, others)["content"]
    return result


# Swagger UI groups operations by their first tag: one per area of the app (SPECTACULAR_SETTINGS
# ["TAGS"] orders and describes them). The view's module names its area; the broker's API serves two
# (topics and groups), told by path. The registry's Confluent paths are tagged in schemas.api.openapi.
_TAG_BY_MODULE = (
    ("monitoring.traces.", "traces"),
    ("monitoring.", "monitoring"),
    ("lineage.", "lineage"),
    ("catalog.", "catalog"),
    ("schemas.", "registry"),
)
_TAG_BY_VIEW = {"AuditEntryListView": "audit"}


def api_tag(*, module: str, view_name: str, path: str) -> str:
    """The area an /api/v1/ operation is listed under in the docs."""
    if view_name in _TAG_BY_VIEW:
        return _TAG_BY_VIEW[view_name]
    for prefix, tag in _TAG_BY_MODULE:
        if module.startswith(prefix):
            return tag
    if module.startswith("core."):
        return "keys"
    return "topics" if path.startswith("/api/v1/topics") else "groups"


class AreaTaggedAutoSchema(AutoSchema):
    """drf-spectacular's schema with the operation tagged by area instead of by URL segment ("v1")."""

    def get_tags(self) -> list[str]:
        view = self.view
        return [api_tag(module=type(view).__module__, view_name=type(view).__name__, path=self.path)]


def allow_empty_query_values(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS: on /api/v1/ an empty choice or yes/no query parameter (`?window=`,
    `?resolved=`) is the same as leaving it out, as the pages' filter forms send them (django-filter
    reads them so, and the hand-read parameters do too). Said as "" among the choices, and a yes/no
    as the words the server reads (core.constants), not `allowEmptyValue`: schemathesis negates that
    one's `anyOf` into values the other branch accepts."""
    yes_no = sorted({"", *TRUE_WORDS, *FALSE_WORDS})
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") != "query" or parameter.get("required"):
                    continue
                if schema.get("type") == "boolean":
                    parameter["schema"] = {"type": "string", "enum": yes_no}
                elif "enum" in schema and "" not in schema["enum"]:
                    schema["enum"] = [*schema["enum"], ""]
    return result
