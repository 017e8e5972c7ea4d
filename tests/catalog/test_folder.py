"""Docs as code: the catalog as a folder (catalog/folder/), `manage.py catalog export|import|check`,
`manage.py schema check` and the API's zip round trip."""

import io
import json
import zipfile

import pytest
from django.core.management import call_command

from catalog import services
from catalog.folder.files import folder_read
from catalog.folder.sync import catalog_state
from catalog.models import BusinessFlow, CatalogChange, Domain, EventType, ServiceProfile, Team
from core.models import AuditEntry
from schemas.services import schema_version_register
from schemas.validation import resolve_subject
from tests.catalog.conftest import EDITOR

ORDER_V1 = json.dumps({"type": "object", "properties": {"order_id": {"type": "string"}}})
# Adding a required property without a default: backward incompatible.
ORDER_BREAKING = json.dumps(
    {
        "type": "object",
        "properties": {"order_id": {"type": "string"}, "email": {"type": "string"}},
        "required": ["email"],
    }
)
PAYMENT_AVRO = json.dumps({"type": "record", "name": "PaymentTaken", "fields": [{"name": "amount", "type": "long"}]})
SHIPPED_PROTO = 'syntax = "proto3";\nmessage OrderShipped {\n  string order_id = 1;\n}\n'


@pytest.fixture(autouse=True)
def _fresh_lineage_cache():
    """The impact provider's graph is cached per process; another test's estate must not answer."""
    from lineage.selectors import lineage_cache_clear

    lineage_cache_clear()
    yield
    lineage_cache_clear()


@pytest.fixture
def estate(db, make_topic, django_user_model):
    """A small catalog: two domains and teams (one with a member), a documented service, three
    event types (JSON Schema, Avro, Protobuf) with prose, tags, owners, declared flows, and a flow."""
    django_user_model.objects.create_user("ada")
    make_topic("orders")
    make_topic("payments")
    services.team_create(principal=EDITOR, name="Checkout Team", contact="#checkout", members=["ada"])
    services.team_create(principal=EDITOR, name="Payments Team", description="Money in.\n\nAnd out.")
    services.domain_create(principal=EDITOR, name="Ordering", description="Orders and carts")
    services.domain_create(principal=EDITOR, name="Payments")
    services.service_document(
        principal=EDITOR,
        name="checkout",
        create=True,
        description="Takes orders.",
        owner_team="Checkout Team",
        domain="Ordering",
        summary="The checkout",
        repository_url="https://git.example.com/checkout",
    )
    schema_version_register(subject="orders-value", schema=ORDER_V1, schema_type="JSON")
    schema_version_register(subject="payments-value", schema=PAYMENT_AVRO, schema_type="AVRO")
    schema_version_register(subject="shipped-value", schema=SHIPPED_PROTO, schema_type="PROTOBUF")
    placed = services.event_type_create(
        principal=EDITOR,
        data={
            "name": "OrderPlaced",
            "domain": "Ordering",
            "owner_team": "Checkout Team",
            "summary": "A customer placed an order",
            "business_meaning": "# Placed\n\nThe order is *binding*.\n",
            "lifecycle": "active",
            "tags": ["orders", "core"],
            "topics": ["orders"],
            "subject": "orders-value",
            "personal_data_fields": ["/customer/email"],
            "business_key_fields": ["/order_id"],
            "correlation_id_location": "$message.payload#/order_id",
            "example": {"order_id": "o-1", "when": "2025-01-01"},
            "sunset_date": "2030-01-01",
        },
    )
    services.declared_flows_set(
        principal=EDITOR, event_type=placed, role="producer", services=[{"service": "checkout", "note": "on submit"}]
    )
    services.declared_flows_set(principal=EDITOR, event_type=placed, role="consumer", services=[{"service": "billing"}])
    services.event_type_create(
        principal=EDITOR,
        data={
            "name": "PaymentTaken",
            "domain": "Payments",
            "owner_team": "Payments Team",
            "summary": "Money taken",
            "topics": ["payments"],
            "subject": "payments-value",
        },
    )
    services.event_type_create(
        principal=EDITOR,
        data={
            "name": "OrderShipped",
            "domain": "Ordering",
            "owner_team": "Checkout Team",
            "summary": "Shipped",
            "subject": "shipped-value",
        },
    )
    services.business_flow_create(
        principal=EDITOR,
        data={
            "name": "Order to cash",
            "description": "From order to money.",
            "start_event_type": "OrderPlaced",
            "terminals": {"PaymentTaken": "completed", "OrderShipped": "completed"},
            "stuck_after_seconds": 300,
        },
    )
    return catalog_state()


def _empty_catalog():
    """Everything the catalog and registry hold goes, as in a fresh database (users stay)."""
    from schemas.cache import registry_cache
    from schemas.models import RegistryState, Schema, Subject

    BusinessFlow.objects.all().delete()
    EventType.objects.all().delete()
    ServiceProfile.objects.all().delete()
    Domain.objects.all().delete()
    Team.objects.all().delete()
    Subject.objects.all().delete()
    Schema.objects.all().delete()
    RegistryState.objects.all().delete()
    registry_cache.sync()


def _run(*args):
    out = io.StringIO()
    try:
        call_command(*args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def test_export_writes_one_folder_per_entry_with_front_matter_and_schemas_in_their_format(estate, tmp_path):
    _run("catalog", "export", str(tmp_path))
    files = folder_read(tmp_path)
    assert {
        "teams/Checkout Team.md",
        "teams/Payments Team.md",
        "domains/Ordering/index.md",
        "services/checkout/index.md",
        "services/checkout/asyncapi.yaml",
        "event-types/OrderPlaced/index.md",
        "event-types/OrderPlaced/schema.json",
        "event-types/PaymentTaken/schema.avsc",
        "event-types/OrderShipped/schema.proto",
        "flows/Order to cash.md",
    } <= set(files)
    placed = files["event-types/OrderPlaced/index.md"]
    assert placed.startswith("---\nname: OrderPlaced\ndomain: Ordering\nowner_team: Checkout Team\n")
    assert placed.endswith("---\n\n# Placed\n\nThe order is *binding*.\n\n")
    assert "\ncorrelation_id_location: $message.payload#/order_id\n" in placed
    assert json.loads(files["event-types/PaymentTaken/schema.avsc"]) == json.loads(PAYMENT_AVRO)
    assert "asyncapi: 3.0.0" in files["services/checkout/asyncapi.yaml"]


def test_export_then_import_into_an_empty_catalog_reproduces_it_exactly(estate, tmp_path):
    _run("catalog", "export", str(tmp_path))
    _empty_catalog()
    assert EventType.objects.count() == 0

    code, out = _run("catalog", "import", str(tmp_path))

    assert code == 0, out
    again = catalog_state()
    assert again.entities == estate.entities
    assert EventType.objects.get(name="OrderPlaced").correlation_id_location == "$message.payload#/order_id"
    assert again.schemas == estate.schemas
    assert resolve_subject("payments-value").version == 1
    actors = set(AuditEntry.objects.filter(action__startswith="catalog.").values_list("actor", flat=True))
    assert "manage.py catalog import" in actors
    assert AuditEntry.objects.filter(action="schema.registered", actor="manage.py catalog import").count() == 3


def test_importing_the_same_folder_twice_changes_nothing_and_records_nothing(estate, tmp_path):
    _run("catalog", "export", str(tmp_path))
    audited, changes = AuditEntry.objects.count(), CatalogChange.objects.count()

    code, out = _run("catalog", "import", str(tmp_path))

    assert code == 0, out
    assert "no changes" in out
    assert (AuditEntry.objects.count(), CatalogChange.objects.count()) == (audited, changes)


def test_an_edited_file_updates_only_that_entry_attributed_to_the_command(estate, tmp_path):
    _run("catalog", "export", str(tmp_path))
    path = tmp_path / "domains/Payments/index.md"
    path.write_text(path.read_text() + "\nMoney domain.\n")

    code, out = _run("catalog", "import", str(tmp_path))

    assert code == 0, out
    assert "update domain Payments (description)" in out
    assert Domain.objects.get(name="Payments").description == "Money domain."
    change = CatalogChange.objects.first()
    assert (change.object_name, change.actor) == ("Payments", "manage.py catalog import")


def test_a_removed_file_deletes_its_entry_only_with_prune(estate, tmp_path):
    _run("catalog", "export", str(tmp_path))
    for name in ("index.md", "schema.proto"):
        (tmp_path / "event-types/OrderShipped" / name).unlink()
    flow = tmp_path / "flows/Order to cash.md"
    flow.write_text(flow.read_text().replace("  OrderShipped: completed\n", ""))

    code, out = _run("catalog", "import", str(tmp_path))
    assert code == 0, out
    assert EventType.objects.filter(name="OrderShipped").exists()
    assert "not in the folder; kept" in out

    code, out = _run("catalog", "import", str(tmp_path), "--prune")
    assert code == 0, out
    assert not EventType.objects.filter(name="OrderShipped").exists()
    assert resolve_subject("shipped-value") is not None  # the registry keeps its history
    assert set(EventType.objects.values_list("name", flat=True)) == {"OrderPlaced", "PaymentTaken"}


def test_check_fails_on_an_incompatible_schema_naming_differences_and_consumers(estate, tmp_path):
    _run("catalog", "export", str(tmp_path))
    (tmp_path / "event-types/OrderPlaced/schema.json").write_text(ORDER_BREAKING)

    code, out = _run("catalog", "check", str(tmp_path))

    assert code == 1
    assert "orders-value (JSON): new version, INCOMPATIBLE at BACKWARD" in out
    assert "/properties/email" in out or "email" in out
    assert "would break: billing" in out
    code, out = _run("catalog", "check", str(tmp_path), "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    (schema,) = [s for s in report["schemas"] if s["subject"] == "orders-value"]
    assert schema["is_compatible"] is False
    assert any(d["breaks"] for d in schema["differences"])
    assert [row["service"] for row in schema["affected_consumers"]] == ["billing"]
    # The import refuses it whole.
    code, out = _run("catalog", "import", str(tmp_path))
    assert code == 1
    assert resolve_subject("orders-value").version == 1


def test_check_reports_unknown_owners_unparsable_schemas_and_case_clashes(estate, tmp_path):
    _run("catalog", "export", str(tmp_path))
    placed = tmp_path / "event-types/OrderPlaced/index.md"
    placed.write_text(placed.read_text().replace("owner_team: Checkout Team", "owner_team: Nobody"))
    (tmp_path / "event-types/PaymentTaken/schema.avsc").write_text('{"type": "record"')
    (tmp_path / "domains/ordering").mkdir()
    (tmp_path / "domains/ordering/index.md").write_text("Lower case.\n")

    code, out = _run("catalog", "check", str(tmp_path), "--json")

    report = json.loads(out)
    assert code == 1
    reasons = {p["file"]: p["reason"] for p in report["problems"]}
    assert reasons["event-types/OrderPlaced/index.md"] == "owner_team: unknown team 'Nobody'"
    assert "only in case" in reasons["domains/ordering/index.md"]
    (avro,) = [s for s in report["schemas"] if s["subject"] == "payments-value"]
    assert avro["action"] == "invalid" and avro["messages"]


def test_check_passes_on_a_compatible_change_and_says_what_would_change(estate, tmp_path):
    _run("catalog", "export", str(tmp_path))
    (tmp_path / "event-types/OrderPlaced/schema.json").write_text(
        json.dumps({"type": "object", "description": "An order", "properties": {"order_id": {"type": "string"}}})
    )
    code, out = _run("catalog", "check", str(tmp_path))
    assert code == 0, out
    assert "orders-value (JSON): new version, ok at BACKWARD" in out
    assert "ok: 1 change(s), 0 problem(s)" in out


def test_schema_check_of_one_file(estate, tmp_path):
    breaking = tmp_path / "order.json"
    breaking.write_text(ORDER_BREAKING)
    code, out = _run("schema", "check", "--subject", "orders-value", str(breaking))
    assert code == 1
    assert "INCOMPATIBLE" in out and "would break: billing" in out

    code, out = _run("schema", "check", "--subject", "orders-value", str(breaking), "--json")
    report = json.loads(out)
    assert (report["ok"], report["action"], report["level"]) == (False, "new version", "BACKWARD")
    assert report["affected_consumers"][0]["service"] == "billing"

    same = tmp_path / "payment.avsc"
    same.write_text(PAYMENT_AVRO)
    assert _run("schema", "check", "--subject", "payments-value", str(same))[0] == 0
    fresh = tmp_path / "new.proto"
    fresh.write_text(SHIPPED_PROTO)
    code, out = _run("schema", "check", "--subject", "brand-new-value", str(fresh), "--json")
    assert (code, json.loads(out)["action"]) == (0, "create")


def test_api_round_trip_as_a_zip(estate, api, make_api):
    response = api.get("/api/v1/catalog/export")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = response.content
    assert "event-types/OrderPlaced/index.md" in zipfile.ZipFile(io.BytesIO(archive)).namelist()
    _empty_catalog()

    preview = api.post("/api/v1/catalog/import?dry_run=true", archive, content_type="application/zip")
    assert preview.status_code == 200, preview.json()
    assert preview.json()["applied"] is False
    assert EventType.objects.count() == 0

    applied = api.post("/api/v1/catalog/import", archive, content_type="application/zip")
    assert applied.status_code == 200, applied.json()
    assert applied.json()["applied"] is True
    assert catalog_state().entities == estate.entities
    assert set(AuditEntry.objects.filter(action="catalog.created").values_list("actor", flat=True)) >= {"admin-tool"}

    again = api.post("/api/v1/catalog/import", archive, content_type="application/zip")
    assert again.json()["changes"] == []

    reader = make_api("describe:*", service="reader")
    assert reader.get("/api/v1/catalog/export").status_code == 403
    assert reader.post("/api/v1/catalog/import", archive, content_type="application/zip").status_code == 403


def test_api_import_refuses_what_is_not_a_zip(api, db):
    response = api.post("/api/v1/catalog/import", b"not a zip", content_type="application/zip")
    assert response.status_code == 422


def test_a_published_asyncapi_document_survives_a_folder_round_trip(api, db, tmp_path):
    """A service imported from its own AsyncAPI document keeps that document (servers, bindings,
    parameters, examples, its correlation id location) through export, an empty catalog and
    import; a generated document is not read back; an edit to the published one is kept."""
    import yaml

    from tests.catalog.asyncapi_documents import LAMPS_V3

    imported = api.post("/api/v1/catalog/asyncapi/import?dry_run=false", LAMPS_V3, content_type="application/yaml")
    assert imported.status_code == 200 and imported.json()["applied"], imported.content
    service = imported.json()["service"]["name"]
    before = api.get(f"/api/v1/catalog/services/{service}/asyncapi").json()
    locations = dict(EventType.objects.values_list("name", "correlation_id_location"))
    _run("catalog", "export", str(tmp_path))
    _empty_catalog()
    ServiceProfile.objects.all().delete()

    code, out = _run("catalog", "import", str(tmp_path))

    assert code == 0, out
    assert f"update asyncapi {service}" in out
    assert api.get(f"/api/v1/catalog/services/{service}/asyncapi").json() == before
    assert dict(EventType.objects.values_list("name", "correlation_id_location")) == locations
    assert "no changes" in _run("catalog", "import", str(tmp_path))[1]

    path = tmp_path / "services" / service / "asyncapi.yaml"
    document = yaml.safe_load(path.read_text())
    document["servers"]["backup"] = {"host": "backup.example.com:1883", "protocol": "mqtt"}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    code, out = _run("catalog", "import", str(tmp_path))

    assert code == 0, out
    assert api.get(f"/api/v1/catalog/services/{service}/asyncapi").json()["servers"]["backup"]["host"] == (
        "backup.example.com:1883"
    )


def test_a_generated_asyncapi_document_is_not_read_back(estate, tmp_path):
    _run("catalog", "export", str(tmp_path))
    assert "x-eventline-generated: true" in (tmp_path / "services/checkout/asyncapi.yaml").read_text()

    code, out = _run("catalog", "import", str(tmp_path))

    assert code == 0 and "no changes" in out, out
    assert not ServiceProfile.objects.get(service__name="checkout").asyncapi


COMMON = '{"type": "object", "properties": {"currency": {"type": "string"}}}'
PRICED = '{"type": "object", "properties": {"price": {"$ref": "common.json"}}}'


def test_a_schema_with_registry_references_exports_checks_and_imports_with_them(estate, tmp_path):
    """The references of an event type's schema travel in its index.md (schema_references), so
    the folder passes its own check and a new version registers with them."""
    schema_version_register(subject="common-value", schema=COMMON, schema_type="JSON")
    references = [{"name": "common.json", "subject": "common-value", "version": 1}]
    schema_version_register(subject="priced-value", schema=PRICED, schema_type="JSON", references=references)
    services.event_type_create(
        principal=EDITOR,
        data={
            "name": "PriceSet",
            "domain": "Ordering",
            "owner_team": "Checkout Team",
            "summary": "x",
            "subject": "priced-value",
        },
    )
    _run("catalog", "export", str(tmp_path))
    index = (tmp_path / "event-types/PriceSet/index.md").read_text()
    assert "schema_references:\n- name: common.json\n  subject: common-value\n  version: 1\n" in index

    code, out = _run("catalog", "check", str(tmp_path))
    assert code == 0 and "no changes" in out, out

    changed = json.loads(PRICED)
    changed["description"] = "A price in a currency"
    (tmp_path / "event-types/PriceSet/schema.json").write_text(json.dumps(changed))
    code, out = _run("catalog", "import", str(tmp_path))

    assert code == 0, out
    from schemas.selectors import loaded_schema

    latest = resolve_subject("priced-value")
    assert latest.version == 2
    assert [(r.name, r.subject, r.version) for r in loaded_schema(latest.schema_id).references] == [
        ("common.json", "common-value", 1)
    ]


def test_schema_check_takes_references(estate, tmp_path):
    schema_version_register(subject="common-value", schema=COMMON, schema_type="JSON")
    path = tmp_path / "priced.json"
    path.write_text(PRICED)

    assert _run("schema", "check", "--subject", "priced-value", str(path))[0] == 1  # $ref unresolved
    code, out = _run(
        "schema", "check", "--subject", "priced-value", str(path), "--reference", "common.json=common-value:1"
    )
    assert code == 0, out


def test_api_import_deletes_what_the_archive_lacks_only_with_prune(estate, api):
    response = api.get("/api/v1/catalog/export")
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        files = {name: archive.read(name) for name in archive.namelist() if not name.startswith("flows/")}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    without_flow = buffer.getvalue()

    kept = api.post("/api/v1/catalog/import", without_flow, content_type="application/zip")
    assert kept.status_code == 200 and kept.json()["changes"] == []
    assert "flows/Order to cash.md" in [w["file"] for w in kept.json()["warnings"]]
    previewed = api.post("/api/v1/catalog/import?prune=true&dry_run=true", without_flow, content_type="application/zip")
    assert previewed.json()["changes"] == [{"kind": "business_flow", "name": "Order to cash", "action": "delete"}]
    assert BusinessFlow.objects.filter(name="Order to cash").exists()

    pruned = api.post("/api/v1/catalog/import?prune=true", without_flow, content_type="application/zip")

    assert pruned.status_code == 200 and pruned.json()["applied"], pruned.content
    assert not BusinessFlow.objects.filter(name="Order to cash").exists()
    assert EventType.objects.filter(name="OrderPlaced").exists()
