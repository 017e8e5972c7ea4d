"""Per-topic access policy: open (scopes only), declared (the catalog's declared producers and
consumers of the event types the topic carries) and explicit (the topic's own lists)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from broker.services.produce import produce_targets_forget
from catalog import services as catalog
from core.auth import Principal
from core.choices import AuditAction
from core.models import AuditEntry

pytestmark = pytest.mark.django_db

EDITOR = Principal(scopes=frozenset({"admin"}), username="seed")


def produce(client, topic="orders.v1"):
    return client.post(f"/api/v1/topics/{topic}/events", {"data": {"n": 1}})


def set_policy(api, topic="orders.v1", **config):
    response = api.patch(f"/api/v1/topics/{topic}", {"config": config})
    assert response.status_code == 200, response.content
    return response.json()["config"]


@pytest.fixture
def orders(db, make_topic):
    """orders.v1 carries OrderPlaced; checkout is its declared producer, billing its consumer."""
    topic = make_topic("orders.v1")
    catalog.domain_create(principal=EDITOR, name="Ordering")
    catalog.team_create(principal=EDITOR, name="Checkout Team")
    event_type = catalog.event_type_create(
        principal=EDITOR,
        data={
            "name": "OrderPlaced",
            "domain": "Ordering",
            "owner_team": "Checkout Team",
            "summary": "an order was placed",
            "topics": ["orders.v1"],
        },
    )
    catalog.declared_flow_add(principal=EDITOR, event_type=event_type, service_name="checkout", role="producer")
    catalog.declared_flow_add(principal=EDITOR, event_type=event_type, service_name="billing", role="consumer")
    return topic, event_type


def test_declared_policy_refuses_an_undeclared_producer_with_403_naming_the_rule(api, make_api, orders):
    set_policy(api, **{"access.policy": "declared"})
    intruder = make_api("produce:*", service="intruder")
    response = produce(intruder)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "topic_policy"
    assert error["message"] == (
        "topic orders.v1 accepts producers declared in the catalog: checkout; service 'intruder' is not one"
    )
    assert error["details"]["producers"] == ["checkout"] and error["details"]["policy"] == "declared"


def test_declared_policy_accepts_a_declared_producer(api, make_api, orders):
    set_policy(api, **{"access.policy": "declared"})
    assert produce(make_api("produce:orders.v1", service="checkout")).status_code == 200


def test_the_key_scope_is_checked_before_the_policy(api, make_api, orders):
    set_policy(api, **{"access.policy": "declared"})
    response = produce(make_api("consume:*", service="checkout"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_a_flow_declared_later_takes_effect_once_the_catalog_edit_commits(
    api, make_api, orders, django_capture_on_commit_callbacks
):
    _, event_type = orders
    set_policy(api, **{"access.policy": "declared"})
    shipping = make_api("produce:*", service="shipping")
    assert produce(shipping).status_code == 403  # and orders.v1's allowed services are now cached
    with django_capture_on_commit_callbacks(execute=True):
        catalog.declared_flow_add(principal=EDITOR, event_type=event_type, service_name="shipping", role="producer")
    assert produce(shipping).status_code == 200


def test_an_event_type_moved_off_the_topic_no_longer_admits_its_producers(
    api, make_api, orders, django_capture_on_commit_callbacks
):
    _, event_type = orders
    set_policy(api, **{"access.policy": "declared"})
    checkout = make_api("produce:*", service="checkout")
    assert produce(checkout).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        catalog.event_type_update(principal=EDITOR, event_type=event_type, data={"topics": []})
    response = produce(checkout)
    assert response.status_code == 403
    assert "declared in the catalog: none;" in response.json()["error"]["message"]


def test_explicit_lists_admit_the_named_services_only(api, make_api, make_topic):
    make_topic("orders.v1")
    config = set_policy(
        api,
        **{"access.policy": "explicit", "access.producers": ["checkout", "pos", "checkout"], "access.consumers": []},
    )
    assert config["access.producers"] == ["checkout", "pos"], "sorted, each once"
    assert produce(make_api("produce:*", service="pos")).status_code == 200
    response = produce(make_api("produce:*", service="intruder"))
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "topic orders.v1 accepts producers listed in its access.producers: checkout, pos; service 'intruder' is not one"
    )


def test_declared_policy_refuses_an_undeclared_consumer_at_join_and_admits_a_declared_one(api, make_api, orders):
    set_policy(api, **{"access.policy": "declared"})
    intruder = make_api("consume:*", "group:*", service="intruder")
    response = intruder.post("/api/v1/groups/g/members", {"topics": ["orders.v1"]})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "topic_policy"
    assert response.json()["error"]["message"] == (
        "topic orders.v1 accepts consumers declared in the catalog: billing; service 'intruder' is not one"
    )
    billing = make_api("consume:*", "group:*", service="billing")
    assert billing.post("/api/v1/groups/g/members", {"topics": ["orders.v1"]}).status_code == 200


def test_a_member_whose_service_is_no_longer_admitted_cannot_fetch_or_commit(api, make_api, make_topic):
    make_topic("orders.v1")
    consumer = make_api("consume:*", "group:*", service="billing")
    member = consumer.post("/api/v1/groups/g/members", {"topics": ["orders.v1"]}).json()
    set_policy(api, **{"access.policy": "explicit", "access.consumers": ["analytics"]})
    fetched = consumer.get(f"/api/v1/groups/g/members/{member['member_id']}/events", max_wait_ms=0)
    assert fetched.status_code == 403 and fetched.json()["error"]["code"] == "topic_policy"
    committed = consumer.post(
        "/api/v1/groups/g/offsets",
        {
            "member_id": member["member_id"],
            "generation": member["generation"],
            "offsets": [{"topic": "orders.v1", "partition": 0, "offset": 0}],
        },
    )
    assert committed.status_code == 403 and committed.json()["error"]["code"] == "topic_policy"


def test_admin_keys_are_not_restricted(api, make_topic):
    make_topic("orders.v1")
    set_policy(api, **{"access.policy": "explicit"})
    assert produce(api).status_code == 200
    assert api.post("/api/v1/groups/g/members", {"topics": ["orders.v1"]}).status_code == 200


def test_open_policy_is_the_default_and_admits_any_key_with_the_scope(api, make_api, orders):
    config = api.get("/api/v1/topics/orders.v1").json()["config"]
    assert config["access.policy"] == "open"
    assert config["access.producers"] == [] and config["access.consumers"] == []
    assert produce(make_api("produce:*", service="intruder")).status_code == 200


def test_open_policy_adds_no_query_to_a_cached_produce(make_api, make_topic):
    make_topic("orders.v1")
    producer = make_api("produce:*", service="checkout")
    assert produce(producer).status_code == 200  # warms the key and topic caches
    with CaptureQueriesContext(connection) as warm:
        assert produce(producer).status_code == 200
    assert not any("FROM broker_topic WHERE" in query["sql"] for query in warm.captured_queries), "settings cached"
    assert not any("catalog_" in query["sql"] for query in warm.captured_queries)


def test_a_declared_topic_asks_the_catalog_once_per_cache_period(api, make_api, orders):
    set_policy(api, **{"access.policy": "declared"})
    checkout = make_api("produce:*", service="checkout")
    assert produce(checkout).status_code == 200
    with CaptureQueriesContext(connection) as warm:
        assert produce(checkout).status_code == 200
    assert not any("catalog_declaredflow" in query["sql"] for query in warm.captured_queries)
    produce_targets_forget()
    with CaptureQueriesContext(connection) as cold:
        assert produce(checkout).status_code == 200
    assert sum("catalog_declaredflow" in query["sql"] for query in cold.captured_queries) == 1


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"access.policy": "closed"}, "config.access.policy"),
        ({"access.producers": "checkout"}, "config.access.producers"),
        ({"access.consumers": ["billing", 7]}, "config.access.consumers"),
        ({"access.consumers": [""]}, "config.access.consumers"),
    ],
)
def test_an_unknown_policy_or_a_bad_list_is_422_naming_the_field(api, make_topic, config, field):
    make_topic("orders.v1")
    response = api.patch("/api/v1/topics/orders.v1", {"config": config})
    assert response.status_code == 422
    assert response.json()["error"]["details"]["errors"][0]["field"] == field


def test_a_policy_change_is_audited_with_before_and_after(api, make_topic):
    make_topic("orders.v1")
    set_policy(api, **{"access.policy": "explicit", "access.producers": ["checkout"]})
    entry = AuditEntry.objects.filter(action=AuditAction.TOPIC_UPDATED, target="orders.v1").latest("id")
    assert entry.before["config"]["access.policy"] == "open"
    assert entry.after["config"]["access.policy"] == "explicit"
    assert entry.after["config"]["access.producers"] == ["checkout"]


def test_sessions_of_people_are_not_restricted(make_topic):
    from broker.access import topic_access_allows

    make_topic("orders.v1", access_policy="explicit")
    person = Principal(
        scopes=frozenset({"produce:*", "consume:*"}), user_id=1, username="ada", roles=frozenset({"editor"})
    )
    assert topic_access_allows(person, "orders.v1", "produce")
    assert topic_access_allows(person, "orders.v1", "consume")


def test_the_topic_page_shows_the_policy_and_whom_it_admits(api, orders, client, django_user_model):
    client.force_login(django_user_model.objects.create_user("ada", password="x"))
    assert 'Access policy: <span class="el-mono">open</span>' in client.get("/topics/orders.v1/").content.decode()
    set_policy(api, **{"access.policy": "declared"})
    page = client.get("/topics/orders.v1/").content.decode()
    assert 'Access policy: <span class="el-mono">declared</span>' in page
    assert ">checkout</a>" in page and ">billing</a>" in page
