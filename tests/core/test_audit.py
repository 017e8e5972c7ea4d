"""The audit (issue 13): every change that matters leaves exactly one append-only entry saying who,
when, what, before and after, written in the change's own transaction; refused changes leave none;
`GET /api/v1/audit/` filters them for admins and editors."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.auth import Principal
from core.choices import AuditAction
from core.models import AppendOnlyError, AuditEntry
from core.services import SYSTEM_ACTOR, api_key_create, api_key_revoke, audit_record
from tests.schemas.conftest import Registry
from tests.schemas.factories import object_schema, sr_body

pytestmark = pytest.mark.django_db

V1 = object_schema(name="string")
V2 = object_schema(name="string", email="string")
BREAKING = object_schema(name="integer")


def entries(action: str | None = None) -> list[AuditEntry]:
    rows = AuditEntry.objects.order_by("id")
    return list(rows.filter(action=action) if action else rows)


class AuditTrail:
    """The entries written since it was made: what one request added to the audit."""

    def __init__(self) -> None:
        self.last_id = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def new(self) -> list[AuditEntry]:
        return list(AuditEntry.objects.filter(id__gt=self.last_id).order_by("id"))

    def one(self) -> AuditEntry:
        added = self.new()
        assert len(added) == 1, [(e.action, e.target) for e in added]
        return added[0]


@pytest.fixture
def registry_key(db) -> tuple[str, Registry]:
    key, token = api_key_create(service_name="schema-admin", scopes=["registry:write"])
    return key.key_id, Registry(token)


# -- append-only ------------------------------------------------------------------------------


def _entry() -> AuditEntry:
    with transaction.atomic():
        return audit_record(
            principal=SYSTEM_ACTOR, action=AuditAction.TOPIC_CREATED, target_type="topic", target="t", after={"a": 1}
        )


def test_an_entry_cannot_be_saved_again_after_a_change():
    entry = _entry()
    entry.target = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    assert AuditEntry.objects.get(pk=entry.pk).target == "t"


def test_an_entry_cannot_be_deleted_one_by_one_or_in_bulk():
    entry = _entry()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_a_raw_queryset_update_through_the_model_raises():
    entry = _entry()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(actor="someone else")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.bulk_update([entry], ["actor"])
    assert AuditEntry.objects.get(pk=entry.pk).actor == "system"


def test_audit_record_refuses_to_run_outside_a_transaction(transactional_db):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_record(principal=SYSTEM_ACTOR, action=AuditAction.TOPIC_CREATED, target_type="topic", target="t")
    assert not AuditEntry.objects.exists()


def test_audit_record_refuses_an_unknown_action():
    with transaction.atomic(), pytest.raises(ValueError, match="unknown audit action"):
        audit_record(principal=SYSTEM_ACTOR, action="topic.renamed", target_type="topic", target="t")


def test_a_change_that_rolls_back_takes_its_entry_with_it():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit_record(principal=SYSTEM_ACTOR, action=AuditAction.TOPIC_CREATED, target_type="topic", target="t")
        1 / 0  # noqa: B018 (the change fails after its entry was written)
    assert not AuditEntry.objects.exists()


def test_the_admin_shows_entries_but_cannot_add_change_or_delete_them(admin_client):
    entry = _entry()
    assert admin_client.get("/admin/core/auditentry/").status_code == 200
    assert admin_client.get(f"/admin/core/auditentry/{entry.pk}/change/").status_code == 200  # a read-only view
    assert admin_client.get("/admin/core/auditentry/add/").status_code == 403
    assert admin_client.post(f"/admin/core/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


# -- who --------------------------------------------------------------------------------------


def test_a_key_a_person_and_the_system_are_recorded_as_such():
    key = Principal(scopes=frozenset({"admin"}), service_id=1, service_name="billing", key_id="elk_1")
    person = Principal(scopes=frozenset(), user_id=7, username="ada")
    with transaction.atomic():
        for principal in (key, person, SYSTEM_ACTOR):
            audit_record(principal=principal, action=AuditAction.TOPIC_DELETED, target_type="topic", target="t")
    recorded = [(e.actor_kind, e.actor, e.actor_key_id, e.actor_user_id) for e in entries()]
    assert recorded == [("key", "billing", "elk_1", None), ("user", "ada", "", 7), ("system", "system", "", None)]


def test_an_api_request_records_its_remote_address_and_request_id(api):
    trail = AuditTrail()
    response = api.client.post(
        "/api/v1/topics", {"name": "orders"}, format="json", HTTP_X_REQUEST_ID="req-42", REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 201
    entry = trail.one()
    assert (entry.request_id, entry.remote_addr) == ("req-42", "10.1.2.3")


# -- registry ---------------------------------------------------------------------------------


def test_registering_a_new_version_records_one_entry_with_the_key_and_the_schema(registry_key):
    key_id, registry = registry_key
    first = registry.register("orders-value", V1).json()
    trail = AuditTrail()
    second = registry.register("orders-value", V2).json()
    entry = trail.one()
    assert entry.action == AuditAction.SCHEMA_REGISTERED
    assert (entry.actor_kind, entry.actor, entry.actor_key_id) == ("key", "schema-admin", key_id)
    assert (entry.target_type, entry.target) == ("subject", "orders-value")
    assert entry.before == {"version": 1, "schema_id": first["id"]}
    assert entry.after["version"] == 2 and entry.after["schema_id"] == second["id"]
    assert entry.after["schema_type"] == "JSON" and '"email"' in entry.after["schema"]


def test_the_first_version_of_a_subject_has_nothing_before_it(registry_key):
    _, registry = registry_key
    registry.register("orders-value", V1)
    assert entries(AuditAction.SCHEMA_REGISTERED)[0].before is None


def test_registering_the_same_schema_again_records_nothing(registry_key):
    _, registry = registry_key
    registry.register("orders-value", V1)
    trail = AuditTrail()
    assert registry.register("orders-value", V1).status_code == 200
    assert trail.new() == []


def test_an_incompatible_schema_refused_with_409_records_nothing(registry_key):
    _, registry = registry_key
    registry.register("orders-value", V1)
    trail = AuditTrail()
    assert registry.register("orders-value", BREAKING).status_code == 409
    assert trail.new() == []


def test_an_invalid_schema_refused_with_422_records_nothing(registry_key):
    _, registry = registry_key
    trail = AuditTrail()
    assert registry.post("/subjects/s/versions", {"schemaType": "JSON", "schema": "{not json"}).status_code == 422
    assert trail.new() == []


def test_a_key_without_registry_write_is_refused_and_nothing_is_recorded(db):
    reader = Registry(api_key_create(service_name="reader", scopes=["consume:*"])[1])
    trail = AuditTrail()
    assert reader.register("orders-value", V1).status_code == 403
    assert trail.new() == []


def test_soft_and_permanent_deletes_of_a_version_are_recorded_apart(registry_key):
    _, registry = registry_key
    schema_id = registry.registered_id("s", V1)
    registry.register("s", V2)
    trail = AuditTrail()
    assert registry.delete("/subjects/s/versions/1").status_code == 200
    soft = trail.one()
    assert soft.action == AuditAction.SCHEMA_VERSION_DELETED
    assert soft.before == {"version": 1, "schema_id": schema_id, "deleted": False}
    assert soft.after == {"version": 1, "schema_id": schema_id, "deleted": True}
    trail = AuditTrail()
    assert registry.delete("/subjects/s/versions/1?permanent=true").status_code == 200
    hard = trail.one()
    assert hard.action == AuditAction.SCHEMA_VERSION_PURGED
    assert hard.before == {"version": 1, "schema_id": schema_id, "deleted": True}
    assert hard.after == {"schema_ids_removed": [schema_id]}


def test_soft_and_permanent_deletes_of_a_subject_are_recorded_apart(registry_key):
    _, registry = registry_key
    one = registry.registered_id("s", V1)
    two = registry.registered_id("s", V2)
    trail = AuditTrail()
    assert registry.delete("/subjects/s").json() == [1, 2]
    soft = trail.one()
    assert soft.action == AuditAction.SUBJECT_DELETED
    assert soft.before == {
        "versions": [
            {"version": 1, "schema_id": one, "deleted": False},
            {"version": 2, "schema_id": two, "deleted": False},
        ]
    }
    assert all(version["deleted"] for version in soft.after["versions"])
    trail = AuditTrail()
    assert registry.delete("/subjects/s?permanent=true").status_code == 200
    hard = trail.one()
    assert hard.action == AuditAction.SUBJECT_PURGED
    assert [v["version"] for v in hard.before["versions"]] == [1, 2]
    assert hard.after == {"schema_ids_removed": sorted([one, two])}


def test_a_delete_refused_because_the_version_is_referenced_records_nothing(registry_key):
    _, registry = registry_key
    registry.register("address", object_schema(city="string"))
    registry.register(
        "customer",
        {"properties": {"home": {"$ref": "address.json"}}},
        references=[{"name": "address.json", "subject": "address", "version": 1}],
    )
    trail = AuditTrail()
    assert registry.delete("/subjects/address/versions/1").status_code == 422
    assert trail.new() == []


def test_changing_compatibility_records_before_and_after_and_a_no_op_records_nothing(registry_key):
    _, registry = registry_key
    trail = AuditTrail()
    assert registry.put("/config/orders-value", {"compatibility": "FULL"}).status_code == 200
    entry = trail.one()
    assert (entry.action, entry.target_type, entry.target) == (
        AuditAction.REGISTRY_CONFIG_CHANGED,
        "registry_config",
        "orders-value",
    )
    assert (entry.before, entry.after) == ({}, {"compatibilityLevel": "FULL"})
    trail = AuditTrail()
    registry.put("/config/orders-value", {"compatibility": "full"})
    assert trail.new() == []
    registry.put("/config", {"compatibility": "NONE"})
    assert trail.one().target == "__GLOBAL"


def test_deleting_a_config_records_what_was_set(registry_key):
    _, registry = registry_key
    registry.put("/config/orders-value", {"compatibility": "FULL", "normalize": True})
    trail = AuditTrail()
    assert registry.delete("/config/orders-value").status_code == 200
    entry = trail.one()
    assert entry.action == AuditAction.REGISTRY_CONFIG_DELETED
    assert (entry.before, entry.after) == ({"compatibilityLevel": "FULL", "normalize": True}, None)


def test_a_bad_compatibility_level_records_nothing(registry_key):
    _, registry = registry_key
    trail = AuditTrail()
    assert registry.put("/config/orders-value", {"compatibility": "SIDEWAYS"}).status_code == 422
    assert trail.new() == []


def test_mode_changes_and_deletes_are_recorded_with_the_versions_an_import_switch_removes(registry_key):
    _, registry = registry_key
    schema_id = registry.registered_id("s", V1)
    registry.delete("/subjects/s")
    trail = AuditTrail()
    assert registry.put("/mode/s", {"mode": "IMPORT"}).status_code == 200
    entry = trail.one()
    assert (entry.action, entry.target_type, entry.target) == (AuditAction.REGISTRY_MODE_CHANGED, "registry_mode", "s")
    assert entry.before == {"mode": None}
    assert entry.after == {
        "mode": "IMPORT",
        "purged_versions": [{"subject": "s", "version": 1, "schema_id": schema_id}],
    }
    trail = AuditTrail()
    assert registry.delete("/mode/s").json() == {"mode": "IMPORT"}
    deleted = trail.one()
    assert (deleted.action, deleted.before, deleted.after) == (
        AuditAction.REGISTRY_MODE_DELETED,
        {"mode": "IMPORT"},
        None,
    )


def test_forward_mode_on_a_subject_refused_with_422_records_nothing(registry_key):
    _, registry = registry_key
    trail = AuditTrail()
    assert registry.put("/mode/s", {"mode": "FORWARD"}).status_code == 422
    assert trail.new() == []


def test_a_session_user_changing_the_registry_is_recorded_as_that_user(admin_user, client):
    client.force_login(admin_user)
    trail = AuditTrail()
    response = client.put(
        "/registry/config/s", sr_body(V1) | {"compatibility": "NONE"}, content_type="application/json"
    )
    assert response.status_code == 200
    entry = trail.one()
    assert (entry.actor_kind, entry.actor, entry.actor_user_id) == ("user", admin_user.username, admin_user.pk)


# -- topics -----------------------------------------------------------------------------------


def test_creating_a_topic_records_its_partitions_and_config(make_api):
    api = make_api("admin", service="ops")
    trail = AuditTrail()
    assert api.post("/api/v1/topics", {"name": "orders", "partitions": 3}).status_code == 201
    entry = trail.one()
    assert (entry.action, entry.target_type, entry.target) == (AuditAction.TOPIC_CREATED, "topic", "orders")
    assert (entry.actor_kind, entry.actor) == ("key", "ops")
    assert entry.before is None
    assert entry.after["partitions"] == 3 and entry.after["config"]["validation.mode"] == "enforce"


def test_a_duplicate_or_invalid_topic_records_nothing(api, make_topic):
    make_topic("orders")
    trail = AuditTrail()
    assert api.post("/api/v1/topics", {"name": "orders"}).status_code == 409
    assert api.post("/api/v1/topics", {"name": "bad name"}).status_code == 422
    assert api.post("/api/v1/topics", {"name": "t", "config": {"retention.ms": -5}}).status_code == 422
    assert trail.new() == []


def test_a_key_without_admin_cannot_create_a_topic_and_nothing_is_recorded(make_api):
    producer = make_api("produce:*")
    trail = AuditTrail()
    assert producer.post("/api/v1/topics", {"name": "orders"}).status_code == 403
    assert trail.new() == []


def test_changing_a_topic_records_before_and_after_and_a_no_op_records_nothing(api, make_topic):
    make_topic("orders", partitions=1)
    trail = AuditTrail()
    assert api.patch("/api/v1/topics/orders", {"partitions": 2, "config": {"retention.ms": 5000}}).status_code == 200
    entry = trail.one()
    assert entry.action == AuditAction.TOPIC_UPDATED
    assert (entry.before["partitions"], entry.after["partitions"]) == (1, 2)
    assert (entry.before["config"]["retention.ms"], entry.after["config"]["retention.ms"]) == (604_800_000, 5000)
    trail = AuditTrail()
    assert api.patch("/api/v1/topics/orders", {"config": {"retention.ms": 5000}}).status_code == 200
    assert api.patch("/api/v1/topics/orders", {"partitions": 1}).status_code == 422
    assert trail.new() == []


def test_deleting_a_topic_records_what_it_was(api, make_topic):
    make_topic("orders", partitions=2)
    trail = AuditTrail()
    assert api.delete("/api/v1/topics/orders").status_code == 204
    entry = trail.one()
    assert (entry.action, entry.before["partitions"], entry.after) == (AuditAction.TOPIC_DELETED, 2, None)
    trail = AuditTrail()
    assert api.delete("/api/v1/topics/orders").status_code == 404
    assert trail.new() == []


# -- catalog ----------------------------------------------------------------------------------

CATALOG = "/api/v1/catalog"


@pytest.fixture
def editor_session(client, django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("eddie", password="pw")
    user.groups.add(Group.objects.get_or_create(name="editor")[0])
    client.force_login(user)
    return user, client


def test_domain_create_update_and_delete_are_each_one_entry_by_the_editor(editor_session):
    user, client = editor_session
    steps: list[tuple[str, Any]] = [
        ("post", (f"{CATALOG}/domains/", {"name": "Ordering", "description": "Orders"})),
        ("patch", (f"{CATALOG}/domains/Ordering", {"description": "Orders and carts"})),
        ("delete", (f"{CATALOG}/domains/Ordering",)),
    ]
    recorded = []
    for method, args in steps:
        trail = AuditTrail()
        response = getattr(client, method)(*args, content_type="application/json")
        assert response.status_code < 300, response.content
        entry = trail.one()
        assert (entry.actor_kind, entry.actor, entry.actor_user_id) == ("user", "eddie", user.pk)
        recorded.append((entry.action, entry.target_type, entry.target, entry.before, entry.after))
    assert recorded == [
        ("catalog.created", "domain", "Ordering", None, {"name": "Ordering", "description": "Orders"}),
        (
            "catalog.updated",
            "domain",
            "Ordering",
            {"name": "Ordering", "description": "Orders"},
            {"name": "Ordering", "description": "Orders and carts"},
        ),
        ("catalog.deleted", "domain", "Ordering", {"name": "Ordering", "description": "Orders and carts"}, None),
    ]


def test_refused_catalog_edits_record_nothing(api, editor_session):
    _, client = editor_session
    api.post(f"{CATALOG}/domains/", {"name": "Ordering"})
    trail = AuditTrail()
    assert api.post(f"{CATALOG}/domains/", {"name": "Ordering"}).status_code == 409
    assert api.post(f"{CATALOG}/domains/", {"name": "!bad"}).status_code == 422
    assert api.post(f"{CATALOG}/event-types/", {"name": "OrderPlaced"}).status_code == 422
    assert api.patch(f"{CATALOG}/domains/Ordering", {"description": ""}).status_code == 200  # no change
    assert trail.new() == []


def test_a_viewer_cannot_edit_the_catalog_and_nothing_is_recorded(client, django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("vera", password="pw")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    trail = AuditTrail()
    assert client.post(f"{CATALOG}/domains/", {"name": "X"}, content_type="application/json").status_code == 403
    assert trail.new() == []


def test_team_service_and_event_type_edits_are_recorded_with_their_snapshots(make_api, make_topic):
    api = make_api("admin", service="catalog-bot")
    make_topic("orders")
    api.post(f"{CATALOG}/domains/", {"name": "Ordering"})
    trail = AuditTrail()
    assert api.post(f"{CATALOG}/teams/", {"name": "Checkout", "contact": "#checkout"}).status_code == 201
    team = trail.one()
    assert (team.action, team.target_type, team.after["contact"]) == ("catalog.created", "team", "#checkout")

    trail = AuditTrail()
    body = {"name": "billing", "owner_team": "Checkout", "domain": "Ordering", "summary": "Bills"}
    assert api.post(f"{CATALOG}/services/", body).status_code == 201
    service = trail.one()
    assert (service.action, service.target_type, service.target) == ("catalog.created", "service", "billing")
    assert service.after["owner_team"] == "Checkout" and service.actor == "catalog-bot"

    trail = AuditTrail()
    event = {"name": "OrderPlaced", "domain": "Ordering", "owner_team": "Checkout", "summary": "An order"}
    assert api.post(f"{CATALOG}/event-types/", {**event, "topics": ["orders"]}).status_code == 201
    created = trail.one()
    assert (created.target_type, created.after["topics"], created.after["lifecycle"]) == (
        "event_type",
        ["orders"],
        "draft",
    )

    trail = AuditTrail()
    assert api.patch(f"{CATALOG}/event-types/OrderPlaced", {"lifecycle": "active"}).status_code == 200
    updated = trail.one()
    assert (updated.before["lifecycle"], updated.after["lifecycle"]) == ("draft", "active")
    trail = AuditTrail()
    assert api.patch(f"{CATALOG}/event-types/OrderPlaced", {"lifecycle": "draft"}).status_code == 422
    assert trail.new() == []

    trail = AuditTrail()
    assert api.delete(f"{CATALOG}/event-types/OrderPlaced").status_code == 204
    deleted = trail.one()
    assert (deleted.action, deleted.before["name"], deleted.after) == ("catalog.deleted", "OrderPlaced", None)


def test_an_asyncapi_import_records_each_change_and_the_import_under_one_request_id(make_api):
    from tests.catalog.asyncapi_fixtures import SHIPPING_V3

    api = make_api("admin", service="importer")
    trail = AuditTrail()
    assert api.post(f"{CATALOG}/asyncapi/import?dry_run=true", SHIPPING_V3).status_code == 200
    assert trail.new() == []
    assert api.post(f"{CATALOG}/asyncapi/import?dry_run=false", SHIPPING_V3).status_code == 200
    added = trail.new()
    actions = [entry.action for entry in added]
    assert actions.count("catalog.asyncapi_imported") == 1
    assert actions.count("topic.created") == 2 and actions.count("schema.registered") == 2
    assert {(e.target_type, e.target) for e in added if e.action == "catalog.created"} >= {
        ("service", "shipping-service"),
        ("event_type", "OrderShipped"),
        ("event_type", "PaymentCompleted"),
    }
    assert {entry.actor for entry in added} == {"importer"}
    assert len({entry.request_id for entry in added}) == 1 and added[0].request_id
    summary = next(e for e in added if e.action == "catalog.asyncapi_imported")
    assert (summary.target_type, summary.target) == ("service", "shipping-service")
    assert {t["name"] for t in summary.after["topics"]} == {"shipments", "payments.v1"}


def test_an_asyncapi_import_that_fails_records_nothing(api):
    import copy

    from tests.catalog.asyncapi_fixtures import SHIPPING_V3

    document = copy.deepcopy(SHIPPING_V3)
    document["asyncapi"] = "9.9.9"
    trail = AuditTrail()
    assert api.post(f"{CATALOG}/asyncapi/import?dry_run=false", document).status_code == 422
    assert trail.new() == []


# -- API keys ---------------------------------------------------------------------------------


def test_the_apikey_command_records_creation_and_revocation_as_the_system_never_the_secret():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    trail = AuditTrail()
    call_command("apikey", "create", "--service", "billing", "--scope", "produce:orders", "--label", "ci", stdout=out)
    plaintext = out.getvalue().strip().splitlines()[-1]
    key_id, _, secret = plaintext.partition(".")
    created = trail.one()
    assert (created.action, created.target_type, created.target) == (AuditAction.API_KEY_CREATED, "api_key", key_id)
    assert (created.actor_kind, created.actor) == ("system", "manage.py apikey")
    shown = {name: created.after[name] for name in ("key_id", "service", "scopes", "label", "revoked_at")}
    assert shown == {
        "key_id": key_id,
        "service": "billing",
        "scopes": ["produce:orders"],
        "label": "ci",
        "revoked_at": None,
    }
    assert secret not in str(created.after)

    trail = AuditTrail()
    call_command("apikey", "revoke", key_id, stdout=StringIO())
    revoked = trail.one()
    assert revoked.action == AuditAction.API_KEY_REVOKED
    assert revoked.before["revoked_at"] is None and revoked.after["revoked_at"]
    trail = AuditTrail()
    call_command("apikey", "revoke", key_id, stdout=StringIO())  # already revoked: no change
    assert trail.new() == []


def test_a_key_refused_for_bad_scopes_records_nothing():
    from django.core.management import CommandError, call_command

    trail = AuditTrail()
    with pytest.raises(CommandError):
        call_command("apikey", "create", "--service", "billing", "--scope", "fly:everywhere")
    assert trail.new() == []


def test_a_key_revoked_by_a_person_records_that_person():
    key, _ = api_key_create(service_name="billing", scopes=["admin"])
    person = Principal(scopes=frozenset({"admin"}), user_id=3, username="ada")
    api_key_revoke(key_id=key.key_id, actor=person)
    assert (entries(AuditAction.API_KEY_REVOKED)[0].actor_kind, entries(AuditAction.API_KEY_REVOKED)[0].actor) == (
        "user",
        "ada",
    )


# -- GET /api/v1/audit/ -----------------------------------------------------------------------

AUDIT = "/api/v1/audit/"


def _seed(make_topic) -> None:
    person = Principal(scopes=frozenset({"admin"}), user_id=5, username="ada")
    make_topic("orders")
    make_topic("orders.eu")
    make_topic("payments")
    with transaction.atomic():
        audit_record(principal=person, action=AuditAction.TOPIC_DELETED, target_type="topic", target="payments")


def test_the_list_is_newest_first_in_the_paginated_shape(api, make_topic):
    _seed(make_topic)
    body = api.get(AUDIT, target_type="topic", limit=2).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 4 and body["next"]
    assert [(r["action"], r["target"]) for r in body["results"]] == [
        ("topic.deleted", "payments"),
        ("topic.created", "payments"),
    ]
    first = body["results"][0]
    assert (first["actor_kind"], first["actor"], first["actor_user_id"], first["after"]) == ("user", "ada", 5, None)


@pytest.mark.parametrize(
    ("params", "targets"),
    [
        ({"action": "topic.created"}, ["payments", "orders.eu", "orders"]),
        ({"target": "orders"}, ["orders"]),
        ({"target": "orders*"}, ["orders.eu", "orders"]),
        ({"target": "Orders*"}, []),
        ({"actor": "ada"}, ["payments"]),
        ({"actor_kind": "user"}, ["payments"]),
        ({"action": "topic.created", "target": "pay*"}, ["payments"]),
    ],
)
def test_filters_narrow_the_list(api, make_topic, params, targets):
    _seed(make_topic)
    results = api.get(AUDIT, target_type="topic", **params).json()["results"]
    assert [r["target"] for r in results] == targets


def test_the_actor_filter_matches_a_key_id_too(make_api):
    key, token = api_key_create(service_name="ops", scopes=["admin"])
    from tests.conftest import Api

    ops = Api(token)
    ops.post("/api/v1/topics", {"name": "orders"})
    results = ops.get(AUDIT, actor=key.key_id).json()["results"]
    assert [(r["action"], r["actor"]) for r in results] == [("topic.created", "ops")]


def test_since_and_until_bound_the_time(api, make_topic):
    import datetime

    _seed(make_topic)
    now = datetime.datetime.now(tz=datetime.UTC)
    later = (now + datetime.timedelta(hours=1)).isoformat()
    earlier = (now - datetime.timedelta(hours=1)).isoformat()
    assert api.get(AUDIT, target_type="topic", since=later).json()["count"] == 0
    assert api.get(AUDIT, target_type="topic", until=earlier).json()["count"] == 0
    assert api.get(AUDIT, target_type="topic", since=earlier, until=later).json()["count"] == 4


def test_bad_filters_are_422_naming_the_field(api):
    response = api.get(AUDIT, action="topic.renamed", since="yesterday")
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["error"]["details"]["errors"]}
    assert fields == {"action", "since"}


def test_reading_the_audit_needs_an_admin_key_or_an_editor(make_api, client, django_user_model):
    from django.contrib.auth.models import Group

    assert make_api("admin").get(AUDIT).status_code == 200
    for scopes in (("produce:*", "consume:*", "describe:*"), ("registry:write",)):
        response = make_api(*scopes).get(AUDIT)
        assert response.status_code == 403 and response.json()["error"]["details"] == {"required_role": "editor"}
    assert client.get(AUDIT).status_code == 401
    for role, status in (("viewer", 403), ("editor", 200), ("admin", 200)):
        user = django_user_model.objects.create_user(f"user-{role}", password="pw")
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        client.force_login(user)
        assert client.get(AUDIT).status_code == status, role


def test_the_list_takes_the_same_number_of_queries_for_5_or_50_entries(api):
    def audit_queries() -> list[str]:
        with CaptureQueriesContext(connection) as context:
            assert api.get(AUDIT, limit=100).status_code == 200
        return [query["sql"] for query in context.captured_queries]

    def add(n: int) -> None:
        with transaction.atomic():
            for i in range(n):
                audit_record(
                    principal=SYSTEM_ACTOR,
                    action=AuditAction.TOPIC_UPDATED,
                    target_type="topic",
                    target=f"t{i}",
                    before={"partitions": 1},
                    after={"partitions": 2},
                )

    add(5)
    few = audit_queries()
    add(45)
    many = audit_queries()
    assert len(many) == len(few)
    # The count and the page; the rest is the key's authentication.
    assert len([sql for sql in many if "core_auditentry" in sql]) == 2


def test_the_openapi_document_describes_the_audit_list_and_its_filters(api):
    import yaml

    document = yaml.safe_load(api.get("/api/schema/").content)
    operation = document["paths"]["/api/v1/audit/"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"action", "target_type", "target", "actor", "actor_kind", "since", "until", "limit", "offset"} <= names
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"count", "next", "previous", "results"} <= set(document["components"]["schemas"][page]["properties"])


# -- consumer groups --------------------------------------------------------------------------


def _produce(api, n: int) -> None:
    assert api.post("/api/v1/topics/orders/events", [{"data": i} for i in range(n)]).status_code in (200, 201)


def test_an_applied_offset_reset_records_the_offsets_before_and_after_and_a_preview_records_nothing(
    make_api, make_topic
):
    make_topic("orders", partitions=2)
    ops = make_api("admin", service="ops")
    _produce(ops, 6)
    ops.post("/api/v1/groups/billing/offsets", {"offsets": [{"topic": "orders", "partition": 0, "offset": 1}]})
    trail = AuditTrail()
    reset = {"topic": "orders", "to": "latest"}
    assert ops.post("/api/v1/groups/billing/offsets/reset", {**reset, "dry_run": True}).status_code == 200
    assert trail.new() == []
    assert ops.post("/api/v1/groups/billing/offsets/reset", {**reset, "dry_run": False}).status_code == 200
    entry = trail.one()
    assert (entry.action, entry.target_type, entry.target, entry.actor) == (
        AuditAction.GROUP_OFFSETS_RESET,
        "consumer_group",
        "billing",
        "ops",
    )
    assert entry.before == {"topic": "orders", "offsets": {"0": 1, "1": None}}
    assert entry.after == {"topic": "orders", "offsets": {"0": 3, "1": 3}, "to": "latest"}


def test_a_reset_refused_while_members_are_active_records_nothing(make_api, make_topic):
    make_topic("orders")
    billing = make_api("consume:orders", service="billing")
    assert billing.post("/api/v1/groups/billing/members", {"topics": ["orders"]}).status_code == 200
    trail = AuditTrail()
    refused = billing.post(
        "/api/v1/groups/billing/offsets/reset", {"topic": "orders", "to": "earliest", "dry_run": False}
    )
    assert refused.status_code == 409
    assert trail.new() == []


def test_an_admin_removing_a_member_is_recorded_and_a_member_leaving_is_not(make_api, make_topic):
    make_topic("orders")
    billing = make_api("consume:orders", service="billing")
    ops = make_api("admin", service="ops")
    members = [billing.post("/api/v1/groups/billing/members", {"topics": ["orders"]}).json() for _ in range(2)]
    trail = AuditTrail()
    assert billing.delete(f"/api/v1/groups/billing/members/{members[0]['member_id']}").status_code == 204
    assert trail.new() == []
    assert ops.delete(f"/api/v1/groups/billing/members/{members[1]['member_id']}").status_code == 204
    entry = trail.one()
    assert (entry.action, entry.target, entry.actor, entry.after) == (
        AuditAction.GROUP_MEMBER_REMOVED,
        "billing",
        "ops",
        None,
    )
    assert entry.before["member_id"] == members[1]["member_id"] and entry.before["topics"] == ["orders"]


def test_deleting_a_group_records_the_offsets_it_lost(make_api, make_topic):
    make_topic("orders")
    ops = make_api("admin", service="ops")
    _produce(ops, 2)
    ops.post("/api/v1/groups/billing/offsets", {"offsets": [{"topic": "orders", "partition": 0, "offset": 2}]})
    trail = AuditTrail()
    assert ops.delete("/api/v1/groups/billing").status_code == 204
    entry = trail.one()
    assert (entry.action, entry.before, entry.after) == (
        AuditAction.GROUP_DELETED,
        {"offsets": [{"topic": "orders", "partition": 0, "offset": 2}]},
        None,
    )
