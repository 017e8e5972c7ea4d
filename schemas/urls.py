"""Registry pages in the web UI, mounted at /schemas/. Subject names may contain '/', so the
subject segment is a path and the page suffixes come first."""

from django.urls import path

from schemas import subject_actions, views

app_name = "schemas"
urlpatterns = [
    path("", views.subject_list, name="subject-list"),
    path("<path:subject>/diff/", views.subject_diff, name="subject-diff"),
    path("<path:subject>/check/", views.subject_check, name="subject-check"),
    path("<path:subject>/register/", subject_actions.subject_register, name="subject-register"),
    path("<path:subject>/compatibility/", subject_actions.subject_compatibility, name="subject-compatibility"),
    path(
        "<path:subject>/versions/<int:version>/delete/",
        subject_actions.subject_version_remove,
        name="subject-version-delete",
    ),
    path("<path:subject>/", views.subject_detail, name="subject-detail"),
]
