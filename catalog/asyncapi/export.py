"""AsyncAPI 3.0 documents of services: channels are the topics the service's event types travel
on, operations say what it sends and receives, message payloads are the registry schemas, and the
correlation id's location is declared (the CloudEvents `correlationid` attribute)."""

from __future__ import annotations

import copy
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from catalog.choices import FlowRole
from catalog.models import EventType
from catalog.schema_view import latest_schema
from core.models import Service
from schemas.selectors import loaded_schema
from schemas.validation import resolve_subject

ASYNCAPI_VERSION = "3.0.0"
_KEY = re.compile(r"[^a-zA-Z0-9._-]")

CLOUDEVENT_HEADERS = {
    "type": "object",
    "description": "CloudEvents attributes carried beside the data (binary mode: ce-* headers).",
    "properties": {
        "id": {"type": "string", "description": "unique per source; a repeat is not appended twice"},
        "source": {"type": "string"},
        "type": {"type": "string"},
        "specversion": {"type": "string", "const": "1.0"},
        "time": {"type": "string", "format": "date-time"},
        "partitionkey": {"type": "string", "description": "Kafka key; same key, same partition, kept in order"},
        "correlationid": {"type": "string", "description": "the business transaction this event belongs to"},
        "causationid": {"type": "string", "description": "id of the event that caused this one"},
        "traceparent": {"type": "string", "description": "W3C Trace Context"},
    },
    "required": ["id", "source", "type"],
}


def component_key(name: str) -> str:
    """AsyncAPI component and channel keys allow letters, digits, '.', '_' and '-'."""
    return _KEY.sub("_", name)


def _payload(event_type: EventType) -> dict[str, Any]:
    schema = latest_schema(event_type.subject)
    if schema is None:
        return {"type": "object", "description": "No schema registered yet."}
    schema_format = _FORMATS.get(_schema_type(event_type.subject))
    if schema_format is not None:
        # Not JSON Schema: a Multi Format Schema Object naming the format, as AsyncAPI 3.0 defines.
        return {"schemaFormat": schema_format, "schema": schema}
    # Drafts 2019-09 and later are declared as such; AsyncAPI's own schema format is draft-07.
    return {key: value for key, value in schema.items() if key not in ("$schema", "$id")}


def _schema_type(subject: str) -> str:
    resolved = resolve_subject(subject)
    return loaded_schema(resolved.schema_id).schema_type if resolved is not None else "JSON"


def public_url(request: HttpRequest) -> str:
    """The address clients reach this server at: EVENTLINE_PUBLIC_URL when it is set, else the
    scheme and host the request came in on, so a server bound anywhere names itself truly
    (Django has checked the host against ALLOWED_HOSTS)."""
    return settings.EVENTLINE.get("PUBLIC_URL") or f"{request.scheme}://{request.get_host()}"


def service_asyncapi_document(*, service: Service, public_url: str) -> dict[str, Any]:
    """The AsyncAPI document of one service: the one it was imported from, given back with the
    catalog's and the registry's changes since laid over it, else a 3.0 document built from the
    catalog and the registry."""
    profile = getattr(service, "profile", None) if hasattr(service, "profile") else None
    if profile is not None and profile.asyncapi.get("document"):
        return _published_document(service, profile.asyncapi)
    return {**_generated_document(service, public_url), GENERATED: True}


#: Marks a document Eventline built from the catalog (a catalog folder does not read it back),
#: as opposed to one a team published and imported (kept, and read back from a folder).
GENERATED = "x-eventline-generated"


def _generated_document(service: Service, public_url: str) -> dict[str, Any]:
    flows = list(
        service.declared_flows.select_related("event_type", "event_type__owner_team").prefetch_related(
            "event_type__topics"
        )
    )
    profile = getattr(service, "profile", None) if hasattr(service, "profile") else None
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for flow in sorted(flows, key=lambda f: (f.event_type.name, f.role)):
        event_type = flow.event_type
        message_key = component_key(event_type.name)
        if message_key not in messages:
            schemas[message_key] = _payload(event_type)
            message: dict[str, Any] = {
                "name": event_type.name,
                "title": event_type.name,
                "summary": event_type.summary,
                "contentType": "application/json",
                "headers": {"$ref": "#/components/schemas/CloudEventAttributes"},
                "payload": {"$ref": f"#/components/schemas/{message_key}"},
                "correlationId": {"$ref": "#/components/correlationIds/correlationId"},
            }
            if event_type.business_meaning:
                message["description"] = event_type.business_meaning
            if event_type.subject:
                message["x-eventline-subject"] = event_type.subject
            message["x-eventline-lifecycle"] = event_type.lifecycle
            messages[message_key] = message
        for topic in event_type.topics.all():
            channel_key = component_key(topic.name)
            channel = channels.setdefault(channel_key, {"address": topic.name, "messages": {}})
            channel["messages"][message_key] = {"$ref": f"#/components/messages/{message_key}"}
            action = "send" if flow.role == FlowRole.PRODUCER else "receive"
            operation_key = component_key(f"{action}{event_type.name}On{topic.name}")
            operations[operation_key] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{channel_key}"},
                "summary": f"{'Publishes' if action == 'send' else 'Consumes'} {event_type.name} on {topic.name}.",
                "messages": [{"$ref": f"#/channels/{channel_key}/messages/{message_key}"}],
            }
    schemas["CloudEventAttributes"] = CLOUDEVENT_HEADERS
    info: dict[str, Any] = {"title": service.name, "version": "1.0.0"}
    description = (profile.summary if profile and profile.summary else "") or service.description
    if description:
        info["description"] = description
    if profile and profile.owner_team:
        info["contact"] = {"name": profile.owner_team.name}
    public = public_url
    host = public.split("://", 1)[-1].rstrip("/")
    document: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "id": f"urn:eventline:service:{component_key(service.name)}",
        "info": info,
        "defaultContentType": "application/json",
        "servers": {
            "eventline": {
                "host": host,
                "protocol": public.split("://", 1)[0] if "://" in public else "http",
                "pathname": "/api/v1",
                "description": "Eventline's HTTP API: POST /topics/{topic}/events to send, consumer groups to receive.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": schemas,
            "correlationIds": {
                "correlationId": {
                    "description": "The business transaction: every event of one order carries the same id.",
                    "location": "$message.header#/correlationid",
                }
            },
        },
    }
    return document


def _published_document(service: Service, kept: dict[str, Any]) -> dict[str, Any]:
    """The imported document (relative references of a bundle inlined) with, per message the
    import read, the event type's summary, meaning and schema where the catalog or the registry
    changed them since, plus Eventline's additions: `x-eventline-topic` on each channel,
    `x-eventline-subject` and `x-eventline-lifecycle` on each message."""
    document = copy.deepcopy(kept["document"])
    version = 3 if str(kept.get("version", "")).startswith("3.") else 2
    names = set(kept.get("messages", {}).values())
    event_types = {event_type.name: event_type for event_type in EventType.objects.filter(name__in=names)}
    for pointer, name in kept.get("messages", {}).items():
        message = _at(document, pointer)
        event_type = event_types.get(name)
        if isinstance(message, dict) and event_type is not None:
            _lay_over(message, event_type, version)
    channels = document.get("channels") or {}
    for channel_key, mapping in (kept.get("topics") or {}).items():
        channel = channels.get(channel_key)
        if isinstance(channel, dict) and "$ref" not in channel:
            channel["x-eventline-topic"] = mapping["topic"]
    if document.get("x-eventline-service") is None and _title_name(document) != service.name:
        document["x-eventline-service"] = service.name
    return document


def _title_name(document: dict[str, Any]) -> str:
    from catalog.asyncapi.importer import _service_name

    return _service_name(str((document.get("info") or {}).get("title", "")))


def _lay_over(message: dict[str, Any], event_type: EventType, version: int) -> None:
    imported = event_type.asyncapi_message or {}
    if event_type.summary != imported.get("summary"):
        message["summary"] = event_type.summary
    if event_type.business_meaning != imported.get("description") and event_type.business_meaning:
        message["description"] = event_type.business_meaning
    if event_type.subject:
        resolved = resolve_subject(event_type.subject)
        if resolved is not None and resolved.schema_id != imported.get("schema_id"):
            _payload_from_registry(message, resolved.schema_id, version)
        message["x-eventline-subject"] = event_type.subject
    message["x-eventline-lifecycle"] = event_type.lifecycle


def _payload_from_registry(message: dict[str, Any], schema_id: int, version: int) -> None:
    """The registry moved on since the import: the message carries the latest schema instead."""
    loaded = loaded_schema(schema_id)
    schema_type = loaded.schema_type
    schema_format = _FORMATS.get(schema_type)
    schema: Any = loaded.parsed
    if isinstance(schema, dict) and schema_type == "JSON":
        schema = {key: value for key, value in schema.items() if key not in ("$schema", "$id")}
    if schema_format is None:
        message.pop("schemaFormat", None)
        message["payload"] = schema
    elif version == 3:
        message["payload"] = {"schemaFormat": schema_format, "schema": schema}
    else:
        message["schemaFormat"] = schema_format
        message["payload"] = schema


_FORMATS = {
    "AVRO": "application/vnd.apache.avro+json;version=1.9.0",
    "PROTOBUF": "application/vnd.google.protobuf;version=3",
}


def _at(document: Any, pointer: str) -> Any:
    node = document
    for part in [p for p in pointer.split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node
