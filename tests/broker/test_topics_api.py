"""Topic administration over HTTP: create, list, describe, configure, grow, delete."""

import pytest

pytestmark = pytest.mark.django_db(transaction=False)


def test_create_topic_returns_its_partitions_and_default_config(api):
    response = api.post("/api/v1/topics", {"name": "orders.v1", "partitions": 3, "config": {"retention.ms": 1000}})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "orders.v1"
    assert [p["partition"] for p in body["partitions"]] == [0, 1, 2]
    assert all(p["log_start_offset"] == 0 and p["end_offset"] == 0 and p["size_bytes"] == 0 for p in body["partitions"])
    assert body["config"] == {
        "retention.ms": 1000,
        "retention.bytes": -1,
        "max.message.bytes": 1048588,
        "value.subject.name.strategy": "TopicNameStrategy",
        "value.subject": "orders.v1-value",
        "validation.mode": "enforce",
        "access.policy": "open",
        "access.producers": [],
        "access.consumers": [],
    }


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bad name", "contains ' '"),
        ("x" * 250, "the maximum is 249"),
        ("..", "cannot be '.' or '..'"),
        ("", "required"),
        ("ünïcode", "contains"),
    ],
)
def test_bad_topic_names_are_422_saying_why(api, name, reason):
    response = api.post("/api/v1/topics", {"name": name})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"]["errors"][0]["field"] == "name"
    assert reason in error["details"]["errors"][0]["reason"]


def test_name_of_249_characters_is_accepted(api):
    assert api.post("/api/v1/topics", {"name": "a" * 249}).status_code == 201


def test_duplicate_topic_is_409(api, make_topic):
    make_topic("orders")
    response = api.post("/api/v1/topics", {"name": "orders"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "topic_exists"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "t", "partitions": 0}, "partitions"),
        ({"name": "t", "partitions": "3"}, "partitions"),
        ({"name": "t", "config": {"retention.ms": -5}}, "config.retention.ms"),
        ({"name": "t", "config": {"cleanup.policy": "compact"}}, "config.cleanup.policy"),
        ({"name": "t", "config": {"max.message.bytes": 0}}, "config.max.message.bytes"),
    ],
)
def test_bad_topic_settings_are_422_with_the_field(api, body, field):
    response = api.post("/api/v1/topics", body)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["field"] == field


def test_list_topics_is_paginated_with_sizes(api, make_topic):
    for name in ("b", "a", "c"):
        make_topic(name, partitions=2)
    body = api.get("/api/v1/topics", limit=2).json()
    assert body["count"] == 3
    assert [t["name"] for t in body["results"]] == ["a", "b"]
    assert body["results"][0]["partition_count"] == 2


def test_patch_changes_config_and_adds_partitions_but_never_removes(api, make_topic):
    make_topic("orders", partitions=2)
    response = api.patch("/api/v1/topics/orders", {"config": {"retention.bytes": 1024}, "partitions": 4})
    assert response.status_code == 200
    assert response.json()["config"]["retention.bytes"] == 1024
    assert len(response.json()["partitions"]) == 4
    shrink = api.patch("/api/v1/topics/orders", {"partitions": 3})
    assert shrink.status_code == 422
    assert "can only be added" in shrink.json()["error"]["message"]
    assert len(api.get("/api/v1/topics/orders").json()["partitions"]) == 4


def test_delete_topic_removes_it_and_its_events(api, make_topic):
    from broker.models import Event

    make_topic("orders")
    api.post("/api/v1/topics/orders/events", {"data": {"n": 1}})
    assert Event.objects.count() == 1
    assert api.delete("/api/v1/topics/orders").status_code == 204
    assert api.get("/api/v1/topics/orders").status_code == 404
    assert Event.objects.count() == 0


def test_topic_admin_needs_the_admin_scope(make_api, make_topic):
    producer = make_api("produce:*")
    response = producer.post("/api/v1/topics", {"name": "x"})
    assert response.status_code == 403
    assert response.json()["error"]["details"]["required_scope"] == "admin"


def test_unknown_topic_is_404(api):
    response = api.get("/api/v1/topics/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "topic_not_found"


def test_topic_list_answers_only_the_topics_the_key_may_describe(api, make_api, make_topic):
    for name in ("Orders.x", "orders", "orders.eu", "payments", "shipping"):
        make_topic(name)
    orders = make_api("consume:orders*")
    body = orders.get("/api/v1/topics").json()
    assert [t["name"] for t in body["results"]] == ["orders", "orders.eu"], "prefixes match case by case"
    assert body["count"] == 2
    mixed = make_api("produce:shipping", "describe:pay*")
    assert [t["name"] for t in mixed.get("/api/v1/topics").json()["results"]] == ["payments", "shipping"]
    assert make_api("registry:write").get("/api/v1/topics").json()["results"] == []
    assert api.get("/api/v1/topics").json()["count"] == 5


def test_a_key_cannot_describe_a_topic_its_scopes_do_not_name(make_api, make_topic):
    make_topic("orders")
    make_topic("payments")
    key = make_api("consume:orders")
    assert key.get("/api/v1/topics/orders").status_code == 200
    refused = key.get("/api/v1/topics/payments")
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["required_scope"] == "describe:payments"
    assert key.get("/api/v1/topics/no-such-topic").status_code == 403, "refused whether it exists or not"
    assert make_api("describe:pay*").get("/api/v1/topics/payments").status_code == 200


def test_topic_list_takes_a_fixed_number_of_queries(make_api, make_topic, django_assert_max_num_queries):
    for n in range(12):
        make_topic(f"orders.{n}", partitions=2)
    key = make_api("consume:orders.1*", "describe:orders.2")
    with django_assert_max_num_queries(3):  # the key, the count and the page
        names = [t["name"] for t in key.get("/api/v1/topics").json()["results"]]
    assert names == ["orders.1", "orders.10", "orders.11", "orders.2"]
