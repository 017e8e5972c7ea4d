"""Confluent Schema Registry endpoints (registry-api.md §4). Each handler parses its input, calls
one selector or service, and renders Confluent's JSON shape (empty fields left out)."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse

from schemas import constants as c
from schemas import selectors, services
from schemas.api.http import Route, caller, endpoint, flag, int_param, json_response, read_body, text_response
from schemas.errors import IncompatibleSchema, InvalidSchema, RegistryError
from schemas.impact import affected_consumers, affected_sentence, split_affected
from schemas.models import SubjectVersion
from schemas.naming import is_global_subject, normalize_subject, parse_version

logger = logging.getLogger(__name__)


def _schema_shape(row: SubjectVersion, text_format: str | None = None) -> dict[str, Any]:
    """Confluent's Schema entity for one subject version."""
    shape: dict[str, Any] = {"subject": row.subject.name, "version": row.version, "id": row.schema_id}
    _put_schema_type(shape, row.schema.schema_type)
    if row.schema.references:
        shape["references"] = row.schema.references
    shape["schema"] = _formatted(row.schema_id, row.schema.schema_type, row.schema.schema_text, text_format)
    if row.deleted:
        shape["deleted"] = True
    return shape


def _formatted(schema_id: int, schema_type: str, text: str, text_format: str | None) -> str:
    """The schema text in the `format` asked for: Protobuf's `serialized` is the base64
    FileDescriptorProto Confluent's Protobuf deserializers read; otherwise the stored text."""
    if text_format == "serialized" and schema_type == c.SCHEMA_TYPE_PROTOBUF:
        return selectors.schema_serialized(schema_id)
    return text


def _put_schema_type(shape: dict[str, Any], schema_type: str) -> None:
    """Confluent leaves `schemaType` out for AVRO, the default, and names the others."""
    if schema_type != c.SCHEMA_TYPE_AVRO:
        shape["schemaType"] = schema_type


def _schema_request(body: dict[str, Any]) -> dict[str, Any]:
    return {"schema": body.get("schema"), "schema_type": body.get("schemaType"), "references": body.get("references")}


def _optional_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None or value in (0, -1):
        # Confluent's clients send 0 or -1 for "not set".
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSchema(f"Invalid '{name}': expected an integer")
    return value


# ---------------------------------------------------------------------------------------------
# Root, types, contexts


def root(request: HttpRequest) -> HttpResponse:
    return json_response(request, {})


def schema_types(request: HttpRequest) -> HttpResponse:
    return json_response(request, list(c.SUPPORTED_SCHEMA_TYPES))


def context_list(request: HttpRequest) -> HttpResponse:
    return json_response(request, selectors.contexts()[max(int_param(request, "offset", 0), 0) :][: _limit(request)])


def _limit(request: HttpRequest) -> int | None:
    limit = int_param(request, "limit", -1)
    return None if limit < 0 else limit


# ---------------------------------------------------------------------------------------------
# Subjects and versions


def subject_list(request: HttpRequest) -> HttpResponse:
    names = selectors.subject_names(
        prefix=request.GET.get("subjectPrefix"),
        deleted=flag(request, "deleted"),
        deleted_only=flag(request, "deletedOnly"),
        offset=int_param(request, "offset", 0),
        limit=int_param(request, "limit", -1),
    )
    return json_response(request, names)


def subject_lookup(request: HttpRequest, subject: str) -> HttpResponse:
    body = read_body(request)
    row = selectors.schema_lookup(
        subject=normalize_subject(subject),
        **_schema_request(body),
        normalize=flag(request, "normalize"),
        deleted=flag(request, "deleted"),
    )
    return json_response(request, _schema_shape(row))


def subject_delete(request: HttpRequest, subject: str) -> HttpResponse:
    versions = services.subject_delete(
        subject=normalize_subject(subject), permanent=flag(request, "permanent"), actor=caller(request)
    )
    return json_response(request, versions)


def version_list(request: HttpRequest, subject: str) -> HttpResponse:
    versions = selectors.subject_version_numbers(
        normalize_subject(subject),
        deleted=flag(request, "deleted"),
        deleted_only=flag(request, "deletedOnly"),
        deleted_as_negative=flag(request, "deletedAsNegative"),
    )
    offset = max(int_param(request, "offset", 0), 0)
    return json_response(request, versions[offset:][: _limit(request)])


def version_register(request: HttpRequest, subject: str) -> HttpResponse:
    body = read_body(request)
    try:
        registered = services.schema_version_register(
            subject=subject,
            **_schema_request(body),
            normalize=flag(request, "normalize"),
            schema_id=_optional_int(body, "id"),
            version=_optional_int(body, "version"),
            actor=caller(request),
        )
    except IncompatibleSchema as error:
        # Refused as before; the message names who would break right after what breaks them.
        error.name_consumers(affected_sentence(*split_affected(affected_consumers(normalize_subject(subject)))))
        raise
    shape: dict[str, Any] = {"id": registered.schema_id, "version": registered.version}
    _put_schema_type(shape, registered.schema_type)
    if registered.references:
        shape["references"] = [reference.as_dict() for reference in registered.references]
    shape["schema"] = registered.schema_text
    return json_response(request, shape)


def version_detail(request: HttpRequest, subject: str, version: str) -> HttpResponse:
    row = selectors.subject_version(
        normalize_subject(subject), parse_version(version), deleted=flag(request, "deleted")
    )
    return json_response(request, _schema_shape(row, request.GET.get("format")))


def version_delete(request: HttpRequest, subject: str, version: str) -> HttpResponse:
    number = services.schema_version_delete(
        subject=normalize_subject(subject),
        version=parse_version(version),
        permanent=flag(request, "permanent"),
        actor=caller(request),
    )
    return json_response(request, number)


def version_schema(request: HttpRequest, subject: str, version: str) -> HttpResponse:
    row = selectors.subject_version(
        normalize_subject(subject), parse_version(version), deleted=flag(request, "deleted")
    )
    return text_response(request, row.schema.schema_text)


def version_referenced_by(request: HttpRequest, subject: str, version: str) -> HttpResponse:
    ids = selectors.version_referenced_by(
        normalize_subject(subject), parse_version(version), deleted=flag(request, "deleted")
    )
    offset = max(int_param(request, "offset", 0), 0)
    return json_response(request, ids[offset:][: _limit(request)])


# ---------------------------------------------------------------------------------------------
# Schemas by id


def _schema_id(raw: str) -> int:
    try:
        number = int(raw)
    except ValueError:
        number = None
    # No schema has an id past a Java int; SQLite cannot even compare one past 64 bits (a 500).
    if number is None or not 0 < number <= c.SCHEMA_ID_MAX:
        raise RegistryError(c.SCHEMA_NOT_FOUND, c.MSG_SCHEMA_ID_NOT_FOUND.format(id=raw))
    return number


def schema_by_id(request: HttpRequest, schema_id: str) -> HttpResponse:
    number = _schema_id(schema_id)
    row = selectors.schema_text_by_id_cached(number)
    shape: dict[str, Any] = {"schema": _formatted(number, row.schema_type, row.schema_text, request.GET.get("format"))}
    _put_schema_type(shape, row.schema_type)
    if row.references:
        shape["references"] = row.references
    if flag(request, "fetchMaxId"):
        shape["maxId"] = selectors.max_schema_id()
    subject = request.GET.get("subject")
    if subject:
        # 8.x fills subject and version when the caller names the subject it read the id from.
        held = selectors.schema_subject_versions(number, subject=subject)
        if held:
            shape["subject"], shape["version"] = held[-1].subject.name, held[-1].version
    return json_response(request, shape)


def schema_text_by_id(request: HttpRequest, schema_id: str) -> HttpResponse:
    return text_response(request, selectors.schema_text_by_id_cached(_schema_id(schema_id)).schema_text)


def schema_id_subjects(request: HttpRequest, schema_id: str) -> HttpResponse:
    rows = selectors.schema_subject_versions(
        _schema_id(schema_id), subject=request.GET.get("subject"), deleted=flag(request, "deleted")
    )
    names = list(dict.fromkeys(row.subject.name for row in rows))
    offset = max(int_param(request, "offset", 0), 0)
    return json_response(request, names[offset:][: _limit(request)])


def schema_id_versions(request: HttpRequest, schema_id: str) -> HttpResponse:
    rows = selectors.schema_subject_versions(
        _schema_id(schema_id), subject=request.GET.get("subject"), deleted=flag(request, "deleted")
    )
    pairs = [{"subject": row.subject.name, "version": row.version} for row in rows]
    offset = max(int_param(request, "offset", 0), 0)
    return json_response(request, pairs[offset:][: _limit(request)])


def schema_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.schema_list(
        prefix=request.GET.get("subjectPrefix"),
        deleted=flag(request, "deleted"),
        latest_only=flag(request, "latestOnly"),
        offset=int_param(request, "offset", 0),
        limit=int_param(request, "limit", -1),
    )
    return json_response(request, [_schema_shape(row) for row in rows])


# ---------------------------------------------------------------------------------------------
# Compatibility


def _compatibility(request: HttpRequest, subject: str, version: str | None) -> HttpResponse:
    verbose = flag(request, "verbose")
    # The version is read first: 42202 and 40402 come before any complaint about the schema.
    parsed_version = parse_version(version) if version is not None else None
    body = read_body(request)
    try:
        result = selectors.compatibility_check(
            subject=normalize_subject(subject),
            **_schema_request(body),
            normalize=flag(request, "normalize"),
            version=parsed_version,
        )
    except InvalidSchema as error:
        if not verbose:
            raise
        # Confluent: with verbose=true a schema that does not parse is reported, not refused.
        return json_response(request, {"is_compatible": False, "messages": [error.message]})
    shape: dict[str, Any] = {"is_compatible": result.is_compatible}
    if verbose:
        if result.messages:
            shape["messages"] = result.messages
        if result.differences:
            # Eventline's addition: each difference with type, path, values, direction and a sentence.
            shape["differences"] = [difference.to_dict() for difference in result.differences]
        if result.example is not None:
            # Eventline's addition (issue 15): an event the failing version accepts and the new
            # schema refuses (or the reverse for FORWARD), with the rule it shows.
            shape["example"] = result.example.to_dict()
        affected = [] if result.is_compatible else affected_consumers(normalize_subject(subject))
        breaking, downstream = split_affected(affected)
        if breaking:
            # Eventline's additions (from lineage): who reads the changed type and would break,
            # and who consumes what they produce in turn (not counted as broken).
            shape["affected_consumers"] = breaking
        if downstream:
            shape["downstream_consumers"] = downstream
    return json_response(request, shape)


def compatibility_version(request: HttpRequest, subject: str, version: str) -> HttpResponse:
    return _compatibility(request, subject, version)


def compatibility_all(request: HttpRequest, subject: str) -> HttpResponse:
    return _compatibility(request, subject, None)


# ---------------------------------------------------------------------------------------------
# Config and mode


def _config_subject(subject: str | None) -> str | None:
    if subject is None or is_global_subject(subject):
        return None
    return normalize_subject(subject)


def config_get(request: HttpRequest, subject: str | None = None) -> HttpResponse:
    name = _config_subject(subject)
    if name is None:
        return json_response(request, selectors.global_config())
    return json_response(request, selectors.subject_config(name, default_to_global=flag(request, "defaultToGlobal")))


def config_put(request: HttpRequest, subject: str | None = None) -> HttpResponse:
    update = services.config_update_from(read_body(request))
    return json_response(
        request, services.config_update(subject=_config_subject(subject), update=update, actor=caller(request))
    )


def config_delete(request: HttpRequest, subject: str | None = None) -> HttpResponse:
    return json_response(request, services.config_delete(subject=_config_subject(subject), actor=caller(request)))


def mode_get(request: HttpRequest, subject: str | None = None) -> HttpResponse:
    name = _config_subject(subject)
    if name is None:
        return json_response(request, {"mode": selectors.global_mode()})
    return json_response(
        request, {"mode": selectors.subject_mode(name, default_to_global=flag(request, "defaultToGlobal"))}
    )


def mode_put(request: HttpRequest, subject: str | None = None) -> HttpResponse:
    body = read_body(request)
    mode = services.mode_update(
        subject=_config_subject(subject), mode=body.get("mode"), force=flag(request, "force"), actor=caller(request)
    )
    return json_response(request, {"mode": mode})


def mode_delete(request: HttpRequest, subject: str | None = None) -> HttpResponse:
    return json_response(
        request, {"mode": services.mode_delete(subject=_config_subject(subject), actor=caller(request))}
    )


# ---------------------------------------------------------------------------------------------
# Views by path

root_view = endpoint(GET=Route(root))
schema_types_view = endpoint(GET=Route(schema_types))
contexts_view = endpoint(GET=Route(context_list))
subjects_view = endpoint(GET=Route(subject_list))
subject_view = endpoint(POST=Route(subject_lookup), DELETE=Route(subject_delete, write=True))
versions_view = endpoint(GET=Route(version_list), POST=Route(version_register, write=True))
version_view = endpoint(GET=Route(version_detail), DELETE=Route(version_delete, write=True))
version_schema_view = endpoint(GET=Route(version_schema))
referenced_by_view = endpoint(GET=Route(version_referenced_by))
schemas_view = endpoint(GET=Route(schema_list))
schema_by_id_view = endpoint(GET=Route(schema_by_id))
schema_text_view = endpoint(GET=Route(schema_text_by_id))
schema_subjects_view = endpoint(GET=Route(schema_id_subjects))
schema_versions_view = endpoint(GET=Route(schema_id_versions))
compatibility_version_view = endpoint(POST=Route(compatibility_version))
compatibility_all_view = endpoint(POST=Route(compatibility_all))
config_view = endpoint(
    GET=Route(config_get), PUT=Route(config_put, write=True), DELETE=Route(config_delete, write=True)
)
mode_view = endpoint(GET=Route(mode_get), PUT=Route(mode_put, write=True), DELETE=Route(mode_delete, write=True))
not_found_view = endpoint(
    **{method: Route(lambda request, **kwargs: _not_found()) for method in ("GET", "POST", "PUT", "DELETE")}
)


def _not_found() -> HttpResponse:
    raise RegistryError(404, "HTTP 404 Not Found")
