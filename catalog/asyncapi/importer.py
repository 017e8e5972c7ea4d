"""AsyncAPI 3.0 (and 2.6) import: read a document, say what it would create or change
(services, event types, topics, registry subjects, declared flows), then apply it in one
transaction. A document that does not validate against the official AsyncAPI JSON Schema, or whose
schemas the registry would refuse, gets a list of its errors and changes nothing."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from django.db import transaction

from broker.constants import TOPIC_NAME_MAX_LENGTH, TOPIC_NAME_PATTERN
from broker.models import Topic
from broker.services.topics import topic_create
from catalog.choices import FlowRole
from catalog.models import DeclaredFlow, Domain, EventType, ServiceProfile, Team
from catalog.services import (
    declared_flow_add,
    domain_create,
    event_type_create,
    event_type_update,
    service_document,
    team_create,
)
from core.auth import Principal
from core.choices import AuditAction
from core.errors import NUL_REASON, EventlineError, ValidationFailed
from core.jsonutil import max_json_depth, nesting_exceeds, nul_location
from core.models import Service
from core.services import audit_record

SPECS = Path(__file__).resolve().parent / "specs"
DEFAULT_DOMAIN = "Imported"
DEFAULT_TEAM = "Unassigned"
_JSON_SCHEMA_FORMATS = re.compile(r"^application/(schema\+json|schema;|vnd\.aai\.asyncapi)")


@lru_cache(maxsize=2)
def _validator(version: str) -> jsonschema.Draft7Validator:
    spec = json.loads((SPECS / f"asyncapi-{version}.json").read_text())
    return jsonschema.Draft7Validator(spec)


@dataclass
class PlannedMessage:
    event_type: str
    topic: str
    role: str
    summary: str
    description: str
    payload: dict[str, Any] | None


@dataclass
class ImportPlan:
    """What an import does. Each list holds {"name", "action", ...}; `errors` holds
    {"path", "message"} and, when not empty, means nothing was (or would be) changed."""

    service: dict[str, Any] = field(default_factory=dict)
    topics: list[dict[str, Any]] = field(default_factory=list)
    event_types: list[dict[str, Any]] = field(default_factory=list)
    subjects: list[dict[str, Any]] = field(default_factory=list)
    flows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    applied: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "service": self.service,
            "topics": self.topics,
            "event_types": self.event_types,
            "subjects": self.subjects,
            "flows": self.flows,
            "errors": self.errors,
        }


def parse_document(raw: Any) -> dict[str, Any]:
    """JSON or YAML text, or a body the API's JSON parser already read (and held to the depth and
    NUL rules that text is held to here)."""
    if not isinstance(raw, (bytes, str)):
        return _an_object(raw)
    try:
        document = _an_object(yaml.safe_load(raw))
    except yaml.YAMLError as exc:
        raise _invalid(f"Not JSON or YAML: {exc}", "", str(exc)) from exc
    except RecursionError:  # nested past what the YAML reader itself can follow
        raise _too_deep() from None
    if nesting_exceeds(document, max_json_depth(), shared=True):
        raise _too_deep()
    where = nul_location(document)
    if where is not None:
        raise _invalid(f"{_pointer(where)}: {NUL_REASON}", _pointer(where), NUL_REASON)
    return document


def _an_object(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise _invalid("An AsyncAPI document is an object.", "", "not an object")
    return document


def _too_deep() -> ValidationFailed:
    reason = f"arrays and objects nest more than {max_json_depth()} levels deep"
    return _invalid(f"The document's {reason}, the most this server accepts (EVENTLINE_MAX_JSON_DEPTH).", "", reason)


def _invalid(message: str, path: str, reason: str) -> ValidationFailed:
    return ValidationFailed(message, code="invalid_asyncapi", details={"errors": [{"path": path, "message": reason}]})


def _pointer(path: Any) -> str:
    return "/" + "/".join(str(part) for part in path) if path else ""


def _deref(document: dict[str, Any], node: Any, errors: list[dict[str, str]], where: str, depth: int = 0) -> Any:
    """Follow local `#/...` references; external ones are refused (no network fetch, ever)."""
    while isinstance(node, dict) and "$ref" in node and depth < 32:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            errors.append(
                {"path": where, "message": f"external $ref {ref!r} is not supported; inline it or use #/components"}
            )
            return None
        target: Any = document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                errors.append({"path": where, "message": f"$ref {ref!r} does not resolve"})
                return None
            target = target[part]
        node, depth = target, depth + 1
    return node


def _payload_schema(
    document: dict[str, Any], message: dict[str, Any], errors: list[dict[str, str]], where: str
) -> dict[str, Any] | None:
    payload = _deref(document, message.get("payload"), errors, f"{where}/payload")
    if payload is None:
        return None
    if isinstance(payload, dict) and "schemaFormat" in payload and "schema" in payload:  # 3.0 multi-format schema
        if not _JSON_SCHEMA_FORMATS.match(str(payload["schemaFormat"])):
            errors.append(
                {
                    "path": f"{where}/payload/schemaFormat",
                    "message": f"schema format {payload['schemaFormat']!r} is not JSON Schema; only JSON Schema payloads can be registered",
                }
            )
            return None
        payload = payload["schema"]
    schema_format = message.get("schemaFormat")  # 2.6 puts it on the message
    if schema_format and not _JSON_SCHEMA_FORMATS.match(str(schema_format)):
        errors.append(
            {"path": f"{where}/schemaFormat", "message": f"schema format {schema_format!r} is not JSON Schema"}
        )
        return None
    return _inline_refs(document, payload, errors, f"{where}/payload")


def _inline_refs(document: dict[str, Any], node: Any, errors: list[dict[str, str]], where: str, depth: int = 0) -> Any:
    """Copy a payload schema with its #/components references inlined, so the registry gets a
    standalone schema."""
    if depth > 64:
        errors.append({"path": where, "message": "references nest too deeply (recursive schema?)"})
        return None
    if isinstance(node, dict):
        if "$ref" in node and isinstance(node["$ref"], str) and node["$ref"].startswith("#/components/"):
            return _inline_refs(document, _deref(document, node, errors, where), errors, where, depth + 1)
        return {key: _inline_refs(document, value, errors, f"{where}/{key}", depth + 1) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline_refs(document, value, errors, where, depth + 1) for value in node]
    return node


def _messages_v3(document: dict[str, Any], errors: list[dict[str, str]]) -> list[PlannedMessage]:
    planned = []
    channels = document.get("channels") or {}
    for op_key, operation in (document.get("operations") or {}).items():
        where = f"/operations/{op_key}"
        operation = _deref(document, operation, errors, where)
        if not isinstance(operation, dict):
            continue
        channel = _deref(document, operation.get("channel"), errors, f"{where}/channel")
        if not isinstance(channel, dict):
            continue
        channel_key = next(
            (key for key, value in channels.items() if value is channel or _deref(document, value, [], "") is channel),
            "",
        )
        topic = channel.get("address") or channel_key
        role = FlowRole.PRODUCER if operation.get("action") == "send" else FlowRole.CONSUMER
        message_nodes = operation.get("messages") or list((channel.get("messages") or {}).values())
        for index, node in enumerate(message_nodes):
            message = _deref(document, node, errors, f"{where}/messages/{index}")
            if not isinstance(message, dict):
                continue
            planned.append(
                _planned(document, node, message, str(topic), role, index, errors, f"{where}/messages/{index}")
            )
    return planned


def _messages_v2(document: dict[str, Any], errors: list[dict[str, str]]) -> list[PlannedMessage]:
    planned = []
    for channel_key, channel in (document.get("channels") or {}).items():
        channel = _deref(document, channel, errors, f"/channels/{channel_key}")
        if not isinstance(channel, dict):
            continue
        # AsyncAPI 2.x: "subscribe" = the application sends, "publish" = it receives.
        for verb, role in (("subscribe", FlowRole.PRODUCER), ("publish", FlowRole.CONSUMER)):
            operation = channel.get(verb)
            if not isinstance(operation, dict):
                continue
            where = f"/channels/{channel_key}/{verb}/message"
            message = _deref(document, operation.get("message"), errors, where)
            nodes = (
                message.get("oneOf") if isinstance(message, dict) and "oneOf" in message else [operation.get("message")]
            )
            for index, node in enumerate(nodes or []):
                resolved = _deref(document, node, errors, f"{where}/{index}")
                if not isinstance(resolved, dict):
                    continue
                planned.append(
                    _planned(document, node, resolved, str(channel_key), role, index, errors, f"{where}/{index}")
                )
    return planned


def _planned(
    document: dict[str, Any],
    node: Any,
    message: dict[str, Any],
    topic: str,
    role: str,
    index: int,
    errors: list[dict[str, str]],
    where: str,
) -> PlannedMessage:
    """The event type a message (`node`, resolved to `message`) on `topic` plans; unnamed, it is
    named after its $ref or its place on the topic."""
    name = message.get("name") or _last_ref_part(node) or f"{topic}Message{index}"
    return PlannedMessage(
        event_type=str(name),
        topic=topic,
        role=role,
        summary=str(message.get("summary") or message.get("title") or name),
        description=str(message.get("description") or ""),
        payload=_payload_schema(document, message, errors, where),
    )


def _last_ref_part(node: Any) -> str:
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return node["$ref"].rsplit("/", 1)[-1]
    return ""


def _service_name(title: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9._-]+", "-", title.strip()).strip("-").lower()
    return name[:200] or "imported-service"


def plan_import(document: dict[str, Any]) -> tuple[ImportPlan, list[PlannedMessage], dict[str, Any]]:
    """Validate and read the document; say what applying it would do. Changes nothing."""
    plan = ImportPlan()
    version = str(document.get("asyncapi", ""))
    if version.startswith("3."):
        spec, read = "3.0.0", _messages_v3
    elif version.startswith("2."):
        spec, read = "2.6.0", _messages_v2
    else:
        plan.errors.append(
            {"path": "/asyncapi", "message": f"unsupported AsyncAPI version {version!r}; 3.0 and 2.6 are supported"}
        )
        return plan, [], {}
    for error in sorted(_validator(spec).iter_errors(document), key=lambda e: list(e.absolute_path))[:50]:
        # "not valid under any of the given schemas" says little: the branch error that reaches
        # deepest into the document names the field that is wrong.
        while error.context:
            deepest = max(len(e.absolute_path) for e in error.context)
            error = jsonschema.exceptions.best_match(e for e in error.context if len(e.absolute_path) == deepest)
        plan.errors.append({"path": _pointer(error.absolute_path), "message": error.message[:300]})
    if plan.errors:
        return plan, [], {}
    messages = read(document, plan.errors)
    info = document.get("info") or {}
    service_name = str(document.get("x-eventline-service") or _service_name(str(info.get("title", ""))))
    context = {
        "service": service_name,
        "summary": str(info.get("description") or "")[:300],
        "owner_team": str((info.get("contact") or {}).get("name") or document.get("x-eventline-owner") or DEFAULT_TEAM),
        "domain": str(document.get("x-eventline-domain") or DEFAULT_DOMAIN),
    }
    service = Service.objects.filter(name=service_name).first()
    documented = service is not None and ServiceProfile.objects.filter(service=service).exists()
    plan.service = {"name": service_name, "action": "update" if documented else "create"}

    seen_topics: set[str] = set()
    seen_types: dict[str, PlannedMessage] = {}
    for message in messages:
        if message.topic not in seen_topics:
            seen_topics.add(message.topic)
            if (
                not message.topic
                or len(message.topic) > TOPIC_NAME_MAX_LENGTH
                or not TOPIC_NAME_PATTERN.match(message.topic)
            ):
                plan.errors.append(
                    {
                        "path": f"/channels/{message.topic}",
                        "message": f"{message.topic!r} is not a valid topic name ([a-zA-Z0-9._-], at most 249)",
                    }
                )
            exists = Topic.objects.filter(name=message.topic).exists()
            plan.topics.append({"name": message.topic, "action": "unchanged" if exists else "create"})
        seen_types.setdefault(message.event_type, message)
        plan.flows.append(
            {"service": service_name, "role": message.role, "event_type": message.event_type, "topic": message.topic}
        )
    for name, message in seen_types.items():
        existing = EventType.objects.filter(name=name).first()
        subject = existing.subject if existing and existing.subject else f"{message.topic}-{name}"
        plan.event_types.append({"name": name, "action": "update" if existing else "create", "subject": subject})
        if message.payload is not None:
            plan.subjects.append(_subject_plan(subject, message.payload, plan.errors))
    return plan, messages, context


def _subject_plan(subject: str, payload: dict[str, Any], errors: list[dict[str, str]]) -> dict[str, Any]:
    from schemas.errors import RegistryError
    from schemas.selectors import compatibility_check, live_versions, schema_lookup

    text = json.dumps(payload, sort_keys=False)
    try:
        schema_lookup(subject=subject, schema=text, schema_type="JSON", references=None, normalize=False, deleted=False)
        return {"subject": subject, "action": "unchanged"}
    except RegistryError:
        pass
    try:
        result = compatibility_check(
            subject=subject, schema=text, schema_type="JSON", references=None, normalize=False, version=None
        )
    except RegistryError as exc:
        errors.append({"path": f"/subjects/{subject}", "message": f"the registry refuses this schema: {exc}"})
        return {"subject": subject, "action": "refused"}
    if not result.is_compatible:
        reasons = [d.explanation for d in result.differences if d.breaks][:5]
        errors.append(
            {
                "path": f"/subjects/{subject}",
                "message": "incompatible with the registered versions: " + "; ".join(reasons),
            }
        )
        return {"subject": subject, "action": "incompatible", "reasons": reasons}
    return {"subject": subject, "action": "new version" if live_versions(subject) else "create"}


def asyncapi_import(*, principal: Principal, raw: bytes | str | dict[str, Any], dry_run: bool = True) -> ImportPlan:
    """Preview (dry_run) or apply an AsyncAPI document. On any error nothing is changed."""
    document = parse_document(raw)
    plan, messages, context = plan_import(document)
    if plan.errors or dry_run:
        return plan
    from schemas.errors import RegistryError

    try:
        with transaction.atomic():
            _apply(principal, plan, messages, context)
    except EventlineError as exc:
        details = exc.details.get("errors") or [{"field": "", "reason": exc.message}]
        plan.errors.extend({"path": f"/{e.get('field', '')}", "message": e.get("reason", exc.message)} for e in details)
        return plan
    except RegistryError as exc:
        plan.errors.append({"path": "/subjects", "message": str(exc)})
        return plan
    plan.applied = True
    return plan


def _apply(principal: Principal, plan: ImportPlan, messages: list[PlannedMessage], context: dict[str, Any]) -> None:
    from schemas.services import schema_version_register

    if not Domain.objects.filter(name=context["domain"]).exists():
        domain_create(principal=principal, name=context["domain"], description="Created by an AsyncAPI import.")
    if not Team.objects.filter(name=context["owner_team"]).exists():
        team_create(principal=principal, name=context["owner_team"], description="Created by an AsyncAPI import.")
    service_document(
        principal=principal,
        name=context["service"],
        create=plan.service["action"] == "create",
        summary=context["summary"],
        owner_team=context["owner_team"],
        domain=context["domain"],
    )
    for topic in plan.topics:
        if topic["action"] == "create":
            topic_create(name=topic["name"], partitions=1, actor=principal)
    payloads = {message.event_type: message for message in messages}
    for entry in plan.event_types:
        message = payloads[entry["name"]]
        if message.payload is not None:
            schema_version_register(
                subject=entry["subject"], schema=json.dumps(message.payload), schema_type="JSON", actor=principal
            )
        topics = sorted({m.topic for m in messages if m.event_type == entry["name"]})
        existing = EventType.objects.filter(name=entry["name"]).first()
        if existing is None:
            event_type_create(
                principal=principal,
                data={
                    "name": entry["name"],
                    "domain": context["domain"],
                    "owner_team": context["owner_team"],
                    "summary": message.summary[:300],
                    "business_meaning": message.description,
                    "topics": topics,
                    "subject": entry["subject"] if message.payload is not None else "",
                },
            )
        else:
            current = sorted(t.name for t in existing.topics.all())
            event_type_update(
                principal=principal,
                event_type=existing,
                data={
                    "summary": message.summary[:300],
                    "topics": sorted(set(current) | set(topics)),
                    **({"business_meaning": message.description} if message.description else {}),
                    **({"subject": entry["subject"]} if message.payload is not None and not existing.subject else {}),
                },
            )
    for flow in plan.flows:
        event_type = EventType.objects.get(name=flow["event_type"])
        if not DeclaredFlow.objects.filter(
            service__name=flow["service"], event_type=event_type, role=flow["role"]
        ).exists():
            declared_flow_add(
                principal=principal, event_type=event_type, service_name=flow["service"], role=flow["role"]
            )
    # Each change above has its own entry; this one says they came from one document, and what it held.
    audit_record(
        principal=principal,
        action=AuditAction.ASYNCAPI_IMPORTED,
        target_type="service",
        target=context["service"],
        after={key: value for key, value in plan.as_dict().items() if key not in ("applied", "errors")},
    )
