"""Registry pages with an Avro subject (issue 15): the field table from the node model (name,
type, default, doc), the diff between versions with Avro's rules, the live check and register
form reading the candidate as Avro, and the catalog's event type page showing the same table."""

from __future__ import annotations

import json

import pytest

from schemas import selectors
from schemas.services import schema_version_register

pytestmark = pytest.mark.django_db

ADDRESS = {"type": "record", "name": "Address", "fields": [{"name": "city", "type": "string", "doc": "Town"}]}
V1 = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "doc": "An order",
    "fields": [
        {"name": "id", "type": "long", "doc": "The order number"},
        {"name": "placed_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}, "default": "NEW"},
        {"name": "ship_to", "type": ["null", ADDRESS], "default": None},
    ],
}
V2 = {**V1, "fields": [*V1["fields"], {"name": "note", "type": ["null", "string"], "default": None, "doc": "Free text"}]}
NARROWED = {**V1, "fields": [{"name": "id", "type": "int"}, *V1["fields"][1:]]}


def register(subject: str, schema) -> None:
    schema_version_register(subject=subject, schema=json.dumps(schema), schema_type="AVRO")


@pytest.fixture
def browser(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader", password="pw-reader-123"))
    return client


def test_the_subject_page_lists_avro_fields_with_type_default_and_doc(browser):
    register("orders-value", V1)

    response = browser.get("/schemas/orders-value/")

    assert response.status_code == 200
    rows = {row.path: row for row in response.context["fields"]}
    assert list(rows) == ["/id", "/placed_at", "/status", "/ship_to", "/ship_to/city"]
    assert (rows["/id"].type, rows["/id"].required, rows["/id"].description) == ("long", True, "The order number")
    assert rows["/placed_at"].type == "long (timestamp-millis)"
    assert rows["/status"].type == "enum Status {NEW, PAID}" and rows["/status"].constraints == 'default: "NEW"'
    assert rows["/ship_to"].type == "null | record shop.Address" and not rows["/ship_to"].required
    assert rows["/ship_to/city"].depth == 1 and rows["/ship_to/city"].description == "Town"
    content = response.content.decode()
    assert "The order number" in content and "default: &quot;NEW&quot;" in content


def test_a_recursive_avro_type_is_listed_once(browser):
    register("list-value", {"type": "record", "name": "Node", "fields": [
        {"name": "value", "type": "int"}, {"name": "next", "type": ["null", "Node"], "default": None}]})

    rows = browser.get("/schemas/list-value/").context["fields"]

    assert [row.path for row in rows] == ["/value", "/next"]


def test_the_diff_between_avro_versions_shows_avros_verdicts(browser):
    register("orders-value", V1)
    register("orders-value", V2)

    response = browser.get("/schemas/orders-value/diff/?from=1&to=2")

    assert response.status_code == 200
    assert response.context["diff_rows"] == []  # an optional field with a default: nothing breaks either way
    assert response.context["diff"].compatible_at_level


def test_the_diff_names_the_avro_rule_that_breaks(browser):
    register("orders-value", V1)
    from schemas.services import ConfigUpdate, config_update

    config_update(subject="orders-value", update=ConfigUpdate(compatibility="NONE"))
    register("orders-value", NARROWED)

    rows = browser.get("/schemas/orders-value/diff/?from=1&to=2").context["diff_rows"]

    [row] = rows
    assert row.path == "/fields/0/type"
    assert [(v.type, v.direction, v.breaks) for v in row.verdicts] == [("TYPE_MISMATCH", "backward", True)]


def test_the_live_check_reads_the_candidate_as_avro(browser):
    register("orders-value", V1)

    refused = browser.post("/schemas/orders-value/check/", {"schema": json.dumps(NARROWED)})
    accepted = browser.post("/schemas/orders-value/check/", {"schema": json.dumps(V2)})

    assert refused.status_code == 200
    assert refused.context["result"].is_compatible is False
    assert [d.type.value for d in refused.context["breaking"]] == ["TYPE_MISMATCH"]
    assert "Incompatible at BACKWARD" in refused.content.decode()
    assert accepted.context["result"].is_compatible is True


def test_an_editor_registers_an_avro_version_from_the_page(as_role):
    register("orders-value", V1)
    editor = as_role("editor")

    response = editor.post("/schemas/orders-value/register/", {"schema": json.dumps(V2)})
    refused = editor.post("/schemas/orders-value/register/", {"schema": json.dumps(NARROWED)})

    assert response.status_code == 204, response.content
    assert [row.version for row in selectors.all_versions("orders-value")] == [1, 2]
    assert selectors.loaded_schema(selectors.all_versions("orders-value")[-1].schema_id).schema_type == "AVRO"
    assert refused.status_code == 409 and "TYPE_MISMATCH" in refused.content.decode()
