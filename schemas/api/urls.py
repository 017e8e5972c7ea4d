"""The Confluent Schema Registry REST API, mounted at /registry/.

Subjects may hold any character, '/' included (clients send it as %2F, which the server decodes
before routing), so subject segments match greedily and the fixed suffixes decide the endpoint.
A trailing slash is tolerated everywhere.
"""

from django.urls import re_path

from schemas.api import views

_S = r"(?P<subject>.+?)"
_V = r"(?P<version>[^/]+)"
_ID = r"(?P<schema_id>[^/]+)"

urlpatterns = [
    re_path(r"^$", views.root_view, name="registry-root"),
    re_path(r"^schemas/types/?$", views.schema_types_view, name="registry-schema-types"),
    re_path(rf"^schemas/ids/{_ID}/schema/?$", views.schema_text_view, name="registry-schema-text"),
    re_path(rf"^schemas/ids/{_ID}/subjects/?$", views.schema_subjects_view, name="registry-schema-subjects"),
    re_path(rf"^schemas/ids/{_ID}/versions/?$", views.schema_versions_view, name="registry-schema-versions"),
    re_path(rf"^schemas/ids/{_ID}/?$", views.schema_by_id_view, name="registry-schema-by-id"),
    re_path(r"^schemas/?$", views.schemas_view, name="registry-schemas"),
    re_path(r"^contexts/?$", views.contexts_view, name="registry-contexts"),
    re_path(r"^subjects/?$", views.subjects_view, name="registry-subjects"),
    re_path(rf"^subjects/{_S}/versions/{_V}/referencedby/?$", views.referenced_by_view, name="registry-referenced-by"),
    re_path(rf"^subjects/{_S}/versions/{_V}/schema/?$", views.version_schema_view, name="registry-version-schema"),
    re_path(rf"^subjects/{_S}/versions/{_V}/?$", views.version_view, name="registry-version"),
    re_path(rf"^subjects/{_S}/versions/?$", views.versions_view, name="registry-versions"),
    re_path(rf"^subjects/{_S}/?$", views.subject_view, name="registry-subject"),
    re_path(
        rf"^compatibility/subjects/{_S}/versions/{_V}/?$",
        views.compatibility_version_view,
        name="registry-compatibility-version",
    ),
    re_path(rf"^compatibility/subjects/{_S}/versions/?$", views.compatibility_all_view, name="registry-compatibility"),
    re_path(r"^config/?$", views.config_view, name="registry-config"),
    re_path(rf"^config/{_S}/?$", views.config_view, name="registry-subject-config"),
    re_path(r"^mode/?$", views.mode_view, name="registry-mode"),
    re_path(rf"^mode/{_S}/?$", views.mode_view, name="registry-subject-mode"),
    re_path(r"^.*$", views.not_found_view, name="registry-not-found"),
]
