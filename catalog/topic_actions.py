"""What editors do from the topic pages: create a topic, change its partitions and retention,
delete it (typed confirmation), and produce a test event. Each view parses the form, calls one
broker service with the person's principal (the service audits) and renders; viewers get 403."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from broker import selectors
from broker.constants import SUBJECT_STRATEGY_TOPIC_RECORD
from broker.models import Topic
from broker.services.produce import events_produce
from broker.services.topics import topic_create, topic_delete, topic_update
from catalog.models import EventType
from core.auth import Principal, principal_for_user
from core.errors import EventlineError
from core.ui import role_required
from core.units import parse_duration
from schemas import selectors as registry

PRODUCE_SCOPE = "produce"
RETENTION_REFUSED = "not a duration"


def _errors(exc: EventlineError) -> list[str]:
    """One line per failing field when the service listed them, else its message."""
    listed = exc.details.get("errors")
    if isinstance(listed, list) and listed:
        return [f"{e.get('pointer') or e.get('field') or ''}: {e['reason']}".lstrip(": ") for e in listed]
    return [exc.message]


def _retention_config(raw: str) -> tuple[dict[str, Any] | None, str | None]:
    """`retention.ms` from the retention a person typed ('7 days', '12 h', 'forever'), None when
    left empty (the default, or unchanged), and the sentence to show when it does not parse. A
    retention that does not parse is still sent, as text the service refuses: nothing is then
    changed, and the service reports the other fields' reasons in the same answer."""
    if not raw.strip():
        return None, None
    try:
        return {"retention.ms": parse_duration(raw)}, None
    except ValueError as exc:
        return {"retention.ms": RETENTION_REFUSED}, f"retention: {exc}"


def _errors_with(exc: EventlineError, retention_error: str | None) -> list[str]:
    """The service's reasons, with our sentence about the retention in place of its own."""
    if retention_error is None:
        return _errors(exc)
    return [line for line in _errors(exc) if not line.startswith("config.retention.ms")] + [retention_error]


def _whole_number(raw: str) -> Any:
    """The int the form meant, else the text itself so the service refuses it with its own reason."""
    raw = raw.strip()
    return int(raw) if raw.lstrip("-").isdigit() else raw


@role_required("editor")
def topic_new(request: HttpRequest) -> HttpResponse:
    form = {"name": "", "partitions": "3", "retention": ""}
    errors: list[str] = []
    if request.method == "POST":
        form = {key: request.POST.get(key, "").strip() for key in form}
        config, retention_error = _retention_config(form["retention"])
        try:
            topic = topic_create(
                name=form["name"],
                partitions=_whole_number(form["partitions"]),
                config=config,
                actor=principal_for_user(request.user),
            )
        except EventlineError as exc:
            errors = _errors_with(exc, retention_error)
        else:
            messages.success(request, f"Topic {topic.name} created with {topic.partition_count} partitions.")
            return redirect("topics:topic-detail", name=topic.name)
    return render(request, "topics/topic_new.html", {"form": form, "errors": errors}, status=422 if errors else 200)


@role_required("editor")
@require_POST
def topic_settings(request: HttpRequest, name: str) -> HttpResponse:
    """Partitions (grow only, as in Kafka) and retention (typed in units: '7 days', '12 h',
    'forever'), in one audited update; a retention that does not parse changes nothing."""
    topic = selectors.topic_get(name=name)
    partitions = request.POST.get("partitions", "").strip()
    retention = request.POST.get("retention", "").strip()
    errors: list[str] = []
    saved = False
    config, retention_error = _retention_config(retention)
    try:
        topic = topic_update(
            name=topic.name,
            partitions=_whole_number(partitions) if partitions else None,
            config=config,
            actor=principal_for_user(request.user),
        )
        saved = True
    except EventlineError as exc:
        errors = _errors_with(exc, retention_error)
        topic.refresh_from_db()
    context = {
        "topic": topic,
        "errors": errors,
        "saved": saved,
        "posted": {"partitions": partitions, "retention": retention},
    }
    return render(request, "htmx/topic_settings.html", context, status=422 if errors else 200)


@role_required("editor")
@require_POST
def topic_remove(request: HttpRequest, name: str) -> HttpResponse:
    """Delete only when the person typed the topic's name: a slip of the mouse deletes nothing."""
    topic = selectors.topic_get(name=name)
    typed = request.POST.get("confirm", "")
    if typed.strip() != topic.name:
        context = {"topic": topic, "error": f"Type {topic.name} exactly to delete it.", "typed": typed}
        return render(request, "htmx/topic_delete.html", context, status=422)
    try:
        topic_delete(name=topic.name, actor=principal_for_user(request.user))
    except EventlineError as exc:
        return render(request, "htmx/topic_delete.html", {"topic": topic, "error": exc.message}, status=422)
    messages.success(request, f"Topic {topic.name} deleted, with its events and every group's offsets on it.")
    target = reverse("topics:topic-list")
    if request.headers.get("HX-Request"):
        return HttpResponse(status=204, headers={"HX-Redirect": target})
    return redirect(target)


def _producer(request: HttpRequest, topic: Topic) -> Principal:
    """A person holds no produce scope (people browse; keys produce). An editor producing a test
    event from the page is granted it for this one topic, for this one request."""
    principal = principal_for_user(request.user)
    return replace(principal, scopes=principal.scopes | {f"{PRODUCE_SCOPE}:{topic.name}"})


def _headers(text: str) -> list[list[str]]:
    """`key=value` per line, in order (keys may repeat, as in Kafka). Raises ValueError on a line
    without '='."""
    headers = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"line {number}: write each header as key=value")
        headers.append([key.strip(), value.strip()])
    return headers


def produce_subject(topic: Topic, event_type: str) -> str:
    if topic.subject_strategy == SUBJECT_STRATEGY_TOPIC_RECORD:
        return f"{topic.name}-{event_type}"
    return topic.value_subject or f"{topic.name}-value"


def bound_schema(subject: str) -> Any:
    """The latest live schema of `subject` as parsed JSON, or None when nothing is registered."""
    live = registry.live_versions(subject)
    if not live:
        return None
    return registry.loaded_schema(live[-1].schema_id).parsed


def skeleton(schema: Any, depth: int = 0) -> Any:
    """A starting document for the editor: every declared property with a placeholder of its type
    (an example, default, const or first enum value where the schema gives one)."""
    if not isinstance(schema, dict) or depth > 5:
        return None
    for keyword in ("const", "default"):
        if keyword in schema:
            return schema[keyword]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or (kind is None and isinstance(schema.get("properties"), dict)):
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        return {name: skeleton(sub, depth + 1) for name, sub in properties.items()}
    placeholders = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": []}
    if kind == "string" and schema.get("format") == "date-time":
        return "2024-01-01T00:00:00Z"
    return placeholders.get(kind) if isinstance(kind, str) else None


def produce_example(topic: Topic, event_type: EventType | None, schema: Any) -> Any:
    """The document the editor starts from for `event_type`: the catalog's example of it when it
    has one, else a skeleton of the schema its events are checked against, else of the schema the
    catalog names for the type, else {}."""
    if event_type is not None and event_type.example is not None:
        return event_type.example
    if schema is not None:
        return skeleton(schema)
    own = bound_schema(event_type.subject) if event_type is not None and event_type.subject else None
    return skeleton(own) if own is not None else {}


def produce_context(topic: Topic, event_type: str = "", kept: dict[str, str] | None = None) -> dict[str, Any]:
    """The produce form for `event_type` (the first the topic carries when not given), its data
    pre-filled for that type; `kept` carries the key, headers and correlation id already typed."""
    types = {
        t.name: t for t in EventType.objects.filter(topics=topic).order_by("name").only("name", "example", "subject")
    }
    chosen = event_type if event_type in types else next(iter(types), event_type)
    subject = produce_subject(topic, chosen or topic.name)
    schema = bound_schema(subject)
    kept = kept or {}
    return {
        "topic": topic,
        "event_types": list(types),
        "form": {
            "type": chosen,
            "data": json.dumps(produce_example(topic, types.get(chosen), schema), indent=2),
            "key": kept.get("key", ""),
            "headers": kept.get("headers", ""),
            "correlationid": kept.get("correlationid", ""),
        },
        "subject": subject,
        "has_schema": schema is not None,
    }


@role_required("editor")
def topic_produce(request: HttpRequest, name: str) -> HttpResponse:
    """GET: the produce form (data pre-filled from the bound schema). POST: validate against the
    bound schema and append, or show each refusal with its JSON pointer; nothing half-sent."""
    topic = selectors.topic_get(name=name)
    if request.method != "POST":
        # Also the answer when the type changes: the example follows it, what was typed stays.
        kept = {key: request.GET.get(key, "") for key in ("key", "headers", "correlationid")}
        return render(request, "htmx/topic_produce.html", produce_context(topic, request.GET.get("type", ""), kept))
    context = produce_context(topic, request.POST.get("type", ""))
    form = {key: request.POST.get(key, "") for key in ("type", "data", "key", "headers", "correlationid")}
    context["form"] = form
    errors: list[str] = []
    event: dict[str, Any] = {}
    try:
        event["data"] = json.loads(form["data"])
    except ValueError as exc:
        errors.append(f"data: not JSON ({exc})")
    try:
        headers = _headers(form["headers"])
    except ValueError as exc:
        errors.append(f"headers: {exc}")
    if not errors:
        if form["type"].strip():
            event["type"] = form["type"].strip()
        if form["key"].strip():
            event["key"] = form["key"].strip()
        if headers:
            event["headers"] = headers
        if form["correlationid"].strip():
            event["correlationid"] = form["correlationid"].strip()
        try:
            context["sent"] = events_produce(
                topic_name=topic.name, raw_events=[event], principal=_producer(request, topic)
            )[0]
        except EventlineError as exc:
            errors = _errors(exc)
    context["errors"] = errors
    return render(request, "htmx/topic_produce.html", context, status=422 if errors else 200)
