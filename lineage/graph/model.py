"""What the lineage graph is made of: the facts it is built from (plain values read from the
catalog and the broker) and the nodes and edges it holds. Pure Python, no Django."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class NodeKind(StrEnum):
    SERVICE = "service"
    EVENT_TYPE = "event_type"
    TOPIC = "topic"
    GROUP = "group"


class EdgeKind(StrEnum):
    """Edges point the way events flow.

    `produces` (service -> event type) and `consumes` (event type -> service, or -> group when the
    group's service is unknown) are the logical layer: who depends on whom. `published_to`
    (event type -> topic), `read_by` (topic -> group) and `runs_in` (group -> service) are the
    broker layer that shows how the events travel; queries walk the logical layer only.
    """

    PRODUCES = "produces"
    CONSUMES = "consumes"
    PUBLISHED_TO = "published_to"
    READ_BY = "read_by"
    RUNS_IN = "runs_in"


LOGICAL_EDGE_KINDS = frozenset({EdgeKind.PRODUCES, EdgeKind.CONSUMES})


class Flow(StrEnum):
    DECLARED = "declared"
    OBSERVED = "observed"
    BOTH = "both"


def node_id(kind: NodeKind, name: str) -> str:
    return f"{kind.value}:{name}"


def split_node_id(value: str) -> tuple[NodeKind, str] | None:
    """("service", "orders") from "service:orders"; None when the prefix is not a node kind."""
    prefix, sep, name = value.partition(":")
    if not sep or not name:
        return None
    try:
        return NodeKind(prefix), name
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Facts: what the Django layer reads, as plain values. The catalog's are named tuples: a catalog
# edit compares tens of thousands of them with the previous read, and tuples hash in C.


class ServiceFacts(NamedTuple):
    name: str
    owner_team: str | None = None
    domain: str | None = None
    documented: bool = True


class EventTypeFacts(NamedTuple):
    name: str
    owner_team: str | None = None
    domain: str | None = None
    lifecycle: str | None = None
    subject: str = ""
    topics: tuple[str, ...] = ()


class DeclaredFlowFacts(NamedTuple):
    service: str
    event_type: str
    role: str  # "producer" | "consumer", as catalog.choices.FlowRole


@dataclass(frozen=True, slots=True)
class ProducedFacts:
    """Events of one type one service produced to one topic in the window."""

    topic: str
    service: str | None
    event_type: str
    events: int
    last_seen_ms: int


@dataclass(frozen=True, slots=True)
class ConsumedFacts:
    """Events one group fetched from one topic in the window, by members of one service (None
    when the member did not say which)."""

    topic: str
    group: str
    service: str | None
    events: int
    last_seen_ms: int


@dataclass(frozen=True, slots=True)
class GroupFacts:
    """A consumer group: the services of its members now, the topics it is subscribed to or holds
    offsets for, and services seen consuming for it earlier (used when it has no members now)."""

    name: str
    member_services: tuple[str, ...] = ()
    subscribed_topics: tuple[str, ...] = ()
    past_services: tuple[str, ...] = ()


@dataclass(frozen=True)
class Estate:
    """Everything the graph is built from, for one window ending at `now_ms`."""

    window_ms: int
    now_ms: int
    services: tuple[ServiceFacts, ...] = ()
    event_types: tuple[EventTypeFacts, ...] = ()
    declared: tuple[DeclaredFlowFacts, ...] = ()
    produced: tuple[ProducedFacts, ...] = ()
    consumed: tuple[ConsumedFacts, ...] = ()
    groups: tuple[GroupFacts, ...] = ()


# ---------------------------------------------------------------------------------------------
# The graph's nodes and edges


@dataclass(slots=True)
class Node:
    id: str
    kind: NodeKind
    name: str
    owner_team: str | None = None
    domain: str | None = None
    documented: bool = True
    lifecycle: str | None = None
    subject: str = ""
    services: tuple[str, ...] = ()  # a group's services

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "name": self.name,
            "owner_team": self.owner_team,
            "domain": self.domain,
            "documented": self.documented,
            "lifecycle": self.lifecycle,
            "services": list(self.services),
        }


@dataclass(slots=True)
class Edge:
    """One edge. `events` counts what the broker saw over the window (0 for declared-only
    edges); for `consumes` it is estimated from the consumer's reads of the event type's topics,
    shared out by each type's part of what was produced there."""

    source: str
    target: str
    kind: EdgeKind
    declared: bool = False
    observed: bool = False
    events: int = 0
    last_seen_ms: int | None = None
    topics: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    subscribed: bool = False  # read_by: the group is subscribed, whether or not it read anything

    @property
    def flow(self) -> Flow:
        if self.declared and self.observed:
            return Flow.BOTH
        return Flow.DECLARED if self.declared else Flow.OBSERVED

    @property
    def id(self) -> str:
        return f"{self.source}->{self.target}"

    def as_dict(self, window_ms: int) -> dict[str, object]:
        return {
            "id": self.id,
            "source": self.source,
            "target": self.target,
            "kind": self.kind.value,
            "flow": self.flow.value,
            "declared": self.declared,
            "observed": self.observed,
            "events": self.events,
            "rate_per_s": round(self.events / (window_ms / 1000), 4) if window_ms else 0.0,
            "last_seen_ms": self.last_seen_ms,
            "topics": list(self.topics),
            "groups": list(self.groups),
        }
