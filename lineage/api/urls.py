"""Lineage API at /api/v1/lineage/."""

from django.urls import path

from lineage.api import views

urlpatterns = [
    path("graph", views.GraphView.as_view(), name="lineage-api-graph"),
    path("nodes", views.NodeSearchView.as_view(), name="lineage-api-nodes"),
    path("upstream", views.UpstreamView.as_view(), name="lineage-api-upstream"),
    path("downstream", views.DownstreamView.as_view(), name="lineage-api-downstream"),
    path("paths", views.PathsView.as_view(), name="lineage-api-paths"),
    path("cycles", views.CyclesView.as_view(), name="lineage-api-cycles"),
    path("orphans", views.OrphansView.as_view(), name="lineage-api-orphans"),
    path("registry-evidence", views.RegistryEvidenceView.as_view(), name="lineage-api-registry-evidence"),
    path("ghosts", views.GhostsView.as_view(), name="lineage-api-ghosts"),
    path("drift", views.DriftView.as_view(), name="lineage-api-drift"),
    path("impact", views.ImpactView.as_view(), name="lineage-api-impact"),
]
