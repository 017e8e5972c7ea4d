"""Lineage pages at /lineage/."""

from django.urls import path

from lineage import views

app_name = "lineage"
urlpatterns = [
    path("", views.graph_page, name="graph"),
    path("drift/", views.drift_page, name="drift"),
    path("impact/", views.impact_page, name="impact"),
]
