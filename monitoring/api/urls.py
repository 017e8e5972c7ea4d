"""Lag API under /api/v1/groups/{group}/..."""

from django.urls import path

from monitoring.api import views

urlpatterns = [
    path("groups/<str:group>/lags", views.GroupLagsView.as_view(), name="group-lags"),
    path("groups/<str:group>/lag-summary", views.GroupLagSummaryView.as_view(), name="group-lag-summary"),
    path("groups/<str:group>/status", views.GroupStatusView.as_view(), name="group-status"),
    path("groups/<str:group>/lag-history", views.GroupLagHistoryView.as_view(), name="group-lag-history"),
]
