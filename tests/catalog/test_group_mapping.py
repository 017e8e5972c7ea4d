"""Native Kafka clients' consumer groups mapped to catalog services (issue 18): a service lists
its group names and client-id patterns; a group is claimed by an exact name, else the longest
matching pattern, else its members' client ids; lineage, the event type's observed flows and
traces then name the service; a group that committed and that no service claims lands in the
governance inbox until one does."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from broker.flows import consumed, record_flows
from broker.models import ConsumerGroup, FlowStat, GroupPartition
from catalog import services
from catalog.selectors import governance_inbox, group_services, observed_flows_for_topics
from core.models import Service
from core.timeutil import now_ms
from tests.catalog.conftest import EDITOR

BASE = "/api/v1/catalog"


def _group(name: str, topic: Any, *, client_ids: list[str] | None = None, committed: int | None = 5) -> ConsumerGroup:
    group = ConsumerGroup.objects.create(name=name, client_ids=client_ids or [])
    GroupPartition.objects.create(group=group, topic=topic, partition=0, committed_offset=committed)
    return group


def _lists(service: str, *, groups: list[str] = (), client_ids: list[str] = ()) -> None:  # type: ignore[assignment]
    services.service_document(
        principal=EDITOR, name=service, create=True, consumer_groups=list(groups), client_ids=list(client_ids)
    )


def test_an_exact_name_beats_a_pattern_and_the_longest_pattern_wins(catalog_base: Any) -> None:
    _, _, topic = catalog_base
    exact = _group("billing-ledger", topic)
    by_long = _group("shipping-labels", topic)
    by_client = _group("g-7f3a", topic, client_ids=["fulfilment-worker-2"])
    unclaimed = _group("adhoc-debug", topic, client_ids=["kcat"])
    _lists("ledger", groups=["billing-ledger"])
    _lists("billing", groups=["billing-*"])
    _lists("logistics", groups=["s*"])
    _lists("shipping", groups=["shipping-*"])
    _lists("fulfilment", client_ids=["fulfilment-*"])

    names = dict(Service.objects.values_list("id", "name"))
    claimed = {group: names[service] for group, service in group_services().items()}
    assert claimed == {exact.id: "ledger", by_long.id: "shipping", by_client.id: "fulfilment"}
    assert unclaimed.id not in claimed


def test_the_api_stores_the_lists_and_refuses_a_bad_entry_naming_it(api: Any, catalog_base: Any) -> None:
    created = api.post(
        f"{BASE}/services/",
        {"name": "shipping", "consumer_groups": ["shipping-*", " shipping-*", "labels"], "client_ids": ["ship-*"]},
    )
    assert created.status_code == 201, created.content
    assert (created.json()["consumer_groups"], created.json()["client_ids"]) == (["shipping-*", "labels"], ["ship-*"])
    bad = api.patch(f"{BASE}/services/shipping", {"consumer_groups": ["ok", "x" * 300]})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["error"]["details"]["errors"]] == ["consumer_groups/1"]
    assert api.get(f"{BASE}/services/shipping").json()["consumer_groups"] == ["shipping-*", "labels"]


def test_an_unclaimed_group_is_in_the_inbox_until_a_service_lists_it(
    catalog_base: Any, client: Any, django_user_model: Any
) -> None:
    _, _, topic = catalog_base
    _group("fraud-scorer", topic, client_ids=["scorer-1"])
    _group("never-committed", topic, committed=None)
    [item] = [item for item in governance_inbox() if item.kind == "group"]
    assert (item.name, item.detail) == (
        "fraud-scorer",
        "consumes orders; no service lists this group (client ids scorer-1)",
    )

    user = django_user_model.objects.create_user("eddie", password="pw")
    user.groups.add(Group.objects.get_or_create(name="editor")[0])
    client.force_login(user)
    Service.objects.create(name="risk")  # known by its key, not yet documented
    page = client.get("/catalog/inbox/").content.decode()
    assert "fraud-scorer" in page and "Map to a service" in page
    edited = client.post("/catalog/services/risk/edit/", {"consumer_groups": "fraud-*\nother", "client_ids": ""})
    assert edited.status_code == 302, edited.content.decode()[:2000]
    assert not [item for item in governance_inbox() if item.kind == "group"]
    assert "fraud-*" in client.get("/catalog/services/risk/").content.decode()


def test_lineage_and_the_observed_flows_name_the_service_of_a_claimed_group(
    catalog_base: Any, make_event_type: Any
) -> None:
    from lineage.selectors import observed_facts_read

    _, _, topic = catalog_base
    make_event_type("OrderPlaced", topics=["orders"])
    group = _group("fraud-scorer", topic)
    from django.db import connection

    with connection.cursor() as cursor:
        record_flows(cursor, consumed(topic.id, None, group.id, 12), now_ms())
    [before] = observed_flows_for_topics([topic.id], event_type="OrderPlaced")
    assert (before.service, before.group, before.events) == ("(unknown)", "fraud-scorer", 12)

    _lists("risk", groups=["fraud-scorer"])
    [after] = observed_flows_for_topics([topic.id], event_type="OrderPlaced")
    assert (after.service, after.group, after.events) == ("risk", "fraud-scorer", 12)
    facts = {g.name: g for g in observed_facts_read(window_ms=3_600_000).groups}
    assert facts["fraud-scorer"].member_services == ("risk",)
    assert FlowStat.objects.get(group_id=group.id).service_id == 0  # mapped when read, not rewritten


def test_lineage_shows_a_groups_new_service_on_the_next_request_after_the_edit(
    catalog_base: Any, make_event_type: Any
) -> None:
    """The cached graph keeps its observations for CACHE_SECONDS, and a group's services are
    among them: an edit of a service's groups rebuilds it on observations read anew."""
    from django.db import connection

    from lineage.selectors import lineage_cache_clear, lineage_graph

    _, _, topic = catalog_base
    make_event_type("OrderPlaced", topics=["orders"])
    group = _group("fraud-scorer", topic)
    with connection.cursor() as cursor:
        record_flows(cursor, consumed(topic.id, None, group.id, 12), now_ms())
    lineage_cache_clear()
    try:
        assert lineage_graph().edge("group:fraud-scorer", "service:risk") is None
        _lists("risk", groups=["fraud-scorer"])
        runs_in = lineage_graph().edge("group:fraud-scorer", "service:risk")
        assert runs_in is not None and runs_in.kind == "runs_in"
        services.service_document(principal=EDITOR, name="risk", create=False, consumer_groups=[], client_ids=[])
        assert lineage_graph().edge("group:fraud-scorer", "service:risk") is None, "and let go as soon"
    finally:
        lineage_cache_clear()


@pytest.fixture(autouse=True)
def _db(db: Any) -> None:
    pass


def test_the_inbox_api_shows_a_key_only_the_groups_it_may_see(catalog_base: Any, make_api: Any) -> None:
    _, _, topic = catalog_base
    _group("fraud-scorer", topic)
    _group("billing-ledger", topic)
    seen = make_api("group:billing-*", service="billing").get(f"{BASE}/inbox/").json()["items"]
    assert [item["name"] for item in seen if item["kind"] == "group"] == ["billing-ledger"]
