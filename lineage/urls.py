"""Lineage pages at /lineage/ (filled by the lineage issue)."""

app_name = "lineage"
urlpatterns: list = []
