"""Producing over HTTP: content modes, keys and partitions, atomic batches, idempotency, bad input."""

import base64

import pytest

from broker.models import Event, Partition
from broker.partitioner import partition_for_key
from core.jsonutil import loads

pytestmark = pytest.mark.django_db


def read_all(api, topic, partition=0):
    return api.get(f"/api/v1/topics/{topic}/partitions/{partition}/events", offset=0, limit=1000).json()["events"]


def test_minimal_event_gets_id_source_and_type_filled_in(make_api, make_topic):
    make_topic("orders")
    producer = make_api("produce:orders", "consume:orders", service="checkout")
    response = producer.post("/api/v1/topics/orders/events", {"data": {"total": 12}})
    assert response.status_code == 200
    produced = response.json()["events"][0]
    assert produced["partition"] == 0 and produced["offset"] == 0 and produced["duplicate"] is False
    event = read_all(producer, "orders")[0]
    assert event["id"] == produced["id"] and len(event["id"]) == 36
    assert event["source"] == "checkout"
    assert event["type"] == "orders"
    assert event["data"] == {"total": 12}
    assert event["topic"] == "orders" and event["offset"] == 0
    assert event["timestamp"] == produced["timestamp"]
    assert event["append_time"] >= produced["timestamp"] - 1


def test_structured_mode_keeps_attributes_extensions_and_ordered_repeated_headers(api, make_topic):
    make_topic("orders")
    event = {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "/orders",
        "type": "OrderPlaced",
        "time": "2026-01-02T03:04:05.678Z",
        "subject": "order-7",
        "datacontenttype": "application/json",
        "partitionkey": "order-7",
        "correlationid": "corr-1",
        "causationid": "cause-0",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "tenant": "acme",
        "headers": [{"key": "h", "value": "1"}, {"key": "x", "value": "y"}, {"key": "h", "value": "2"}],
        "data": {"id": 7},
    }
    response = api.post("/api/v1/topics/orders/events", event, content_type="application/cloudevents+json")
    assert response.status_code == 200
    stored = read_all(api, "orders")[0]
    assert stored["key"] == "order-7"
    assert stored["headers"] == event["headers"]
    assert stored["tenant"] == "acme" and stored["subject"] == "order-7"
    assert stored["timestamp"] == 1767323045678
    row = Event.objects.get()
    assert (row.correlation_id, row.causation_id, row.trace_id) == (
        "corr-1",
        "cause-0",
        "4bf92f3577b34da6a3ce929d0e0e4736",
    )
    assert row.producer.name == "admin-tool"
    assert row.type == "OrderPlaced" and row.schema_id is None


def test_batch_mode_answers_in_request_order(api, make_topic):
    make_topic("orders", partitions=3)
    batch = [{"id": f"e{i}", "partitionkey": f"k{i}", "data": i} for i in range(10)]
    response = api.post("/api/v1/topics/orders/events", batch, content_type="application/cloudevents-batch+json")
    assert response.status_code == 200
    results = response.json()["events"]
    assert [r["id"] for r in results] == [f"e{i}" for i in range(10)]
    for i, result in enumerate(results):
        assert result["partition"] == partition_for_key(f"k{i}".encode(), 3)


def test_binary_mode_reads_ce_headers_and_the_body_as_data(api, make_topic):
    make_topic("orders")
    response = api.post(
        "/api/v1/topics/orders/events",
        b'{"amount": 5}',
        content_type="application/json",
        HTTP_CE_SPECVERSION="1.0",
        HTTP_CE_ID="bin-1",
        HTTP_CE_SOURCE="/pay",
        HTTP_CE_TYPE="PaymentCompleted",
        HTTP_CE_PARTITIONKEY="order-1",
        HTTP_CE_CORRELATIONID="corr-9",
    )
    assert response.status_code == 200
    stored = read_all(api, "orders")[0]
    assert stored["id"] == "bin-1" and stored["type"] == "PaymentCompleted" and stored["key"] == "order-1"
    assert stored["data"] == {"amount": 5} and stored["datacontenttype"] == "application/json"
    assert Event.objects.get().correlation_id == "corr-9"


def test_binary_mode_with_opaque_bytes_stores_base64(api, make_topic):
    make_topic("blobs")
    response = api.post(
        "/api/v1/topics/blobs/events",
        b"\x00\x01\xff",
        content_type="application/octet-stream",
        HTTP_CE_SPECVERSION="1.0",
    )
    assert response.status_code == 200
    assert base64.b64decode(read_all(api, "blobs")[0]["data_base64"]) == b"\x00\x01\xff"


def test_same_key_always_lands_on_the_same_partition_in_order(api, make_topic):
    make_topic("orders", partitions=6)
    for i in range(5):
        api.post(
            "/api/v1/topics/orders/events",
            [{"partitionkey": "customer-42", "data": i}, {"partitionkey": "foobar", "data": i}],
        )
    assert partition_for_key(b"foobar", 6) == 0
    foobar = [e["data"] for e in read_all(api, "orders", 0) if e["key"] == "foobar"]
    assert foobar == [0, 1, 2, 3, 4]
    target = partition_for_key(b"customer-42", 6)
    assert [e["data"] for e in read_all(api, "orders", target) if e["key"] == "customer-42"] == [0, 1, 2, 3, 4]


def test_null_keys_spread_round_robin(api, make_topic):
    make_topic("orders", partitions=3)
    results = api.post("/api/v1/topics/orders/events", [{"data": i} for i in range(6)]).json()["events"]
    counts = {p: sum(1 for r in results if r["partition"] == p) for p in range(3)}
    assert counts == {0: 2, 1: 2, 2: 2}


def test_explicit_partition_is_honoured_over_the_key(api, make_topic):
    make_topic("orders", partitions=3)
    result = api.post("/api/v1/topics/orders/events", {"partitionkey": "foobar", "partition": 2, "data": 1}).json()
    assert result["events"][0]["partition"] == 2


def test_offsets_are_dense_per_partition(api, make_topic):
    make_topic("orders", partitions=2)
    for _ in range(3):
        api.post(
            "/api/v1/topics/orders/events",
            [{"partition": 0, "data": 1}, {"partition": 1, "data": 2}, {"partition": 0, "data": 3}],
        )
    assert [e["offset"] for e in read_all(api, "orders", 0)] == list(range(6))
    assert [e["offset"] for e in read_all(api, "orders", 1)] == list(range(3))
    assert Partition.objects.get(topic__name="orders", number=0).end_offset == 6


def test_a_batch_larger_than_one_insert_statement_is_stored_whole_and_in_order(api, make_topic):
    """Appends go in INSERTs of up to 64 rows on SQLite (1201 = 18 x 64 + 32 + 16 + 1), by COPY on PostgreSQL."""
    make_topic("orders", partitions=2)
    batch = [{"partition": i % 2, "data": i} for i in range(1201)]
    answered = api.post("/api/v1/topics/orders/events", batch).json()["events"]
    assert [(e["partition"], e["offset"]) for e in answered] == [(i % 2, i // 2) for i in range(1201)]
    stored = list(Event.objects.filter(partition=0).order_by("offset").values_list("offset", "payload"))
    assert [offset for offset, _ in stored] == list(range(601))
    assert [loads(payload)["data"] for _, payload in stored] == list(range(0, 1201, 2))
    assert all(loads(payload)["offset"] == offset for offset, payload in stored)


def test_a_batch_with_one_bad_event_appends_nothing_and_lists_every_refusal(api, make_topic):
    make_topic("orders", partitions=2)
    batch = [
        {"data": 1},
        {"partition": 5, "data": 2},
        {"time": "yesterday"},
        {"Bad_Name": 1},
        {"traceparent": "00-zz-00"},
        {"headers": [{"key": 1, "value": "x"}]},
        {"topic": "other"},
    ]
    response = api.post("/api/v1/topics/orders/events", batch)
    assert response.status_code == 422
    errors = response.json()["error"]["details"]["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [
        (1, "partition"),
        (2, "time"),
        (3, "Bad_Name"),
        (4, "traceparent"),
        (5, "headers"),
        (6, "topic"),
    ]
    assert all(e["reason"] for e in errors)
    assert Event.objects.count() == 0
    assert Partition.objects.filter(end_offset__gt=0).count() == 0


def test_repeated_source_and_id_is_not_appended_twice(api, make_topic):
    make_topic("orders", partitions=3)
    event = {"id": "order-1-placed", "source": "/orders", "partitionkey": "k", "data": {"n": 1}}
    first = api.post("/api/v1/topics/orders/events", event).json()["events"][0]
    again = api.post("/api/v1/topics/orders/events", [event, {"id": "new", "source": "/orders", "data": 2}]).json()[
        "events"
    ]
    assert again[0] == {**first, "duplicate": True}
    assert again[1]["duplicate"] is False
    assert Event.objects.count() == 2


@pytest.mark.django_db(transaction=True)  # outside a test transaction: the append's own one is exercised
def test_a_repeat_that_slips_past_the_check_is_rolled_back_and_answered_as_a_duplicate(api, make_topic, monkeypatch):
    """Two producers appending the same (source, id) at once both find no original; the identity
    index refuses the second insert, its transaction (partition bump included) rolls back, and the
    retry answers with the original's coordinates."""
    from broker.log.sql import SQLLog

    make_topic("orders", partitions=1)
    event = {"id": "e-1", "source": "s", "data": 1}
    original = api.post("/api/v1/topics/orders/events", event).json()["events"][0]
    real_existing = SQLLog._existing
    calls = []

    def misses_once(cursor, jobs):
        calls.append(1)
        return {} if len(calls) == 1 else real_existing(cursor, jobs)

    monkeypatch.setattr(SQLLog, "_existing", staticmethod(misses_once))
    again = api.post("/api/v1/topics/orders/events", event).json()["events"][0]
    assert len(calls) == 2, "the first attempt hit the identity index and was retried"
    assert again["duplicate"] is True and again["offset"] == original["offset"]
    assert Partition.objects.get(topic__name="orders", number=0).end_offset == 1, "the bump was rolled back"
    later = api.post("/api/v1/topics/orders/events", {"data": 2}).json()["events"][0]
    assert later["offset"] == 1 and Event.objects.count() == 2


def test_the_same_id_from_another_source_is_a_different_event(api, make_topic):
    make_topic("orders")
    api.post("/api/v1/topics/orders/events", {"id": "1", "source": "a"})
    result = api.post("/api/v1/topics/orders/events", {"id": "1", "source": "b"}).json()["events"][0]
    assert result["duplicate"] is False and result["offset"] == 1


def test_a_repeat_inside_one_batch_points_at_the_first(api, make_topic):
    make_topic("orders")
    results = api.post("/api/v1/topics/orders/events", [{"id": "x", "data": 1}, {"id": "x", "data": 2}]).json()[
        "events"
    ]
    assert results[1]["duplicate"] is True and results[1]["offset"] == results[0]["offset"]
    assert Event.objects.count() == 1


def test_malformed_json_is_400_and_appends_nothing(api, make_topic):
    make_topic("orders")
    response = api.post("/api/v1/topics/orders/events", b'{"data": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert Event.objects.count() == 0


def test_body_over_the_limit_is_413(api, make_topic, settings):
    make_topic("orders")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/api/v1/topics/orders/events", {"data": "x" * 2000})
    assert response.status_code == 413
    assert Event.objects.count() == 0


def test_unknown_topic_is_404_and_is_not_created(api):
    from broker.models import Topic

    response = api.post("/api/v1/topics/ghost/events", {"data": 1})
    assert response.status_code == 404
    assert not Topic.objects.filter(name="ghost").exists()


def test_a_topic_deleted_by_another_process_is_404_though_its_settings_were_cached(api, make_topic):
    from broker.models import Topic

    make_topic("orders", partitions=2)
    assert api.post("/api/v1/topics/orders/events", {"data": 1}).status_code == 200  # settings now cached
    Topic.objects.filter(name="orders").delete()  # as another process would: this one's cache still has it
    response = api.post("/api/v1/topics/orders/events", [{"data": 2}, {"data": 3, "partitionkey": "k"}])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "topic_not_found"
    assert not Event.objects.exists(), "the first event went with its topic and nothing new was appended"
    again = Topic.objects.create(name="orders", partition_count=1)  # re-created by another process
    Partition.objects.create(topic=again, number=0)
    assert api.post("/api/v1/topics/orders/events", {"data": 4}).json()["events"][0]["offset"] == 0, (
        "the 404 forgot the cached settings"
    )


def test_a_config_change_applies_to_the_next_produce(api, make_topic):
    make_topic("orders")
    assert api.post("/api/v1/topics/orders/events", {"data": "x" * 500}).status_code == 200
    assert api.patch("/api/v1/topics/orders", {"config": {"max.message.bytes": 300}}).status_code == 200
    assert api.post("/api/v1/topics/orders/events", {"data": "x" * 500}).status_code == 422


def test_event_over_max_message_bytes_is_422(api, make_topic):
    make_topic("small", max_message_bytes=300)
    response = api.post("/api/v1/topics/small/events", [{"data": "ok"}, {"data": "x" * 400}])
    assert response.status_code == 422
    error = response.json()["error"]["details"]["errors"][0]
    assert error["index"] == 1 and "max.message.bytes" in error["reason"]
    assert Event.objects.count() == 0


def test_unreadable_content_type_is_415(api, make_topic):
    make_topic("orders")
    response = api.post("/api/v1/topics/orders/events", b"hello", content_type="text/plain")
    assert response.status_code == 415


def test_empty_batch_is_422(api, make_topic):
    make_topic("orders")
    assert (
        api.post("/api/v1/topics/orders/events", [], content_type="application/cloudevents-batch+json").status_code
        == 422
    )


def test_producing_needs_a_key_and_the_produce_scope(make_api, make_topic):
    from tests.conftest import Api

    make_topic("orders")
    anonymous = Api(None).post("/api/v1/topics/orders/events", {"data": 1})
    assert anonymous.status_code == 401
    reader = make_api("consume:orders")
    refused = reader.post("/api/v1/topics/orders/events", {"data": 1})
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["required_scope"] == "produce:orders"
    prefixed = make_api("produce:ord*")
    assert prefixed.post("/api/v1/topics/orders/events", {"data": 1}).status_code == 200


def test_basic_auth_with_key_id_and_secret_works(db, make_topic):
    from rest_framework.test import APIClient

    from core.services import api_key_create

    make_topic("orders")
    _, token = api_key_create(service_name="svc", scopes=["produce:orders"])
    key_id, secret = token.split(".", 1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode())
    response = client.post("/api/v1/topics/orders/events", {"data": 1}, format="json")
    assert response.status_code == 200


def test_payload_column_is_exactly_what_reads_return(api, make_topic):
    make_topic("orders")
    api.post("/api/v1/topics/orders/events", {"id": "a", "data": {"x": [1, 2]}})
    assert loads(Event.objects.get().payload) == read_all(api, "orders")[0]


def test_data_nested_deeper_than_the_limit_is_422_too_deep_not_a_server_error(api, make_topic, settings):
    """254 levels used to pass the parser (orjson reads 1,024) and break the encoder (254)."""
    make_topic("orders")
    limit = settings.EVENTLINE["MAX_JSON_DEPTH"]
    for levels in (limit, 254, 2000):  # orjson itself stops at 1,024
        body = b'{"data": ' + b"[" * levels + b"]" * levels + b"}"
        response = api.post("/api/v1/topics/orders/events", body)
        assert response.status_code == 422, response.content
        error = response.json()["error"]
        assert error["code"] == "too_deep" and error["details"]["max_depth"] == limit
    assert Event.objects.count() == 0


def test_data_at_the_limit_is_appended_and_read_back_whole(api, make_topic, settings):
    make_topic("orders")
    levels = settings.EVENTLINE["MAX_JSON_DEPTH"] - 1  # the event object is one level
    data = loads(b"[" * levels + b"]" * levels)
    assert api.post("/api/v1/topics/orders/events", {"data": data}).status_code == 200
    assert read_all(api, "orders")[0]["data"] == data


def test_binary_mode_data_is_held_to_the_same_depth_limit(api, make_topic, settings):
    make_topic("orders")
    levels = settings.EVENTLINE["MAX_JSON_DEPTH"] + 1
    response = api.post(
        "/api/v1/topics/orders/events",
        b"[" * levels + b"]" * levels,
        content_type="application/json",
        HTTP_CE_ID="e1",
        HTTP_CE_TYPE="t",
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "too_deep"


@pytest.mark.parametrize(
    "field", ["id", "source", "type", "key", "partitionkey", "correlationid", "causationid", "subject", "tenantid"]
)
def test_a_nul_character_in_an_event_attribute_is_refused_naming_the_field(api, make_topic, field):
    make_topic("orders")
    response = api.post("/api/v1/topics/orders/events", [{"data": 1}, {field: "a\x00b", "data": 2}])
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "events_refused"
    assert error["details"]["errors"] == [
        {"index": 1, "field": field, "reason": "must not contain a NUL character (\\u0000)"}
    ]
    assert Event.objects.count() == 0


def test_a_nul_character_in_a_header_key_is_refused_while_data_and_header_values_keep_theirs(api, make_topic):
    make_topic("orders")
    response = api.post("/api/v1/topics/orders/events", {"headers": [["tenant\x00", "acme"]], "data": 1})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"] == [
        {"index": 0, "field": "headers", "reason": "header keys must not contain a NUL character (\\u0000)"}
    ]
    kept = {"headers": [["tenant", "ac\x00me"]], "data": {"note": "a\x00b"}}
    assert api.post("/api/v1/topics/orders/events", kept).status_code == 200
    event = read_all(api, "orders")[0]
    assert event["headers"] == [{"key": "tenant", "value": "ac\x00me"}] and event["data"] == {"note": "a\x00b"}
