"""/metrics speaks Prometheus text: events in and out, produce and fetch histograms, lag and
status per group, validation failures; it needs a key or a login."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.timeutil import now_ms
from monitoring.lag import lag_sample_round

pytestmark = pytest.mark.django_db


def samples(api):
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_report_traffic_lag_and_status(api, make_topic):
    make_topic("orders")
    api.post("/api/v1/topics/orders/events", [{"data": i} for i in range(4)])
    api.post("/api/v1/topics/orders/events", [{"partition": 3}])  # refused: no such partition
    member = api.post("/api/v1/groups/billing/members", {"topics": ["orders"], "auto_offset_reset": "earliest"}).json()
    api.get(f"/api/v1/groups/billing/members/{member['member_id']}/events", max_wait_ms=0, max_events=3)
    api.post(
        "/api/v1/groups/billing/offsets",
        {
            "member_id": member["member_id"],
            "generation": 1,
            "offsets": [{"topic": "orders", "partition": 0, "offset": 3}],
        },
    )
    lag_sample_round(now_ms=now_ms())
    found = samples(api)
    assert found[("eventline_topic_appended_events_total", (("partition", "0"), ("topic", "orders")))] == 4
    assert found[("eventline_events_in_total", (("topic", "orders"),))] >= 4
    assert found[("eventline_events_out_total", (("topic", "orders"),))] >= 3
    assert found[("eventline_events_refused_total", (("reason", "invalid"), ("topic", "orders")))] >= 1
    assert found[("eventline_group_lag", (("group", "billing"), ("partition", "0"), ("topic", "orders")))] == 1
    assert found[("eventline_group_total_lag", (("group", "billing"),))] == 1
    assert ("eventline_group_status", (("group", "billing"),)) in found
    assert any(name == "eventline_produce_duration_seconds_count" for name, _ in found)
    assert any(name == "eventline_fetch_duration_seconds_bucket" for name, _ in found)


def test_metrics_need_a_key_or_a_login(client):
    assert client.get("/metrics").status_code == 401


def test_metrics_with_a_key_show_only_series_of_topics_and_groups_it_may_describe(api, make_api, make_topic):
    make_topic("orders")
    make_topic("payments")
    for topic in ("orders", "payments"):
        api.post(f"/api/v1/topics/{topic}/events", [{"data": 1}])
        api.post(
            f"/api/v1/groups/{topic}-service/offsets", {"offsets": [{"topic": topic, "partition": 0, "offset": 0}]}
        )
    lag_sample_round(now_ms=now_ms())
    found = samples(make_api("consume:orders", service="orders"))
    topics = {value for _, labels in found for key, value in labels if key == "topic"}
    groups = {value for _, labels in found for key, value in labels if key == "group"}
    assert topics == {"orders"}
    assert groups == {"orders-service"}
    assert ("eventline_topic_appended_events_total", (("partition", "0"), ("topic", "orders"))) in found
    everything = samples(api)
    assert {value for _, labels in everything for key, value in labels if key == "group"} >= {
        "orders-service",
        "payments-service",
    }
