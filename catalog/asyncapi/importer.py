"""AsyncAPI 3.0 and 2.x import: read a document (one JSON or YAML file, or a bundle of files with
relative `$ref`s between them), say per item what it would create, update, leave unchanged or
skip and why, then apply what is valid and report the rest.

Only a document that cannot be read at all (not JSON or YAML, not AsyncAPI 2.x or 3.0, not valid
against the official AsyncAPI JSON Schema) is refused whole. Anything narrower skips or flags the
items it touches: a payload in a format the registry does not know, or behind a remote `$ref`
(never fetched), gives an event type without a schema, flagged; a schema the registry refuses or
finds incompatible skips that subject; a message behind a remote `$ref` is skipped.

Channel addresses map to topics by the rule in catalog.asyncapi.addresses; the caller may point a
channel at an existing topic instead (`topics={channel key: topic}`). What the catalog has no
place for is kept as published on the service (ServiceProfile.asyncapi) and the event type
(EventType.asyncapi_message), so the export gives the document back."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from django.db import transaction

from broker.models import Topic
from broker.services.topics import topic_create
from catalog.asyncapi.addresses import TopicMapping, topic_for_address
from catalog.asyncapi.bundle import Bundle, bundle_load
from catalog.asyncapi.payloads import Payload, registrable
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
# Keys Eventline's export adds; an exported document imported again is not changed by them.
EVENTLINE_KEYS = ("x-eventline-topic", "x-eventline-subject", "x-eventline-lifecycle", "x-eventline-generated")
_EVENT_TYPE_NAME = re.compile(r"[^A-Za-z0-9 ._-]")
_MAX_INLINE_DEPTH = 64


@lru_cache(maxsize=2)
def _validator(version: str) -> jsonschema.Draft7Validator:
    spec = json.loads((SPECS / f"asyncapi-{version}.json").read_text())
    return jsonschema.Draft7Validator(spec)


@dataclass
class PlannedMessage:
    """One message on one channel, as the service sends (producer) or receives (consumer) it, or
    neither (a channel's message no operation names)."""

    event_type: str
    channel: str
    topic: str
    role: str | None
    summary: str
    description: str
    pointer: str
    message: dict[str, Any]
    payload: Payload | None
    correlation_id_location: str = ""
    tags: list[str] = field(default_factory=list)
    example: Any = None
    flags: list[str] = field(default_factory=list)


@dataclass
class ImportPlan:
    """What an import does. Each item list holds {"name", "action", ...}, the action one of
    create, update, unchanged and skipped (with its `reason`); `flags` on an event type say what
    it was imported without. `warnings` hold {"path", "message"} for what was reported and not
    followed (remote references). `errors`, when not empty, mean the document could not be read
    and nothing was (or would be) changed."""

    service: dict[str, Any] = field(default_factory=dict)
    topics: list[dict[str, Any]] = field(default_factory=list)
    event_types: list[dict[str, Any]] = field(default_factory=list)
    subjects: list[dict[str, Any]] = field(default_factory=list)
    flows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
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
            "warnings": self.warnings,
            "errors": self.errors,
            "skipped": sum(
                1
                for items in (self.topics, self.event_types, self.subjects, self.flows)
                for item in items
                if item.get("action") == "skipped"
            ),
        }


def parse_document(raw: Any) -> dict[str, Any]:
    """JSON or YAML text, or a body the API's JSON parser already read (and held to the depth and
    NUL rules that text is held to here)."""
    if not isinstance(raw, (bytes, str)):
        return _an_object(raw)
    return _an_object(parse_value(raw, ""))


def parse_value(raw: bytes | str, name: str) -> Any:
    """One file of a document: JSON or YAML, held to the nesting limit, with no NUL."""
    prefix = f"{name}: " if name else ""
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise _invalid(f"{prefix}Not JSON or YAML: {exc}", name, str(exc)) from exc
    except RecursionError:  # nested past what the YAML reader itself can follow
        raise _too_deep() from None
    if nesting_exceeds(value, max_json_depth(), shared=True):
        raise _too_deep()
    where = nul_location(value)
    if where is not None:
        raise _invalid(f"{prefix}{_pointer(where)}: {NUL_REASON}", _pointer(where), NUL_REASON)
    return value


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
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in path) if path else ""


class _Unresolved(Exception):
    def __init__(self, ref: str, reason: str) -> None:
        super().__init__(f"$ref {ref!r}: {reason}")
        self.ref = ref


def _resolve(document: dict[str, Any], node: Any, where: str) -> tuple[Any, str, str]:
    """Follow local `#/...` references: (the object, its JSON pointer in the document, the last
    reference followed). Raises _Unresolved for one that leaves the document or names nothing."""
    last_ref = ""
    for _ in range(32):
        if not (isinstance(node, dict) and "$ref" in node):
            return node, where, last_ref
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise _Unresolved(str(ref), "remote reference, not followed")
        target: Any = document
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                raise _Unresolved(ref, "names nothing in the document")
        node, where, last_ref = target, ref[1:], ref
    raise _Unresolved(str(node.get("$ref")), "references loop")


def _with_traits(
    document: dict[str, Any], message: dict[str, Any], version: int, where: str, plan: ImportPlan
) -> dict[str, Any]:
    """The message with its `traits` applied, in their order, by JSON Merge Patch (RFC 7396):
    in AsyncAPI 2.x a trait is the patch (its fields win); in 3.0 a trait never overrides a field
    the message sets itself. The stored document keeps the traits as published."""
    traits = message.get("traits")
    if not isinstance(traits, list) or not traits:
        return message
    merged: dict[str, Any] = {key: value for key, value in message.items() if key != "traits"}
    for index, node in enumerate(traits):
        try:
            trait, _, _ = _resolve(document, node, f"{where}/traits/{index}")
        except _Unresolved as exc:
            plan.warnings.append({"path": f"{where}/traits/{index}", "message": f"trait not applied: {exc}"})
            continue
        if not isinstance(trait, dict):
            continue
        merged = _merge_patch(merged, trait) if version == 2 else _merge_patch(trait, merged)
    return merged


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge key by key, a null removes the key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _inline(document: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """A copy of a payload schema with the document's `#/...` references inlined, so the
    registry gets a standalone schema. Raises _Unresolved for a reference it cannot follow."""
    if depth > _MAX_INLINE_DEPTH:
        raise _Unresolved("#", "references nest too deeply (a recursive schema?)")
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#"):
                raise _Unresolved(ref, "remote reference, not followed")
            try:
                target, _, _ = _resolve(document, node, "")
            except _Unresolved:
                return dict(node)  # a reference inside the schema itself: the registry resolves it
            return _inline(document, target, depth + 1)
        return {key: _inline(document, value, depth + 1) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(document, value, depth + 1) for value in node]
    return node


def _payload(document: dict[str, Any], message: dict[str, Any], version: int) -> tuple[Payload | None, str]:
    """The payload to register, and a flag when there is none to register."""
    if "payload" not in message:
        return None, ""
    try:
        payload, _, _ = _resolve(document, message["payload"], "")
        schema_format = message.get("schemaFormat") if version == 2 else None
        if version == 3 and isinstance(payload, dict) and "schemaFormat" in payload and "schema" in payload:
            schema_format = payload["schemaFormat"]
            payload, _, _ = _resolve(document, payload["schema"], "")
        schema = _inline(document, payload)
    except _Unresolved as exc:
        return None, f"the payload's {exc}; imported without a schema"
    result = registrable(str(schema_format) if schema_format else None, schema)
    return (result if result.schema_type else None), result.flag


def _channel_key(ref_node: Any) -> str:
    ref = ref_node.get("$ref") if isinstance(ref_node, dict) else None
    if isinstance(ref, str) and ref.startswith("#/channels/"):
        return ref[len("#/channels/") :].split("/", 1)[0].replace("~1", "/").replace("~0", "~")
    return ""


class _Reader:
    """Walks a document's operations and channels into PlannedMessages; what it cannot follow
    goes to `skipped` ({"path", "ref"/"reason"})."""

    def __init__(self, document: dict[str, Any], bundle: Bundle, version: int) -> None:
        self.document = document
        self.bundle = bundle
        self.version = version
        self.found: list[tuple[str, str | None, Any, str]] = []  # (channel, role, node, where)
        self.skipped: list[dict[str, str]] = []

    def read(self) -> list[tuple[str, str | None, Any, str]]:
        if self.version == 3:
            self._read_v3()
        else:
            self._read_v2()
        return self.found

    def _read_v3(self) -> None:
        channels = self.document.get("channels") or {}
        covered: set[str] = set()
        for op_key, node in (self.document.get("operations") or {}).items():
            where = f"/operations/{_pointer([op_key])[1:]}"
            try:
                operation, _, _ = _resolve(self.document, node, where)
            except _Unresolved as exc:
                self.skipped.append({"path": where, "reason": str(exc)})
                continue
            role = FlowRole.PRODUCER if operation.get("action") == "send" else FlowRole.CONSUMER
            self._v3_messages(operation, role, where, covered)
            reply = operation.get("reply")
            if reply is not None:
                try:
                    reply, reply_where, _ = _resolve(self.document, reply, f"{where}/reply")
                except _Unresolved as exc:
                    self.skipped.append({"path": f"{where}/reply", "reason": str(exc)})
                    continue
                # The replier sends what the requester receives.
                opposite = FlowRole.CONSUMER if role == FlowRole.PRODUCER else FlowRole.PRODUCER
                self._v3_messages(reply, opposite, reply_where, covered)
        for channel_key, node in channels.items():
            if channel_key in covered:
                continue
            try:
                channel, channel_where, _ = _resolve(self.document, node, f"/channels/{channel_key}")
            except _Unresolved as exc:
                self.skipped.append({"path": f"/channels/{channel_key}", "reason": str(exc)})
                continue
            for message_key, message in (channel.get("messages") or {}).items():
                self.found.append((channel_key, None, message, f"{channel_where}/messages/{message_key}"))

    def _v3_messages(self, operation: dict[str, Any], role: str, where: str, covered: set[str]) -> None:
        channel_key = _channel_key(operation.get("channel"))
        if not channel_key:
            if "channel" in operation:
                self.skipped.append({"path": f"{where}/channel", "reason": "not a reference to one of #/channels"})
            return  # a reply with only a runtime address: nothing to import
        covered.add(channel_key)
        nodes = operation.get("messages")
        if nodes is None:
            try:
                channel, channel_where, _ = _resolve(self.document, operation["channel"], f"{where}/channel")
            except _Unresolved as exc:
                self.skipped.append({"path": f"{where}/channel", "reason": str(exc)})
                return
            for message_key, message in (channel.get("messages") or {}).items():
                self.found.append((channel_key, role, message, f"{channel_where}/messages/{message_key}"))
            return
        for index, message in enumerate(nodes):
            self.found.append((channel_key, role, message, f"{where}/messages/{index}"))

    def _read_v2(self) -> None:
        for channel_key, node in (self.document.get("channels") or {}).items():
            where = f"/channels/{_pointer([channel_key])[1:]}"
            try:
                channel, where, _ = _resolve(self.document, node, where)
            except _Unresolved as exc:
                self.skipped.append({"path": where, "reason": str(exc)})
                continue
            # AsyncAPI 2.x: "subscribe" = the application sends, "publish" = it receives.
            for verb, role in (("subscribe", FlowRole.PRODUCER), ("publish", FlowRole.CONSUMER)):
                operation = channel.get(verb)
                if not isinstance(operation, dict) or "message" not in operation:
                    continue
                at = f"{where}/{verb}/message"
                try:
                    message, at, _ = _resolve(self.document, operation["message"], at)
                except _Unresolved as exc:
                    self.skipped.append({"path": at, "reason": str(exc)})
                    continue
                if isinstance(message, dict) and isinstance(message.get("oneOf"), list):
                    for index, one in enumerate(message["oneOf"]):
                        self.found.append((channel_key, role, one, f"{at}/oneOf/{index}"))
                else:
                    self.found.append((channel_key, role, operation["message"], f"{where}/{verb}/message"))


def _service_name(title: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9._-]+", "-", title.strip()).strip("-").lower()
    return name[:200] or "imported-service"


def _without_eventline_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_eventline_keys(v) for k, v in node.items() if k not in EVENTLINE_KEYS}
    if isinstance(node, list):
        return [_without_eventline_keys(v) for v in node]
    return node


def plan_import(
    document: dict[str, Any], *, bundle: Bundle | None = None, topics: Mapping[str, str] | None = None
) -> tuple[ImportPlan, list[PlannedMessage], dict[str, Any]]:
    """Validate and read the document; say what applying it would do. Changes nothing."""
    plan = ImportPlan()
    bundle = bundle or Bundle(root="", document=document)
    version_text = str(document.get("asyncapi", ""))
    if version_text.startswith("3."):
        spec, version = "3.0.0", 3
    elif version_text.startswith("2."):
        spec, version = "2.6.0", 2
    else:
        plan.errors.append(
            {
                "path": "/asyncapi",
                "message": f"unsupported AsyncAPI version {version_text!r}; 3.0 and 2.x are supported",
            }
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
    plan.warnings.extend(
        {"path": item["path"], "message": f"$ref {item['ref']!r}: {item['reason']}"} for item in bundle.unresolved
    )
    info = document.get("info") or {}
    service_name = str(document.get("x-eventline-service") or _service_name(str(info.get("title", ""))))
    context: dict[str, Any] = {
        "service": service_name,
        "summary": str(info.get("description") or "")[:300],
        "owner_team": str((info.get("contact") or {}).get("name") or document.get("x-eventline-owner") or DEFAULT_TEAM),
        "domain": str(document.get("x-eventline-domain") or DEFAULT_DOMAIN),
    }
    reader = _Reader(document, bundle, version)
    found = reader.read()
    for item in reader.skipped:
        plan.warnings.append({"path": item["path"], "message": f"skipped: {item['reason']}"})

    mappings = _topic_mappings(document, version, {channel for channel, _, _, _ in found}, service_name, topics or {})
    messages = _planned_messages(document, bundle, version, found, mappings, plan)
    _plan_items(plan, messages, mappings, context)
    context["fragment"] = _fragment(version_text, document, messages, mappings)
    service = Service.objects.filter(name=service_name).first()
    profile = ServiceProfile.objects.filter(service=service).first() if service else None
    if profile is None:
        plan.service = {"name": service_name, "action": "create"}
    else:
        same = (
            profile.asyncapi == context["fragment"]
            and profile.summary == context["summary"]
            and (profile.owner_team.name if profile.owner_team else "") == context["owner_team"]
        )
        plan.service = {"name": service_name, "action": "unchanged" if same else "update"}
    return plan, messages, context


def published_fragment(document: dict[str, Any]) -> tuple[dict[str, Any], list[PlannedMessage]] | None:
    """What an import keeps of a published document (the service's `asyncapi` fragment) and the
    messages it reads, for a document Eventline exported (channels carry `x-eventline-topic`);
    None when it is not a valid AsyncAPI 2.x or 3.0 document. Reads nothing from the database."""
    version_text = str(document.get("asyncapi", ""))
    version = 3 if version_text.startswith("3.") else 2 if version_text.startswith("2.") else 0
    if not version or any(True for _ in _validator("3.0.0" if version == 3 else "2.6.0").iter_errors(document)):
        return None
    plan = ImportPlan()
    bundle = Bundle(root="", document=document)
    found = _Reader(document, bundle, version).read()
    service_name = str(
        document.get("x-eventline-service") or _service_name(str((document.get("info") or {}).get("title", "")))
    )
    mappings = _topic_mappings(document, version, {channel for channel, _, _, _ in found}, service_name, {})
    messages = _planned_messages(document, bundle, version, found, mappings, plan)
    return _fragment(version_text, document, messages, mappings), messages


def _fragment(
    version_text: str, document: dict[str, Any], messages: list[PlannedMessage], mappings: dict[str, TopicMapping]
) -> dict[str, Any]:
    """What a service keeps of the document it was imported from (its profile's `asyncapi`)."""
    return {
        "version": version_text,
        "document": _without_eventline_keys(document),
        "messages": {m.pointer: m.event_type for m in messages},
        "topics": {
            channel: {"topic": mapping.topic, "parameters": mapping.parameters, "rule": mapping.rule}
            for channel, mapping in mappings.items()
        },
    }


def fragment_identity(fragment: Mapping[str, Any]) -> Any:
    """What makes two kept fragments the same document: the rule a channel's topic came by is
    not part of it (an export names every topic, so a re-read says `x-eventline-topic`)."""
    if not fragment or not fragment.get("document"):
        return None
    topics = {
        channel: (mapping.get("topic"), mapping.get("parameters"))
        for channel, mapping in (fragment.get("topics") or {}).items()
    }
    return (fragment.get("version"), fragment.get("document"), fragment.get("messages"), topics)


def messages_keep(messages: list[PlannedMessage]) -> None:
    """Keep each message as published on its event type (see _keep_message), with the schema id
    its subject has now, leaving the correlation id location to the caller (a catalog folder
    states it in the event type's own file)."""
    first_of: dict[str, PlannedMessage] = {}
    for message in messages:
        first_of.setdefault(message.event_type, message)
    for event_type in EventType.objects.filter(name__in=first_of):
        message = first_of[event_type.name]
        schema_id = _latest_schema_id(event_type.subject) if event_type.subject else None
        event_type.asyncapi_message = _kept_message(message, schema_id)
        event_type.save(update_fields=["asyncapi_message"])


def _topic_mappings(
    document: dict[str, Any], version: int, channel_keys: set[str], service: str, overrides: Mapping[str, str]
) -> dict[str, TopicMapping]:
    mappings = {}
    for channel_key in sorted(channel_keys):
        try:
            channel, _, _ = _resolve(document, (document.get("channels") or {}).get(channel_key), "")
        except _Unresolved:
            channel = {}
        channel = channel if isinstance(channel, dict) else {}
        address = channel.get("address", channel_key) if version == 3 else channel_key
        explicit = overrides.get(channel_key) or channel.get("x-eventline-topic")
        mapping = topic_for_address(address, channel_key=channel_key, fallback=service, explicit=explicit)
        if overrides.get(channel_key):
            mapping = TopicMapping(mapping.topic, mapping.parameters, "chosen")
        mappings[channel_key] = mapping
    return mappings


def _planned_messages(
    document: dict[str, Any],
    bundle: Bundle,
    version: int,
    found: list[tuple[str, str | None, Any, str]],
    mappings: dict[str, TopicMapping],
    plan: ImportPlan,
) -> list[PlannedMessage]:
    planned: list[PlannedMessage] = []
    for channel_key, role, node, where in found:
        try:
            message, pointer, last_ref = _resolve(document, node, where)
        except _Unresolved as exc:
            plan.warnings.append({"path": where, "message": f"message skipped: {exc}"})
            continue
        if not isinstance(message, dict):
            continue
        message = _with_traits(document, message, version, where, plan)
        raw_name = (
            message.get("name")
            or (last_ref.rsplit("/", 1)[-1] if last_ref else "")
            or (bundle.origins.get(id(message), "").rsplit("/", 1)[-1])
            or f"{channel_key}Message{len(planned)}"
        )
        name = _EVENT_TYPE_NAME.sub("_", str(raw_name)).lstrip(" ._-")[:200] or "ImportedMessage"
        payload, flag = _payload(document, message, version)
        location = ""
        try:
            correlation, _, _ = _resolve(document, message.get("correlationId"), "")
            if isinstance(correlation, dict) and isinstance(correlation.get("location"), str):
                location = correlation["location"]
        except _Unresolved as exc:
            plan.warnings.append({"path": f"{pointer}/correlationId", "message": str(exc)})
        tags = []
        for tag in message.get("tags") or []:
            try:
                tag, _, _ = _resolve(document, tag, "")
            except _Unresolved:
                continue
            if isinstance(tag, dict) and isinstance(tag.get("name"), str) and 0 < len(tag["name"].strip()) <= 50:
                tags.append(tag["name"].strip())
        examples = message.get("examples") or []
        example = examples[0].get("payload") if examples and isinstance(examples[0], dict) else None
        planned.append(
            PlannedMessage(
                event_type=name,
                channel=channel_key,
                topic=mappings[channel_key].topic,
                role=role,
                summary=str(message.get("summary") or message.get("title") or name)[:300],
                description=str(message.get("description") or ""),
                pointer=pointer,
                message=message,
                payload=payload,
                correlation_id_location=location,
                tags=tags,
                example=example,
                flags=[flag] if flag else [],
            )
        )
    return planned


def _plan_items(
    plan: ImportPlan, messages: list[PlannedMessage], mappings: dict[str, TopicMapping], context: dict[str, Any]
) -> None:
    from broker.constants import TOPIC_NAME_MAX_LENGTH, TOPIC_NAME_PATTERN

    bad_topics: dict[str, str] = {}
    for channel, mapping in mappings.items():
        item: dict[str, Any] = {
            "name": mapping.topic,
            "channel": channel,
            "rule": mapping.rule,
            "parameters": mapping.parameters,
        }
        exists = Topic.objects.filter(name=mapping.topic).exists()
        if not TOPIC_NAME_PATTERN.match(mapping.topic) or len(mapping.topic) > TOPIC_NAME_MAX_LENGTH:
            bad_topics[channel] = f"{mapping.topic!r} is not a valid topic name ([a-zA-Z0-9._-], at most 249)"
        elif mapping.rule == "chosen" and not exists:
            bad_topics[channel] = f"no topic named {mapping.topic!r}: a channel is pointed at an existing topic"
        if channel in bad_topics:
            item.update(action="skipped", reason=bad_topics[channel])
        else:
            item["action"] = "unchanged" if exists else "create"
        plan.topics.append(item)

    by_type: dict[str, list[PlannedMessage]] = {}
    for message in messages:
        by_type.setdefault(message.event_type, []).append(message)
    for name, group in by_type.items():
        first = group[0]
        usable = [m for m in group if m.channel not in bad_topics]
        existing = EventType.objects.filter(name=name).prefetch_related("topics").first()
        # The subject the catalog already binds, else the one Eventline's export named, else
        # Confluent's TopicRecordNameStrategy spelling.
        exported = first.message.get("x-eventline-subject")
        if existing and existing.subject:
            subject = existing.subject
        elif isinstance(exported, str) and exported.strip():
            subject = exported.strip()
        else:
            subject = f"{first.topic}-{name}"
        item = {
            "name": name,
            "subject": subject if first.payload else "",
            "topics": sorted({m.topic for m in usable}),
            "flags": first.flags,
            "correlation_id_location": first.correlation_id_location,
        }
        if not usable:
            item.update(action="skipped", reason="every channel it travels on is skipped")
            plan.event_types.append(item)
            continue
        subject_item = _subject_plan(subject, first.payload) if first.payload else None
        if subject_item is not None:
            plan.subjects.append(subject_item)
            if subject_item["action"] == "skipped":
                item["flags"] = [*first.flags, f"schema not registered: {subject_item['reason']}"]
                item["subject"] = existing.subject if existing else ""
        if existing is None:
            item["action"] = "create"
        else:
            same = (
                existing.summary == first.summary
                and (not first.description or existing.business_meaning == first.description)
                and set(item["topics"]) <= {t.name for t in existing.topics.all()}
                and existing.asyncapi_message.get("message") == _without_eventline_keys(first.message)
                and existing.correlation_id_location == first.correlation_id_location
                and (subject_item is None or subject_item["action"] in ("unchanged", "skipped"))
            )
            item["action"] = "unchanged" if same else "update"
        plan.event_types.append(item)

    skipped_types = {e["name"] for e in plan.event_types if e["action"] == "skipped"}
    seen: set[tuple[str, str, str]] = set()
    for message in messages:
        if message.role is None or (message.event_type, message.role, message.topic) in seen:
            continue
        seen.add((message.event_type, message.role, message.topic))
        flow = {
            "service": context["service"],
            "role": message.role,
            "event_type": message.event_type,
            "topic": message.topic,
        }
        if message.event_type in skipped_types or message.channel in bad_topics:
            flow.update(action="skipped", reason="its event type or topic is skipped")
        elif DeclaredFlow.objects.filter(
            service__name=context["service"], event_type__name=message.event_type, role=message.role
        ).exists():
            flow["action"] = "unchanged"
        else:
            flow["action"] = "create"
        plan.flows.append(flow)


def _subject_plan(subject: str, payload: Payload) -> dict[str, Any]:
    from schemas.errors import RegistryError
    from schemas.selectors import compatibility_check, live_versions, schema_lookup

    item: dict[str, Any] = {"subject": subject, "schema_type": payload.schema_type}
    try:
        schema_lookup(
            subject=subject,
            schema=payload.text,
            schema_type=payload.schema_type,
            references=None,
            normalize=False,
            deleted=False,
        )
        return {**item, "action": "unchanged"}
    except RegistryError:
        pass
    try:
        result = compatibility_check(
            subject=subject,
            schema=payload.text,
            schema_type=payload.schema_type,
            references=None,
            normalize=False,
            version=None,
        )
    except RegistryError as exc:
        return {**item, "action": "skipped", "reason": f"the registry refuses this schema: {exc}"}
    if not result.is_compatible:
        reasons = [d.explanation for d in result.differences if d.breaks][:5]
        return {
            **item,
            "action": "skipped",
            "reason": "incompatible with the registered versions: " + "; ".join(reasons),
        }
    return {**item, "action": "new version" if live_versions(subject) else "create"}


def asyncapi_import(
    *,
    principal: Principal,
    raw: bytes | str | dict[str, Any] | None = None,
    files: Mapping[str, bytes | str] | None = None,
    topics: Mapping[str, str] | None = None,
    dry_run: bool = True,
) -> ImportPlan:
    """Preview (dry_run) or apply an AsyncAPI document (`raw`) or bundle (`files`, by path).
    Applying changes what the plan says and skips the rest; a document that cannot be read
    changes nothing."""
    if files is not None:
        bundle = bundle_load(files)
        document = bundle.document
    else:
        document = parse_document(raw)
        bundle = Bundle(root="", document=document)
    plan, messages, context = plan_import(document, bundle=bundle, topics=topics)
    if plan.errors or dry_run:
        return plan
    with transaction.atomic():
        _apply(principal, plan, messages, context)
    plan.applied = True
    return plan


def _skip(item: dict[str, Any], exc: Exception) -> None:
    item["action"] = "skipped"
    item["reason"] = getattr(exc, "message", None) or str(exc)


def _apply(principal: Principal, plan: ImportPlan, messages: list[PlannedMessage], context: dict[str, Any]) -> None:
    from broker.correlation import correlation_locations_forget
    from schemas.errors import RegistryError
    from schemas.services import schema_version_register

    if not Domain.objects.filter(name=context["domain"]).exists():
        domain_create(principal=principal, name=context["domain"], description="Created by an AsyncAPI import.")
    if not Team.objects.filter(name=context["owner_team"]).exists():
        team_create(principal=principal, name=context["owner_team"], description="Created by an AsyncAPI import.")
    if plan.service["action"] != "unchanged":
        service = service_document(
            principal=principal,
            name=context["service"],
            create=plan.service["action"] == "create",
            summary=context["summary"],
            owner_team=context["owner_team"],
            domain=context["domain"],
        )
        ServiceProfile.objects.filter(service=service).update(asyncapi=context["fragment"])
    for topic in plan.topics:
        if topic["action"] == "create":
            topic_create(name=topic["name"], partitions=1, actor=principal)
    first_of = {}
    for message in messages:
        first_of.setdefault(message.event_type, message)
    subjects = {s["subject"]: s for s in plan.subjects}
    for entry in plan.event_types:
        if entry["action"] in ("skipped", "unchanged"):
            continue
        message = first_of[entry["name"]]
        subject_item = subjects.get(entry["subject"]) if entry["subject"] else None
        try:
            with transaction.atomic():
                schema_id = None
                if subject_item is not None and subject_item["action"] in ("create", "new version"):
                    registered = schema_version_register(
                        subject=entry["subject"],
                        schema=message.payload.text if message.payload else None,
                        schema_type=subject_item["schema_type"],
                        actor=principal,
                    )
                    schema_id = registered.schema_id
                elif subject_item is not None and subject_item["action"] == "unchanged":
                    schema_id = _latest_schema_id(entry["subject"])
                event_type = _event_type_write(principal, entry, message, context)
                _keep_message(event_type, message, schema_id)
        except (EventlineError, RegistryError) as exc:
            _skip(entry, exc)
            if subject_item is not None:
                _skip(subject_item, exc)
    transaction.on_commit(correlation_locations_forget)
    skipped_types = {e["name"] for e in plan.event_types if e["action"] == "skipped"}
    for flow in plan.flows:
        if flow["action"] != "create":
            continue
        if flow["event_type"] in skipped_types:
            flow.update(action="skipped", reason="its event type is skipped")
            continue
        declared_flow_add(
            principal=principal,
            event_type=EventType.objects.get(name=flow["event_type"]),
            service_name=flow["service"],
            role=flow["role"],
        )
    # Each change above has its own entry; this one says they came from one document, and what it held.
    audit_record(
        principal=principal,
        action=AuditAction.ASYNCAPI_IMPORTED,
        target_type="service",
        target=context["service"],
        after={key: value for key, value in plan.as_dict().items() if key not in ("applied", "errors")},
    )


def _event_type_write(
    principal: Principal, entry: dict[str, Any], message: PlannedMessage, context: dict[str, Any]
) -> EventType:
    existing = EventType.objects.filter(name=entry["name"]).first()
    if existing is None:
        data: dict[str, Any] = {
            "name": entry["name"],
            "domain": context["domain"],
            "owner_team": context["owner_team"],
            "summary": message.summary,
            "business_meaning": message.description,
            "topics": entry["topics"],
            "subject": entry["subject"],
        }
        if message.tags:
            data["tags"] = message.tags
        if message.example is not None:
            data["example"] = message.example
        return event_type_create(principal=principal, data=data)
    current = sorted(t.name for t in existing.topics.all())
    return event_type_update(
        principal=principal,
        event_type=existing,
        data={
            "summary": message.summary,
            "topics": sorted(set(current) | set(entry["topics"])),
            **({"business_meaning": message.description} if message.description else {}),
            **({"subject": entry["subject"]} if entry["subject"] and not existing.subject else {}),
        },
    )


def _kept_message(message: PlannedMessage, schema_id: int | None) -> dict[str, Any]:
    return {
        "message": copy.deepcopy(_without_eventline_keys(message.message)),
        "summary": message.summary,
        "description": message.description,
        "schema_id": schema_id,
    }


def _latest_schema_id(subject: str) -> int | None:
    from schemas.validation import resolve_subject

    resolved = resolve_subject(subject)
    return resolved.schema_id if resolved else None


def _keep_message(event_type: EventType, message: PlannedMessage, schema_id: int | None) -> None:
    """Keep the message as published, with what was derived from it and the id of the schema
    registered from its payload (none when the registry did not take it), so the export can tell
    later catalog and registry changes from the document."""
    event_type.asyncapi_message = _kept_message(message, schema_id)
    event_type.correlation_id_location = message.correlation_id_location
    event_type.save(update_fields=["asyncapi_message", "correlation_id_location"])
