"""Validation on produce: the topic's bound subject decides the schema; enforce refuses invalid
events with the JSON pointer of each failure and appends nothing of the batch; warn appends them
flagged and counts them; off skips the check; `dataschema` pins a version; each event records the
schema id it was checked against."""

import json

import pytest

from broker.models import Event, Topic
from schemas.services import schema_version_register

pytestmark = pytest.mark.django_db

ORDER_V1 = {
    "type": "object",
    "additionalProperties": False,
    "required": ["order_id", "total"],
    "properties": {
        "order_id": {"type": "string"},
        "total": {"type": "number", "minimum": 0},
        "customer": {
            "type": "object",
            "properties": {"email": {"type": "string", "format": "email"}},
            "required": ["email"],
        },
    },
}
ORDER_V2 = {**ORDER_V1, "properties": {**ORDER_V1["properties"], "channel": {"type": "string"}}}


def register(subject, schema):
    return schema_version_register(subject=subject, schema=json.dumps(schema), schema_type="JSON")


def test_valid_events_are_appended_with_the_schema_id_they_were_checked_against(api, make_topic):
    make_topic("orders")
    v1 = register("orders-value", ORDER_V1)
    response = api.post("/api/v1/topics/orders/events", {"data": {"order_id": "o1", "total": 3}})
    assert response.status_code == 200
    assert Event.objects.get().schema_id == v1.schema_id


def test_enforce_refuses_the_batch_listing_every_failure_with_its_pointer(api, make_topic):
    make_topic("orders")
    register("orders-value", ORDER_V1)
    batch = [
        {"data": {"order_id": "ok", "total": 1}},
        {"data": {"order_id": 7, "total": -1}},
        {"data": {"order_id": "x", "total": 1, "customer": {}}},
        {"data": {"order_id": "y", "total": 1, "extra": True}},
    ]
    response = api.post("/api/v1/topics/orders/events", batch)
    assert response.status_code == 422
    errors = response.json()["error"]["details"]["errors"]
    assert {(e["index"], e["pointer"]) for e in errors} == {
        (1, "/data/order_id"),
        (1, "/data/total"),
        (2, "/data/customer"),
        (3, "/data"),
    }
    assert all(e["field"] == "data" and "orders-value version 1" in e["reason"] for e in errors)
    assert Event.objects.count() == 0


def test_the_latest_version_applies_unless_dataschema_pins_one(api, make_topic):
    make_topic("orders")
    v1 = register("orders-value", ORDER_V1)
    v2 = register("orders-value", ORDER_V2)
    with_channel = {"order_id": "o", "total": 1, "channel": "web"}
    assert api.post("/api/v1/topics/orders/events", {"data": with_channel}).status_code == 200
    assert Event.objects.get().schema_id == v2.schema_id
    pinned = api.post(
        "/api/v1/topics/orders/events",
        {"data": with_channel, "dataschema": "http://127.0.0.1:8000/registry/subjects/orders-value/versions/1"},
    )
    assert pinned.status_code == 422
    by_id = api.post(
        "/api/v1/topics/orders/events",
        {"id": "p", "data": {"order_id": "o", "total": 1}, "dataschema": f"/registry/schemas/ids/{v1.schema_id}"},
    )
    assert by_id.status_code == 200
    assert Event.objects.get(event_id="p").schema_id == v1.schema_id
    missing = api.post(
        "/api/v1/topics/orders/events",
        {"data": with_channel, "dataschema": "/registry/subjects/orders-value/versions/9"},
    )
    assert missing.status_code == 422 and missing.json()["error"]["details"]["errors"][0]["field"] == "dataschema"


def test_record_strategy_picks_a_subject_per_event_type(api, make_topic):
    make_topic("orders")
    api.patch("/api/v1/topics/orders", {"config": {"value.subject.name.strategy": "TopicRecordNameStrategy"}})
    register("orders-OrderPlaced", ORDER_V1)
    assert api.post("/api/v1/topics/orders/events", {"type": "OrderPlaced", "data": {"total": 1}}).status_code == 422
    # No subject for this type: nothing to validate against, so it is appended.
    assert api.post("/api/v1/topics/orders/events", {"type": "Unregistered", "data": {"total": 1}}).status_code == 200


def test_warn_appends_invalid_events_flagged_and_counts_them(api, make_topic):
    make_topic("orders")
    api.patch("/api/v1/topics/orders", {"config": {"validation.mode": "warn"}})
    register("orders-value", ORDER_V1)
    response = api.post(
        "/api/v1/topics/orders/events", [{"data": {"order_id": 1, "total": 1}}, {"data": {"order_id": "a", "total": 1}}]
    )
    assert response.status_code == 200
    events = api.get("/api/v1/topics/orders/partitions/0/events").json()["events"]
    assert events[0]["schema_errors"] == [
        {"pointer": "/data/order_id", "reason": events[0]["schema_errors"][0]["reason"]}
    ]
    assert "schema_errors" not in events[1]
    assert Topic.objects.get(name="orders").validation_failures == 1


def test_off_skips_the_check(api, make_topic):
    make_topic("orders")
    api.patch("/api/v1/topics/orders", {"config": {"validation.mode": "off"}})
    register("orders-value", ORDER_V1)
    assert api.post("/api/v1/topics/orders/events", {"data": "anything"}).status_code == 200
    assert Event.objects.get().schema_id is None


def test_a_new_version_registered_elsewhere_is_seen_by_the_next_produce(api, make_topic):
    make_topic("orders")
    register("orders-value", ORDER_V1)
    assert (
        api.post("/api/v1/topics/orders/events", {"data": {"order_id": "o", "total": 1, "channel": "web"}}).status_code
        == 422
    )
    register("orders-value", ORDER_V2)
    assert (
        api.post("/api/v1/topics/orders/events", {"data": {"order_id": "o", "total": 1, "channel": "web"}}).status_code
        == 200
    )


def test_bad_topic_validation_settings_are_422(api, make_topic):
    make_topic("orders")
    response = api.patch(
        "/api/v1/topics/orders", {"config": {"validation.mode": "strict", "value.subject.name.strategy": "Guess"}}
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["error"]["details"]["errors"]} == {
        "config.validation.mode",
        "config.value.subject.name.strategy",
    }


@pytest.mark.django_db(transaction=True)
def test_a_registration_this_process_has_not_seen_still_decides_the_next_append(api, make_topic):
    """Produce answers from the process's registry cache without reading the registry first; the
    append's own transaction checks the registry has not moved since. Here the cache still says
    the subject has no schema, as in a process that has not looked since another one registered
    it: the invalid event must be refused, and the valid one checked against the new schema."""
    from schemas.cache import registry_cache

    make_topic("orders")
    assert api.post("/api/v1/topics/orders/events", {"data": {"order_id": 7}}).status_code == 200
    stale_state, stale_subjects = registry_cache.known_state(), dict(registry_cache.subjects)
    assert stale_subjects[("orders-value", None)] is None
    v1 = register("orders-value", ORDER_V1)
    registry_cache.observe(*stale_state)  # forget the registration, as another process would not know it
    registry_cache.subjects.update(stale_subjects)

    refused = api.post("/api/v1/topics/orders/events", {"data": {"order_id": 7}})
    assert refused.status_code == 422, refused.content
    assert {error["pointer"] for error in refused.json()["error"]["details"]["errors"]} >= {"/data/order_id"}
    assert Event.objects.count() == 1, "nothing of the refused event was appended"

    registry_cache.observe(*stale_state)
    registry_cache.subjects.update(stale_subjects)
    accepted = api.post("/api/v1/topics/orders/events", {"data": {"order_id": "o2", "total": 1}})
    assert accepted.status_code == 200
    assert Event.objects.get(offset=1).schema_id == v1.schema_id


def test_a_registry_that_keeps_moving_fails_the_produce_with_503_and_appends_nothing(api, make_topic, monkeypatch):
    from broker.services import produce
    from core.db import Expectation

    make_topic("orders")
    register("orders-value", ORDER_V1)
    attempts = []

    def never_holds(state):
        attempts.append(state)
        return Expectation("1 = 0", [], "the schema registry changed")

    monkeypatch.setattr(produce, "registry_guard", never_holds)
    response = api.post("/api/v1/topics/orders/events", {"data": {"order_id": "o1", "total": 1}})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "registry_busy"
    assert len(attempts) == produce.REGISTRY_ATTEMPTS
    assert Event.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_registration_waits_for_an_append_that_already_checked_the_registry(api, make_topic, monkeypatch):
    """The append checked the registry inside its transaction; a registration arriving before it
    commits waits for it (PostgreSQL: the check share-locks the registry's state row; SQLite: the
    append holds the write lock), so the event is never stored after a schema that refuses it."""
    import threading

    from django.db import connection

    from broker.log import sql

    make_topic("orders")
    assert api.post("/api/v1/topics/orders/events", {"data": {"order_id": "warm"}}).status_code == 200
    in_append, release = threading.Event(), threading.Event()
    # The insert runs after the registry check (40 rows: not one statement on PostgreSQL).
    insert_name = "_insert_sqlite_values" if connection.vendor == "sqlite" else "_insert_rows"
    insert_rows = getattr(sql, insert_name)

    def paused(cursor, rows):
        in_append.set()
        assert release.wait(10)
        insert_rows(cursor, rows)

    monkeypatch.setattr(sql, insert_name, paused)
    produced, registered = {}, {}
    batch = [{"data": {"order_id": 7}}] * 40  # invalid under ORDER_V1

    def in_thread(work):
        def run():
            try:
                work()
            finally:
                connection.close()

        return threading.Thread(target=run)

    producer = in_thread(lambda: produced.update(r=api.post("/api/v1/topics/orders/events", batch)))
    producer.start()
    assert in_append.wait(10)
    registrar = in_thread(lambda: registered.update(v=register("orders-value", ORDER_V1)))
    registrar.start()
    registrar.join(0.5)
    assert registrar.is_alive(), "the registration did not wait for the append in flight"
    release.set()
    producer.join(10)
    registrar.join(10)
    assert produced["r"].status_code == 200
    assert registered["v"].version == 1
    assert Event.objects.filter(offset__gte=1).count() == 40
    assert set(Event.objects.filter(offset__gte=1).values_list("schema_id", flat=True)) == {None}


TREE = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "value": {"type": "integer"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
        }
    },
    "$ref": "#/$defs/node",
}


def tree(levels):
    node = {"value": 0}
    for _ in range(levels):
        node = {"value": 1, "children": [node]}
    return node


def test_a_tree_deeper_than_the_depth_limit_against_a_recursive_schema_is_refused_at_parse(api, make_topic, settings):
    """A 300-deep tree used to reach the validator and the encoder and end in a server error."""
    make_topic("orders")
    register("orders-value", TREE)
    response = api.post("/api/v1/topics/orders/events", json.dumps({"data": tree(300)}))  # past orjson's 254
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_deep"
    within = (settings.EVENTLINE["MAX_JSON_DEPTH"] - 2) // 2  # each node is an object and a list
    assert api.post("/api/v1/topics/orders/events", {"data": tree(within)}).status_code == 200
    bad = tree(within)
    bad["children"][0]["value"] = "x"
    refused = api.post("/api/v1/topics/orders/events", {"data": bad})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "events_refused"
    assert Event.objects.count() == 1
