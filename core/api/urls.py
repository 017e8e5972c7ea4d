from django.urls import path

from core.api import views

urlpatterns = [
    path("", views.AuditEntryListView.as_view(), name="audit-entry-list"),
]
