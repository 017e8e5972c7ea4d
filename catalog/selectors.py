"""Reads of the catalog. Selectors own the joins and prefetches; list pages and list APIs go
through them so their query counts stay flat as the catalog grows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from broker.models import ConsumerGroup, Event, FlowStat, GroupMember, GroupPartition, Partition, Topic
from broker.selectors import events_of
from catalog.choices import FlowRole, InboxKind
from catalog.models import (
    BusinessFlow,
    DeclaredFlow,
    Domain,
    EventType,
    FlowTerminal,
    InboxDismissal,
    ServiceProfile,
    Team,
)
from core.errors import NotFound
from core.models import Service
from core.timeutil import now_ms
from schemas.selectors import subject_names

OBSERVED_WINDOW_MS = 7 * 24 * 3600 * 1000


def _observed_consumers(*, window_ms: int = OBSERVED_WINDOW_MS) -> Coalesce:
    """How many consumers (a service, or a group whose service is unknown) the broker saw reading
    a topic the event type travels on in the window."""
    since = now_ms() - window_ms
    listed = EventType.topics.through.objects.filter(eventtype_id=OuterRef(OuterRef("pk"))).values("topic_id")
    produced = FlowStat.objects.filter(
        role=FlowStat.ROLE_PRODUCE, minute_ms__gte=since, event_type=OuterRef(OuterRef("name"))
    ).values("topic_id")
    consumers = (
        FlowStat.objects.filter(role=FlowStat.ROLE_CONSUME, minute_ms__gte=since)
        .filter(Q(topic_id__in=listed) | Q(topic_id__in=produced))
        .order_by()
        .annotate(one=Value(1))
        .values("one")
        .annotate(
            count=Count(
                Case(When(service_id=0, then=-F("group_id")), default=F("service_id"), output_field=BigIntegerField()),
                distinct=True,
            )
        )
        .values("count")
    )
    return Coalesce(Subquery(consumers), 0)


def event_type_list() -> QuerySet[EventType]:
    """Event types with what a list row shows loaded up front (domain, owner, tags, topic names,
    declared producer and consumer counts, and how many consumers the broker saw reading them
    over the last week). Filter with catalog.filtersets.EventTypeFilterSet."""
    return (
        EventType.objects.select_related("domain", "owner_team")
        .prefetch_related("tags", Prefetch("topics", queryset=Topic.objects.only("id", "name")))
        .annotate(
            producer_count=Count("declared_flows", filter=Q(declared_flows__role=FlowRole.PRODUCER), distinct=True),
            consumer_count=Count("declared_flows", filter=Q(declared_flows__role=FlowRole.CONSUMER), distinct=True),
            observed_consumer_count=_observed_consumers(),
        )
        .order_by("name")
    )


def event_type_get(*, name: str) -> EventType:
    event_type = (
        EventType.objects.select_related("domain", "owner_team")
        .prefetch_related(
            "tags", "topics", Prefetch("declared_flows", queryset=DeclaredFlow.objects.select_related("service"))
        )
        .filter(name=name)
        .first()
    )
    if event_type is None:
        raise NotFound(f"Event type '{name}' does not exist.", code="event_type_not_found")
    return event_type


@dataclass(frozen=True)
class ObservedFlow:
    service: str
    role: str
    group: str
    events: int
    last_seen_ms: int


def observed_flows_for_topics(
    topic_ids: list[int], *, event_type: str | None = None, window_ms: int = OBSERVED_WINDOW_MS
) -> list[ObservedFlow]:
    """Who the broker saw producing to (as `event_type`) and consuming from these topics."""
    if not topic_ids:
        return []
    since = now_ms() - window_ms
    rows = FlowStat.objects.filter(topic_id__in=topic_ids, minute_ms__gte=since)
    produced = rows.filter(role=FlowStat.ROLE_PRODUCE)
    if event_type is not None:
        produced = produced.filter(event_type=event_type)
    aggregates = []
    for queryset in (produced, rows.filter(role=FlowStat.ROLE_CONSUME)):
        aggregates.extend(
            queryset.values("role", "service_id", "group_id").annotate(total=Sum("events"), last=Max("last_seen_ms"))
        )
    # A native client's group is known by its commits only: its service is the one that lists it.
    claimed = group_services({a["group_id"] for a in aggregates if not a["service_id"] and a["group_id"]})
    for a in aggregates:
        if not a["service_id"] and a["group_id"] in claimed:
            a["service_id"] = claimed[a["group_id"]]
    services = dict(Service.objects.filter(id__in={a["service_id"] for a in aggregates}).values_list("id", "name"))
    groups = dict(ConsumerGroup.objects.filter(id__in={a["group_id"] for a in aggregates}).values_list("id", "name"))
    flows = [
        ObservedFlow(
            service=services.get(a["service_id"], "(unknown)"),
            role=FlowRole.PRODUCER if a["role"] == FlowStat.ROLE_PRODUCE else FlowRole.CONSUMER,
            group=groups.get(a["group_id"], ""),
            events=a["total"],
            last_seen_ms=a["last"],
        )
        for a in aggregates
    ]
    return sorted(flows, key=lambda f: (f.role, f.service, f.group))


def declared_services_of_topic(topic_name: str) -> dict[str, list[str]]:
    """The services declared as producers and consumers of any event type that travels on the
    topic: {"produce": [names], "consume": [names]}. The broker's `declared` access policy asks
    this through settings.EVENTLINE["DECLARED_FLOWS_PROVIDER"]; one query."""
    declared: dict[str, set[str]] = {"produce": set(), "consume": set()}
    rows = DeclaredFlow.objects.filter(event_type__topics__name=topic_name).values_list("role", "service__name")
    for role, service in rows:
        declared["produce" if role == FlowRole.PRODUCER else "consume"].add(service)
    return {action: sorted(names) for action, names in declared.items()}


def topic_rates(topic_ids: list[int], *, window_ms: int = 60_000) -> dict[int, float]:
    """Events per second produced to each topic over the last `window_ms`."""
    since = now_ms() - window_ms
    totals = (
        FlowStat.objects.filter(topic_id__in=topic_ids, role=FlowStat.ROLE_PRODUCE, minute_ms__gte=since - 60_000)
        .values("topic_id")
        .annotate(total=Sum("events"))
    )
    return {row["topic_id"]: row["total"] / ((window_ms + 60_000) / 1000) for row in totals}


def latest_event_of_type(event_type: EventType) -> dict[str, Any] | None:
    """The most recent real event of this type on its topics (for the example on its page)."""
    topic_ids = [topic.id for topic in event_type.topics.all()]
    if not topic_ids:
        return None
    latest = events_of(
        Event.objects.filter(topic_id__in=topic_ids, type=event_type.name).order_by("-append_time_ms")[:1]
    )
    return latest[0] if latest else None


def personal_data_fields_by_type() -> dict[str, list[str]]:
    """Per event type name, its personal-data fields (JSON pointers), for the types that classify
    any: what the broker masks (settings.EVENTLINE["PERSONAL_DATA_PROVIDER"] names this)."""
    return {name: fields for name, fields in EventType.objects.values_list("name", "personal_data_fields") if fields}


def correlation_locations_by_type() -> dict[str, str]:
    """Per event type name, where its correlation id lives (an AsyncAPI runtime expression), for
    the types an import said it of: what the broker reads the id from at append
    (settings.EVENTLINE["CORRELATION_LOCATIONS_PROVIDER"] names this)."""
    return dict(EventType.objects.exclude(correlation_id_location="").values_list("name", "correlation_id_location"))


def business_key_fields_by_type() -> dict[str, list[str]]:
    """Per event type name, its business-key fields (JSON pointers), for the types that name any:
    what the broker indexes (settings.EVENTLINE["BUSINESS_KEYS_PROVIDER"] names this)."""
    return {name: fields for name, fields in EventType.objects.values_list("name", "business_key_fields") if fields}


def domain_list() -> QuerySet[Domain]:
    return Domain.objects.annotate(
        event_type_count=Count("event_types", distinct=True), service_count=Count("services", distinct=True)
    )


def team_list() -> QuerySet[Team]:
    return Team.objects.annotate(
        event_type_count=Count("event_types", distinct=True), service_count=Count("services", distinct=True)
    ).prefetch_related("members")


def service_list(*, documented_only: bool = False) -> QuerySet[Service]:
    services = Service.objects.select_related("profile", "profile__owner_team", "profile__domain").annotate(
        produces=Count("declared_flows", filter=Q(declared_flows__role=FlowRole.PRODUCER), distinct=True),
        consumes=Count("declared_flows", filter=Q(declared_flows__role=FlowRole.CONSUMER), distinct=True),
    )
    if documented_only:
        services = services.filter(Exists(ServiceProfile.objects.filter(service=OuterRef("pk"))))
    return services.order_by("name")


def service_get(*, name: str) -> Service:
    service = (
        Service.objects.select_related("profile", "profile__owner_team", "profile__domain")
        .prefetch_related(Prefetch("declared_flows", queryset=DeclaredFlow.objects.select_related("event_type")))
        .filter(name=name)
        .first()
    )
    if service is None:
        raise NotFound(f"Service '{name}' does not exist.", code="service_not_found")
    return service


# -- consumer groups of native clients ---------------------------------------------------------


def group_services(group_ids: Iterable[int] | None = None) -> dict[int, int]:
    """The catalog service (id) of each consumer group (by id) a service claims, from the
    services' `consumer_groups` and `client_ids` (catalog.models.ServiceProfile).

    The group's name decides first: a service listing it exactly, else the longest pattern that
    matches it. Only then its members' client ids (as the lag round last saw them on Kafka): the
    longest client-id pattern matching any of them. Ties go to the service first by name."""
    claims = [
        claim
        for claim in ServiceProfile.objects.order_by("service__name").values_list(
            "service_id", "consumer_groups", "client_ids"
        )
        if claim[1] or claim[2]
    ]
    if not claims:
        return {}
    groups = ConsumerGroup.objects.all()
    if group_ids is not None:
        groups = groups.filter(id__in=list(group_ids))
    found: dict[int, int] = {}
    for group_id, name, client_ids in groups.values_list("id", "name", "client_ids"):
        service_id = _claimant(claims, 1, [name]) or _claimant(claims, 2, client_ids or [])
        if service_id is not None:
            found[group_id] = service_id
    return found


def _claimant(claims: list[tuple[Any, ...]], column: int, names: list[str]) -> int | None:
    """The service whose patterns in `column` match one of `names` best: an exact name, else the
    longest pattern."""
    best: tuple[int, int] | None = None  # (score, service id)
    for claim in claims:
        for pattern in claim[column]:
            for name in names:
                if pattern == name:
                    score = 10_000
                elif fnmatchcase(name, pattern):
                    score = len(pattern)
                else:
                    continue
                if best is None or score > best[0]:
                    best = (score, claim[0])
    return None if best is None else best[1]


@dataclass(frozen=True)
class InboxItem:
    kind: str
    name: str
    detail: str


def governance_inbox(*, principal: Any = None) -> list[InboxItem]:
    """What runs but is not documented: topics no event type travels on, registry subjects no
    event type uses, services seen producing or consuming without a catalog entry, and observed
    flows no one declared, and consumer groups no service claims (those `principal` may see, when
    given). Dismissed items stay out."""
    dismissed = set(InboxDismissal.objects.values_list("kind", "name"))
    items: list[InboxItem] = []
    travelling = topic_event_types()
    for topic in Topic.objects.order_by("name"):
        listed, seen = travelling.get(topic.id, (set(), set()))
        if not listed and seen:
            names = ", ".join(sorted(seen))
            items.append(InboxItem(InboxKind.TOPIC, topic.name, f"{names} seen on it; the catalog lists no event type"))
        elif not listed:
            items.append(InboxItem(InboxKind.TOPIC, topic.name, "no event type travels on it"))
    used_subjects = set(EventType.objects.exclude(subject="").values_list("subject", flat=True))
    for subject in _registry_subjects():
        if subject not in used_subjects:
            items.append(InboxItem(InboxKind.SUBJECT, subject, "no event type uses this schema"))
    seen = set(FlowStat.objects.exclude(service_id=0).values_list("service_id", flat=True).distinct())
    documented_services = set(ServiceProfile.objects.values_list("service_id", flat=True))
    for service in Service.objects.filter(id__in=seen - documented_services).order_by("name"):
        items.append(InboxItem(InboxKind.SERVICE, service.name, "seen producing or consuming, not in the catalog"))
    for flow in undeclared_flows():
        items.append(InboxItem(InboxKind.FLOW, flow, "observed but not declared"))
    items += [item for item in _unclaimed_groups() if principal is None or principal.may_use_group(item.name)]
    return [item for item in items if (item.kind, item.name) not in dismissed]


def _unclaimed_groups() -> list[InboxItem]:
    """Consumer groups that committed offsets but no service is known for: no member joined with
    a service's key, no service lists them (group_services), and none was seen consuming as a
    service. Eventline's own groups never commit on business topics."""
    committed = {
        group_id: (name, client_ids)
        for group_id, name, client_ids in ConsumerGroup.objects.filter(
            id__in=GroupPartition.objects.filter(committed_offset__isnull=False).values("group_id")
        ).values_list("id", "name", "client_ids")
    }
    known = set(GroupMember.objects.filter(service__isnull=False).values_list("group_id", flat=True))
    known |= set(group_services(committed))
    known |= set(
        FlowStat.objects.filter(role=FlowStat.ROLE_CONSUME, group_id__in=list(committed))
        .exclude(service_id=0)
        .values_list("group_id", flat=True)
    )
    topics: dict[int, set[str]] = {}
    for group_id, topic in GroupPartition.objects.filter(group_id__in=list(committed)).values_list(
        "group_id", "topic__name"
    ):
        topics.setdefault(group_id, set()).add(topic)
    items = []
    for group_id, (name, client_ids) in sorted(committed.items(), key=lambda item: item[1][0]):
        if group_id in known:
            continue
        detail = f"consumes {', '.join(sorted(topics.get(group_id, ())))}; no service lists this group"
        if client_ids:
            detail += f" (client ids {', '.join(client_ids)})"
        items.append(InboxItem(InboxKind.GROUP, name, detail))
    return items


def topic_event_types(*, window_ms: int = OBSERVED_WINDOW_MS) -> dict[int, tuple[set[str], set[str]]]:
    """Which event types travel on each topic (by id): (those the catalog lists there, those the
    broker saw produced there in the window and the catalog does not list). The same two facts
    lineage's graph and drift are built from, so the inbox and drift agree."""
    found: dict[int, tuple[set[str], set[str]]] = {}
    for topic_id, name in EventType.topics.through.objects.values_list("topic_id", "eventtype__name"):
        found.setdefault(topic_id, (set(), set()))[0].add(name)
    produced = (
        FlowStat.objects.filter(role=FlowStat.ROLE_PRODUCE, minute_ms__gte=now_ms() - window_ms)
        .exclude(event_type="")
        .values_list("topic_id", "event_type")
        .distinct()
    )
    for topic_id, name in produced:
        listed, seen = found.setdefault(topic_id, (set(), set()))
        if name not in listed:
            seen.add(name)
    return found


def undeclared_flows(*, window_ms: int = OBSERVED_WINDOW_MS) -> list[str]:
    """'service consumes topic' / 'service produces Type' flows the broker saw and no one declared."""
    since = now_ms() - window_ms
    declared = {
        (flow.service_id, flow.role, flow.event_type_id)
        for flow in DeclaredFlow.objects.only("service_id", "role", "event_type_id")
    }
    types_by_name = dict(EventType.objects.values_list("name", "id"))
    types_by_topic: dict[int, set[int]] = {}
    for topic_id, type_id in EventType.topics.through.objects.values_list("topic_id", "eventtype_id"):
        types_by_topic.setdefault(topic_id, set()).add(type_id)
    services = dict(Service.objects.values_list("id", "name"))
    topics = dict(Topic.objects.values_list("id", "name"))
    found: set[str] = set()
    observed = (
        FlowStat.objects.filter(minute_ms__gte=since)
        .exclude(service_id=0)
        .values_list("topic_id", "role", "service_id", "event_type")
        .distinct()
    )
    for topic_id, role, service_id, type_name in observed:
        name = services.get(service_id, "?")
        if role == FlowStat.ROLE_PRODUCE:
            type_id = types_by_name.get(type_name)
            if type_id is not None and (service_id, FlowRole.PRODUCER, type_id) not in declared:
                found.add(f"{name} produces {type_name}")
        else:
            type_ids = types_by_topic.get(topic_id, set())
            if type_ids and not any((service_id, FlowRole.CONSUMER, t) in declared for t in type_ids):
                found.add(f"{name} consumes {topics.get(topic_id, '?')}")
    return sorted(found)


def _registry_subjects() -> list[str]:
    return subject_names()


def estate_summary() -> dict[str, Any]:
    """Counts for the home page."""
    return {
        "event_types": EventType.objects.count(),
        "services": Service.objects.count(),
        "domains": Domain.objects.count(),
        "teams": Team.objects.count(),
        "topics": Topic.objects.count(),
        "groups": ConsumerGroup.objects.count(),
        "retained_events": Partition.objects.aggregate(total=Sum("end_offset") - Sum("log_start_offset"))["total"] or 0,
    }


def topic_last_append(topic_ids: list[int]) -> dict[int, int | None]:
    rows = Partition.objects.filter(topic_id__in=topic_ids).values("topic_id").annotate(last=Max("last_append_ms"))
    return {row["topic_id"]: row["last"] for row in rows}


def observed_flows_for_service(service_id: int, *, window_ms: int = OBSERVED_WINDOW_MS) -> list[dict[str, Any]]:
    """What the broker saw this service do: event types produced to topics, topics consumed."""
    since = now_ms() - window_ms
    rows = (
        FlowStat.objects.filter(service_id=service_id, minute_ms__gte=since)
        .values("topic_id", "role", "event_type", "group_id")
        .annotate(total=Sum("events"), last=Max("last_seen_ms"))
    )
    topics = dict(Topic.objects.filter(id__in={r["topic_id"] for r in rows}).values_list("id", "name"))
    groups = dict(ConsumerGroup.objects.filter(id__in={r["group_id"] for r in rows}).values_list("id", "name"))
    return sorted(
        (
            {
                "role": FlowRole.PRODUCER if row["role"] == FlowStat.ROLE_PRODUCE else FlowRole.CONSUMER,
                "topic": topics.get(row["topic_id"], "?"),
                "event_type": row["event_type"],
                "group": groups.get(row["group_id"], ""),
                "events": row["total"],
                "last_seen_ms": row["last"],
            }
            for row in rows
        ),
        key=lambda flow: (flow["role"], flow["topic"], flow["event_type"]),
    )


# -- business flows ----------------------------------------------------------------------------


def business_flow_list() -> QuerySet[BusinessFlow]:
    """Business flows with their start type and terminals (and their types) loaded: three queries
    however many flows."""
    return BusinessFlow.objects.select_related("start_event_type").prefetch_related(
        Prefetch("terminals", queryset=FlowTerminal.objects.select_related("event_type"))
    )


def business_flow_get(*, name: str) -> BusinessFlow:
    flow = business_flow_list().filter(name=name).first()
    if flow is None:
        raise NotFound(f"Business flow '{name}' does not exist.", code="business_flow_not_found")
    return flow


def business_flows_of_event_type(event_type: EventType) -> dict[str, list[Any]]:
    """The flows an event type starts, and those it ends with how (for its page):
    {"starts": [flow], "ends": [(flow, ending)]}."""
    starts = list(BusinessFlow.objects.filter(start_event_type=event_type).only("name"))
    ends = [
        (terminal.flow, terminal.ending)
        for terminal in FlowTerminal.objects.filter(event_type=event_type).select_related("flow").order_by("flow__name")
    ]
    return {"starts": starts, "ends": ends}
