"""Trace pages at /traces/."""

from django.urls import path

from monitoring.traces import views

app_name = "traces"
urlpatterns = [
    path("", views.trace_search, name="search"),
    path("<path:key>/", views.trace_detail, name="detail"),
]
