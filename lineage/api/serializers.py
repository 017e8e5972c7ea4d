"""The shapes of the lineage API's answers, for the OpenAPI document. The views build plain dicts
of these shapes directly (a neighbourhood can hold hundreds of nodes; DRF serialisation would
cost more than the graph query)."""

from __future__ import annotations

from rest_framework import serializers

from lineage.constants import WINDOWS
from lineage.graph import EdgeKind, Flow, NodeKind

KINDS = [kind.value for kind in NodeKind]
EDGE_KINDS = [kind.value for kind in EdgeKind]
FLOWS = [flow.value for flow in Flow]


class NodeSerializer(serializers.Serializer):
    id = serializers.CharField(help_text='"kind:name", e.g. service:orders, event_type:OrderPlaced')
    kind = serializers.ChoiceField(choices=KINDS)
    name = serializers.CharField()
    owner_team = serializers.CharField(allow_null=True)
    domain = serializers.CharField(allow_null=True)
    documented = serializers.BooleanField(help_text="in the catalog (false: only seen by the broker)")
    lifecycle = serializers.CharField(allow_null=True)
    services = serializers.ListField(child=serializers.CharField(), help_text="a group's services")
    depth = serializers.IntegerField(
        allow_null=True, help_text="hops from the focus; null for topics and groups shown on the way"
    )
    url = serializers.CharField(allow_null=True, help_text="its catalog page")


class EdgeSerializer(serializers.Serializer):
    id = serializers.CharField()
    source = serializers.CharField()
    target = serializers.CharField()
    kind = serializers.ChoiceField(choices=EDGE_KINDS)
    flow = serializers.ChoiceField(choices=FLOWS)
    declared = serializers.BooleanField()
    observed = serializers.BooleanField()
    events = serializers.IntegerField(help_text="events over the window (0 when declared only)")
    rate_per_s = serializers.FloatField()
    last_seen_ms = serializers.IntegerField(allow_null=True)
    topics = serializers.ListField(child=serializers.CharField())
    groups = serializers.ListField(child=serializers.CharField())


class GraphSerializer(serializers.Serializer):
    focus = serializers.CharField(allow_null=True)
    depth = serializers.IntegerField()
    window = serializers.ChoiceField(choices=list(WINDOWS))
    window_ms = serializers.IntegerField()
    generated_at_ms = serializers.IntegerField()
    truncated = serializers.BooleanField(help_text="the node limit cut the answer short")
    message = serializers.CharField()
    estate_nodes = serializers.IntegerField(help_text="services and event types in the whole estate")
    limit = serializers.IntegerField()
    nodes = NodeSerializer(many=True)
    edges = EdgeSerializer(many=True)


class ReachSerializer(serializers.Serializer):
    node = serializers.CharField()
    direction = serializers.ChoiceField(choices=["upstream", "downstream"])
    depth = serializers.IntegerField()
    window = serializers.CharField()
    nodes = NodeSerializer(many=True)
    edges = EdgeSerializer(many=True)


class PathSerializer(serializers.Serializer):
    hops = serializers.IntegerField()
    nodes = serializers.ListField(child=serializers.CharField())
    services = serializers.ListField(child=serializers.CharField())
    edges = EdgeSerializer(many=True)


class PathsSerializer(serializers.Serializer):
    source = serializers.CharField()
    target = serializers.CharField()
    window = serializers.CharField()
    max_hops = serializers.IntegerField()
    truncated = serializers.BooleanField()
    paths = PathSerializer(many=True)


class CycleSerializer(serializers.Serializer):
    nodes = serializers.ListField(child=serializers.CharField())
    services = serializers.ListField(child=serializers.CharField())


class CyclesSerializer(serializers.Serializer):
    window = serializers.CharField()
    truncated = serializers.BooleanField()
    cycles = CycleSerializer(many=True)


class OrphanSerializer(serializers.Serializer):
    event_type = serializers.CharField()
    documented = serializers.BooleanField()
    owner_team = serializers.CharField(allow_null=True)
    domain = serializers.CharField(allow_null=True)
    producers = serializers.ListField(child=serializers.DictField(), help_text='[{"service", "flow"}]')
    topics = serializers.ListField(child=serializers.CharField())
    events = serializers.IntegerField()
    last_seen_ms = serializers.IntegerField(allow_null=True)


class OrphansSerializer(serializers.Serializer):
    window = serializers.CharField()
    orphans = OrphanSerializer(many=True)


class RegistryEvidenceItemSerializer(serializers.Serializer):
    service = serializers.CharField()
    role = serializers.ChoiceField(choices=["producer", "consumer"])
    topic = serializers.CharField(allow_null=True, help_text="null: the subject names no known topic")
    subject = serializers.CharField()
    schema_id = serializers.IntegerField(allow_null=True)
    requests = serializers.IntegerField()
    last_seen_ms = serializers.IntegerField()
    observed = serializers.BooleanField(help_text="the broker saw the flow too")
    declared = serializers.BooleanField(help_text="the catalog declares the flow")
    status = serializers.ChoiceField(choices=["observed and declared", "observed", "declared", "registry only"])
    evidence = serializers.CharField(help_text='always "registry"')


class RegistryEvidenceSerializer(serializers.Serializer):
    window = serializers.CharField()
    evidence = RegistryEvidenceItemSerializer(many=True)


class GhostSerializer(serializers.Serializer):
    basis = serializers.ChoiceField(choices=["subscription", "declaration"])
    group = serializers.CharField(allow_null=True)
    services = serializers.ListField(child=serializers.CharField())
    owner_teams = serializers.ListField(child=serializers.CharField())
    topic = serializers.CharField(allow_null=True)
    event_type = serializers.CharField(allow_null=True)
    declared_producers = serializers.ListField(child=serializers.CharField())


class GhostsSerializer(serializers.Serializer):
    window = serializers.CharField()
    ghosts = GhostSerializer(many=True)


class DriftItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["produces", "consumes"])
    service = serializers.CharField(allow_null=True, help_text="null: a group whose service is unknown")
    event_type = serializers.CharField()
    documented = serializers.BooleanField()
    owner_team = serializers.CharField(allow_null=True)
    topics = serializers.ListField(child=serializers.CharField())
    groups = serializers.ListField(child=serializers.CharField())
    events = serializers.IntegerField()
    last_seen_ms = serializers.IntegerField(allow_null=True)
    sentence = serializers.CharField()


class DriftSerializer(serializers.Serializer):
    window = serializers.CharField()
    undeclared = DriftItemSerializer(many=True, help_text="observed but not declared")
    unobserved = DriftItemSerializer(many=True, help_text="declared but not observed in the window")


class ImpactRowSerializer(serializers.Serializer):
    breaks = serializers.BooleanField(help_text="true: reads the changed type on the subject's topics (depth 1)")
    service = serializers.CharField(help_text="the consumer (a group's name when its service is unknown)")
    consumer_kind = serializers.ChoiceField(choices=["service", "group"])
    owner_team = serializers.CharField(allow_null=True)
    domain = serializers.CharField(allow_null=True)
    event_type = serializers.CharField(help_text="what it consumes that is affected")
    depth = serializers.IntegerField(
        help_text="1: consumes the changed type; 2: consumes what a depth-1 consumer produces"
    )
    flow = serializers.ChoiceField(choices=FLOWS)
    via = serializers.ListField(child=serializers.CharField(), help_text="the affected producers of event_type")
    produces = serializers.ListField(child=serializers.CharField(), help_text="what it produces in turn")
    groups = serializers.ListField(child=serializers.CharField())
    topics = serializers.ListField(child=serializers.CharField())
    events = serializers.IntegerField()
    last_seen_ms = serializers.IntegerField(allow_null=True)


class ImpactSerializer(serializers.Serializer):
    event_types = serializers.ListField(child=serializers.CharField())
    subject = serializers.CharField(allow_null=True)
    window = serializers.CharField()
    topics = serializers.ListField(
        child=serializers.CharField(), help_text="the subject's topics; empty when any topic counts"
    )
    affected_services = serializers.IntegerField(help_text="services that would break")
    downstream_services = serializers.IntegerField(help_text="services downstream that would not break themselves")
    max_depth = serializers.IntegerField()
    consumers = ImpactRowSerializer(many=True, help_text="who would break: read the changed type")
    downstream = ImpactRowSerializer(many=True, help_text="who consumes what they produce, transitively")


class NodeSearchSerializer(serializers.Serializer):
    nodes = NodeSerializer(many=True)
