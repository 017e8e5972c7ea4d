"""Reads for lineage: the estate's facts from the catalog and the broker in a few aggregate
queries, the graph built from them (cached per process and window for half a minute), and the
queries the API and the pages ask of it."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlencode

from django.db import connection, connections
from django.db.models import Max, Sum
from django.urls import NoReverseMatch, reverse

from broker.models import ConsumerGroup, FlowStat, GroupMember, GroupPartition, Topic
from catalog.models import CatalogChange, DeclaredFlow, EventType, ServiceProfile
from catalog.selectors import group_services
from core.errors import NotFound, field_error
from core.models import Service
from core.timeutil import now_ms
from lineage import constants as c
from lineage.graph import (
    ConsumedFacts,
    DeclaredFlowFacts,
    Drift,
    Estate,
    EventTypeFacts,
    Ghost,
    GroupFacts,
    LineageGraph,
    Neighbourhood,
    Node,
    NodeKind,
    ObservedIndex,
    Orphan,
    Path,
    ProducedFacts,
    Reached,
    ServiceFacts,
    drift,
    ghost_consumers,
    lineage_on,
    orphan_events,
)
from lineage.registry_evidence import RegistryEvidence, registry_evidence

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Parameters


def window_ms_of(window: str) -> int:
    """The window's length; 422 naming the allowed values for anything else."""
    try:
        return c.WINDOWS[window]
    except KeyError:
        raise field_error("window", f"must be one of {', '.join(c.WINDOWS)}") from None


# ---------------------------------------------------------------------------------------------
# Reading the estate


@dataclass(frozen=True)
class CatalogFacts:
    """What the catalog declares: documented services, event types and their topics, flows."""

    services: tuple[ServiceFacts, ...]
    event_types: tuple[EventTypeFacts, ...]
    declared: tuple[DeclaredFlowFacts, ...]


@dataclass(frozen=True)
class ObservedFacts:
    """What the broker saw over one window ending at `at_ms`."""

    window_ms: int
    at_ms: int
    produced: tuple[ProducedFacts, ...]
    consumed: tuple[ConsumedFacts, ...]
    groups: tuple[GroupFacts, ...]


def catalog_facts_read() -> CatalogFacts:
    """The catalog's declarations, in five queries whatever the size of the catalog."""
    service_rows = list(
        Service.objects.values_list("id", "name", "profile__owner_team__name", "profile__domain__name", "profile")
    )
    service_names = {row[0]: row[1] for row in service_rows}
    topic_names = dict(Topic.objects.values_list("id", "name"))
    topics_of: dict[int, list[str]] = defaultdict(list)
    for type_id, topic_id in EventType.topics.through.objects.values_list("eventtype_id", "topic_id"):
        topics_of[type_id].append(topic_names[topic_id])
    type_rows = list(
        EventType.objects.values_list("id", "name", "owner_team__name", "domain__name", "lifecycle", "subject")
    )
    type_names = {row[0]: row[1] for row in type_rows}
    return CatalogFacts(
        services=tuple(
            ServiceFacts(name=name, owner_team=team, domain=domain, documented=True)
            for _, name, team, domain, profile in service_rows
            if profile is not None
        ),
        event_types=tuple(
            EventTypeFacts(
                name=name,
                owner_team=team,
                domain=domain,
                lifecycle=lifecycle,
                subject=subject,
                topics=tuple(sorted(topics_of.get(type_id, ()))),
            )
            for type_id, name, team, domain, lifecycle, subject in type_rows
        ),
        declared=tuple(
            DeclaredFlowFacts(service=service_names[service_id], event_type=type_names[type_id], role=role)
            for service_id, type_id, role in DeclaredFlow.objects.values_list("service_id", "event_type_id", "role")
        ),
    )


def observed_facts_read(*, window_ms: int, at_ms: int | None = None) -> ObservedFacts:
    """What the broker saw over the window ending at `at_ms` (now): per-minute flow counts
    summed in one aggregate query, consumer groups with their members' services, subscriptions
    and committed offsets; a fixed number of queries whatever the size of the estate."""
    at_ms = now_ms() if at_ms is None else at_ms
    service_names = dict(Service.objects.values_list("id", "name"))
    topic_names = dict(Topic.objects.values_list("id", "name"))
    group_names = dict(ConsumerGroup.objects.values_list("id", "name"))
    produced: list[ProducedFacts] = []
    consumed: list[ConsumedFacts] = []
    flows = (
        FlowStat.objects.filter(minute_ms__gte=at_ms - window_ms)
        .values_list("role", "topic_id", "service_id", "group_id", "event_type")
        .annotate(total=Sum("events"), last=Max("last_seen_ms"))
        .order_by()
    )
    for role, topic_id, service_id, group_id, type_name, total, last in flows:
        topic = topic_names.get(topic_id)
        if topic is None or not total:
            continue
        service = service_names.get(service_id) if service_id else None
        if role == FlowStat.ROLE_PRODUCE:
            produced.append(ProducedFacts(topic, service, type_name, int(total), int(last)))
        elif group_id in group_names:
            consumed.append(ConsumedFacts(topic, group_names[group_id], service, int(total), int(last)))

    members: dict[int, set[str]] = defaultdict(set)
    subscribed: dict[int, set[str]] = defaultdict(set)
    topic_ids = {name: topic_id for topic_id, name in topic_names.items()}
    for group_id, service_id, member_topics in GroupMember.objects.values_list("group_id", "service_id", "topics"):
        if service_id in service_names:
            members[group_id].add(service_names[service_id])
        subscribed[group_id].update(t for t in member_topics or () if t in topic_ids)
    # Native Kafka clients' groups have no members Eventline knows: the service listing them.
    for group_id, service_id in group_services().items():
        if service_id in service_names:
            members[group_id].add(service_names[service_id])
    for group_id, topic_id in GroupPartition.objects.values_list("group_id", "topic_id").distinct():
        subscribed[group_id].add(topic_names[topic_id])
    seen_reading = {row.group for row in consumed if row.service}
    unmapped = [
        group_id for group_id, name in group_names.items() if not members.get(group_id) and name not in seen_reading
    ]
    past: dict[int, set[str]] = defaultdict(set)
    if unmapped:
        earlier = (
            FlowStat.objects.filter(role=FlowStat.ROLE_CONSUME, group_id__in=unmapped)
            .exclude(service_id=0)
            .values_list("group_id", "service_id")
            .distinct()
        )
        for group_id, service_id in earlier:
            if service_id in service_names:
                past[group_id].add(service_names[service_id])
    groups = tuple(
        GroupFacts(
            name=name,
            member_services=tuple(sorted(members.get(group_id, ()))),
            subscribed_topics=tuple(sorted(subscribed.get(group_id, ()))),
            past_services=tuple(sorted(past.get(group_id, ()))),
        )
        for group_id, name in group_names.items()
        if group_id in members or group_id in subscribed or group_id in past
    )
    return ObservedFacts(window_ms, at_ms, tuple(produced), tuple(consumed), groups)


def estate_of(catalog: CatalogFacts, observed: ObservedFacts) -> Estate:
    return Estate(
        window_ms=observed.window_ms,
        now_ms=observed.at_ms,
        services=catalog.services,
        event_types=catalog.event_types,
        declared=catalog.declared,
        produced=observed.produced,
        consumed=observed.consumed,
        groups=observed.groups,
    )


def estate_read(*, window_ms: int, at_ms: int | None = None) -> Estate:
    """The catalog's declarations and the broker's observations over the window ending now."""
    return estate_of(catalog_facts_read(), observed_facts_read(window_ms=window_ms, at_ms=at_ms))


# ---------------------------------------------------------------------------------------------
# The cached graph
#
# Per process: the catalog's facts, kept while the catalog fingerprint holds; and per window the
# graph with the observations it was built from. A request is answered from the graph while its
# observations are younger than CACHE_SECONDS; up to STALE_SECONDS it still is, while a thread
# reads new observations and rebuilds. A catalog edit rebuilds at once on the kept observations
# (editors see their change on the next request) and only the catalog is read again; but an edit
# of a service's consumer groups or client ids reads the observations again too, since the groups'
# services are among them (observed_facts_read). Inside a
# transaction a graph past CACHE_SECONDS is rebuilt before answering, not in a thread: another
# thread could not see what this transaction wrote.


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Reading and building a large estate allocates hundreds of thousands of objects and no
    reference cycles; the cyclic collector would rescan the heap many times meanwhile."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@dataclass(frozen=True)
class _Cached:
    graph: LineageGraph
    fingerprint: tuple[object, ...]
    catalog: Estate  # the catalog's facts the graph was built from (no observed facts)
    observed: ObservedIndex
    observed_at: float  # time.monotonic() when the observations were read


_cache: dict[str, _Cached] = {}
_catalog_cache: list[tuple[tuple[object, ...], CatalogFacts]] = []
_refreshing: set[str] = set()
_asked: dict[str, float] = {}  # window -> time.monotonic() of its latest request
_cache_lock = threading.Lock()


def lineage_cache_clear() -> None:
    """Forget every graph, and stop keeping one warm."""
    _keeper_stop()
    with _cache_lock:
        _cache.clear()
        _catalog_cache.clear()
        _asked.clear()


def _catalog_fingerprint() -> tuple[object, ...]:
    """Changes whenever the catalog does (one cheap query): every catalog write records a
    change in its history, and the counts catch rows written around the services."""
    tables = [
        f"(SELECT MAX(id) FROM {CatalogChange._meta.db_table})",
        f"(SELECT COUNT(*) FROM {DeclaredFlow._meta.db_table})",
        f"(SELECT COUNT(*) FROM {EventType._meta.db_table})",
        f"(SELECT COUNT(*) FROM {ServiceProfile._meta.db_table})",
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(tables))
        row = cursor.fetchone()
    return tuple(row)


def _catalog_facts(fingerprint: tuple[object, ...]) -> CatalogFacts:
    if _catalog_cache and _catalog_cache[0][0] == fingerprint:
        return _catalog_cache[0][1]
    facts = catalog_facts_read()
    with _cache_lock:
        _catalog_cache[:] = [(fingerprint, facts)]
    return facts


def _build(window: str, fingerprint: tuple[object, ...], kept: _Cached | None = None) -> LineageGraph:
    """Build `window`'s graph and keep it: on the observations of `kept`, redoing only what the
    catalog changed since (see lineage.graph.build), or whole on observations read anew when
    `kept` is None."""
    with _collector_paused():
        if kept is None:
            observed_at = time.monotonic()
            seen = observed_facts_read(window_ms=c.WINDOWS[window])
            observed = ObservedIndex(
                window_ms=seen.window_ms,
                now_ms=seen.at_ms,
                produced=seen.produced,
                consumed=seen.consumed,
                groups=seen.groups,
            )
        else:
            observed_at, observed = kept.observed_at, kept.observed
        facts = _catalog_facts(fingerprint)
        catalog = Estate(
            window_ms=observed.window_ms,
            now_ms=observed.now_ms,
            services=facts.services,
            event_types=facts.event_types,
            declared=facts.declared,
        )
        if kept is None:
            graph = lineage_on(observed, catalog)
        else:
            graph = lineage_on(observed, catalog, base=kept.graph, base_estate=kept.catalog)
    with _cache_lock:
        _cache[window] = _Cached(graph, fingerprint, catalog, observed, observed_at)
    return graph


def _refresh_in_background(window: str) -> None:
    """Read new observations and rebuild `window`'s graph in a thread (one at a time per
    window) while requests keep being answered from the previous one."""
    with _cache_lock:
        if window in _refreshing:
            return
        _refreshing.add(window)

    def run() -> None:
        try:
            _build(window, _catalog_fingerprint())
        except Exception:  # noqa: BLE001 - the next request rebuilds inline; say why this one failed
            logger.warning("lineage graph refresh for window %s failed", window, exc_info=True)
        finally:
            with _cache_lock:
                _refreshing.discard(window)
            connections.close_all()  # this thread's connections only

    threading.Thread(target=run, name=f"lineage-refresh-{window}", daemon=True).start()


class _Keeper(threading.Thread):
    """Every `every` seconds, reads the traffic and rebuilds the graph of `window` and of every
    window asked for in the last KEEP_ASKED_SECONDS, unless a request had it done meanwhile;
    until stopped."""

    def __init__(self, window: str, every: float) -> None:
        super().__init__(name=f"lineage-keeper-{window}", daemon=True)
        self.window, self.every = window, every
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            now = time.monotonic()
            recent = [window for window, at in list(_asked.items()) if now - at < c.KEEP_ASKED_SECONDS]
            for window in dict.fromkeys([self.window, *recent]):
                cached = _cache.get(window)
                if cached is None or now - cached.observed_at >= self.every:
                    _refresh_in_background(window)

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)


_keeper: _Keeper | None = None


def lineage_warm_in_background(window: str = c.DEFAULT_WINDOW, *, every: float = c.KEEP_WARM_SECONDS) -> None:
    """Build `window`'s graph in a thread when a server process starts and keep it built (see
    _Keeper), so that a request for it is answered from the cache however long since the
    previous one; a graph past STALE_SECONDS would be rebuilt whole before answering."""
    global _keeper
    _refresh_in_background(window)
    with _cache_lock:
        if _keeper is None or not _keeper.is_alive():
            _keeper = _Keeper(window, every)
            _keeper.start()


def _keeper_stop() -> None:
    global _keeper
    keeper, _keeper = _keeper, None
    if keeper is not None:
        keeper.stop()


def lineage_graph(*, window: str = c.DEFAULT_WINDOW) -> LineageGraph:
    """The lineage graph over `window` (10m, 1h, 1d, 7d), from the per-process cache when it
    can be (see above), built before answering when it cannot."""
    window_ms_of(window)
    _asked[window] = time.monotonic()
    fingerprint = _catalog_fingerprint()
    cached = _cache.get(window)
    if cached is not None:
        age = time.monotonic() - cached.observed_at
        fresh = age < c.CACHE_SECONDS
        if fresh or (age < c.STALE_SECONDS and not connection.in_atomic_block):
            if not fresh:
                _refresh_in_background(window)
            if cached.fingerprint == fingerprint:
                return cached.graph
            if not _groups_remapped(since=cached.fingerprint):
                return _build(window, fingerprint, kept=cached)
    return _build(window, fingerprint)


# The fields of a service whose change maps consumer groups to services anew: the groups' services
# are in the observations (observed_facts_read), so the graph is rebuilt on observations read anew.
_GROUP_MAPPING_FIELDS = frozenset({"consumer_groups", "client_ids"})


def _groups_remapped(*, since: tuple[object, ...]) -> bool:
    """Whether a catalog change after the fingerprint `since` (its first item, the latest change
    then) claimed or let go of a consumer group: a service's group or client-id lists edited, or
    a service that had some deleted."""
    changes = CatalogChange.objects.filter(id__gt=since[0] or 0).values_list("changes", flat=True)
    return any(_GROUP_MAPPING_FIELDS & set(change or ()) for change in changes)


# ---------------------------------------------------------------------------------------------
# Queries


def node_get(graph: LineageGraph, text: str, *, field: str = "focus") -> str:
    """The node id `text` names ("kind:name" or a bare name); 404 when there is none."""
    if not text.strip():
        raise field_error(field, "name a node, e.g. service:orders or event_type:OrderPlaced")
    key = graph.resolve(text)
    if key is None:
        raise NotFound(f"No service, event type, topic or group '{text}' in the lineage graph.", code="node_not_found")
    return key


def graph_neighbourhood(
    *,
    focus: str | None,
    depth: int = c.DEFAULT_DEPTH,
    window: str = c.DEFAULT_WINDOW,
    domain: str | None = None,
    team: str | None = None,
    limit: int = c.DEFAULT_NODE_LIMIT,
    broker: bool = True,
) -> tuple[LineageGraph, Neighbourhood]:
    graph = lineage_graph(window=window)
    key = node_get(graph, focus) if focus else None
    return graph, graph.neighbourhood(key, depth, domain=domain, team=team, limit=limit, broker=broker)


def node_search(*, query: str, window: str = c.DEFAULT_WINDOW, limit: int = 20) -> list[Node]:
    return lineage_graph(window=window).search(query, limit=limit)


def lineage_reach(*, node: str, direction: str, depth: int, window: str) -> tuple[LineageGraph, str, list[Reached]]:
    graph = lineage_graph(window=window)
    key = node_get(graph, node, field="node")
    reached = graph.downstream(key, depth) if direction == "downstream" else graph.upstream(key, depth)
    return graph, key, reached


def lineage_paths(
    *, source: str, target: str, window: str, max_hops: int = c.DEFAULT_PATH_HOPS, limit: int = c.DEFAULT_PATH_LIMIT
) -> tuple[LineageGraph, str, str, list[Path], bool]:
    graph = lineage_graph(window=window)
    source_key = node_get(graph, source, field="source")
    target_key = node_get(graph, target, field="target")
    found, truncated = graph.paths(source_key, target_key, max_hops=max_hops, limit=limit)
    return graph, source_key, target_key, found, truncated


def lineage_cycles(*, window: str, limit: int = c.DEFAULT_CYCLE_LIMIT) -> tuple[list[list[str]], bool]:
    return lineage_graph(window=window).cycles(max_length=c.DEFAULT_CYCLE_LENGTH, limit=limit)


def lineage_orphans(*, window: str = c.GOVERNANCE_WINDOW) -> list[Orphan]:
    return orphan_events(lineage_graph(window=window))


def lineage_ghosts(*, window: str = c.GOVERNANCE_WINDOW) -> list[Ghost]:
    return ghost_consumers(lineage_graph(window=window))


def lineage_drift(*, window: str = c.GOVERNANCE_WINDOW) -> Drift:
    return drift(lineage_graph(window=window))


def lineage_registry_evidence(*, window: str = c.GOVERNANCE_WINDOW) -> list[RegistryEvidence]:
    """Producer and consumer candidates from the registry's traffic, each marked with whether the
    graph's observed or declared flows back it (lineage.registry_evidence)."""
    return registry_evidence(lineage_graph(window=window), window=window)


# ---------------------------------------------------------------------------------------------
# Links


@lru_cache(maxsize=50_000)
def _url(kind: str, name: str, documented: bool) -> str | None:
    try:
        if kind == NodeKind.SERVICE:
            return str(reverse("catalog:service-detail", args=[name]))
        if kind == NodeKind.EVENT_TYPE:
            if documented:
                return str(reverse("catalog:event-type-detail", args=[name]))
            return f"{reverse('catalog:event-type-create')}?{_query(name=name)}"
        if kind == NodeKind.TOPIC:
            return str(reverse("topics:topic-detail", args=[name]))
        return str(reverse("monitoring:group-detail", args=[name]))
    except NoReverseMatch:
        return None


def _query(**params: str) -> str:
    return urlencode(params)


def node_url(node: Node) -> str | None:
    """The page a click on the node opens: its catalog page (topic and group pages for those)."""
    return _url(node.kind.value, node.name, node.documented)


def node_dict(node: Node, depth: int | None = None) -> dict[str, object]:
    shown = node.as_dict()
    shown["depth"] = depth
    shown["url"] = node_url(node)
    return shown
