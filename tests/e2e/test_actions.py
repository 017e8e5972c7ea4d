"""In real Chromium, as an editor: create a topic, grow it and delete it by typing its name;
produce a test event that the bound schema first refuses, then accepts; register a new version
after the live check showed what breaks, change the compatibility level and soft-delete a version;
remove a group's members from the reset wizard, reset it, and delete it. A viewer sees none of it."""

import json

import pytest

from broker.models import Event, GroupMember, GroupPartition, Topic
from core.auth import Principal
from schemas import selectors as registry
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OPERATOR = Principal(scopes=frozenset({"admin"}), username="e2e-setup")
ORDER_SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "integer"}, "note": {"type": "string"}},
    "required": ["order_id"],
    "additionalProperties": False,  # closed: adding an optional property is then backward compatible
}


def _register(subject: str, schema: dict) -> None:
    from schemas.services import schema_version_register

    schema_version_register(subject=subject, schema=json.dumps(schema), schema_type="JSON")


def test_an_editor_creates_grows_and_deletes_a_topic_and_a_viewer_sees_no_actions(login, demo):
    page = login("editor")
    page.goto(f"{demo.url}/topics/")
    page.click("#topic-new-link")
    page.fill("#t-name", "e2e-payments")
    page.fill("#t-partitions", "0")
    page.click("#topic-new button[type=submit]")
    assert "partitions" in page.locator("#topic-errors").inner_text()
    page.fill("#t-partitions", "2")
    page.click("#topic-new button[type=submit]")
    page.wait_for_url("**/topics/e2e-payments/")
    page.fill("#s-partitions", "1")
    page.click("#topic-settings button[type=submit]")
    assert "cannot shrink" in page.locator("#settings-errors").inner_text()
    page.fill("#s-partitions", "4")
    page.click("#topic-settings button[type=submit]")
    page.wait_for_selector("#settings-saved")
    assert Topic.objects.get(name="e2e-payments").partition_count == 4
    screenshot(page, "topic-actions")
    page.fill("#d-confirm", "e2e-payment")
    page.click("#topic-delete button[type=submit]")
    page.wait_for_selector("#delete-error")
    page.fill("#d-confirm", "e2e-payments")
    page.click("#topic-delete button[type=submit]")
    page.wait_for_url(f"{demo.url}/topics/")
    assert not Topic.objects.filter(name="e2e-payments").exists()
    viewer = login("viewer")
    viewer.goto(f"{demo.url}/topics/")
    assert viewer.locator("#topic-new-link").count() == 0


def test_an_editor_produces_a_test_event_the_schema_first_refuses(login, demo):
    from broker.services.topics import topic_create

    topic_create(name="e2e-orders", partitions=1, actor=OPERATOR)
    _register("e2e-orders-value", ORDER_SCHEMA)
    page = login("editor")
    page.goto(f"{demo.url}/topics/e2e-orders/")
    page.wait_for_selector("#p-data")
    assert '"order_id": 0' in page.input_value("#p-data"), "pre-filled from the bound schema"
    page.fill("#p-data", '{"order_id": "seven"}')
    page.click("#topic-produce button[type=submit]")
    assert "/data/order_id" in page.locator("#produce-errors").inner_text()
    assert not Event.objects.filter(topic__name="e2e-orders").exists()
    page.fill("#p-data", '{"order_id": 7}')
    page.fill("#p-key", "order-7")
    page.fill("#p-headers", "origin=e2e")
    page.fill("#p-corr", "corr-e2e-7")
    page.click("#topic-produce button[type=submit]")
    page.wait_for_selector("#produce-sent")
    screenshot(page, "topic-produce")
    event = Event.objects.get(topic__name="e2e-orders")
    assert (event.key, event.correlation_id) == ("order-7", "corr-e2e-7")


def test_an_editor_registers_after_the_live_check_changes_the_level_and_soft_deletes(login, demo):
    _register("e2e-invoices-value", ORDER_SCHEMA)
    page = login("editor")
    page.goto(f"{demo.url}/schemas/e2e-invoices-value/")
    breaking = {**ORDER_SCHEMA, "properties": {**ORDER_SCHEMA["properties"], "order_id": {"type": "string"}}}
    page.fill("#candidate-schema", json.dumps(breaking, indent=2))
    page.wait_for_selector("#check-incompatible")  # checked as typed, nothing clicked
    page.click("#register-version")
    page.wait_for_selector("#check-incompatible >> text=Not registered")
    assert len(registry.all_versions("e2e-invoices-value")) == 1
    extended = {**ORDER_SCHEMA, "properties": {**ORDER_SCHEMA["properties"], "channel": {"type": "string"}}}
    page.fill("#candidate-schema", json.dumps(extended, indent=2))
    page.wait_for_selector("#check-compatible")
    assert "/properties/channel" in page.locator("#check-result").text_content()  # the allowed changes, folded
    page.click("#register-version")
    page.wait_for_url("**/schemas/e2e-invoices-value/?version=2")
    page.select_option("#c-level", "FULL")
    page.click("#compatibility-form button[type=submit]")
    page.wait_for_selector("text=Compatibility of e2e-invoices-value set to FULL")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#version-soft-delete")
    page.wait_for_selector("#version-actions #version-purge")
    screenshot(page, "subject-actions")
    assert [(v.version, v.deleted) for v in registry.all_versions("e2e-invoices-value")] == [(1, False), (2, True)]


def test_an_editor_removes_members_resets_offsets_and_deletes_the_group(login, demo):
    from broker.services.groups import group_commit, group_join
    from broker.services.topics import topic_create

    topic_create(name="e2e-shipments", partitions=1, actor=OPERATOR)
    group_commit(
        group_name="e2e-group", principal=OPERATOR, offsets=[{"topic": "e2e-shipments", "partition": 0, "offset": 0}]
    )
    group_join(group_name="e2e-group", principal=OPERATOR, topics=["e2e-shipments"], client_id="e2e-consumer")
    page = login("editor")
    page.goto(f"{demo.url}/monitoring/groups/e2e-group/")
    page.wait_for_selector("#r-topic")
    page.select_option("#r-topic", "e2e-shipments")
    page.click("#reset-panel button[value='0']")
    page.click("#members-remove")
    assert "rejoin" in page.locator("#members-confirm").inner_text()
    page.click("#members-confirm-button")
    page.wait_for_selector("#members-removed")
    assert not GroupMember.objects.filter(group__name="e2e-group").exists()
    page.click("#members-back")
    page.select_option("#r-topic", "e2e-shipments")
    page.select_option("#r-to", "latest")
    page.click("#reset-panel button[value='0']")
    page.click("#reset-panel button[value='1']")
    page.wait_for_selector("#reset-panel >> text=Applied.")
    screenshot(page, "group-actions")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#group-delete button[type=submit]")
    page.wait_for_url(f"{demo.url}/monitoring/")
    assert not GroupPartition.objects.filter(group__name="e2e-group").exists()
