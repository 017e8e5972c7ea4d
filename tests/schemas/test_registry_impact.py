"""The registry names who an incompatible change would break: the verbose compatibility answer
carries `affected_consumers`, a refused registration's 409 message ends with them, and the
subject page's check lists them. Without a provider, or when it fails, the registry answers as
before."""

from __future__ import annotations

import json
import logging

import pytest
from django.conf import settings
from django.test import override_settings

from lineage.selectors import lineage_cache_clear
from tests.lineage.conftest import Estate
from tests.schemas.conftest import SR_JSON
from tests.schemas.factories import object_schema

pytestmark = pytest.mark.django_db

V1 = object_schema(order_id="string", required=("order_id",))
BREAKING = object_schema(order_id="integer", required=("order_id",))
COMPATIBLE = object_schema(order_id="string", channel="string", required=("order_id",))
OPENING = 'Schema being registered is incompatible with an earlier schema for subject "orders-OrderPlaced"'
SENTENCE = (
    'Field \'order_id\' is "integer" in the new schema but "string" in version 1, so events written with '
    "version 1 may be refused by the new schema."
)
# The example event (issue 15): accepted by version 1, refused by the breaking schema.
EXAMPLE = 'Example: {"order_id": "text"} is accepted by version 1 and refused by the new schema.'
DETAILS = (
    '{errorType:"TYPE_CHANGED", description:"A type at path \'#/properties/order_id\' is different between the '
    "new schema and the old schema'}, {oldSchemaVersion: 1}, {validateFields: 'false', compatibility: 'BACKWARD'}"
)


def body(schema):
    return {"schemaType": "JSON", "schema": json.dumps(schema)}


@pytest.fixture(autouse=True)
def _fresh_lineage_cache():
    lineage_cache_clear()
    yield
    lineage_cache_clear()


@pytest.fixture
def order_flow(order_estate, registry):
    """The estate below with JSON Schema V1 registered as orders-OrderPlaced v1."""
    assert registry.register("orders-OrderPlaced", V1).status_code == 200
    return order_estate


@pytest.fixture
def order_estate(db, make_topic):
    """OrderPlaced (subject orders-OrderPlaced, nothing registered yet) with inventory (declared
    and seen), analytics (seen, undeclared) and, downstream of inventory, payments."""
    estate = Estate(make_topic)
    (
        estate.service("orders", team="Checkout Team")
        .service("inventory", team="Warehouse Team")
        .service("payments", team="Payments Team")
        .service("analytics", team="Data Team")
        .event_type("OrderPlaced", topic="orders", subject="orders-OrderPlaced")
        .event_type("StockReserved", topic="inventory")
        .declares("orders", "producer", "OrderPlaced")
        .declares("inventory", "consumer", "OrderPlaced")
        .declares("inventory", "producer", "StockReserved")
        .declares("payments", "consumer", "StockReserved")
        .produced("orders", "OrderPlaced", "orders")
        .consumed("inventory-service", "orders", "inventory")
        .consumed("analytics-service", "orders", "analytics")
    )
    return estate


def test_verbose_compatibility_names_who_would_break_apart_from_who_is_downstream(registry, order_flow):
    response = registry.post("/compatibility/subjects/orders-OrderPlaced/versions/latest?verbose=true", body(BREAKING))
    assert response.status_code == 200
    answer = response.json()
    assert answer["is_compatible"] is False and answer["messages"]
    assert [
        (a["breaks"], a["service"], a["owner_team"], a["event_type"], a["flow"], a["produces"])
        for a in answer["affected_consumers"]
    ] == [
        (True, "analytics", "Data Team", "OrderPlaced", "observed", []),
        (True, "inventory", "Warehouse Team", "OrderPlaced", "both", ["StockReserved"]),
    ]
    downstream = answer["downstream_consumers"]
    assert [(a["breaks"], a["depth"], a["service"], a["event_type"], a["via"]) for a in downstream] == [
        (False, 2, "payments", "StockReserved", ["inventory"])
    ]


def test_a_reader_of_the_event_type_on_another_topic_would_not_break(registry, order_flow):
    order_flow.produced("replayer", "OrderPlaced", "orders-replay").consumed("fraud-service", "orders-replay", "fraud")
    answer = registry.post("/compatibility/subjects/orders-OrderPlaced/versions?verbose=true", body(BREAKING)).json()
    named = {a["service"] for a in answer["affected_consumers"] + answer["downstream_consumers"]}
    assert named == {"analytics", "inventory", "payments"}


def test_compatible_and_non_verbose_answers_are_unchanged(registry, order_flow):
    compatible = registry.post("/compatibility/subjects/orders-OrderPlaced/versions?verbose=true", body(COMPATIBLE))
    assert compatible.json()["is_compatible"] is True and "affected_consumers" not in compatible.json()
    plain = registry.post("/compatibility/subjects/orders-OrderPlaced/versions/latest", body(BREAKING))
    assert plain.json() == {"is_compatible": False}


def test_a_refused_registration_leads_with_what_breaks_then_who_would_break_then_the_details(registry, order_flow):
    response = registry.register("orders-OrderPlaced", BREAKING)
    assert response.status_code == 409
    assert response["Content-Type"] == SR_JSON
    error = response.json()
    assert error["error_code"] == 40901
    assert error["message"] == (
        f"{OPENING}: {SENTENCE} {EXAMPLE} Would break: analytics (Data Team), inventory (Warehouse Team). "
        f"Downstream, not counted as broken: payments (Payments Team). Details: [{DETAILS}]"
    )
    assert registry.get("/subjects/orders-OrderPlaced/versions").json() == [1], "still refused"


def test_the_409_leaves_out_the_old_schema_that_verbose_messages_keep(registry, order_flow):
    message = registry.register("orders-OrderPlaced", BREAKING).json()["message"]
    assert "{oldSchema: " not in message and "{oldSchemaVersion: 1}" in message
    verbose = registry.post("/compatibility/subjects/orders-OrderPlaced/versions?verbose=true", body(BREAKING)).json()
    assert [m.split(":")[0] for m in verbose["messages"]] == [
        "{errorType",
        "{oldSchemaVersion",
        "{oldSchema",
        "{validateFields",
    ], "Confluent's verbose list, whole and in its order"


def test_a_subject_no_one_consumes_is_refused_exactly_as_before(registry, order_flow):
    assert registry.register("lonely-value", V1).status_code == 200
    error = registry.register("lonely-value", BREAKING).json()
    assert error["message"] == (
        f'Schema being registered is incompatible with an earlier schema for subject "lonely-value": {SENTENCE} '
        f"{EXAMPLE} Details: [{DETAILS}]"
    )


def test_a_subject_is_found_by_its_topics_naming_strategy_when_no_event_type_names_it(registry, order_flow):
    order_flow.event_type("PaymentTaken", topic="payments").produced("payments", "PaymentTaken", "payments")
    order_flow.consumed("ledger", "payments", "accounting")
    assert registry.register("payments-value", V1).status_code == 200
    answer = registry.post("/compatibility/subjects/payments-value/versions?verbose=true", body(BREAKING)).json()
    assert [(a["service"], a["event_type"], a["flow"]) for a in answer["affected_consumers"]] == [
        ("accounting", "PaymentTaken", "observed")
    ]


def test_without_a_provider_the_registry_answers_as_before(registry, order_flow):
    with override_settings(EVENTLINE={**settings.EVENTLINE, "IMPACT_PROVIDER": ""}):
        answer = registry.post(
            "/compatibility/subjects/orders-OrderPlaced/versions?verbose=true", body(BREAKING)
        ).json()
        refused = registry.register("orders-OrderPlaced", BREAKING).json()
    assert answer["is_compatible"] is False and "affected_consumers" not in answer
    assert refused["message"] == f"{OPENING}: {SENTENCE} {EXAMPLE} Details: [{DETAILS}]"


def failing_provider(subject: str) -> list[dict]:
    raise RuntimeError(f"lineage is down for {subject}")


def test_a_failing_provider_is_logged_and_the_registry_answers_as_before(registry, order_flow, caplog):
    provider = f"{__name__}.failing_provider"
    with override_settings(EVENTLINE={**settings.EVENTLINE, "IMPACT_PROVIDER": provider}):
        with caplog.at_level(logging.WARNING, logger="schemas.api.views"):
            answer = registry.post(
                "/compatibility/subjects/orders-OrderPlaced/versions?verbose=true", body(BREAKING)
            ).json()
            refused = registry.register("orders-OrderPlaced", BREAKING)
    assert answer["is_compatible"] is False and "affected_consumers" not in answer
    assert (
        refused.status_code == 409
        and refused.json()["message"] == f"{OPENING}: {SENTENCE} {EXAMPLE} Details: [{DETAILS}]"
    )
    assert any("impact provider" in record.getMessage() for record in caplog.records)
    assert registry.get("/subjects/orders-OrderPlaced/versions").json() == [1], "the database is still usable"


def test_the_subject_page_check_lists_who_would_break(client, django_user_model, order_flow):
    client.force_login(django_user_model.objects.create_user("reader", password="pw-reader-123"))
    response = client.post("/schemas/orders-OrderPlaced/check/", {"schema": json.dumps(BREAKING)})
    assert response.status_code == 200
    assert [row["service"] for row in response.context["affected"]] == ["analytics", "inventory"]
    assert [row["service"] for row in response.context["downstream"]] == ["payments"]
    html = response.content.decode()
    assert 'id="affected-consumers"' in html and "Who would break" in html
    assert "Warehouse Team" in html and "StockReserved" in html
    assert 'id="downstream-consumers"' in html and "Downstream, not counted as broken" in html
    compatible = client.post("/schemas/orders-OrderPlaced/check/", {"schema": json.dumps(COMPATIBLE)})
    assert "affected" not in compatible.context and 'id="affected-consumers"' not in compatible.content.decode()


AVRO_V1 = {"type": "record", "name": "OrderPlaced", "fields": [{"name": "order_id", "type": "string"}]}
PROTO_V1 = 'syntax = "proto3";\nmessage OrderPlaced {\n  string order_id = 1;\n}\n'
# Each format's breaking change to order_id, and the rule its checker names for it.
BREAKING_BY_FORMAT = [
    pytest.param(
        "AVRO",
        json.dumps(AVRO_V1),
        json.dumps({**AVRO_V1, "fields": [{"name": "order_id", "type": "long"}]}),
        "TYPE_MISMATCH",
        id="avro",
    ),
    pytest.param(
        "PROTOBUF",
        PROTO_V1,
        PROTO_V1.replace("string order_id", "int64 order_id"),
        "FIELD_SCALAR_KIND_CHANGED",
        id="protobuf",
    ),
]


@pytest.mark.parametrize(("schema_type", "v1", "breaking", "rule"), BREAKING_BY_FORMAT)
def test_a_breaking_change_in_any_format_names_who_would_break(
    registry, order_estate, client, django_user_model, schema_type, v1, breaking, rule
):
    def typed(text):
        return {"schemaType": schema_type, "schema": text}

    assert registry.post("/subjects/orders-OrderPlaced/versions", typed(v1)).status_code == 200

    answer = registry.post("/compatibility/subjects/orders-OrderPlaced/versions?verbose=true", typed(breaking)).json()
    refused = registry.post("/subjects/orders-OrderPlaced/versions", typed(breaking))

    assert answer["is_compatible"] is False and rule in answer["messages"][0]
    assert [(a["breaks"], a["service"], a["owner_team"], a["flow"]) for a in answer["affected_consumers"]] == [
        (True, "analytics", "Data Team", "observed"),
        (True, "inventory", "Warehouse Team", "both"),
    ]
    assert [(a["service"], a["via"]) for a in answer["downstream_consumers"]] == [("payments", ["inventory"])]
    assert refused.status_code == 409 and refused.json()["error_code"] == 40901
    message = refused.json()["message"]
    assert message.startswith(OPENING) and rule in message
    assert (
        "Would break: analytics (Data Team), inventory (Warehouse Team). "
        "Downstream, not counted as broken: payments (Payments Team). Details: ["
    ) in message
    assert registry.get("/subjects/orders-OrderPlaced/versions").json() == [1], "still refused"
    client.force_login(django_user_model.objects.create_user("reader", password="pw-reader-123"))
    page = client.post("/schemas/orders-OrderPlaced/check/", {"schema": breaking})
    assert [row["service"] for row in page.context["affected"]] == ["analytics", "inventory"]
    assert [row["service"] for row in page.context["downstream"]] == ["payments"]
