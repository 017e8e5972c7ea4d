"""The home page's "needs attention" panel: a group in ERR, a failed transaction, a schema
violation, drift and open dead letters each show up and link to the page that explains them, in a
number of queries that does not grow with how much is wrong."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from broker.models import ConsumerGroup, DeadLetter, Topic
from core.timeutil import now_ms
from lineage.selectors import lineage_cache_clear
from monitoring.models import GroupLagState
from tests.monitoring.traces.conftest import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client, django_user_model):
    user = django_user_model.objects.create_user("vera", password="pw")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    return client


def group_in_error(name: str, lag: int = 40) -> None:
    group = ConsumerGroup.objects.create(name=name)
    GroupLagState.objects.create(
        group=group,
        sampled_ms=now_ms(),
        status="ERR",
        status_reason="orders/0 STOP: stopped: no commit for 9 min",
        total_lag=lag,
    )


def dead_letter(group: str, offset: int) -> None:
    DeadLetter.objects.create(
        group=group,
        topic="shipping",
        partition=0,
        offset=offset,
        event_id=f"e{offset}",
        dead_letter_topic=f"{group}.dlq",
        dead_letter_partition=0,
        dead_letter_offset=offset,
        attempts=3,
        dead_lettered_ms=now_ms(),
    )


def failed_order(shop: Shop, correlation: str) -> None:
    placed = shop.produce("orders-service", "orders", "OrderPlaced", correlation=correlation)
    shop.produce("shipping-service", "shipping", "OrderRejected", correlation=correlation, cause=placed)


def panel(client) -> str:
    html = client.get("/").content.decode()
    start = html.index('id="needs-attention"')
    return html[start : html.index("</section>", start)]


def test_home_lists_a_group_in_error_a_failed_transaction_a_violation_drift_and_dead_letters(viewer, shop, order_saga):
    failed_order(shop, "order-1")
    group_in_error("billing")
    Topic.objects.filter(name="payments").update(validation_failures=3, validation_mode="warn")
    dead_letter("shipper", 1)
    dead_letter("shipper", 2)
    lineage_cache_clear()

    shown = panel(viewer)
    assert "billing is in ERR" in shown and "stopped: no commit for 9 min" in shown
    assert 'href="/monitoring/groups/billing/"' in shown
    assert "Order saga failed" in shown and 'href="/traces/order-1/"' in shown
    assert "3 events on payments failed their schema" in shown and 'href="/topics/payments/"' in shown
    assert "2 unresolved dead letters in shipper" in shown and 'href="/monitoring/dead-letters/?group=shipper"' in shown
    assert "orders-service produces OrderPlaced, undeclared" in shown and 'href="/lineage/drift/"' in shown


def test_the_violation_link_leads_to_a_page_that_explains_it(viewer, shop):
    Topic.objects.filter(name="payments").update(validation_failures=3, validation_mode="warn")
    page = viewer.get("/topics/payments/").content.decode()
    assert 'id="topic-violations"' in page and "3 events failed their schema" in page


def test_home_says_nothing_needs_attention_when_nothing_is_wrong(viewer):
    lineage_cache_clear()  # the graph is cached per process; an earlier test's traffic is not ours
    assert "Nothing needs attention" in panel(viewer)


def test_home_query_count_does_not_grow_with_what_is_wrong(viewer, shop, order_saga):
    def count() -> int:
        lineage_cache_clear()
        with CaptureQueriesContext(connection) as context:
            assert viewer.get("/").status_code == 200
        return len(context.captured_queries)

    failed_order(shop, "order-1")
    group_in_error("billing")
    dead_letter("shipper", 1)
    Topic.objects.filter(name="payments").update(validation_failures=1)
    few = count()
    for n in range(2, 6):
        failed_order(shop, f"order-{n}")
        group_in_error(f"billing-{n}", lag=n)
        dead_letter(f"shipper-{n}", n)
    Topic.objects.filter(name="orders").update(validation_failures=5)
    assert count() == few
    assert panel(viewer).count("el-attention ") >= 4 * 3
