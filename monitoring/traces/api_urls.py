"""Trace API at /api/v1/traces (filled by the tracing work)."""

urlpatterns: list = []
