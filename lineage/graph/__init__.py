"""The lineage graph, pure Python on networkx (no Django): build it from an Estate of facts, then
ask it for neighbourhoods, upstream and downstream, paths, cycles, orphan events, ghost
consumers, drift and impact. Checked with `mypy --strict`."""

from lineage.graph.build import ObservedIndex, build_lineage, lineage_on, observed_index
from lineage.graph.findings import Drift, DriftItem, Ghost, Orphan, drift, ghost_consumers, orphan_events
from lineage.graph.impact import ImpactRow, affected_services, impact, split_impact
from lineage.graph.lineage import LineageGraph, Neighbourhood, Path, Reached
from lineage.graph.model import (
    ConsumedFacts,
    DeclaredFlowFacts,
    Edge,
    EdgeKind,
    Estate,
    EventTypeFacts,
    Flow,
    GroupFacts,
    Node,
    NodeKind,
    ProducedFacts,
    ServiceFacts,
    node_id,
    split_node_id,
)

__all__ = [
    "ConsumedFacts",
    "DeclaredFlowFacts",
    "Drift",
    "DriftItem",
    "Edge",
    "EdgeKind",
    "Estate",
    "EventTypeFacts",
    "Flow",
    "Ghost",
    "GroupFacts",
    "ImpactRow",
    "ObservedIndex",
    "LineageGraph",
    "Neighbourhood",
    "Node",
    "NodeKind",
    "Orphan",
    "Path",
    "ProducedFacts",
    "Reached",
    "ServiceFacts",
    "affected_services",
    "build_lineage",
    "drift",
    "ghost_consumers",
    "impact",
    "lineage_on",
    "node_id",
    "observed_index",
    "orphan_events",
    "split_impact",
    "split_node_id",
]
