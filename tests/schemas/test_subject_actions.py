"""Registry actions on the subject page: register a new version (refused with what breaks and who
would break), change the compatibility level, soft and hard delete a version. Editors act and are
audited; viewers see no action and get 403; a refusal is shown inline and changes nothing."""

from __future__ import annotations

import json

import pytest

from core.models import AuditEntry
from schemas import selectors
from schemas.services import schema_version_register
from tests.schemas.factories import object_schema

pytestmark = pytest.mark.django_db

V1 = object_schema(name="string", required=("name",))
V2 = object_schema(name="string", email={"type": "string"}, required=("name",))
BREAKING = object_schema(name="integer", required=("name",))


def register(subject: str, schema) -> None:
    schema_version_register(subject=subject, schema=json.dumps(schema), schema_type="JSON")


def audited(action: str) -> list[AuditEntry]:
    """Entries of the person's changes (the setup's registrations are the system's)."""
    return list(AuditEntry.objects.filter(action=action, target="orders-value", actor="editor-person"))


def versions() -> list[tuple[int, bool]]:
    return [(row.version, row.deleted) for row in selectors.all_versions("orders-value")]


def test_an_editor_registers_a_compatible_version_and_the_registration_is_audited(as_role):
    register("orders-value", V1)
    response = as_role("editor").post("/schemas/orders-value/register/", {"schema": json.dumps(V2)})
    assert response.status_code == 204 and response["HX-Redirect"] == "/schemas/orders-value/?version=2"
    assert versions() == [(1, False), (2, False)]
    [entry] = audited("schema.registered")
    assert entry.after["version"] == 2


def test_an_incompatible_version_is_refused_with_what_breaks_and_nothing_is_registered(as_role):
    register("orders-value", V1)
    response = as_role("editor").post("/schemas/orders-value/register/", {"schema": json.dumps(BREAKING)})
    assert response.status_code == 409
    page = response.content.decode()
    assert 'id="check-incompatible"' in page and "Not registered" in page and "/properties/name" in page
    assert versions() == [(1, False)] and not audited("schema.registered")


def test_a_schema_that_does_not_parse_is_refused_inline(as_role):
    register("orders-value", V1)
    response = as_role("editor").post("/schemas/orders-value/register/", {"schema": "{not json"})
    assert response.status_code == 422 and "Not a valid schema" in response.content.decode()
    assert versions() == [(1, False)]


def test_the_live_check_shows_the_changes_before_anything_is_saved(as_role):
    register("orders-value", V1)
    page = as_role("editor").post("/schemas/orders-value/check/", {"schema": json.dumps(V2)}).content.decode()
    assert 'id="check-compatible"' in page and "/properties/email" in page
    assert versions() == [(1, False)]


def test_an_editor_changes_the_compatibility_level_and_it_is_audited(as_role):
    register("orders-value", V1)
    response = as_role("editor").post("/schemas/orders-value/compatibility/", {"level": "full_transitive"})
    assert response.status_code == 204
    assert selectors.subject_config("orders-value")["compatibilityLevel"] == "FULL_TRANSITIVE"
    assert len(audited("registry.config_changed")) == 1


def test_an_unknown_level_is_refused_inline_and_the_level_stays(as_role):
    register("orders-value", V1)
    response = as_role("editor").post("/schemas/orders-value/compatibility/", {"level": "SOMETIMES"})
    assert response.status_code == 422 and 'id="compatibility-error"' in response.content.decode()
    assert selectors.effective_config(selectors.subject_get("orders-value")).level.value == "BACKWARD"


def test_a_version_is_soft_deleted_then_deleted_for_good_each_audited(as_role):
    register("orders-value", V1)
    register("orders-value", V2)
    editor = as_role("editor")
    early = editor.post("/schemas/orders-value/versions/2/delete/", {"permanent": "1"})
    assert early.status_code == 422 and 'id="version-error"' in early.content.decode()
    assert versions() == [(1, False), (2, False)]
    assert editor.post("/schemas/orders-value/versions/2/delete/").status_code == 204
    assert versions() == [(1, False), (2, True)] and len(audited("schema.version_deleted")) == 1
    assert editor.post("/schemas/orders-value/versions/2/delete/", {"permanent": "1"}).status_code == 204
    assert versions() == [(1, False)] and len(audited("schema.version_purged")) == 1


def test_a_viewer_sees_no_registry_actions_and_every_action_is_403(as_role):
    register("orders-value", V1)
    viewer = as_role("viewer")
    page = viewer.get("/schemas/orders-value/").content.decode()
    for marker in ('id="register-version"', 'id="compatibility-form"', 'id="version-actions"'):
        assert marker not in page
    assert 'id="candidate-form"' in page  # checking changes nothing: anyone may
    assert viewer.post("/schemas/orders-value/register/", {"schema": json.dumps(V2)}).status_code == 403
    assert viewer.post("/schemas/orders-value/compatibility/", {"level": "NONE"}).status_code == 403
    assert viewer.post("/schemas/orders-value/versions/1/delete/").status_code == 403
    assert versions() == [(1, False)]


def test_an_editor_sees_the_registry_actions(as_role):
    register("orders-value", V1)
    page = as_role("editor").get("/schemas/orders-value/").content.decode()
    for marker in ('id="register-version"', 'id="compatibility-form"', 'id="version-soft-delete"'):
        assert marker in page
