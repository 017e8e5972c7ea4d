"""Trace API: /api/v1/traces (recent and slowest), /api/v1/traces/{key} and its OTLP export."""

from django.urls import path

from monitoring.traces import api_views as views

urlpatterns = [
    path("traces", views.TraceListView.as_view(), name="trace-list"),
    path("traces/<path:key>/otlp", views.TraceOtlpView.as_view(), name="trace-otlp"),
    path("traces/<path:key>", views.TraceDetailView.as_view(), name="trace-detail"),
]
