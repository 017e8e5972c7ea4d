"""Lineage REST API under /api/v1/lineage/. Reads only, of the whole estate: every topic and
group behind the graph shows through its nodes and edges, so a key needs to describe every topic
(`describe:*`, or `produce:*`/`consume:*`, or `admin`); anyone logged in may read it, as the pages.
Filtering a graph down to some topics would still leak them through the service and event type
edges they carry, hence all or nothing."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import principal_of
from core.constants import FALSE_WORDS, TRUE_WORDS
from core.errors import field_error
from core.renderers import FastJSONRenderer
from lineage import constants as c
from lineage import selectors
from lineage.api import serializers as s
from lineage.graph import Drift, DriftItem, Edge, Ghost, LineageGraph, Orphan
from lineage.impact import ImpactReport, impact_csv, impact_for_event_type, impact_for_subject

# ---------------------------------------------------------------------------------------------
# Parameters


def _window(request: Request, default: str = c.DEFAULT_WINDOW) -> str:
    window = request.query_params.get("window") or default
    selectors.window_ms_of(window)
    return window


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise field_error(name, "must be an integer") from None
    if not low <= value <= high:
        raise field_error(name, f"must be between {low} and {high}")
    return value


def _flag(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    word = raw
    if word not in TRUE_WORDS | FALSE_WORDS:
        raise field_error(name, "must be true or false")
    return word in TRUE_WORDS


def _text(request: Request, name: str) -> str | None:
    return (request.query_params.get(name) or "").strip() or None


WINDOW = OpenApiParameter(
    "window",
    str,
    enum=list(c.WINDOWS),
    description=f"observed traffic over 10m, 1h, 1d or 7d (default {c.DEFAULT_WINDOW})",
)
GOVERNANCE_WINDOW = OpenApiParameter(
    "window",
    str,
    enum=list(c.WINDOWS),
    description=f"observed traffic over 10m, 1h, 1d or 7d (default {c.GOVERNANCE_WINDOW})",
)
NODE_HELP = 'a node id ("service:orders", "event_type:OrderPlaced", "topic:orders", "group:billing") or a bare name'


# ---------------------------------------------------------------------------------------------
# Shapes


def _edges(graph: LineageGraph, edges: list[Edge]) -> list[dict[str, object]]:
    return [edge.as_dict(graph.window_ms) for edge in edges]


def _drift_item(item: DriftItem) -> dict[str, object]:
    return {
        "kind": item.kind,
        "service": item.service,
        "event_type": item.event_type,
        "documented": item.documented,
        "owner_team": item.owner_team,
        "topics": item.topics,
        "groups": item.groups,
        "events": item.events,
        "last_seen_ms": item.last_seen_ms,
        "sentence": item.sentence,
    }


def drift_payload(window: str, found: Drift) -> dict[str, Any]:
    return {
        "window": window,
        "undeclared": [_drift_item(item) for item in found.undeclared],
        "unobserved": [_drift_item(item) for item in found.unobserved],
    }


def orphan_payload(orphan: Orphan) -> dict[str, object]:
    return {
        "event_type": orphan.event_type,
        "documented": orphan.documented,
        "owner_team": orphan.owner_team,
        "domain": orphan.domain,
        "producers": [{"service": service, "flow": flow} for service, flow in orphan.producers],
        "topics": orphan.topics,
        "events": orphan.events,
        "last_seen_ms": orphan.last_seen_ms,
    }


def ghost_payload(ghost: Ghost) -> dict[str, object]:
    return {
        "basis": ghost.basis,
        "group": ghost.group,
        "services": ghost.services,
        "owner_teams": ghost.owner_teams,
        "topic": ghost.topic,
        "event_type": ghost.event_type,
        "declared_producers": ghost.declared_producers,
    }


# ---------------------------------------------------------------------------------------------
# Views


class GraphView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("focus", str, description=NODE_HELP + "; without it, the whole estate when small"),
            OpenApiParameter(
                "depth", int, description=f"hops upstream and downstream (0-{c.MAX_DEPTH}, default {c.DEFAULT_DEPTH})"
            ),
            WINDOW,
            OpenApiParameter("domain", str, description="only services and event types of this domain"),
            OpenApiParameter("team", str, description="only services and event types this team owns"),
            OpenApiParameter(
                "limit", int, description=f"at most this many services and event types (default {c.DEFAULT_NODE_LIMIT})"
            ),
            OpenApiParameter("broker", bool, description="include the topics and groups between them (default true)"),
        ],
        responses={200: s.GraphSerializer, 404: OpenApiResponse(description="unknown focus")},
        summary="The lineage around a node: nodes and edges, declared and observed, with throughput",
    )
    def get(self, request: Request) -> Response:
        principal_of(request).require_describe_all()
        window = _window(request)
        depth = _int(request, "depth", c.DEFAULT_DEPTH, 0, c.MAX_DEPTH)
        limit = _int(request, "limit", c.DEFAULT_NODE_LIMIT, 1, c.MAX_NODE_LIMIT)
        graph, hood = selectors.graph_neighbourhood(
            focus=_text(request, "focus"),
            depth=depth,
            window=window,
            domain=_text(request, "domain"),
            team=_text(request, "team"),
            limit=limit,
            broker=_flag(request, "broker", True),
        )
        return Response(
            {
                "focus": hood.focus,
                "depth": depth,
                "window": window,
                "window_ms": graph.window_ms,
                "generated_at_ms": graph.now_ms,
                "truncated": hood.truncated,
                "message": hood.message,
                "estate_nodes": hood.estate_nodes,
                "limit": limit,
                "nodes": [selectors.node_dict(node, distance) for node, distance in hood.nodes],
                "edges": _edges(graph, hood.edges),
            }
        )


class NodeSearchView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="part of a name"), WINDOW],
        responses=s.NodeSearchSerializer,
        summary="Find services, event types, topics and groups by name (for picking a focus)",
    )
    def get(self, request: Request) -> Response:
        principal_of(request).require_describe_all()
        found = selectors.node_search(query=request.query_params.get("q", ""), window=_window(request))
        return Response({"nodes": [selectors.node_dict(node) for node in found]})


class _ReachView(APIView):
    direction = "downstream"

    def get(self, request: Request) -> Response:
        principal_of(request).require_describe_all()
        window = _window(request)
        depth = _int(request, "depth", c.DEFAULT_DEPTH, 1, 50)
        graph, key, reached = selectors.lineage_reach(
            node=request.query_params.get("node", ""), direction=self.direction, depth=depth, window=window
        )
        keys = {key, *(r.node.id for r in reached)}
        return Response(
            {
                "node": key,
                "direction": self.direction,
                "depth": depth,
                "window": window,
                "nodes": [selectors.node_dict(r.node, r.depth) for r in reached],
                "edges": _edges(graph, graph.induced_edges(keys, logical_only=True)),
            }
        )


_REACH_PARAMETERS = [
    OpenApiParameter("node", str, required=True, description=NODE_HELP),
    OpenApiParameter("depth", int, description=f"hops (1-50, default {c.DEFAULT_DEPTH}); service -> event type is one"),
    WINDOW,
]


class DownstreamView(_ReachView):
    direction = "downstream"

    @extend_schema(
        parameters=_REACH_PARAMETERS,
        responses={200: s.ReachSerializer, 404: OpenApiResponse(description="unknown node")},
        summary="What depends on a node: event types it produces, their consumers, and on",
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


class UpstreamView(_ReachView):
    direction = "upstream"

    @extend_schema(
        parameters=_REACH_PARAMETERS,
        responses={200: s.ReachSerializer, 404: OpenApiResponse(description="unknown node")},
        summary="What a node depends on: the event types it consumes, their producers, and on",
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


class PathsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("source", str, required=True, description=NODE_HELP),
            OpenApiParameter("target", str, required=True, description=NODE_HELP),
            OpenApiParameter("max_hops", int, description=f"longest path, in edges (default {c.DEFAULT_PATH_HOPS})"),
            OpenApiParameter("limit", int, description=f"at most this many paths (default {c.DEFAULT_PATH_LIMIT})"),
            WINDOW,
        ],
        responses={200: s.PathsSerializer, 404: OpenApiResponse(description="unknown source or target")},
        summary="Every path events take from one service (or event type) to another, shortest first",
    )
    def get(self, request: Request) -> Response:
        principal_of(request).require_describe_all()
        window = _window(request)
        max_hops = _int(request, "max_hops", c.DEFAULT_PATH_HOPS, 1, 40)
        graph, source, target, found, truncated = selectors.lineage_paths(
            source=request.query_params.get("source", ""),
            target=request.query_params.get("target", ""),
            window=window,
            max_hops=max_hops,
            limit=_int(request, "limit", c.DEFAULT_PATH_LIMIT, 1, 1000),
        )
        return Response(
            {
                "source": source,
                "target": target,
                "window": window,
                "max_hops": max_hops,
                "truncated": truncated,
                "paths": [
                    {"hops": p.hops, "nodes": p.nodes, "services": p.services, "edges": _edges(graph, p.edges)}
                    for p in found
                ],
            }
        )


class CyclesView(APIView):
    @extend_schema(
        parameters=[WINDOW, OpenApiParameter("limit", int, description=f"default {c.DEFAULT_CYCLE_LIMIT}")],
        responses=s.CyclesSerializer,
        summary="Flows that come back to a service they started from",
    )
    def get(self, request: Request) -> Response:
        principal_of(request).require_describe_all()
        window = _window(request)
        cycles, truncated = selectors.lineage_cycles(
            window=window, limit=_int(request, "limit", c.DEFAULT_CYCLE_LIMIT, 1, 10_000)
        )
        return Response(
            {
                "window": window,
                "truncated": truncated,
                "cycles": [
                    {"nodes": cycle, "services": [key.split(":", 1)[1] for key in cycle if key.startswith("service:")]}
                    for cycle in cycles
                ],
            }
        )


class OrphansView(APIView):
    @extend_schema(
        parameters=[GOVERNANCE_WINDOW], responses=s.OrphansSerializer, summary="Event types produced and never consumed"
    )
    def get(self, request: Request) -> Response:
        principal_of(request).require_describe_all()
        window = _window(request, c.GOVERNANCE_WINDOW)
        return Response(
            {"window": window, "orphans": [orphan_payload(o) for o in selectors.lineage_orphans(window=window)]}
        )


class RegistryEvidenceView(APIView):
    @extend_schema(
        parameters=[GOVERNANCE_WINDOW],
        responses=s.RegistryEvidenceSerializer,
        summary="Producer and consumer candidates from the schema registry's traffic (serializers, deserializers)",
    )
    def get(self, request: Request) -> Response:
        principal_of(request).require_describe_all()
        window = _window(request, c.GOVERNANCE_WINDOW)
        return Response(
            {"window": window, "evidence": [e.as_dict() for e in selectors.lineage_registry_evidence(window=window)]}
        )


class GhostsView(APIView):
    @extend_schema(
        parameters=[GOVERNANCE_WINDOW],
        responses=s.GhostsSerializer,
        summary="Consumers subscribed to topics nobody writes, or declaring event types nobody produces",
    )
    def get(self, request: Request) -> Response:
        principal_of(request).require_describe_all()
        window = _window(request, c.GOVERNANCE_WINDOW)
        return Response(
            {"window": window, "ghosts": [ghost_payload(g) for g in selectors.lineage_ghosts(window=window)]}
        )


class DriftView(APIView):
    @extend_schema(
        parameters=[GOVERNANCE_WINDOW],
        responses=s.DriftSerializer,
        summary="Where the catalog and the broker disagree: observed but undeclared, declared but not observed",
    )
    def get(self, request: Request) -> Response:
        principal_of(request).require_describe_all()
        window = _window(request, c.GOVERNANCE_WINDOW)
        return Response(drift_payload(window, selectors.lineage_drift(window=window)))


class ImpactCSVRenderer(BaseRenderer):
    """`format=csv` (or Accept: text/csv): who would break, then who is downstream, as a
    spreadsheet."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, dict) and "consumers" in data:
            return impact_csv([*data["consumers"], *data.get("downstream", [])]).encode()
        error = data.get("error", {}) if isinstance(data, dict) else {}
        return f'error,message\n{error.get("code", "")},"{error.get("message", "")}"\n'.encode()


class ImpactView(APIView):
    renderer_classes = [FastJSONRenderer, ImpactCSVRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("event_type", str, description="the event type that changes"),
            OpenApiParameter("subject", str, description="or the registry subject whose schema changes"),
            OpenApiParameter("format", str, enum=["json", "csv"], description="csv: a spreadsheet of the consumers"),
            OpenApiParameter("download", bool, description="answer as a file to save"),
            OpenApiParameter(
                "depth",
                int,
                description=f"levels of consumers of consumers to follow (1-{c.MAX_IMPACT_DEPTH}, default {c.DEFAULT_IMPACT_DEPTH})",
            ),
            GOVERNANCE_WINDOW,
        ],
        responses={
            (200, "application/json"): s.ImpactSerializer,
            (200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR, description="one line per affected consumer"),
            404: OpenApiResponse(description="unknown event type"),
        },
        summary="Who would break when an event type's schema changes, and who is downstream of them",
    )
    def get(self, request: Request) -> Response:
        principal_of(request).require_describe_all()
        window = _window(request, c.GOVERNANCE_WINDOW)
        name, subject = _text(request, "event_type"), _text(request, "subject")
        depth = _int(request, "depth", c.DEFAULT_IMPACT_DEPTH, 1, c.MAX_IMPACT_DEPTH)
        if name:
            report: ImpactReport = impact_for_event_type(name=name, window=window, max_depth=depth)
        elif subject:
            report = impact_for_subject(subject=subject, window=window, max_depth=depth)
        else:
            raise field_error("event_type", "name an event type (or a registry subject)")
        response = Response(report.as_dict())
        fmt = getattr(request, "accepted_renderer", None)
        is_csv = fmt is not None and fmt.format == "csv"
        if is_csv or _flag(request, "download", False):
            stem = re.sub(r"[^A-Za-z0-9._-]", "_", "-".join(report.event_types) or subject or "none")
            response["Content-Disposition"] = f'attachment; filename="impact-{stem}.{"csv" if is_csv else "json"}"'
        return response
