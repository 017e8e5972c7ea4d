"""Lag from the broker's own tables: exact offset and time lag per partition, the summary with
its time to drain, Burrow statuses from real commit windows, sampling and history."""

import pytest

from broker.choices import ActivityKind
from broker.models import ConsumerGroup, Event, GroupActivity, GroupPartition, Topic
from core.timeutil import now_ms
from monitoring.lag import group_report, lag_history, lag_history_compact, lag_sample_round
from monitoring.models import GroupLagState, LagSample

pytestmark = pytest.mark.django_db


def produce(api, n, topic="orders", **fields):
    return api.post(f"/api/v1/topics/{topic}/events", [{"data": i, **fields} for i in range(n)]).json()["events"]


def commit(api, group, offset, topic="orders", partition=0):
    response = api.post(
        f"/api/v1/groups/{group}/offsets", {"offsets": [{"topic": topic, "partition": partition, "offset": offset}]}
    )
    assert response.status_code == 200, response.content


def test_lags_are_exact_per_partition_with_the_age_of_the_oldest_unconsumed_event(api, make_topic):
    make_topic("orders", partitions=2)
    api.post(
        "/api/v1/topics/orders/events", [{"partition": 0, "data": i} for i in range(5)] + [{"partition": 1, "data": 9}]
    )
    commit(api, "billing", 2)
    commit(api, "billing", 1, partition=1)
    appended = Event.objects.get(partition=0, offset=2).append_time_ms
    Event.objects.filter(partition=0, offset=2).update(append_time_ms=appended - 7000)
    lags = {row["partition"]: row for row in api.get("/api/v1/groups/billing/lags").json()["lags"]}
    assert lags[0]["lag"] == 3 and lags[0]["current_offset"] == 2 and lags[0]["log_end_offset"] == 5
    assert 7000 <= lags[0]["time_lag_ms"] < 60_000
    assert lags[1]["lag"] == 0 and lags[1]["time_lag_ms"] == 0
    summary = api.get("/api/v1/groups/billing/lag-summary").json()
    assert summary["total_lag"] == 3 and summary["max_lag"] == 3
    assert summary["max_lag_topic_name"] == "orders" and summary["max_lag_partition_id"] == 0
    assert lags[0]["time_lag_ms"] <= summary["max_time_lag_ms"] < lags[0]["time_lag_ms"] + 5000  # read a moment later


def test_a_partition_never_committed_has_no_lag_rather_than_a_wrong_one(api, make_topic):
    make_topic("orders")
    produce(api, 3)
    member = api.post("/api/v1/groups/g/members", {"topics": ["orders"], "auto_offset_reset": "earliest"}).json()
    api.get(f"/api/v1/groups/g/members/{member['member_id']}/events", max_wait_ms=0)
    row = api.get("/api/v1/groups/g/lags").json()["lags"][0]
    assert row["lag"] is None and row["time_lag_ms"] is None
    assert row["consumer_id"] == member["member_id"]


def test_retention_overtaking_a_commit_ages_from_the_first_retained_event(api, make_topic):
    from broker.services.retention import retention_apply

    make_topic("orders", retention_ms=60_000)
    produce(api, 6)
    commit(api, "g", 1)
    Event.objects.filter(offset__lt=3).update(append_time_ms=now_ms() - 120_000)
    retention_apply()
    row = api.get("/api/v1/groups/g/lags").json()["lags"][0]
    assert row["lag"] == 5 and row["time_lag_ms"] < 60_000


def _commits(group, topic, offsets_and_times, end_offset):
    for offset, at_ms in offsets_and_times:
        GroupActivity.objects.create(
            group=group,
            topic=topic,
            partition=0,
            kind=ActivityKind.COMMIT,
            at_ms=at_ms,
            start_offset=offset,
            end_offset=offset,
            log_end_offset=end_offset,
        )
    GroupPartition.objects.update_or_create(
        group=group, topic=topic, partition=0, defaults={"committed_offset": offsets_and_times[-1][0]}
    )


@pytest.fixture
def lagging(api, make_topic):
    """A topic with 100 events and a group to shape commit windows for."""
    make_topic("orders")
    for _ in range(4):
        produce(api, 25)
    group = ConsumerGroup.objects.create(name="g")
    return group, Topic.objects.get(name="orders")


def test_a_consumer_that_went_silent_while_behind_is_stop(lagging):
    group, topic = lagging
    now = now_ms()
    _commits(group, topic, [(10 + i, now - 600_000 + i * 10_000) for i in range(10)], end_offset=100)
    report = group_report(group, now_ms=now)
    assert report.partitions[0].status == "STOP"
    assert report.evaluation.status.label == "ERR"
    assert "no commit for" in report.partitions[0].status_reason


def test_committing_the_same_offset_while_behind_is_stall(lagging):
    group, topic = lagging
    now = now_ms()
    _commits(group, topic, [(40, now - 90_000 + i * 10_000) for i in range(10)], end_offset=100)
    assert group_report(group, now_ms=now).partitions[0].status == "STALL"


def test_moving_but_never_closing_the_gap_is_warn(lagging):
    group, topic = lagging
    now = now_ms()
    _commits(group, topic, [(10 + i, now - 90_000 + i * 10_000) for i in range(10)], end_offset=100)
    # Lag at each commit grew: the broker end offset moved faster than the consumer.
    for n, activity in enumerate(GroupActivity.objects.order_by("id")):
        activity.log_end_offset = 50 + n * 5
        activity.save(update_fields=["log_end_offset"])
    report = group_report(group, now_ms=now)
    assert report.partitions[0].status == "WARN"
    assert report.evaluation.status.label == "WARN"


def test_a_commit_that_went_backwards_without_recovering_is_rewind(lagging):
    group, topic = lagging
    now = now_ms()
    _commits(
        group,
        topic,
        [(60, now - 50_000), (70, now - 40_000), (80, now - 30_000), (20, now - 20_000), (25, now - 10_000)],
        end_offset=100,
    )
    assert group_report(group, now_ms=now).partitions[0].status == "REWIND"


def test_a_caught_up_consumer_is_ok(lagging):
    group, topic = lagging
    now = now_ms()
    _commits(
        group, topic, [(90 + i, now - 50_000 + i * 5_000) for i in range(10)] + [(100, now - 1_000)], end_offset=100
    )
    report = group_report(group, now_ms=now)
    assert report.partitions[0].status == "OK" and report.evaluation.status.label == "OK"


def test_the_sampler_keeps_windows_status_history_and_sparkline(api, make_topic):
    make_topic("orders")
    produce(api, 10)
    commit(api, "g", 4)
    start = now_ms()
    first = lag_sample_round(now_ms=start)
    assert first.groups == 1 and first.partitions == 1 and first.commits_read == 1
    produce(api, 5)
    lag_sample_round(now_ms=start + 15_000)
    state = GroupLagState.objects.get(group__name="g")
    assert state.total_lag == 11 and state.status in {"OK", "WARN", "ERR"}
    assert [point[1] for point in state.recent] == [6, 11]
    assert len(state.windows[f"{Topic.objects.get().id}:0"]["ends"]) == 2
    history = lag_history(state.group_id, since_ms=start - 1)
    assert [lag for _, lag, _ in history] == [6, 11]


def test_history_older_than_a_day_is_folded_into_five_minute_peaks(make_topic):
    group = ConsumerGroup.objects.create(name="g")
    now = now_ms()
    base = now - 2 * 86_400_000
    base -= base % 300_000
    for n, lag in enumerate([3, 9, 4]):
        LagSample.objects.create(group=group, at_ms=base + n * 15_000, total_lag=lag, max_time_lag_ms=lag * 100)
    LagSample.objects.create(group=group, at_ms=now - 1000, total_lag=1)
    LagSample.objects.create(group=group, at_ms=now - 8 * 86_400_000, total_lag=99)
    assert lag_history_compact(now_ms=now) == 3
    rows = list(LagSample.objects.order_by("at_ms").values_list("at_ms", "resolution", "total_lag", "max_time_lag_ms"))
    assert rows == [(base, LagSample.BUCKET, 9, 900), (now - 1000, LagSample.RAW, 1, None)]


def test_lag_endpoints_answer_404_for_an_unknown_group_and_422_for_a_bad_window(api, make_topic):
    make_topic("orders")
    assert api.get("/api/v1/groups/ghost/lags").status_code == 404
    commit(api, "g", 0)
    assert api.get("/api/v1/groups/g/lag-history", window="2y").status_code == 422
    assert api.get("/api/v1/groups/g/lag-history", window="1h").json()["points"] == []
    status = api.get("/api/v1/groups/g/status").json()
    assert status["status"] == "OK" and status["partitions"][0]["current_lag"] == 0


def test_rates_and_time_to_drain_come_from_successive_samplings(api, make_topic):
    make_topic("orders")
    produce(api, 100)
    commit(api, "g", 10)
    start = now_ms()
    lag_sample_round(now_ms=start)
    produce(api, 10)  # +10 events in 10 s: 1 ev/s in
    commit(api, "g", 60)  # +50 consumed in 10 s: 5 ev/s out
    lag_sample_round(now_ms=start + 10_000)
    summary = api.get("/api/v1/groups/g/lag-summary").json()
    assert summary["produce_rate"] == pytest.approx(1.0, rel=0.01)
    assert summary["consume_rate"] == pytest.approx(5.0, rel=0.01)
    assert summary["total_lag"] == 50
    assert summary["eta_seconds"] == pytest.approx(50 / 4, rel=0.01)


def test_lag_endpoints_refuse_a_key_whose_scopes_do_not_name_the_group(api, make_api, make_topic):
    make_topic("orders")
    produce(api, 3)
    commit(api, "payments-service", 1)
    commit(api, "billing-service", 1)
    billing = make_api("consume:orders", service="billing")
    for path in ("lags", "lag-summary", "status", "lag-history"):
        assert billing.get(f"/api/v1/groups/billing-service/{path}").status_code == 200, path
        refused = billing.get(f"/api/v1/groups/payments-service/{path}")
        assert refused.status_code == 403, path
        assert refused.json()["error"]["details"]["required_scope"] == "group:payments-service"
