"""Issue 16, AsyncAPI in: documents of every shape import as published (addresses mapped to
topics by the documented rule, every payload format, request/reply, bundles, remote references
reported), the dry run says per item what happens, the import applies what is valid, and an
export gives the document back up to Eventline's additions."""

import copy
import io
import json
import zipfile

import pytest
import yaml

from broker.models import Event, Topic
from catalog.models import DeclaredFlow, EventType, ServiceProfile
from schemas import constants as c
from tests.catalog.asyncapi_documents import ACCOUNTS_V26, BUNDLE_FILES, LAMPS_V3, QUOTES_V3

pytestmark = pytest.mark.django_db
URL = "/api/v1/catalog/asyncapi/import"
PROTOBUF_REGISTERS = c.SCHEMA_TYPE_PROTOBUF in c.SUPPORTED_SCHEMA_TYPES


def _import(api, body, *, dry_run=False):
    if isinstance(body, str):
        response = api.post(f"{URL}?dry_run={str(dry_run).lower()}", body, content_type="application/yaml")
    else:
        response = api.post(f"{URL}?dry_run={str(dry_run).lower()}", body)
    assert response.status_code == 200, response.content
    return response.json()


def _zip(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _entities(service):
    """What the catalog holds for a service: {event type: (topics, subject, correlation location)}
    and its declared flows."""
    flows = DeclaredFlow.objects.filter(service__name=service).select_related("event_type")
    types = {flow.event_type for flow in flows}
    return (
        {
            t.name: (sorted(x.name for x in t.topics.all()), t.subject, t.correlation_id_location)
            for t in sorted(types, key=lambda t: t.name)
        },
        sorted((flow.role, flow.event_type.name) for flow in flows),
    )


def _stripped(node):
    if isinstance(node, dict):
        return {k: _stripped(v) for k, v in node.items() if not k.startswith("x-eventline-")}
    if isinstance(node, list):
        return [_stripped(v) for v in node]
    return node


def _export(api, service):
    response = api.get(f"/api/v1/catalog/services/{service}/asyncapi")
    assert response.status_code == 200, response.content
    return response.json()


def test_templated_addresses_map_to_dotted_topics_with_the_parameter_as_key(api, db):
    plan = _import(api, LAMPS_V3)
    assert plan["skipped"] == 0 and plan["warnings"] == []
    assert {t["channel"]: (t["name"], t["parameters"], t["action"]) for t in plan["topics"]} == {
        "lumens": ("town.lamps.1.0.event.lighting.measured", {"lampId": "key"}, "create"),
        "switchOn": ("town.lamps.1.0.action.turn.on", {"lampId": "key"}, "create"),
    }
    assert _entities("lamp-controller") == (
        {
            "LumensMeasured": (
                ["town.lamps.1.0.event.lighting.measured"],
                "town.lamps.1.0.event.lighting.measured-LumensMeasured",
                "$message.header#/requestId",
            ),
            "SwitchOn": (["town.lamps.1.0.action.turn.on"], "town.lamps.1.0.action.turn.on-SwitchOn", ""),
        },
        [("consumer", "SwitchOn"), ("producer", "LumensMeasured")],
    )
    lumens = EventType.objects.get(name="LumensMeasured")
    assert lumens.summary == "How bright one lamp is now." and [t.name for t in lumens.tags.all()] == ["telemetry"]
    assert lumens.example == {"lumens": 3, "sentAt": "2024-05-01T10:00:00Z"}
    assert lumens.owner_team.name == "Lighting Team"


def test_asyncapi_2_6_path_addresses_avro_and_one_of(api, db):
    from schemas.validation import resolve_subject

    plan = _import(api, ACCOUNTS_V26)
    assert {t["channel"]: (t["name"], t["parameters"]) for t in plan["topics"]} == {
        "user/signedup": ("user.signedup", {}),
        "user/{userId}/closed": ("user.closed", {"userId": "key"}),
    }
    assert {s["subject"]: s["schema_type"] for s in plan["subjects"]} == {
        "user.signedup-UserSignedUp": "AVRO",
        "user.closed-AccountClosed": "JSON",
        "user.closed-AccountPurged": "JSON",
    }
    assert _entities("account-events") == (
        {
            "AccountClosed": (["user.closed"], "user.closed-AccountClosed", ""),
            "AccountPurged": (["user.closed"], "user.closed-AccountPurged", ""),
            "UserSignedUp": (["user.signedup"], "user.signedup-UserSignedUp", "$message.payload#/signupId"),
        },
        [("consumer", "AccountClosed"), ("consumer", "AccountPurged"), ("producer", "UserSignedUp")],
    )
    from schemas.selectors import loaded_schema

    assert loaded_schema(resolve_subject("user.signedup-UserSignedUp").schema_id).schema_type == "AVRO"


def test_request_reply_root_address_and_every_payload_format(api, db):
    plan = _import(api, QUOTES_V3)
    assert {t["channel"]: (t["name"], t["rule"], t["parameters"]) for t in plan["topics"]} == {
        "root": ("root", "channel key", {}),
        "quoteReplies": ("quoteReplies", "channel key", {}),
        "prices": ("prices", "address", {"currency": "key", "venue": "header:venue"}),
    }
    flags = {e["name"]: e["flags"] for e in plan["event_types"]}
    assert flags["PricePosted"] == [
        "schema format 'application/raml+yaml;version=1.0' is not one the registry knows; imported without a schema"
    ]
    assert flags["QuoteGiven"] == (
        [] if PROTOBUF_REGISTERS else ["the registry does not parse PROTOBUF schemas yet; imported without a schema"]
    )
    protobuf_subject = "quoteReplies-QuoteGiven" if PROTOBUF_REGISTERS else ""
    assert _entities("quote-desk") == (
        {
            "PricePosted": (["prices"], "", ""),
            "QuoteGiven": (["quoteReplies"], protobuf_subject, "$message.payload#/reqid"),
            "QuoteRequested": (["root"], "root-QuoteRequested", "$message.payload#/reqid"),
            "Ticker": (["prices"], "prices-Ticker", ""),
        },
        # the requester sends the request and receives the reply
        [
            ("consumer", "PricePosted"),
            ("consumer", "QuoteGiven"),
            ("consumer", "Ticker"),
            ("producer", "QuoteRequested"),
        ],
    )
    from schemas.selectors import loaded_schema
    from schemas.validation import resolve_subject

    draft4 = loaded_schema(resolve_subject("root-QuoteRequested").schema_id).parsed
    assert draft4["$schema"] == "http://json-schema.org/draft-04/schema#"  # the format's draft, checked as such


def test_a_bundle_joins_relative_refs_and_reports_a_remote_one(api, db):
    response = api.post(f"{URL}?dry_run=false", _zip(BUNDLE_FILES), content_type="application/zip")
    assert response.status_code == 200, response.content
    plan = response.json()
    assert [w["message"] for w in plan["warnings"]] == [
        "$ref 'https://schemas.example.org/audit.json': remote reference, not followed"
    ]
    assert {e["name"]: e["flags"] for e in plan["event_types"]} == {
        "OrderPlaced": [],
        "OrderAudited": [
            "the payload's $ref 'https://schemas.example.org/audit.json': remote reference, not followed; "
            "imported without a schema"
        ],
    }
    assert _entities("order-desk") == (
        {
            "OrderAudited": (["orders.placed"], "", ""),
            "OrderPlaced": (["orders.placed"], "orders.placed-OrderPlaced", ""),
        },
        [("producer", "OrderAudited"), ("producer", "OrderPlaced")],
    )
    from catalog.schema_view import latest_schema

    schema = latest_schema("orders.placed-OrderPlaced")
    assert schema["properties"]["lines"]["items"] == {"type": "object", "properties": {"sku": {"type": "string"}}}


def test_several_files_in_one_multipart_upload_are_a_bundle(api, db):
    from django.core.files.uploadedfile import SimpleUploadedFile

    # a browser sends base names only: each field is named by the file's path in the bundle
    data = {name: SimpleUploadedFile(name.rsplit("/", 1)[-1], text.encode()) for name, text in BUNDLE_FILES.items()}
    response = api.client.post(f"{URL}?dry_run=true", data, format="multipart")
    assert response.status_code == 200, response.content
    assert {e["name"]: e["action"] for e in response.json()["event_types"]} == {
        "OrderPlaced": "create",
        "OrderAudited": "create",
    }


def test_the_dry_run_lets_a_channel_go_to_an_existing_topic_and_skips_one_pointed_nowhere(api, db):
    from broker.services.topics import topic_create

    topic_create(name="lamps.lumens", partitions=3)
    document = yaml.safe_load(LAMPS_V3)
    plan = _import(api, {"document": document, "topics": {"lumens": "lamps.lumens", "switchOn": "no.such.topic"}})
    topics = {t["channel"]: (t["name"], t["action"], t.get("reason", "")) for t in plan["topics"]}
    assert topics["lumens"] == ("lamps.lumens", "unchanged", "")
    assert topics["switchOn"][1] == "skipped" and "no topic named 'no.such.topic'" in topics["switchOn"][2]
    assert {e["name"]: e["action"] for e in plan["event_types"]} == {"LumensMeasured": "create", "SwitchOn": "skipped"}
    assert {f["event_type"]: f["action"] for f in plan["flows"]} == {"LumensMeasured": "create", "SwitchOn": "skipped"}
    assert plan["skipped"] == 3 and plan["applied"] is True
    assert [t.name for t in EventType.objects.get(name="LumensMeasured").topics.all()] == ["lamps.lumens"]
    assert not EventType.objects.filter(name="SwitchOn").exists()
    assert not Topic.objects.filter(name__startswith="town.").exists()


def test_importing_twice_changes_nothing_the_second_time(api, db):
    _import(api, LAMPS_V3)
    again = _import(api, LAMPS_V3, dry_run=True)
    assert again["service"]["action"] == "unchanged"
    assert {item["action"] for key in ("topics", "event_types", "subjects", "flows") for item in again[key]} == {
        "unchanged"
    }


@pytest.mark.parametrize(
    ("service", "document", "loader"),
    [
        ("lamp-controller", LAMPS_V3, yaml.safe_load),
        ("account-events", ACCOUNTS_V26, yaml.safe_load),
        ("quote-desk", QUOTES_V3, copy.deepcopy),
    ],
)
def test_an_import_then_an_export_is_the_same_document_up_to_eventlines_additions(api, db, service, document, loader):
    _import(api, document)
    exported = _export(api, service)
    assert _stripped(exported) == loader(document)
    messages = exported["components"]["messages"]
    assert all(m.get("x-eventline-lifecycle") == "draft" for m in messages.values())
    assert all("x-eventline-topic" in channel for channel in exported["channels"].values())
    # and the export imports again as nothing new
    again = _import(api, json.loads(json.dumps(exported)), dry_run=True)
    assert again["service"]["action"] == "unchanged"
    assert {e["action"] for e in again["event_types"]} == {"unchanged"}


def test_a_bundle_round_trips_as_one_document_with_its_files_joined(api, db):
    api.post(f"{URL}?dry_run=false", _zip(BUNDLE_FILES), content_type="application/zip")
    exported = _stripped(_export(api, "order-desk"))
    placed = exported["channels"]["placed"]["messages"]["orderPlaced"]
    assert placed["payload"]["required"] == ["orderId"]  # the schema file, joined in
    assert exported["channels"]["placed"]["messages"]["orderAudited"]["payload"] == {
        "$ref": "https://schemas.example.org/audit.json"  # remote: kept as published
    }


def test_the_export_carries_catalog_and_registry_changes_made_after_the_import(api, db):
    from catalog.services import event_type_update
    from core.services import SYSTEM_ACTOR
    from schemas.services import schema_version_register

    _import(api, LAMPS_V3)
    switch = EventType.objects.get(name="SwitchOn")
    event_type_update(principal=SYSTEM_ACTOR, event_type=switch, data={"summary": "Switch a lamp on now."})
    schema_version_register(
        subject=switch.subject,
        schema=json.dumps(
            {"type": "object", "properties": {"at": {"type": "string", "format": "date-time", "description": "when"}}}
        ),
        schema_type="JSON",
    )
    message = _export(api, "lamp-controller")["components"]["messages"]["switchCommand"]
    assert message["summary"] == "Switch a lamp on now."
    assert message["payload"]["properties"]["at"]["description"] == "when"
    assert ServiceProfile.objects.get(service__name="lamp-controller").asyncapi["version"] == "3.0.0"


def test_the_tracer_reads_the_correlation_id_where_the_document_says(api, db):
    from broker.correlation import correlation_locations_forget

    _import(api, QUOTES_V3)
    _import(api, LAMPS_V3)
    correlation_locations_forget()
    sent = api.post(
        "/api/v1/topics/root/events",
        {"type": "QuoteRequested", "source": "desk", "data": {"reqid": "rq-7", "amount": 3}},
        content_type="application/cloudevents+json",
    )
    assert sent.status_code in (200, 201), sent.content
    lumens = api.post(
        "/api/v1/topics/town.lamps.1.0.event.lighting.measured/events",
        {"type": "LumensMeasured", "source": "lamp", "requestid": "r-9", "data": {"lumens": 4}},
        content_type="application/cloudevents+json",
    )
    assert lumens.status_code in (200, 201), lumens.content
    assert Event.objects.get(type="QuoteRequested").correlation_id == "rq-7"
    assert Event.objects.get(type="LumensMeasured").correlation_id == "r-9"
    trace = api.get("/api/v1/traces/rq-7")
    assert trace.status_code == 200, trace.content
