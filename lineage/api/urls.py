"""Lineage API at /api/v1/lineage/ (filled by the lineage issue)."""

urlpatterns: list = []
