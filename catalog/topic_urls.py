from django.urls import path

from catalog import topic_views as views

app_name = "topics"
urlpatterns = [
    path("", views.topic_list, name="topic-list"),
    path("<str:name>/", views.topic_detail, name="topic-detail"),
]
