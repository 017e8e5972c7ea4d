"""API keys over the API and in the UI (issue 13): admins list keys with their state, expiry and
last use, create them (the plaintext shown once), rotate and revoke them; nobody else may."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from core.auth import clear_key_cache, flush_key_uses
from core.models import ApiKey, AuditEntry
from core.services import api_key_create
from tests.conftest import Api

pytestmark = pytest.mark.django_db


def test_admin_lists_keys_with_state_expiry_and_last_use_never_secrets(api, make_api):
    reader = make_api("consume:orders", service="billing")
    reader.get("/api/v1/topics")
    flush_key_uses()

    answer = api.get("/api/v1/keys", service="billing")

    assert answer.status_code == 200, answer.content
    (row,) = answer.json()
    assert set(row) == {
        "key_id", "service", "scopes", "label", "state", "created_at", "expires_at", "last_used_at", "revoked_at",
        "replaced_by",
    }
    assert (row["service"], row["scopes"], row["state"]) == ("billing", ["consume:orders"], "active")
    assert row["last_used_at"] is not None
    assert "digest" not in answer.content.decode() and "secret" not in answer.content.decode()


def test_only_admins_manage_keys(make_api):
    plain = make_api("produce:orders", "describe:*")

    assert plain.get("/api/v1/keys").status_code == 403
    assert plain.post("/api/v1/keys", {"service": "x", "scopes": ["admin"]}).status_code == 403


def test_create_rotate_and_revoke_over_the_api(api):
    created = api.post("/api/v1/keys", {"service": "shop", "scopes": ["produce:orders"], "label": "ci"})
    assert created.status_code == 201, created.content
    token = created.json()["key"]
    assert Api(token).get("/api/v1/topics").status_code == 200

    rotated = api.post(f"/api/v1/keys/{created.json()['key_id']}/rotate", {"grace_seconds": 0})
    assert rotated.status_code == 201, rotated.content
    clear_key_cache()
    assert Api(token).get("/api/v1/topics").status_code == 401
    new_token = rotated.json()["key"]
    assert Api(new_token).get("/api/v1/topics").status_code == 200

    revoked = api.post(f"/api/v1/keys/{rotated.json()['key_id']}/revoke")
    assert revoked.json()["state"] == "revoked"
    clear_key_cache()
    assert Api(new_token).get("/api/v1/topics").status_code == 401
    by_admin = AuditEntry.objects.filter(action__startswith="api_key.", actor="admin-tool")
    assert sorted(by_admin.values_list("action", flat=True)) == [
        "api_key.created", "api_key.created", "api_key.revoked", "api_key.rotated"
    ]


def test_bad_key_requests_name_the_field(api):
    refused = api.post("/api/v1/keys", {"service": "shop", "scopes": ["write:all"]})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["errors"][0]["field"] == "scope"
    past = api.post("/api/v1/keys", {"service": "shop", "scopes": ["admin"], "expires_at": "2000-01-01T00:00:00Z"})
    assert past.status_code == 422 and "expires_at" in past.content.decode()
    assert api.post("/api/v1/keys/elk_nope/rotate", {}).status_code == 404


@pytest.fixture
def admin_page(client, django_user_model):
    user = django_user_model.objects.create_user("ada", password="pw")
    user.groups.add(Group.objects.get_or_create(name="admin")[0])
    client.force_login(user)
    return client


def test_the_keys_page_shows_keys_and_creates_one_showing_its_plaintext_once(admin_page):
    api_key_create(service_name="billing", scopes=["consume:orders"])

    page = admin_page.get("/keys/")
    assert page.status_code == 200 and "billing" in page.content.decode()

    answer = admin_page.post(
        "/keys/", {"action": "create", "service": "shop", "scopes": "produce:orders, group:shop", "expires_in_days": "7"}
    )
    html = answer.content.decode()
    key = ApiKey.objects.get(service__name="shop")
    assert key.scopes == ["group:shop", "produce:orders"] and key.expires_at is not None
    assert f'id="new-key-plaintext">{key.key_id}.' in html
    assert f"{key.key_id}." not in admin_page.get("/keys/").content.decode(), "shown once"


def test_the_keys_page_rotates_and_revokes(admin_page):
    key, _ = api_key_create(service_name="billing", scopes=["consume:orders"])

    rotated = admin_page.post("/keys/", {"action": "rotate", "key_id": key.key_id, "grace_hours": "2"})
    assert rotated.status_code == 200 and 'id="new-key-plaintext"' in rotated.content.decode()
    key.refresh_from_db()
    assert key.replaced_by is not None and key.expires_at is not None

    admin_page.post("/keys/", {"action": "revoke", "key_id": key.replaced_by.key_id})
    assert ApiKey.objects.get(pk=key.replaced_by.pk).state == "revoked"


def test_the_keys_page_is_for_admins_only(client, django_user_model):
    user = django_user_model.objects.create_user("eddie", password="pw")
    user.groups.add(Group.objects.get_or_create(name="editor")[0])
    client.force_login(user)

    assert client.get("/keys/").status_code == 403
    assert client.post("/keys/", {"action": "create", "service": "x", "scopes": "admin"}).status_code == 403
    assert not ApiKey.objects.filter(service__name="x").exists()
