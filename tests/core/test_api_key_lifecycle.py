"""API keys over their life (issue 13): an expiry date, rotation with a grace period in which old
and new both work, revocation, and the last use recorded without a write per request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.auth import clear_key_cache, flush_key_uses
from core.models import ApiKey, AuditEntry
from core.services import api_key_create, api_key_revoke, api_key_rotate
from tests.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_pending_uses():
    from core import auth

    auth._uses.clear()
    yield
    auth._uses.clear()


def _works(token: str) -> bool:
    clear_key_cache()
    return Api(token).get("/api/v1/topics").status_code == 200


def test_a_key_stops_working_at_its_expiry():
    key, token = api_key_create(service_name="svc", scopes=["admin"], expires_at=timezone.now() + timedelta(hours=1))
    assert _works(token)

    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert not _works(token)
    clear_key_cache()
    answer = Api(token).get("/api/v1/topics")
    assert answer.status_code == 401 and "expired" in answer.json()["error"]["message"]


def test_a_cached_key_is_not_trusted_past_its_expiry(settings):
    settings.EVENTLINE = {**settings.EVENTLINE, "API_KEY_CACHE_S": 3600}
    key, token = api_key_create(service_name="svc", scopes=["admin"], expires_at=timezone.now() + timedelta(seconds=60))
    import core.auth as auth

    clear_key_cache()
    assert Api(token).get("/api/v1/topics").status_code == 200

    # Cached until the key's expiry, not for the hour the time-to-live would allow.
    assert auth._cache[key.key_id].expires_at - auth.time.monotonic() <= 60


def test_an_expiry_in_the_past_is_refused():
    with pytest.raises(Exception, match="expires_at"):
        api_key_create(service_name="svc", scopes=["admin"], expires_at=timezone.now() - timedelta(seconds=1))


def test_rotation_gives_a_new_key_and_both_work_for_the_grace_period():
    old, old_token = api_key_create(service_name="svc", scopes=["produce:orders"], label="ci")

    new, new_token = api_key_rotate(key_id=old.key_id, grace_seconds=3600)

    old.refresh_from_db()
    assert (new.service_id, new.scopes, new.label) == (old.service_id, ["produce:orders"], "ci")
    assert old.replaced_by_id == new.pk
    assert timedelta(minutes=59) < old.expires_at - timezone.now() <= timedelta(hours=1)
    assert _works(old_token) and _works(new_token)
    entry = AuditEntry.objects.get(action="api_key.rotated")
    assert entry.target == old.key_id and entry.after["replaced_by"] == new.key_id


def test_after_the_grace_period_only_the_new_key_works():
    old, old_token = api_key_create(service_name="svc", scopes=["admin"])

    _, new_token = api_key_rotate(key_id=old.key_id, grace_seconds=0)

    assert not _works(old_token)
    assert _works(new_token)


def test_rotation_keeps_an_earlier_expiry_and_refuses_revoked_keys():
    soon = timezone.now() + timedelta(minutes=5)
    old, _ = api_key_create(service_name="svc", scopes=["admin"], expires_at=soon)
    new, _ = api_key_rotate(key_id=old.key_id, grace_seconds=3600)
    old.refresh_from_db()
    assert old.expires_at == soon and new.expires_at == soon

    api_key_revoke(key_id=new.key_id)
    with pytest.raises(Exception, match="revoked"):
        api_key_rotate(key_id=new.key_id)


def test_last_use_is_recorded_in_the_background_not_by_the_request(django_assert_num_queries):
    key, token = api_key_create(service_name="svc", scopes=["admin"])
    api = Api(token)
    api.get("/api/v1/topics")  # the key is loaded, not cached (tests cache nothing)
    assert ApiKey.objects.get(pk=key.pk).last_used_at is None, "the request wrote nothing"

    assert flush_key_uses() == 1

    first = ApiKey.objects.get(pk=key.pk).last_used_at
    assert first is not None and timezone.now() - first < timedelta(seconds=5)
    assert flush_key_uses() == 0, "nothing new to write"


def test_a_wrong_secret_does_not_count_as_a_use():
    key, token = api_key_create(service_name="svc", scopes=["admin"])
    clear_key_cache()

    assert Api(f"{key.key_id}.wrong-secret").get("/api/v1/topics").status_code == 401

    flush_key_uses()
    assert ApiKey.objects.get(pk=key.pk).last_used_at is None


def test_apikey_command_rotates_and_lists_expiry_and_last_use(capsys):
    call_command("apikey", "create", "--service", "svc", "--scope", "admin", "--expires-in-days", "30")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    key_id = token.split(".")[0]
    assert _works(token)

    flush_key_uses()
    call_command("apikey", "rotate", key_id, "--grace-seconds", "60")
    new_token = capsys.readouterr().out.strip().splitlines()[-1]
    call_command("apikey", "list", "--service", "svc")
    listing = capsys.readouterr().out

    assert _works(new_token)
    old_line = next(line for line in listing.splitlines() if line.startswith(key_id))
    assert "active" in old_line and "last used 20" in old_line
    assert ApiKey.objects.get(key_id=key_id).replaced_by.key_id == new_token.split(".")[0]


def test_a_member_joined_with_a_rotated_key_keeps_working_with_its_replacement(make_topic):
    make_topic("orders")
    old, old_token = api_key_create(service_name="svc", scopes=["admin"])
    member = Api(old_token).post("/api/v1/groups/g/members", {"topics": ["orders"]}).json()["member_id"]
    _, new_token = api_key_rotate(key_id=old.key_id, grace_seconds=0)
    stranger = api_key_create(service_name="other", scopes=["admin"])[1]
    clear_key_cache()

    assert Api(new_token).post(f"/api/v1/groups/g/members/{member}/heartbeat").status_code == 200
    assert Api(stranger).post(f"/api/v1/groups/g/members/{member}/heartbeat").status_code == 403
