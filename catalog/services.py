"""Writes of the catalog. Each checks its input, writes in one transaction, and records the
change in the history (who, when, what)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_date

from broker.business_keys import business_keys_forget
from broker.masking import personal_data_forget
from broker.models import Topic
from catalog.choices import LIFECYCLE_TRANSITIONS, ChangeAction, FlowEnding, FlowRole, InboxKind, Lifecycle
from catalog.history import record_change, record_change_of, snapshot
from catalog.models import (
    BusinessFlow,
    CatalogChange,
    DeclaredFlow,
    Domain,
    EventType,
    FlowTerminal,
    InboxDismissal,
    ServiceProfile,
    Tag,
    Team,
)
from catalog.schema_view import schema_field_names
from core.auth import Principal
from core.errors import Conflict, NotFound, ValidationFailed, field_error
from core.models import Service
from core.services import service_get_or_create

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,199}$")
_POINTER = re.compile(r"^(/([^~/]|~[01])*)+$")

EVENT_TYPE_FIELDS = (
    "name",
    "domain",
    "owner_team",
    "summary",
    "business_meaning",
    "lifecycle",
    "deprecation_note",
    "sunset_date",
    "subject",
    "personal_data_fields",
    "business_key_fields",
    "correlation_id_location",
    "example",
)


def _correlation_location(value: Any) -> str:
    """AsyncAPI's runtime expression for where the correlation id lives: `$message.header#/name`
    (a CloudEvents attribute or header) or `$message.payload#/pointer` (in the data); empty for
    the default, the CloudEvents `correlationid` attribute."""
    from broker.correlation import HEADER, PAYLOAD

    if value is None or value == "":
        return ""
    field = "correlation_id_location"
    if not isinstance(value, str) or len(value) > 300:
        raise field_error(field, "must be a string of at most 300 characters")
    for prefix in (HEADER, PAYLOAD):
        if value.startswith(prefix) and _POINTER.match(value[len(prefix) :]):
            return value
    raise field_error(
        field, "must be $message.header#/<name> or $message.payload#/<JSON pointer>, e.g. $message.payload#/order_id"
    )


def _errors(errors: list[dict[str, str]]) -> ValidationFailed:
    return ValidationFailed("; ".join(f"{e['field']}: {e['reason']}" for e in errors), details={"errors": errors})


def _check_name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise field_error(
            field, "1-200 characters: letters, digits, spaces, '.', '_' and '-', starting with a letter or digit"
        )
    return value


def _domain(name: Any) -> Domain:
    domain = Domain.objects.filter(name=name).first() if isinstance(name, str) else None
    if domain is None:
        raise field_error("domain", f"unknown domain {name!r}")
    return domain


def _team(name: Any, field: str = "owner_team") -> Team:
    team = Team.objects.filter(name=name).first() if isinstance(name, str) else None
    if team is None:
        raise field_error(field, f"unknown team {name!r}")
    return team


def _claim_name(model: type[Domain] | type[Team], name: Any, instance: Domain | Team | None = None) -> str:
    """A valid name no other row of `model` holds (409 otherwise)."""
    _check_name(name)
    taken = model.objects.filter(name=name)
    if instance is not None:
        taken = taken.exclude(pk=instance.pk)
    if taken.exists():
        raise Conflict(f"{model._meta.verbose_name.capitalize()} '{name}' already exists.", code="duplicate_name")
    return str(name)


# -- domains and teams -------------------------------------------------------------------------


DOMAIN_FIELDS = ("name", "description")


def _delete_recorded(*, principal: Principal, object_type: str, instance: Any, before: dict[str, Any]) -> None:
    """Delete a catalog object and keep what it was in the history."""
    record_change_of(
        principal=principal, object_type=object_type, instance=instance, action=ChangeAction.DELETED, before=before
    )
    instance.delete()


@transaction.atomic
def domain_create(*, principal: Principal, name: Any, description: str = "") -> Domain:
    """Create a business domain; 409 if the name is taken."""
    domain = Domain.objects.create(name=_claim_name(Domain, name), description=description or "")
    record_change_of(
        principal=principal,
        object_type="domain",
        instance=domain,
        action=ChangeAction.CREATED,
        after=snapshot(domain, DOMAIN_FIELDS),
    )
    return domain


@transaction.atomic
def domain_update(*, principal: Principal, domain: Domain, **changes: Any) -> Domain:
    before = snapshot(domain, DOMAIN_FIELDS)
    if "name" in changes and changes["name"] != domain.name:
        domain.name = _claim_name(Domain, changes["name"], domain)
    if "description" in changes:
        domain.description = changes["description"] or ""
    domain.save()
    record_change_of(
        principal=principal,
        object_type="domain",
        instance=domain,
        action=ChangeAction.UPDATED,
        before=before,
        after=snapshot(domain, DOMAIN_FIELDS),
    )
    return domain


@transaction.atomic
def domain_delete(*, principal: Principal, domain: Domain) -> None:
    if domain.event_types.exists():
        raise Conflict(f"Domain '{domain.name}' still has event types; move them first.", code="in_use")
    _delete_recorded(principal=principal, object_type="domain", instance=domain, before=snapshot(domain, DOMAIN_FIELDS))


def _members(usernames: Any) -> list[Any]:
    from django.contrib.auth import get_user_model

    if usernames is None:
        return []
    if not isinstance(usernames, list) or not all(isinstance(u, str) for u in usernames):
        raise field_error("members", "must be a list of user names")
    users = list(get_user_model().objects.filter(username__in=usernames))
    missing = sorted(set(usernames) - {u.username for u in users})
    if missing:
        raise field_error("members", f"unknown user(s): {', '.join(missing)}")
    return users


TEAM_FIELDS = ("name", "description", "contact")


def _team_snapshot(team: Team) -> dict[str, Any]:
    return {**snapshot(team, TEAM_FIELDS), "members": sorted(team.members.values_list("username", flat=True))}


@transaction.atomic
def team_create(
    *, principal: Principal, name: Any, description: str = "", contact: str = "", members: Any = None
) -> Team:
    """Create a team (members are existing users); 409 if the name is taken."""
    users = _members(members)
    team = Team.objects.create(name=_claim_name(Team, name), description=description or "", contact=contact or "")
    team.members.set(users)
    after = {**snapshot(team, TEAM_FIELDS), "members": sorted(u.username for u in users)}
    record_change_of(
        principal=principal,
        object_type="team",
        instance=team,
        action=ChangeAction.CREATED,
        after=after,
    )
    return team


@transaction.atomic
def team_update(*, principal: Principal, team: Team, **changes: Any) -> Team:
    before = _team_snapshot(team)
    if "name" in changes and changes["name"] != team.name:
        team.name = _claim_name(Team, changes["name"], team)
    for field in ("description", "contact"):
        if field in changes:
            setattr(team, field, changes[field] or "")
    team.save()
    if "members" in changes:
        team.members.set(_members(changes["members"]))
    record_change_of(
        principal=principal,
        object_type="team",
        instance=team,
        action=ChangeAction.UPDATED,
        before=before,
        after=_team_snapshot(team),
    )
    return team


@transaction.atomic
def team_delete(*, principal: Principal, team: Team) -> None:
    if team.event_types.exists():
        raise Conflict(f"Team '{team.name}' still owns event types; hand them over first.", code="in_use")
    _delete_recorded(principal=principal, object_type="team", instance=team, before=snapshot(team, TEAM_FIELDS))


# -- services ---------------------------------------------------------------------------------

SERVICE_FIELDS = ("owner_team", "domain", "summary", "repository_url", "consumer_groups", "client_ids")
MAX_PATTERN_LENGTH = 255


def service_snapshot(service: Service) -> dict[str, Any]:
    profile = getattr(service, "profile", None)
    values = {"description": service.description}
    if profile is not None:
        values.update(snapshot(profile, SERVICE_FIELDS))
    return values


@transaction.atomic
def service_document(*, principal: Principal, name: Any, create: bool = False, **changes: Any) -> Service:
    """Create (with `create`) or update a service's catalog entry: description, owner team,
    domain, summary, repository link, and the consumer groups and client ids (patterns) that map
    native Kafka clients to it."""
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator

    if not isinstance(name, str):
        raise field_error("name", "a service name is required")
    service = Service.objects.filter(name=name).first()
    if create:
        if service is not None and hasattr(service, "profile"):
            raise Conflict(f"Service '{name}' is already in the catalog.", code="duplicate_name")
        service = service or service_get_or_create(name=name)
    elif service is None:
        raise NotFound(f"Service '{name}' does not exist.", code="service_not_found")
    before = service_snapshot(service) if not create else {}
    profile, _ = ServiceProfile.objects.get_or_create(service=service)
    errors = []
    if "owner_team" in changes:
        try:
            profile.owner_team = _team(changes["owner_team"]) if changes["owner_team"] else None
        except ValidationFailed:
            errors.append({"field": "owner_team", "reason": f"unknown team {changes['owner_team']!r}"})
    if "domain" in changes:
        try:
            profile.domain = _domain(changes["domain"]) if changes["domain"] else None
        except ValidationFailed:
            errors.append({"field": "domain", "reason": f"unknown domain {changes['domain']!r}"})
    if "repository_url" in changes:
        url = changes["repository_url"] or ""
        try:
            if url:
                URLValidator(schemes=["http", "https"])(url)
            profile.repository_url = url
        except ValidationError:
            errors.append({"field": "repository_url", "reason": "must be an http(s) URL"})
    if "summary" in changes:
        profile.summary = (changes["summary"] or "")[:300]
    for field in ("consumer_groups", "client_ids"):
        if field in changes:
            patterns, problems = _patterns(field, changes[field])
            errors += problems
            setattr(profile, field, patterns)
    if "description" in changes:
        service.description = changes["description"] or ""
        service.save(update_fields=["description"])
    if errors:
        raise _errors(errors)
    profile.save()
    service.profile = profile
    record_change_of(
        principal=principal,
        object_type="service",
        instance=service,
        action=ChangeAction.CREATED if create else ChangeAction.UPDATED,
        before=before,
        after=service_snapshot(service),
    )
    return service


def _patterns(field: str, value: Any) -> tuple[list[str], list[dict[str, str]]]:
    """A list of group names or client-id patterns: a JSON list of strings, or text with one per
    line or comma (the web form); blanks and repeats dropped, order kept."""
    if value is None:
        return [], []
    if isinstance(value, str):
        value = [part for line in value.splitlines() for part in line.split(",")]
    if not isinstance(value, list):
        return [], [{"field": field, "reason": "must be a list of names or patterns"}]
    found: list[str] = []
    errors = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            errors.append({"field": f"{field}/{index}", "reason": "must be a string"})
            continue
        item = item.strip()
        if len(item) > MAX_PATTERN_LENGTH:
            errors.append({"field": f"{field}/{index}", "reason": f"at most {MAX_PATTERN_LENGTH} characters"})
        elif item and item not in found:
            found.append(item)
    return found, errors


@transaction.atomic
def service_undocument(*, principal: Principal, service: Service) -> None:
    """Take a service out of the catalog: its entry (owner, domain, summary, link) goes; the
    identity stays, since API keys, declared flows and observed traffic name it."""
    before = service_snapshot(service)
    record_change_of(
        principal=principal, object_type="service", instance=service, action=ChangeAction.DELETED, before=before
    )
    ServiceProfile.objects.filter(service=service).delete()
    service.description = ""
    service.save(update_fields=["description"])


# -- event types -------------------------------------------------------------------------------


def _topics(names: Any) -> list[Topic]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise field_error("topics", "must be a list of topic names")
    topics = list(Topic.objects.filter(name__in=names))
    missing = sorted(set(names) - {t.name for t in topics})
    if missing:
        raise field_error("topics", f"unknown topic(s): {', '.join(missing)}")
    return topics


def _tags(names: Any) -> list[Tag]:
    if not isinstance(names, list) or not all(isinstance(n, str) and 0 < len(n.strip()) <= 50 for n in names):
        raise field_error("tags", "must be a list of tag names of 1-50 characters")
    return [Tag.objects.get_or_create(name=name.strip().lower())[0] for name in names]


def _pointers(value: Any, field: str = "personal_data_fields", example: str = "/customer/email") -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) and _POINTER.match(p) for p in value):
        raise field_error(field, f"must be a list of JSON pointers such as {example}")
    return sorted(set(value))


def refresh_search_text(event_type: EventType) -> str:
    """What ?q= matches: names, summary, meaning, tags, topics and the schema's field names."""
    parts = [
        event_type.name,
        event_type.summary,
        event_type.business_meaning,
        event_type.subject,
        *(tag.name for tag in event_type.tags.all()),
        *schema_field_names(event_type.subject),
    ]
    return " ".join(part for part in parts if part).lower()


def _event_type_snapshot(event_type: EventType) -> dict[str, Any]:
    values = snapshot(event_type, EVENT_TYPE_FIELDS)
    values["tags"] = sorted(tag.name for tag in event_type.tags.all())
    values["topics"] = sorted(topic.name for topic in event_type.topics.all())
    return values


def _apply_event_type_fields(
    event_type: EventType, data: dict[str, Any], *, creating: bool
) -> tuple[list, list | None, list | None]:
    errors: list[dict[str, str]] = []
    topics = tags = None

    def attempt(field: str, action: Any) -> Any:
        try:
            return action()
        except ValidationFailed as exc:
            errors.extend(exc.details.get("errors", [{"field": field, "reason": exc.message}]))
            return None

    if "name" in data:
        if attempt("name", lambda: _check_name(data["name"])) is not None:
            event_type.name = data["name"]
    if "domain" in data:
        domain = attempt("domain", lambda: _domain(data["domain"]))
        if domain is not None:
            event_type.domain = domain
    if "owner_team" in data:
        team = attempt("owner_team", lambda: _team(data["owner_team"]))
        if team is not None:
            event_type.owner_team = team
    for field, limit in (("summary", 300), ("business_meaning", None), ("deprecation_note", None), ("subject", 255)):
        if field in data:
            value = data[field] if data[field] is not None else ""
            if not isinstance(value, str) or (limit and len(value) > limit):
                errors.append(
                    {"field": field, "reason": f"must be a string{f' of at most {limit} characters' if limit else ''}"}
                )
            else:
                setattr(event_type, field, value)
    if creating and not event_type.summary:
        errors.append({"field": "summary", "reason": "a one-line summary is required"})
    if "lifecycle" in data:
        target = data["lifecycle"]
        if target not in Lifecycle.values:
            errors.append({"field": "lifecycle", "reason": f"must be one of {', '.join(Lifecycle.values)}"})
        elif (
            not creating
            and target != event_type.lifecycle
            and target not in LIFECYCLE_TRANSITIONS[event_type.lifecycle]
        ):
            allowed = ", ".join(sorted(LIFECYCLE_TRANSITIONS[event_type.lifecycle])) or "nothing (it is final)"
            errors.append(
                {
                    "field": "lifecycle",
                    "reason": f"cannot move from {event_type.lifecycle} to {target}; allowed: {allowed}",
                }
            )
        else:
            event_type.lifecycle = target
    if "sunset_date" in data:
        raw = data["sunset_date"]
        parsed = parse_date(raw) if isinstance(raw, str) and raw else None
        if raw and parsed is None:
            errors.append({"field": "sunset_date", "reason": "must be a date (YYYY-MM-DD)"})
        else:
            event_type.sunset_date = parsed
    if "personal_data_fields" in data:
        pointers = attempt("personal_data_fields", lambda: _pointers(data["personal_data_fields"]))
        if pointers is not None:
            event_type.personal_data_fields = pointers
    if "business_key_fields" in data:
        keys = attempt(
            "business_key_fields", lambda: _pointers(data["business_key_fields"], "business_key_fields", "/order_id")
        )
        if keys is not None:
            event_type.business_key_fields = keys
    if "correlation_id_location" in data:
        location = attempt("correlation_id_location", lambda: _correlation_location(data["correlation_id_location"]))
        if location is not None and location != event_type.correlation_id_location:
            event_type.correlation_id_location = location
            from broker.correlation import correlation_locations_forget

            transaction.on_commit(correlation_locations_forget)
    if "example" in data:
        event_type.example = data["example"]
    if "topics" in data:
        topics = attempt("topics", lambda: _topics(data["topics"]))
    if "tags" in data:
        tags = attempt("tags", lambda: _tags(data["tags"]))
    if event_type.lifecycle == Lifecycle.DEPRECATED and not event_type.deprecation_note:
        errors.append({"field": "deprecation_note", "reason": "say why it is deprecated and what to use instead"})
    return errors, topics, tags


@transaction.atomic
def event_type_create(*, principal: Principal, data: dict[str, Any]) -> EventType:
    """Document a new event type. 409 for a duplicate name; 422 listing every bad field."""
    required = [f for f in ("name", "domain", "owner_team", "summary") if not data.get(f)]
    if required:
        raise _errors([{"field": f, "reason": "is required"} for f in required])
    if isinstance(data.get("name"), str) and EventType.objects.filter(name=data["name"]).exists():
        raise Conflict(f"Event type '{data['name']}' already exists.", code="duplicate_name")
    event_type = EventType()
    errors, topics, tags = _apply_event_type_fields(event_type, data, creating=True)
    if errors:
        raise _errors(errors)
    try:
        with transaction.atomic():
            event_type.save()
    except IntegrityError as exc:
        raise Conflict(f"Event type '{event_type.name}' already exists.", code="duplicate_name") from exc
    if topics is not None:
        event_type.topics.set(topics)
    if tags is not None:
        event_type.tags.set(tags)
    event_type.search_text = refresh_search_text(event_type)
    event_type.save(update_fields=["search_text"])
    record_change_of(
        principal=principal,
        object_type="event_type",
        instance=event_type,
        action=ChangeAction.CREATED,
        after=_event_type_snapshot(event_type),
    )
    transaction.on_commit(personal_data_forget)  # this process masks by the new fields at once
    transaction.on_commit(business_keys_forget)
    return event_type


@transaction.atomic
def event_type_update(*, principal: Principal, event_type: EventType, data: dict[str, Any]) -> EventType:
    """Change an event type; lifecycle moves follow LIFECYCLE_TRANSITIONS."""
    before = _event_type_snapshot(event_type)
    if "name" in data and data["name"] != event_type.name and EventType.objects.filter(name=data["name"]).exists():
        raise Conflict(f"Event type '{data['name']}' already exists.", code="duplicate_name")
    errors, topics, tags = _apply_event_type_fields(event_type, data, creating=False)
    if errors:
        raise _errors(errors)
    event_type.save()
    if topics is not None:
        event_type.topics.set(topics)
    if tags is not None:
        event_type.tags.set(tags)
    event_type.search_text = refresh_search_text(event_type)
    event_type.save(update_fields=["search_text"])
    record_change_of(
        principal=principal,
        object_type="event_type",
        instance=event_type,
        action=ChangeAction.UPDATED,
        before=before,
        after=_event_type_snapshot(event_type),
    )
    transaction.on_commit(personal_data_forget)
    transaction.on_commit(business_keys_forget)
    return event_type


@transaction.atomic
def event_type_delete(*, principal: Principal, event_type: EventType) -> None:
    _delete_recorded(
        principal=principal, object_type="event_type", instance=event_type, before=_event_type_snapshot(event_type)
    )
    transaction.on_commit(personal_data_forget)
    transaction.on_commit(business_keys_forget)


@transaction.atomic
def declared_flows_set(
    *, principal: Principal, event_type: EventType, role: str, services: Sequence[dict[str, str]] | Any
) -> list[DeclaredFlow]:
    """Replace the declared producers (or consumers) of an event type: [{"service", "note"}]."""
    if role not in FlowRole.values:
        raise field_error("role", f"must be one of {', '.join(FlowRole.values)}")
    if not isinstance(services, list) or not all(
        isinstance(s, dict) and isinstance(s.get("service"), str) for s in services
    ):
        raise field_error(f"{role}s", 'must be a list of {"service": name, "note": text}')
    before = sorted(event_type.declared_flows.filter(role=role).values_list("service__name", flat=True))
    event_type.declared_flows.filter(role=role).delete()
    flows = []
    for entry in services:
        service = service_get_or_create(name=entry["service"])
        flows.append(
            DeclaredFlow.objects.create(
                service=service, event_type=event_type, role=role, note=str(entry.get("note", ""))[:300]
            )
        )
    after = sorted(flow.service.name for flow in flows)
    record_change_of(
        principal=principal,
        object_type="event_type",
        instance=event_type,
        action=ChangeAction.UPDATED,
        before={f"{role}s": before},
        after={f"{role}s": after},
    )
    return flows


@transaction.atomic
def declared_flow_add(
    *, principal: Principal, event_type: EventType, service_name: str, role: str, note: str = ""
) -> DeclaredFlow:
    if role not in FlowRole.values:
        raise field_error("role", f"must be one of {', '.join(FlowRole.values)}")
    service = service_get_or_create(name=service_name)
    flow, created = DeclaredFlow.objects.get_or_create(
        service=service, event_type=event_type, role=role, defaults={"note": note}
    )
    if created:
        record_change_of(
            principal=principal,
            object_type="event_type",
            instance=event_type,
            action=ChangeAction.UPDATED,
            before={},
            after={f"{role}:{service.name}": note or "declared"},
        )
    return flow


# -- inbox -------------------------------------------------------------------------------------


@transaction.atomic
def inbox_dismiss(*, principal: Principal, kind: str, name: str, reason: str = "") -> InboxDismissal:
    """An editor decides an undocumented topic, subject, service or flow needs no entry."""
    if kind not in InboxKind.values:
        raise field_error("kind", f"must be one of {', '.join(InboxKind.values)}")
    dismissal, _ = InboxDismissal.objects.update_or_create(
        kind=kind, name=name, defaults={"reason": reason[:300], "dismissed_by": principal.display_name}
    )
    record_change(
        principal=principal,
        object_type="inbox",
        object_id=f"{kind}:{name}",
        object_name=name,
        action=ChangeAction.DELETED,
        before={"undocumented": True},
        after={"dismissed": reason or True},
    )
    return dismissal


def recent_changes(
    *, object_type: str | None = None, object_id: Any = None, object_name: str | None = None, limit: int = 50
) -> Iterable[CatalogChange]:
    changes = CatalogChange.objects.all()
    if object_type:
        changes = changes.filter(object_type=object_type)
    if object_id is not None:
        changes = changes.filter(object_id=str(object_id))
    if object_name:
        changes = changes.filter(object_name=object_name)
    return changes[:limit]


# -- business flows ----------------------------------------------------------------------------

BUSINESS_FLOW_FIELDS = ("name", "description", "start_event_type", "stuck_after_seconds")
MAX_STUCK_AFTER_SECONDS = 30 * 24 * 3600


def _business_flow_snapshot(flow: BusinessFlow) -> dict[str, Any]:
    return {
        **snapshot(flow, BUSINESS_FLOW_FIELDS),
        "terminals": {terminal.event_type.name: terminal.ending for terminal in flow.terminals.all()},
    }


def _known_event_type(name: Any, field: str) -> EventType:
    event_type = EventType.objects.filter(name=name).first() if isinstance(name, str) else None
    if event_type is None:
        raise field_error(field, f"unknown event type {name!r}")
    return event_type


def _terminals(value: Any, start: EventType) -> list[tuple[EventType, str]]:
    """{"OrderShipped": "completed", ...}: every key a catalog event type other than the start,
    every value an ending."""
    if not isinstance(value, dict) or not value:
        raise field_error("terminals", 'must name at least one terminal event type: {"EventType": "completed", ...}')
    terminals = []
    for name, ending in value.items():
        event_type = _known_event_type(name, "terminals")
        if event_type.pk == start.pk:
            raise field_error("terminals", f"{name} starts the flow; it cannot also end it")
        if ending not in FlowEnding.values:
            raise field_error("terminals", f"{name}: the ending must be one of {', '.join(FlowEnding.values)}")
        terminals.append((event_type, str(ending)))
    return terminals


def _apply_business_flow(flow: BusinessFlow, data: dict[str, Any]) -> list[tuple[EventType, str]] | None:
    if "name" in data:
        name = _check_name(data["name"])
        if BusinessFlow.objects.filter(name=name).exclude(pk=flow.pk).exists():
            raise Conflict(
                f"Business flow '{name}' already exists.",
                code="duplicate_name",
                details={"errors": [{"field": "name", "reason": "another business flow has this name"}]},
            )
        flow.name = name
    if "description" in data:
        flow.description = str(data["description"] or "")
    if "start_event_type" in data:
        flow.start_event_type = _known_event_type(data["start_event_type"], "start_event_type")
        taken = BusinessFlow.objects.filter(start_event_type=flow.start_event_type).exclude(pk=flow.pk).first()
        if taken is not None:
            raise Conflict(
                f"Business flow '{taken.name}' already starts with {flow.start_event_type.name}.",
                code="duplicate_start",
                details={
                    "errors": [
                        {
                            "field": "start_event_type",
                            "reason": f"{taken.name} already starts with it; a trace is judged by one flow",
                        }
                    ]
                },
            )
    if "stuck_after_seconds" in data:
        seconds = data["stuck_after_seconds"]
        if type(seconds) is not int or not 1 <= seconds <= MAX_STUCK_AFTER_SECONDS:
            raise field_error("stuck_after_seconds", f"must be an integer from 1 to {MAX_STUCK_AFTER_SECONDS}")
        flow.stuck_after_seconds = seconds
    if "terminals" in data:
        return _terminals(data["terminals"], flow.start_event_type)
    return None


def _set_terminals(flow: BusinessFlow, terminals: list[tuple[EventType, str]]) -> None:
    flow.terminals.all().delete()
    FlowTerminal.objects.bulk_create(
        [FlowTerminal(flow=flow, event_type=event_type, ending=ending) for event_type, ending in terminals]
    )


@transaction.atomic
def business_flow_create(*, principal: Principal, data: dict[str, Any]) -> BusinessFlow:
    """Define a business flow: name, start event type, terminal event types with their endings
    (completed, compensated, failed) and the stuck threshold. 409 for a taken name or start."""
    for required in ("name", "start_event_type", "terminals"):
        if required not in data:
            raise field_error(required, "is required")
    flow = BusinessFlow()
    terminals = _apply_business_flow(flow, data)
    flow.full_clean(exclude=["start_event_type"])
    flow.save()
    _set_terminals(flow, terminals or [])
    record_change_of(
        principal=principal,
        object_type="business_flow",
        instance=flow,
        action=ChangeAction.CREATED,
        after=_business_flow_snapshot(flow),
    )
    return flow


@transaction.atomic
def business_flow_update(*, principal: Principal, flow: BusinessFlow, data: dict[str, Any]) -> BusinessFlow:
    """Change a business flow; ``terminals``, when given, replaces the terminal event types."""
    before = _business_flow_snapshot(flow)
    terminals = _apply_business_flow(flow, data)
    flow.save()
    if terminals is not None:
        _set_terminals(flow, terminals)
    record_change_of(
        principal=principal,
        object_type="business_flow",
        instance=flow,
        action=ChangeAction.UPDATED,
        before=before,
        after=_business_flow_snapshot(flow),
    )
    return flow


@transaction.atomic
def business_flow_delete(*, principal: Principal, flow: BusinessFlow) -> None:
    """Forget a business flow: its traces then have no outcome defined."""
    _delete_recorded(
        principal=principal, object_type="business_flow", instance=flow, before=_business_flow_snapshot(flow)
    )
