"""Monitoring pages: the consumer-lag dashboard and group pages."""

from django.urls import path

from monitoring import group_actions, views

app_name = "monitoring"
urlpatterns = [
    path("", views.dashboard, name="groups"),
    path("groups/<str:name>/", views.group_detail, name="group-detail"),
    path("groups/<str:name>/reset/", views.group_reset, name="group-reset"),
    path("groups/<str:name>/members/remove/", group_actions.group_members_clear, name="group-members-remove"),
    path("groups/<str:name>/delete/", group_actions.group_remove, name="group-delete"),
    path("event-types/<str:name>/latency/", views.event_type_latency, name="event-type-latency"),
    path("dead-letters/", views.dead_letters, name="dead-letters"),
    path("dead-letters/actions/", views.dead_letters_action, name="dead-letters-action"),
    path("dead-letters/<int:id>/", views.dead_letter_detail, name="dead-letter-detail"),
]
