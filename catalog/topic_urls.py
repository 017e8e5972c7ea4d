from django.urls import path

from catalog import topic_actions
from catalog import topic_views as views

app_name = "topics"
urlpatterns = [
    path("", views.topic_list, name="topic-list"),
    path("new/", topic_actions.topic_new, name="topic-new"),
    path("<str:name>/", views.topic_detail, name="topic-detail"),
    path("<str:name>/tail/", views.topic_tail, name="topic-tail"),
    path("<str:name>/settings/", topic_actions.topic_settings, name="topic-settings"),
    path("<str:name>/delete/", topic_actions.topic_remove, name="topic-delete"),
    path("<str:name>/produce/", topic_actions.topic_produce, name="topic-produce"),
]
