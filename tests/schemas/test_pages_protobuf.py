"""Registry and catalog pages with a Protobuf subject (issue 15): the field table read from the
compiled descriptor (type as written in .proto, number, oneof, proto2 defaults and `required`,
nested messages indented, paths in JSON names as events carry them), the .proto text in its own
tab and as the candidate form's starting point, not a JSON-quoted string."""

from __future__ import annotations

import pytest

from schemas.services import schema_version_register

pytestmark = pytest.mark.django_db

ORDER = """
syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";

message Order {
  int64 order_id = 1;
  google.protobuf.Timestamp placed_at = 2;
  Status status = 3;
  repeated Line lines = 4;
  map<string, string> labels = 5;
  oneof payment {
    string card_token = 6;
    string voucher = 7;
  }
  optional string note = 8;
  Order replaces = 9;
  enum Status { NEW = 0; PAID = 1; }
  message Line { string sku = 1; int32 quantity = 2; }
}
"""

LEGACY = """
syntax = "proto2";
message Payment {
  required string payment_id = 1;
  optional int32 attempts = 2 [default = 3];
  optional Kind kind = 3 [default = CARD];
  enum Kind { CARD = 1; BANK = 2; }
}
"""


def register(subject: str, text: str) -> None:
    schema_version_register(subject=subject, schema=text, schema_type="PROTOBUF")


@pytest.fixture
def browser(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader", password="pw-reader-123"))
    return client


def test_the_subject_page_lists_protobuf_fields_as_written_in_proto(browser):
    register("orders-value", ORDER)

    response = browser.get("/schemas/orders-value/")

    assert response.status_code == 200
    rows = {row.path: row for row in response.context["fields"]}
    assert list(rows) == [
        "/orderId", "/placedAt", "/status", "/lines", "/lines/sku", "/lines/quantity",
        "/labels", "/cardToken", "/voucher", "/note", "/replaces",
    ]  # fmt: skip
    assert (rows["/orderId"].name, rows["/orderId"].type) == ("order_id", "int64")
    assert rows["/orderId"].constraints == "#1, json: orderId"
    assert rows["/placedAt"].type == "google.protobuf.Timestamp"  # a well-known type is named, not expanded
    assert rows["/status"].type == "Status {NEW, PAID}"
    assert rows["/lines"].type == "repeated Line" and rows["/lines/sku"].depth == 1
    assert rows["/labels"].type == "map<string, string>"
    assert rows["/cardToken"].constraints == "#6, oneof payment, json: cardToken"
    assert rows["/note"].constraints == "#8"  # proto3 `optional` is not a oneof people wrote
    assert rows["/replaces"].type == "Order" and "/replaces/orderId" not in rows  # recursion listed once
    assert not any(row.required for row in rows.values())  # proto3 has no required fields
    content = response.content.decode()
    assert ">.proto</button>" in content
    assert "message Order {" in content and "\\n" not in response.context["schema_pretty"]


def test_proto2_required_fields_and_defaults_are_shown(browser):
    register("payments-value", LEGACY)

    rows = {row.path: row for row in browser.get("/schemas/payments-value/").context["fields"]}

    assert rows["/paymentId"].required and not rows["/attempts"].required
    assert rows["/attempts"].constraints == "#2, default: 3"
    assert rows["/kind"].constraints == "#3, default: CARD"


def test_the_candidate_form_starts_from_the_proto_text_and_checks_it_as_protobuf(browser, django_user_model):
    register("orders-value", ORDER)
    editor = django_user_model.objects.create_user("editor", password="pw-editor-123")
    from django.contrib.auth.models import Group

    editor.groups.add(Group.objects.get_or_create(name="editor")[0])
    browser.force_login(editor)
    page = browser.get("/schemas/orders-value/")
    candidate = page.context["schema_pretty"].replace("int64 order_id = 1;", "string order_id = 1;")

    response = browser.post("/schemas/orders-value/check/", {"schema": candidate})

    assert response.status_code == 200
    body = response.content.decode()
    assert "Incompatible at BACKWARD" in body and "FIELD_SCALAR_KIND_CHANGED" in body and "#/Order/1" in body
    assert "/order_id: must be a string" in body  # the example event, read as Protobuf's JSON mapping


def test_the_diff_names_the_protobuf_rule_that_breaks_and_where(browser):
    from schemas.services import ConfigUpdate, config_update

    register("orders-value", ORDER)
    config_update(subject="orders-value", update=ConfigUpdate(compatibility="NONE"))
    register("orders-value", ORDER.replace("int64 order_id = 1;", "string order_id = 1;"))
    config_update(subject="orders-value", update=ConfigUpdate(compatibility="BACKWARD"))

    response = browser.get("/schemas/orders-value/diff/?from=1&to=2")

    assert response.status_code == 200
    [row] = response.context["diff_rows"]
    assert (row.path, row.old_json, row.new_json) == ("#/Order/1", '"int64"', '"string"')  # one row, both ways
    assert [(v.type, v.direction, v.breaks, v.breaks_checked) for v in row.verdicts] == [
        ("FIELD_SCALAR_KIND_CHANGED", "backward", True, True),
        ("FIELD_SCALAR_KIND_CHANGED", "forward", True, False),
    ], "both directions break; BACKWARD checks only the first"
    html = response.content.decode()
    assert "breaks BACKWARD" in html and response.context["diff"].compatible_at_level is False
    assert "#/Order/1" in html and "FIELD_<wbr>SCALAR_<wbr>KIND_<wbr>CHANGED" in html
