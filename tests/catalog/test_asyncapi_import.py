"""AsyncAPI import: a preview that changes nothing, then an apply that creates services, event
types, topics, subjects and declared flows; bad documents get their errors and change nothing."""

import copy

import pytest

from broker.models import Topic
from catalog.models import DeclaredFlow, EventType, ServiceProfile
from tests.catalog.asyncapi_fixtures import NOTIFIER_V26, SHIPPING_V3

pytestmark = pytest.mark.django_db
URL = "/api/v1/catalog/asyncapi/import"


def test_preview_says_what_would_change_and_changes_nothing(api, db):
    response = api.post(f"{URL}?dry_run=true", SHIPPING_V3)
    assert response.status_code == 200, response.content
    plan = response.json()
    assert plan["applied"] is False
    assert plan["service"] == {"name": "shipping-service", "action": "create"}
    assert {t["name"]: t["action"] for t in plan["topics"]} == {"shipments": "create", "payments.v1": "create"}
    assert {e["name"]: e["action"] for e in plan["event_types"]} == {
        "OrderShipped": "create",
        "PaymentCompleted": "create",
    }
    assert {s["subject"]: s["action"] for s in plan["subjects"]} == {
        "shipments-OrderShipped": "create",
        "payments.v1-PaymentCompleted": "create",
    }
    assert {(f["role"], f["event_type"]) for f in plan["flows"]} == {
        ("producer", "OrderShipped"),
        ("consumer", "PaymentCompleted"),
    }
    assert not Topic.objects.exists() and not EventType.objects.exists() and not ServiceProfile.objects.exists()


def test_apply_creates_everything_and_a_second_preview_sees_it_unchanged(api, db):
    from schemas.validation import resolve_subject

    response = api.post(f"{URL}?dry_run=false", SHIPPING_V3)
    assert response.status_code == 200, response.content
    assert response.json()["applied"] is True
    shipped = EventType.objects.get(name="OrderShipped")
    assert shipped.subject == "shipments-OrderShipped" and shipped.owner_team.name == "Warehouse Team"
    assert [t.name for t in shipped.topics.all()] == ["shipments"]
    assert resolve_subject("shipments-OrderShipped") is not None
    assert DeclaredFlow.objects.filter(service__name="shipping-service", role="producer", event_type=shipped).exists()
    again = api.post(f"{URL}?dry_run=true", SHIPPING_V3).json()
    assert {s["action"] for s in again["subjects"]} == {"unchanged"}
    assert {t["action"] for t in again["topics"]} == {"unchanged"}
    assert again["service"]["action"] == "unchanged"
    assert {e["action"] for e in again["event_types"]} == {"unchanged"}


def test_asyncapi_2_6_yaml_maps_subscribe_to_produce_and_publish_to_consume(api, db):
    response = api.post(f"{URL}?dry_run=true", NOTIFIER_V26, content_type="application/yaml")
    assert response.status_code == 200, response.content
    flows = {(f["role"], f["event_type"], f["topic"]) for f in response.json()["flows"]}
    assert flows == {
        ("producer", "AlertRaised", "alerts"),
        ("consumer", "OrderPlaced", "orders"),
        ("consumer", "OrderCancelled", "orders"),
    }


@pytest.mark.parametrize(
    ("mutate", "path_fragment"),
    [
        (lambda d: d.pop("info"), ""),
        (lambda d: d.__setitem__("asyncapi", "1.2.0"), "/asyncapi"),
        (
            lambda d: d["operations"]["sendOrderShipped"].__setitem__("action", "shout"),
            "/operations/sendOrderShipped/action",
        ),
    ],
)
def test_a_bad_document_gets_its_errors_and_changes_nothing(api, db, mutate, path_fragment):
    document = copy.deepcopy(SHIPPING_V3)
    mutate(document)
    response = api.post(f"{URL}?dry_run=false", document)
    assert response.status_code == 422
    errors = response.json()["error"]["details"]["errors"]
    assert errors and any(path_fragment in e["path"] + e["message"] for e in errors)
    assert not Topic.objects.exists() and not EventType.objects.exists()


def test_an_incompatible_schema_skips_its_subject_and_the_rest_is_applied(api, db):
    from schemas.selectors import live_versions

    api.post(f"{URL}?dry_run=false", SHIPPING_V3)
    changed = copy.deepcopy(SHIPPING_V3)
    changed["components"]["schemas"]["OrderShipped"]["required"].append("weight")
    changed["components"]["schemas"]["OrderShipped"]["properties"]["weight"] = {"type": "number"}
    changed["components"]["messages"]["OrderShipped"]["summary"] = "changed summary"
    changed["components"]["messages"]["PaymentCompleted"]["summary"] = "Money captured, really"
    response = api.post(f"{URL}?dry_run=false", changed)
    assert response.status_code == 200, response.content
    plan = response.json()
    subject = next(s for s in plan["subjects"] if s["subject"] == "shipments-OrderShipped")
    assert subject["action"] == "skipped" and subject["reason"].startswith("incompatible")
    assert len(live_versions("shipments-OrderShipped")) == 1
    shipped = next(e for e in plan["event_types"] if e["name"] == "OrderShipped")
    assert shipped["action"] == "update" and any("schema not registered" in f for f in shipped["flags"])
    assert EventType.objects.get(name="OrderShipped").summary == "changed summary"
    assert EventType.objects.get(name="PaymentCompleted").summary == "Money captured, really"


def test_import_needs_the_editor_role(make_api, db):
    assert make_api("produce:*").post(f"{URL}?dry_run=true", SHIPPING_V3).status_code == 403


def test_the_import_page_previews_then_applies(client, admin_user):
    from tests.catalog.asyncapi_fixtures import NOTIFIER_V26

    client.force_login(admin_user)
    preview = client.post("/catalog/import/", {"document": NOTIFIER_V26, "action": "preview"})
    assert preview.status_code == 200
    assert "AlertRaised" in preview.content.decode() and not EventType.objects.exists()
    applied = client.post("/catalog/import/", {"document": NOTIFIER_V26, "action": "apply"})
    assert applied.status_code == 302 and applied["Location"] == "/catalog/services/notifier/"
    assert EventType.objects.filter(name="AlertRaised").exists()


@pytest.mark.parametrize("body", [b"null", b"false", b"0", b"[null, null]", b'"text"'])
@pytest.mark.parametrize("content_type", ["application/json", "application/yaml"])
def test_a_document_that_is_not_an_object_is_422_not_a_server_error(api, db, body, content_type):
    response = api.post(URL, body, content_type=content_type)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_asyncapi"
    assert error["details"]["errors"] == [{"path": "", "message": "not an object"}]


def test_a_yaml_document_nested_deeper_than_the_limit_is_422_naming_the_limit(api, db, settings):
    limit = settings.EVENTLINE["MAX_JSON_DEPTH"]
    deep = "asyncapi: 3.0.0\ninfo: " + "[" * limit + "]" * limit + "\n"
    response = api.post(URL, deep, content_type="application/yaml")
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_asyncapi"
    assert "EVENTLINE_MAX_JSON_DEPTH" in error["message"] and str(limit) in error["message"]
    far_too_deep = "[" * 5000 + "]" * 5000  # past the YAML reader's own recursion
    assert api.post(URL, far_too_deep, content_type="application/yaml").status_code == 422


def test_a_nul_character_in_a_yaml_document_is_422_naming_where(api, db):
    document = 'asyncapi: 3.0.0\ninfo:\n  title: "Ship\\0ping"\n  version: "1"\n'
    response = api.post(URL, document, content_type="application/yaml")
    assert response.status_code == 422, response.content
    assert response.json()["error"]["details"]["errors"] == [
        {"path": "/info/title", "message": "must not contain a NUL character (\\u0000)"}
    ]


def test_the_import_page_takes_a_zip_bundle_carries_it_to_apply_and_lets_a_channel_go_to_an_existing_topic(
    client, admin_user, make_topic
):
    """The HTML page does what the API does (issue 16): a zip upload with relative references, the
    plan with each channel's topic, rule and parameters, the remote reference reported, and a
    channel pointed at an existing topic before applying, with no second upload."""
    import io
    import zipfile

    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.catalog.asyncapi_documents import BUNDLE_FILES

    make_topic("orders.v1")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in BUNDLE_FILES.items():
            archive.writestr(name, text)
    client.force_login(admin_user)

    preview = client.post(
        "/catalog/import/",
        {"files": SimpleUploadedFile("desk.zip", buffer.getvalue(), "application/zip"), "action": "preview"},
    )

    assert preview.status_code == 200
    plan = preview.context["plan"]
    assert [(t["channel"], t["name"], t["rule"], t["action"]) for t in plan.topics] == [
        ("placed", "orders.placed", "address", "create")
    ]
    page = preview.content.decode()
    assert "https://schemas.example.org/audit.json" in page  # the remote $ref, reported
    assert 'name="topic:placed"' in page and '<option value="orders.v1">' in page
    assert sorted(preview.context["bundle_names"]) == sorted(BUNDLE_FILES)
    assert not EventType.objects.exists()

    applied = client.post(
        "/catalog/import/",
        {"bundle": preview.context["bundle"], "topic:placed": "orders.v1", "action": "apply"},
    )

    assert applied.status_code == 302, applied.content.decode()[:3000]
    placed = EventType.objects.prefetch_related("topics").get(name="OrderPlaced")
    assert [topic.name for topic in placed.topics.all()] == ["orders.v1"]
    assert not Topic.objects.filter(name="orders.placed").exists()


def test_the_import_page_says_what_is_wrong_with_an_upload_that_is_not_text(client, admin_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(admin_user)
    response = client.post(
        "/catalog/import/",
        {"files": SimpleUploadedFile("a.yaml", b"\xff\xfe\x00", "application/yaml"), "action": "preview"},
    )

    assert response.status_code == 200 and response.context["plan"] is None
    assert "must be UTF-8 text" in response.content.decode()
