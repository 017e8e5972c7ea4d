"""Trace pages at /traces/ (filled by the tracing work)."""

app_name = "traces"
urlpatterns: list = []
