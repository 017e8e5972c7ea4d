"""The lag dashboard and group pages: filters, the htmx partial, the reset wizard, and a query
count that does not grow with the number of groups."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from broker.models import ConsumerGroup, DeadLetter
from core.timeutil import now_ms
from monitoring.lag import lag_sample_round

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def setup_groups(api, make_topic, n):
    make_topic("orders")
    api.post("/api/v1/topics/orders/events", [{"data": i} for i in range(10)])
    for i in range(n):
        api.post(f"/api/v1/groups/g{i}/offsets", {"offsets": [{"topic": "orders", "partition": 0, "offset": i % 11}]})
    lag_sample_round(now_ms=now_ms())


def test_dashboard_lists_groups_with_lag_status_and_filters_to_lagging(staff, api, make_topic):
    setup_groups(api, make_topic, 3)  # g0 lags 10, g1 lags 9, g2 lags 8
    api.post("/api/v1/groups/done/offsets", {"offsets": [{"topic": "orders", "partition": 0, "offset": 10}]})
    lag_sample_round(now_ms=now_ms())
    html = staff.get("/monitoring/").content.decode()
    assert 'data-group="g0"' in html and 'data-group="done"' in html
    lagging = staff.get("/monitoring/", {"lagging": "1"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-group="done"' not in lagging and 'data-group="g1"' in lagging and "<html" not in lagging


def dead_letter(group: str, offset: int, *, resolved: bool = False) -> None:
    DeadLetter.objects.create(
        group=group,
        topic="orders",
        partition=0,
        offset=offset,
        event_id=f"{group}-e{offset}",
        dead_letter_topic=f"orders.{group}.dlq",
        dead_letter_partition=0,
        dead_letter_offset=offset,
        attempts=3,
        dead_lettered_ms=now_ms(),
        resolved_ms=now_ms() if resolved else None,
    )


def test_dashboard_shows_each_groups_unresolved_dead_letters_linking_to_them(staff, api, make_topic):
    setup_groups(api, make_topic, 2)
    dead_letter("g0", 1)
    dead_letter("g0", 2)
    dead_letter("g0", 3, resolved=True)
    for html in (
        staff.get("/monitoring/").content.decode(),
        staff.get("/monitoring/", HTTP_HX_REQUEST="true").content.decode(),
    ):
        g0 = html.split('data-group="g0"')[1].split("</tr>")[0]
        g1 = html.split('data-group="g1"')[1].split("</tr>")[0]
        assert 'href="/monitoring/dead-letters/?group=g0"' in g0 and ">2</a>" in g0
        assert "/monitoring/dead-letters/" not in g1 and '<span class="el-muted">0</span>' in g1


def test_dashboard_query_count_does_not_grow_with_groups(staff, api, make_topic):
    def count() -> int:
        with CaptureQueriesContext(connection) as context:
            assert staff.get("/monitoring/").status_code == 200
        return len(context.captured_queries)

    setup_groups(api, make_topic, 2)
    few = count()
    for i in range(2, 30):
        api.post(f"/api/v1/groups/g{i}/offsets", {"offsets": [{"topic": "orders", "partition": 0, "offset": 1}]})
        dead_letter(f"g{i}", 1)
    lag_sample_round(now_ms=now_ms())
    assert count() == few


def test_group_page_shows_partitions_and_the_reset_wizard_previews_then_applies(staff, api, make_topic):
    setup_groups(api, make_topic, 1)
    page = staff.get("/monitoring/groups/g0/").content.decode()
    assert 'id="partitions"' in page and "orders/0" in page
    preview = staff.post(
        "/monitoring/groups/g0/reset/", {"topic": "orders", "to": "latest", "apply": "0"}
    ).content.decode()
    assert 'id="reset-preview"' in preview and "Preview only" in preview
    assert api.get("/api/v1/groups/g0/offsets").json()["offsets"][0]["offset"] == 0
    staff.post("/monitoring/groups/g0/reset/", {"topic": "orders", "to": "latest", "apply": "1"})
    assert api.get("/api/v1/groups/g0/offsets").json()["offsets"][0]["offset"] == 10


def test_the_reset_is_refused_while_the_group_has_active_members(staff, api, make_topic):
    setup_groups(api, make_topic, 1)
    api.post("/api/v1/groups/g0/members", {"topics": ["orders"]})
    answer = staff.post(
        "/monitoring/groups/g0/reset/", {"topic": "orders", "to": "earliest", "apply": "0"}
    ).content.decode()
    assert 'id="reset-error"' in answer and "active members" in answer


def test_a_viewer_gets_no_reset(client, django_user_model, api, make_topic):
    from django.contrib.auth.models import Group

    setup_groups(api, make_topic, 1)
    user = django_user_model.objects.create_user("vi", password="pw")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(user)
    assert client.post("/monitoring/groups/g0/reset/", {"topic": "orders", "to": "latest"}).status_code == 403
    assert ConsumerGroup.objects.filter(name="g0").exists()


def test_lag_rolls_up_per_owning_service(staff, make_api, make_topic):
    make_topic("orders")
    billing = make_api("consume:orders", "produce:orders", service="billing")
    billing.post("/api/v1/topics/orders/events", [{"data": i} for i in range(5)])
    for group in ("billing-a", "billing-b"):
        member = billing.post(
            f"/api/v1/groups/{group}/members", {"topics": ["orders"], "auto_offset_reset": "earliest"}
        ).json()
        billing.get(f"/api/v1/groups/{group}/members/{member['member_id']}/events", max_wait_ms=0, max_events=2)
        billing.post(
            f"/api/v1/groups/{group}/offsets",
            {
                "member_id": member["member_id"],
                "generation": 1,
                "offsets": [{"topic": "orders", "partition": 0, "offset": 2}],
            },
        )
    lag_sample_round(now_ms=now_ms())
    from monitoring.selectors import service_rollups

    rollup = service_rollups()
    assert [(r["service"], r["groups"], r["total_lag"]) for r in rollup] == [("billing", 2, 6)]
    html = staff.get("/monitoring/").content.decode()
    assert 'id="service-rollups"' in html and "billing" in html


def _dead_letter(api, make_topic, n=1):
    """n events of orders dead-lettered by group g on their first nack (as in the retries tests)."""
    from broker.models import DeadLetter
    from broker.services import retries

    retries._due_cache.clear()
    make_topic("orders")
    api.client.put("/api/v1/groups/g/retry-policy", {"max_attempts": 1}, format="json")
    member = api.post("/api/v1/groups/g/members", {"topics": ["orders"], "auto_offset_reset": "earliest"}).json()
    api.post("/api/v1/topics/orders/events", [{"id": f"e{i}", "key": "k", "data": {"n": i}} for i in range(n)])
    api.get(f"/api/v1/groups/g/members/{member['member_id']}/events", max_wait_ms=0)
    for offset in range(n):
        error = {"class": "billing.Declined", "message": f"card {offset} expired", "stack": "Traceback (most recent)"}
        api.post(
            f"/api/v1/groups/g/members/{member['member_id']}/nack",
            {"topic": "orders", "partition": 0, "offset": offset, "error": error},
        )
    return list(DeadLetter.objects.order_by("offset"))


def _user_with_role(client, django_user_model, role):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(role, password="pw")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


def test_dead_letter_page_groups_by_error_and_shows_rows_to_a_viewer_without_actions(
    client, django_user_model, api, make_topic
):
    rows = _dead_letter(api, make_topic, n=2)
    viewer = _user_with_role(client, django_user_model, "viewer")

    page = viewer.get("/monitoring/dead-letters/").content.decode()
    detail = viewer.get(f"/monitoring/dead-letters/{rows[0].id}/").content.decode()

    assert 'id="dl-error-groups"' in page and "billing.Declined" in page and "card 1 expired" in page
    assert page.count('href="/monitoring/dead-letters/') >= 2 and 'name="ids"' not in page
    assert 'id="dl-stack"' in detail and "Traceback (most recent)" in detail and "kafka_dlt-original-topic" in detail
    assert 'id="dl-edit"' not in detail
    refused = viewer.post("/monitoring/dead-letters/actions/", {"action": "redrive", "ids": [rows[0].id]})
    assert refused.status_code == 403
    assert viewer.post(f"/monitoring/dead-letters/{rows[0].id}/", {"data": "{}"}).status_code == 403
    assert api.get("/api/v1/topics/orders").json()["partitions"][0]["end_offset"] == 2


def test_an_editor_redrives_selected_resolves_and_edits_and_redrives(client, django_user_model, api, make_topic):
    first, second, third = _dead_letter(api, make_topic, n=3)
    editor = _user_with_role(client, django_user_model, "editor")

    redriven = editor.post("/monitoring/dead-letters/actions/", {"action": "redrive", "ids": [first.id]}, follow=True)
    editor.post("/monitoring/dead-letters/actions/", {"action": "resolve", "ids": [second.id]})
    edited = editor.post(f"/monitoring/dead-letters/{third.id}/", {"data": '{"n": 42}'}, follow=True)

    assert "Redriven 1 of 1" in redriven.content.decode()
    assert "Sent as" in edited.content.decode()
    events = api.get("/api/v1/topics/orders/partitions/0/events", offset=3).json()["events"]
    assert [(e["id"], e["data"]) for e in events][0] == ("e0.redrive-1", {"n": 0})
    assert events[1]["data"] == {"n": 42} and len(events) == 2
    for row in (first, second, third):
        row.refresh_from_db()
        assert row.resolved_by == "editor"
    assert 'id="dl-state">resolved' in editor.get(f"/monitoring/dead-letters/{second.id}/").content.decode()


def test_group_page_shows_open_dead_letters_and_the_list_query_count_is_flat(staff, api, make_topic):
    rows = _dead_letter(api, make_topic, n=2)
    assert "2 open dead letters" in staff.get("/monitoring/groups/g/").content.decode()

    def count() -> int:
        with CaptureQueriesContext(connection) as context:
            assert staff.get("/monitoring/dead-letters/").status_code == 200
        return len(context.captured_queries)

    few = count()
    from broker.models import DeadLetter

    for i in range(20):
        DeadLetter.objects.create(
            **{f.name: getattr(rows[0], f.name) for f in DeadLetter._meta.fields if f.name not in ("id", "group")},
            group=f"g{i}",
        )
    assert count() == few


def test_sparklines_share_one_scale_and_carry_their_peak(staff, api, make_topic):
    make_topic("orders")
    api.post("/api/v1/topics/orders/events", [{"data": i} for i in range(2600)])
    api.post("/api/v1/groups/small/offsets", {"offsets": [{"topic": "orders", "partition": 0, "offset": 2597}]})
    api.post("/api/v1/groups/big/offsets", {"offsets": [{"topic": "orders", "partition": 0, "offset": 0}]})
    lag_sample_round(now_ms=now_ms())
    html = staff.get("/monitoring/").content.decode()
    small = html[html.index('data-group="small"') :]
    big = html[html.index('data-group="big"') :]
    assert 'data-peak="3" data-scale-max="2600"' in small
    assert 'data-peak="2600" data-scale-max="2600"' in big
    assert "peak 3" in small[: small.index("</tr>")] and "peak 2.6k" in big[: big.index("</tr>")]


def test_sparkline_of_a_small_lag_stays_low_beside_a_large_one():
    from monitoring.selectors import sparklines

    small, big = sparklines([[[0, 1, None], [1000, 3, None]], [[0, 100, None], [1000, 2600, None]]], width=2)
    top_of = lambda line: min(float(point.split(",")[1]) for point in line.points.split())  # noqa: E731
    assert (small.peak, small.scale_top, big.scale_top) == (3.0, 2600.0, 2600.0)
    assert top_of(big) == pytest.approx(1.0)  # the largest lag reaches the top edge
    assert top_of(small) > 17  # lag 3 on a 2,600 scale stays in the bottom quarter


def test_group_page_gives_one_line_per_partition_status_with_details_on_demand(staff, api, make_topic):
    from broker.models import Topic
    from monitoring.lag import PartitionLag, status_lines
    from tests.monitoring.test_lag import _commits

    make_topic("orders")
    api.post("/api/v1/topics/orders/events", [{"data": i} for i in range(100)])
    group = ConsumerGroup.objects.create(name="silent")
    now = now_ms()
    _commits(
        group,
        Topic.objects.get(name="orders"),
        [(10 + i, now - 600_000 + i * 10_000) for i in range(10)],
        end_offset=100,
    )
    html = staff.get("/monitoring/groups/silent/").content.decode()
    line = html[html.index('id="status-line-STOP"') :]
    summary = line[line.index("<summary>") : line.index("</summary>")]
    assert "orders/0" in summary and "stopped: no commit for" in summary and "broker polls" not in summary
    assert "broker polls" in line[: line.index("</details>")]  # the full reason, on demand

    lags = [
        PartitionLag(group.id, 1, "orders", n, 0, 10, 0, 0, 10 - n, None, status="STOP", status_summary=f"s{n}")
        for n in range(5)
    ] + [PartitionLag(group.id, 1, "orders", 9, 0, 10, 10, 0, 0, None, status="OK")]
    [stopped] = status_lines(lags)
    assert stopped.status == "STOP" and [p.partition for p in stopped.partitions] == [0, 1, 2, 3, 4]
    assert stopped.summary == "s0"


def test_the_reset_wizard_moves_only_the_partitions_picked(staff, api, make_topic):
    make_topic("orders", partitions=3)
    api.post("/api/v1/topics/orders/events", [{"partition": p, "data": i} for p in range(3) for i in range(4)])
    api.post(
        "/api/v1/groups/g0/offsets", {"offsets": [{"topic": "orders", "partition": p, "offset": 1} for p in range(3)]}
    )
    form = staff.post("/monitoring/groups/g0/reset/", {"topic": "orders", "refresh": "1"}).content.decode()
    assert form.count('name="partitions"') == 3 and form.count(" checked") == 3, "all partitions by default"
    body = {"topic": "orders", "to": "latest", "picked": "1", "partitions": ["0", "2"], "apply": "1"}
    applied = staff.post("/monitoring/groups/g0/reset/", body)
    assert 'id="reset-preview"' in applied.content.decode() and applied.context["preview"]["dry_run"] is False
    offsets = {row["partition"]: row["offset"] for row in api.get("/api/v1/groups/g0/offsets").json()["offsets"]}
    assert offsets == {0: 4, 1: 1, 2: 4}


def test_the_reset_wizard_refuses_when_no_partition_is_picked(staff, api, make_topic):
    setup_groups(api, make_topic, 1)
    answer = staff.post("/monitoring/groups/g0/reset/", {"topic": "orders", "to": "earliest", "picked": "1"})
    assert "pick at least one partition" in answer.content.decode() and answer.context["preview"] is None
