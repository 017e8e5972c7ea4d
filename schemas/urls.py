"""Registry pages in the web UI, mounted at /schemas/. Subject names may contain '/', so the
subject segment is a path and the page suffixes come first."""

from django.urls import path

from schemas import views

app_name = "schemas"
urlpatterns = [
    path("", views.subject_list, name="subject-list"),
    path("<path:subject>/diff/", views.subject_diff, name="subject-diff"),
    path("<path:subject>/check/", views.subject_check, name="subject-check"),
    path("<path:subject>/", views.subject_detail, name="subject-detail"),
]
