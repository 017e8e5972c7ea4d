"""API keys: stored hashed, shown once, Bearer and Basic, scopes, revocation."""

import hashlib

import pytest
from django.core.management import call_command

from core.auth import Principal, principal_for_user
from core.models import ApiKey
from core.scopes import scope_allows, scope_is_valid
from core.services import api_key_create, api_key_revoke
from tests.conftest import Api

pytestmark = pytest.mark.django_db


def test_only_a_digest_of_the_secret_is_stored():
    key, token = api_key_create(service_name="svc", scopes=["admin"])
    key_id, secret = token.split(".", 1)
    stored = ApiKey.objects.get(key_id=key_id)
    assert stored.secret_digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.filter(pk=key.pk).values().first())


def test_apikey_command_prints_the_key_on_its_last_line_and_creates_the_service(capsys, make_topic):
    call_command("apikey", "create", "--service", "billing", "--scope", "produce:orders", "--scope", "consume:orders")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    make_topic("orders")
    response = Api(token).post("/api/v1/topics/orders/events", {"data": 1})
    assert response.status_code == 200
    assert ApiKey.objects.get(key_id=token.split(".")[0]).scopes == ["consume:orders", "produce:orders"]


def test_apikey_command_refuses_bad_scopes():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="invalid scope"):
        call_command("apikey", "create", "--service", "billing", "--scope", "write:everything")


def test_a_wrong_secret_or_unknown_key_is_401(make_topic):
    _, token = api_key_create(service_name="svc", scopes=["admin"])
    key_id = token.split(".")[0]
    assert Api(f"{key_id}.wrong").get("/api/v1/topics").status_code == 401
    assert Api("elk_nope.secret").get("/api/v1/topics").status_code == 401
    assert Api("not-a-key").get("/api/v1/topics").status_code == 401


def test_a_revoked_key_stops_working():
    _, token = api_key_create(service_name="svc", scopes=["admin"])
    assert Api(token).get("/api/v1/topics").status_code == 200
    api_key_revoke(key_id=token.split(".")[0])
    assert Api(token).get("/api/v1/topics").status_code == 401


@pytest.mark.parametrize(
    ("scope", "valid"),
    [
        ("admin", True),
        ("produce:orders", True),
        ("consume:orders.*", True),
        ("consume:*", True),
        ("produce:", False),
        ("read:x", False),
        ("produce:a b", False),
        ("describe:orders.*", True),
        ("describe:*", True),
        ("group:billing", True),
        ("group:billing-*", True),
        ("group:", False),
        ("group:a b", False),
    ],
)
def test_scope_grammar(scope, valid):
    assert scope_is_valid(scope) is valid


def test_prefix_scopes_match_by_prefix_and_exact_scopes_exactly():
    assert scope_allows(["produce:orders.*"], "produce", "orders.eu")
    assert not scope_allows(["produce:orders.*"], "produce", "payments")
    assert not scope_allows(["produce:orders"], "produce", "orders2")
    assert not scope_allows(["consume:*"], "produce", "orders")
    assert scope_allows(["admin"], "produce", "anything")
    assert scope_allows(["registry:write"], "registry:write")
    assert not scope_allows(["produce:*"], "registry:write")
    assert scope_allows(["admin"], "registry:write")


def test_a_logged_in_viewer_may_browse_but_not_administer(django_user_model, make_topic):
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    make_topic("orders")
    user = django_user_model.objects.create_user("vera", password="pw-123456")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client = APIClient()
    client.force_login(user)
    assert client.get("/api/v1/topics/orders/partitions/0/events").status_code == 200
    assert client.post("/api/v1/topics", {"name": "x"}, format="json").status_code == 403


def test_describing_a_topic_is_implied_by_produce_or_consume_on_the_same_names():
    assert scope_allows(["produce:orders"], "describe", "orders")
    assert scope_allows(["consume:orders.*"], "describe", "orders.eu")
    assert scope_allows(["describe:pay*"], "describe", "payments")
    assert not scope_allows(["describe:pay*"], "consume", "payments"), "describing is not reading"
    assert not scope_allows(["consume:orders.*"], "describe", "payments")
    assert not scope_allows(["registry:write"], "describe", "orders")
    assert scope_allows(["admin"], "describe", "anything")


def test_a_key_naming_no_group_scope_may_use_the_groups_named_after_its_service():
    billing = Principal(scopes=frozenset({"consume:orders"}), service_name="billing", key_id="elk_1")
    for allowed in ("billing", "billing-service", "billing.eu", "billing_replay"):
        assert billing.may_use_group(allowed), allowed
    for refused in ("billings", "payments-service", "bill", "x-billing"):
        assert not billing.may_use_group(refused), refused


def test_group_scopes_replace_the_service_default_and_admin_may_use_every_group():
    scoped = Principal(scopes=frozenset({"consume:*", "group:etl.*"}), service_name="billing", key_id="elk_2")
    assert scoped.may_use_group("etl.nightly")
    assert not scoped.may_use_group("billing"), "a key that names groups uses only those"
    admin = Principal(scopes=frozenset({"admin"}), service_name="ops", key_id="elk_3")
    assert admin.may_use_group("anything") and admin.may_describe("anything")


def test_a_logged_in_person_keeps_browsing_every_topic_and_group(django_user_model):
    nobody = django_user_model.objects.create_user("nora", password="pw-123456")
    person = principal_for_user(nobody)
    assert person.may_describe("orders") and person.may_use_group("payments-service")
    assert not person.allows("consume", "orders"), "describing is not reading"
