"""Topic actions on the pages: create, change partitions and retention, delete with the typed
name, produce a test event checked against the bound schema. Editors act and are audited;
viewers see no action and get 403; bad input is shown inline and changes nothing."""

import json

import pytest

from broker.models import Event, Partition, Topic
from core.models import AuditEntry

pytestmark = pytest.mark.django_db

ORDER_SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "integer"}, "note": {"type": "string"}},
    "required": ["order_id"],
}


def audited(action: str, target: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, target=target))


def test_an_editor_creates_a_topic_and_the_creation_is_audited_under_their_name(as_role):
    editor = as_role("editor")
    response = editor.post("/topics/new/", {"name": "payments", "partitions": "4", "retention": "1 h"})
    assert response.status_code == 302 and response["Location"] == "/topics/payments/"
    topic = Topic.objects.get(name="payments")
    assert (topic.partition_count, topic.retention_ms) == (4, 3_600_000)
    [entry] = audited("topic.created", "payments")
    assert entry.actor == "editor-person" and entry.after["partitions"] == 4


def test_a_bad_topic_form_shows_every_reason_inline_and_creates_nothing(as_role):
    editor = as_role("editor")
    response = editor.post("/topics/new/", {"name": "payments", "partitions": "0", "retention": "soon"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="topic-errors"' in page and "partitions" in page
    assert not Topic.objects.filter(name="payments").exists() and not audited("topic.created", "payments")


def test_a_taken_topic_name_is_refused_inline(as_role, make_topic):
    make_topic("orders")
    response = as_role("editor").post("/topics/new/", {"name": "orders", "partitions": "1"})
    assert response.status_code == 422 and "already exists" in response.content.decode()


def test_an_editor_grows_partitions_and_changes_retention_in_one_audited_change(as_role, make_topic):
    make_topic("orders", partitions=1)
    response = as_role("editor").post("/topics/orders/settings/", {"partitions": "3", "retention": "forever"})
    assert response.status_code == 200 and 'id="settings-saved"' in response.content.decode()
    topic = Topic.objects.get(name="orders")
    assert (topic.partition_count, topic.retention_ms) == (3, -1)
    assert Partition.objects.filter(topic=topic).count() == 3
    [entry] = audited("topic.updated", "orders")
    assert entry.before["partitions"] == 1 and entry.after["partitions"] == 3


def test_shrinking_partitions_is_refused_inline_and_the_retention_beside_it_is_not_applied(as_role, make_topic):
    make_topic("orders", partitions=3)
    response = as_role("editor").post("/topics/orders/settings/", {"partitions": "2", "retention": "1 s"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="settings-errors"' in page and "cannot shrink" in page and "Nothing was changed" in page
    topic = Topic.objects.get(name="orders")
    assert topic.partition_count == 3 and topic.retention_ms != 1000
    assert not audited("topic.updated", "orders")


def test_a_topic_is_deleted_only_when_its_name_is_typed(as_role, make_topic):
    make_topic("orders")
    editor = as_role("editor")
    wrong = editor.post("/topics/orders/delete/", {"confirm": "order"})
    assert wrong.status_code == 422 and 'id="delete-error"' in wrong.content.decode()
    assert Topic.objects.filter(name="orders").exists()
    done = editor.post("/topics/orders/delete/", {"confirm": "orders"}, HTTP_HX_REQUEST="true")
    assert done.status_code == 204 and done["HX-Redirect"] == "/topics/"
    assert not Topic.objects.filter(name="orders").exists()
    assert len(audited("topic.deleted", "orders")) == 1


def test_a_viewer_sees_no_topic_actions_and_every_action_is_403(as_role, make_topic):
    make_topic("orders")
    viewer = as_role("viewer")
    assert 'id="topic-actions"' not in viewer.get("/topics/orders/").content.decode()
    assert 'id="topic-new-link"' not in viewer.get("/topics/").content.decode()
    assert viewer.get("/topics/new/").status_code == 403
    assert viewer.post("/topics/new/", {"name": "x", "partitions": "1"}).status_code == 403
    assert viewer.post("/topics/orders/settings/", {"partitions": "5"}).status_code == 403
    assert viewer.post("/topics/orders/delete/", {"confirm": "orders"}).status_code == 403
    assert viewer.post("/topics/orders/produce/", {"data": "{}"}).status_code == 403
    assert Topic.objects.get(name="orders").partition_count == 1 and not Topic.objects.filter(name="x").exists()


def test_an_editor_sees_the_actions(as_role, make_topic):
    make_topic("orders")
    editor = as_role("editor")
    assert 'id="topic-actions"' in editor.get("/topics/orders/").content.decode()
    assert 'id="topic-new-link"' in editor.get("/topics/").content.decode()


@pytest.fixture
def bound_orders(make_topic, make_api):
    make_topic("orders", partitions=2)
    registry = make_api("admin", service="registry-admin")
    answer = registry.post(
        "/registry/subjects/orders-value/versions",
        {"schemaType": "JSON", "schema": json.dumps(ORDER_SCHEMA)},
        content_type="application/vnd.schemaregistry.v1+json",
    )
    assert answer.status_code == 200, answer.content


def test_the_produce_form_is_prefilled_from_the_bound_schema(as_role, bound_orders):
    page = as_role("editor").get("/topics/orders/produce/").content.decode()
    assert "orders-value" in page and "&quot;order_id&quot;: 0" in page


def test_an_editor_produces_a_valid_event_with_key_headers_and_correlation_id(as_role, bound_orders):
    response = as_role("editor").post(
        "/topics/orders/produce/",
        {"data": '{"order_id": 7}', "key": "order-7", "headers": "origin=ui\norigin=again", "correlationid": "c-7"},
    )
    assert response.status_code == 200 and 'id="produce-sent"' in response.content.decode()
    [event] = Event.objects.filter(topic__name="orders")
    assert (event.key, event.correlation_id) == ("order-7", "c-7")
    stored = json.loads(event.payload)
    assert stored["data"] == {"order_id": 7} and [h["value"] for h in stored["headers"]] == ["ui", "again"]


def test_an_event_the_schema_refuses_is_shown_with_its_pointer_and_not_appended(as_role, bound_orders):
    response = as_role("editor").post("/topics/orders/produce/", {"data": '{"order_id": "seven"}'})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="produce-errors"' in page and "/data/order_id" in page
    assert not Event.objects.filter(topic__name="orders").exists()


def test_unparsable_data_or_a_header_without_equals_is_refused_before_anything_is_sent(as_role, bound_orders):
    editor = as_role("editor")
    bad_json = editor.post("/topics/orders/produce/", {"data": "{order"}).content.decode()
    assert "data: not JSON" in bad_json
    bad_header = editor.post(
        "/topics/orders/produce/", {"data": '{"order_id": 1}', "headers": "origin"}
    ).content.decode()
    assert "write each header as key=value" in bad_header
    assert not Event.objects.filter(topic__name="orders").exists()


def test_retention_is_entered_in_units_and_shown_back_exactly(as_role, make_topic):
    make_topic("orders", retention_ms=7 * 86_400_000)
    editor = as_role("editor")
    assert 'value="7 days"' in editor.get("/topics/orders/").content.decode()
    response = editor.post("/topics/orders/settings/", {"partitions": "1", "retention": "1 day 12 h"})
    assert response.status_code == 200 and "retention 1 day 12 h" in response.content.decode()
    assert Topic.objects.get(name="orders").retention_ms == 129_600_000
    assert 'value="1 day 12 h"' in response.content.decode()


def test_a_retention_without_a_unit_is_refused_inline_and_changes_nothing(as_role, make_topic):
    make_topic("orders", partitions=1)
    before = Topic.objects.get(name="orders").retention_ms
    response = as_role("editor").post("/topics/orders/settings/", {"partitions": "2", "retention": "7"})
    assert response.status_code == 422
    assert "needs a unit" in response.content.decode() and "config.retention.ms" not in response.content.decode()
    topic = Topic.objects.get(name="orders")
    assert (topic.partition_count, topic.retention_ms) == (1, before) and not audited("topic.updated", "orders")


def test_a_new_topic_with_a_bad_retention_lists_it_beside_the_other_reasons(as_role):
    response = as_role("editor").post("/topics/new/", {"name": "payments", "partitions": "0", "retention": "soon"})
    page = response.content.decode()
    assert response.status_code == 422 and "partitions" in page and "is not a duration" in page
    assert not Topic.objects.filter(name="payments").exists()


def test_changing_the_event_type_refills_the_example_and_keeps_what_was_typed(as_role, make_event_type):
    make_event_type("OrderPlaced", topics=["orders"], example={"order_id": 42, "total": 9.5})
    make_event_type("OrderShipped", topics=["orders"], example={"order_id": 42, "carrier": "DHL"})
    editor = as_role("editor")
    first = editor.get("/topics/orders/produce/").context["form"]
    assert first["type"] == "OrderPlaced" and json.loads(first["data"]) == {"order_id": 42, "total": 9.5}
    response = editor.get(
        "/topics/orders/produce/", {"type": "OrderShipped", "key": "order-42", "correlationid": "c-42"}
    )
    form = response.context["form"]
    assert json.loads(form["data"]) == {"order_id": 42, "carrier": "DHL"}
    assert (form["type"], form["key"], form["correlationid"]) == ("OrderShipped", "order-42", "c-42")
    assert 'hx-trigger="change"' in response.content.decode()


def test_an_explicit_access_list_links_only_services_that_exist(as_role, make_topic, api):
    from broker.services.topics import topic_update
    from core.auth import Principal
    from core.models import Service

    make_topic("orders")
    Service.objects.get_or_create(name="checkout")
    topic_update(
        name="orders",
        config={"access.policy": "explicit", "access.producers": ["checkout", "ghost"], "access.consumers": []},
        actor=Principal(scopes=frozenset({"admin"}), username="t"),
    )
    page = as_role("viewer").get("/topics/orders/").content.decode()
    assert 'href="/catalog/services/checkout/"' in page
    assert (
        'href="/catalog/services/ghost/"' not in page
        and 'ghost</span> <span class="el-muted">(no such service)' in page
    )
