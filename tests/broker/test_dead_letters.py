"""Dead letters (issue 13): redrive to the original topic with the original key and a new id,
idempotently; edit-and-redrive as a new event (editors and admins); resolve; audited; scoped."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import override_settings

from broker.masking import MASK, personal_data_forget
from broker.models import DeadLetter
from broker.services import retries
from broker.services.dead_letters import dead_letter_redrive
from core.models import AuditEntry

pytestmark = pytest.mark.django_db

ERROR = {"class": "billing.PaymentDeclined", "message": "card expired", "stack": "Traceback ...\n  line 1"}


@pytest.fixture(autouse=True)
def _fresh_due_cache():
    retries._due_cache.clear()
    yield
    retries._due_cache.clear()


def dead_letters(api, n=1, group="g", topic="orders", error=ERROR, data=None):
    """Produce n events with key 'order-7' and headers, and dead-letter each on its first nack."""
    api.client.put(f"/api/v1/groups/{group}/retry-policy", {"max_attempts": 1}, format="json")
    member = api.post(f"/api/v1/groups/{group}/members", {"topics": [topic], "auto_offset_reset": "earliest"}).json()[
        "member_id"
    ]
    body = [
        {
            "id": f"e{i}",
            "source": "shop",
            "type": "OrderPlaced",
            "key": "order-7",
            "data": data or {"n": i},
            "headers": [{"key": "tenant", "value": "acme"}],
        }
        for i in range(n)
    ]
    assert api.post(f"/api/v1/topics/{topic}/events", body).status_code == 200
    api.get(f"/api/v1/groups/{group}/members/{member}/events", max_wait_ms=0)
    for offset in range(n):
        answer = api.post(
            f"/api/v1/groups/{group}/members/{member}/nack",
            {"topic": topic, "partition": 0, "offset": offset, "error": error},
        )
        assert answer.json()["outcome"] == "dead_lettered", answer.content
    return list(DeadLetter.objects.filter(group=group).order_by("offset"))


def read(api, topic="orders"):
    return api.get(f"/api/v1/topics/{topic}/partitions/0/events", offset=0).json()["events"]


def redrive(api, **body):
    return api.post("/api/v1/dead-letters/redrive", body | {"rate_per_s": 1000})


def test_redrive_appends_a_copy_to_the_original_topic_with_the_original_key_and_a_new_id(api, make_topic):
    make_topic("orders")
    (row,) = dead_letters(api)

    answer = redrive(api, ids=[row.id])

    assert answer.status_code == 200, answer.content
    assert answer.json()["done"] == 1 and answer.json()["remaining"] == 0
    copy = read(api)[-1]
    assert (copy["offset"], copy["id"], copy["source"], copy["type"]) == (1, "e0.redrive-1", "shop", "OrderPlaced")
    assert (copy["key"], copy["data"]) == ("order-7", {"n": 0})
    headers = {h["key"]: h["value"] for h in copy["headers"]}
    assert headers == {"tenant": "acme", "eventline-redrive-of": f"orders.g.dlq/0@{row.dead_letter_offset}"}
    row.refresh_from_db()
    assert row.redrive_count == 1 and row.redriven_ms and row.resolved_ms and row.resolved_by == "admin-tool"
    assert AuditEntry.objects.filter(action="dead_letter.redriven", target="g:orders/0@0").count() == 1


def test_a_repeated_redrive_does_not_append_twice(api, make_topic):
    make_topic("orders")
    (row,) = dead_letters(api)
    redrive(api, ids=[row.id])

    again = redrive(api, ids=[row.id]).json()

    assert again["done"] == 0 and again["skipped"] == [row.id]
    assert len(read(api)) == 2


def test_a_redrive_whose_answer_was_lost_is_deduped_by_its_id(api, make_topic):
    make_topic("orders")
    (row,) = dead_letters(api)
    redrive(api, ids=[row.id])
    # As if the append had happened but marking the row had not.
    DeadLetter.objects.filter(id=row.id).update(redrive_count=0, resolved_ms=None)

    again = redrive(api, ids=[row.id]).json()

    assert again["redriven"][0]["duplicate"] is True
    assert len(read(api)) == 2


def test_redrive_all_of_a_group_is_paced_and_reports_progress_past_its_cap(api, make_topic):
    from core.auth import Principal

    make_topic("orders")
    dead_letters(api, n=3)
    waits: list[float] = []
    admin = Principal(scopes=frozenset({"admin"}), username="ops")

    result = dead_letter_redrive(group="g", actor=admin, rate_per_s=10, limit=2, sleep=waits.append)

    assert (result.total, len(result.done), result.remaining) == (3, 2, 1)
    assert len(waits) == 1 and 0 < waits[0] <= 0.1, "the second append waits its turn"
    rest = redrive(api, group="g", all=True).json()
    assert (rest["total"], rest["done"], rest["remaining"]) == (1, 1, 0)
    assert [e["id"] for e in read(api)[3:]] == ["e0.redrive-1", "e1.redrive-1", "e2.redrive-1"]


def test_edit_and_redrive_sends_the_edited_data_as_a_new_event_and_needs_editor_or_admin(api, make_api, make_topic):
    make_topic("orders")
    (row,) = dead_letters(api)
    operator = make_api("produce:orders", "describe:orders", "group:g", service="ops")

    refused = operator.post(f"/api/v1/dead-letters/{row.id}/edit-and-redrive", {"data": {"n": 99}})
    answer = api.post(f"/api/v1/dead-letters/{row.id}/edit-and-redrive", {"data": {"n": 99}})

    assert refused.status_code == 403
    assert answer.status_code == 200, answer.content
    copy = read(api)[-1]
    assert copy["data"] == {"n": 99} and copy["key"] == "order-7"
    assert copy["id"] not in ("e0", "e0.redrive-1") and copy["id"] == answer.json()["event_id"]
    entry = AuditEntry.objects.get(action="dead_letter.edited_redriven")
    assert entry.before["data"] == {"n": 0} and entry.after["data"] == {"n": 99}
    row.refresh_from_db()
    assert row.resolved_ms is not None and row.redrive_count == 1


def card_is_personal_data() -> dict[str, list[str]]:
    return {"OrderPlaced": ["/card/number", "/email"]}


def test_edit_and_redrive_audits_the_data_with_personal_fields_masked_for_every_reader(
    api, make_topic, client, django_user_model
):
    make_topic("orders")
    provider = {**settings.EVENTLINE, "PERSONAL_DATA_PROVIDER": f"{__name__}.card_is_personal_data"}
    with override_settings(EVENTLINE=provider):
        personal_data_forget()
        try:
            (row,) = dead_letters(api, data={"n": 0, "card": {"number": "4111 1111"}, "email": "ann@example.com"})
            edited = {"n": 1, "card": {"number": "4000 0002"}, "email": "ann@example.org"}
            assert api.post(f"/api/v1/dead-letters/{row.id}/edit-and-redrive", {"data": edited}).status_code == 200
        finally:
            personal_data_forget()
    editor = django_user_model.objects.create_user("eddie", password="pw")
    editor.groups.add(Group.objects.get_or_create(name="editor")[0])
    client.force_login(editor)

    entry = AuditEntry.objects.get(action="dead_letter.edited_redriven")
    listed = api.get("/api/v1/audit/", action="dead_letter.edited_redriven").json()["results"][0]
    page = client.get("/audit/", {"action": "dead_letter.edited_redriven"}).content.decode()

    assert entry.before["data"] == {"n": 0, "card": {"number": MASK}, "email": MASK}
    assert entry.after["data"] == {"n": 1, "card": {"number": MASK}, "email": MASK}
    assert entry.after["data_masked"] == ["/card/number", "/email"]
    assert listed["after"]["data"] == entry.after["data"] and listed["before"]["data"] == entry.before["data"]
    for secret in ("4111", "4000", "ann@example"):
        assert secret not in str(listed) and secret not in page
    # The event itself keeps the data, for those with the right to read it (an admin key here).
    assert read(api)[-1]["data"] == edited


def test_resolve_marks_the_row_once_and_is_audited(api, make_topic):
    make_topic("orders")
    (row,) = dead_letters(api)

    first = api.post(f"/api/v1/dead-letters/{row.id}/resolve")
    second = api.post(f"/api/v1/dead-letters/{row.id}/resolve")

    assert (first.json(), second.json()) == ({"resolved": True}, {"resolved": False})
    assert api.get("/api/v1/dead-letters", resolved="false").json()["count"] == 0
    assert api.get("/api/v1/dead-letters", resolved="true").json()["results"][0]["resolved_by"] == "admin-tool"
    assert AuditEntry.objects.filter(action="dead_letter.resolved").count() == 1
    assert len(read(api)) == 1, "resolving appends nothing"


def test_the_list_shows_only_rows_of_groups_and_topics_the_key_may_describe(api, make_api, make_topic):
    make_topic("orders")
    make_topic("payments")
    dead_letters(api, group="g")
    dead_letters(api, group="h", topic="payments")
    viewer = make_api("describe:orders", "group:g", service="viewer")

    listed = viewer.get("/api/v1/dead-letters").json()
    by_group = api.get("/api/v1/dead-letters", group="h").json()

    assert [(r["group"], r["topic"], r["error_class"]) for r in listed["results"]] == [("g", "orders", ERROR["class"])]
    assert [r["topic"] for r in by_group["results"]] == ["payments"]
    other = DeadLetter.objects.get(group="h").id
    assert viewer.post(f"/api/v1/dead-letters/{other}/resolve").status_code == 404
    assert redrive(viewer, ids=[other]).status_code == 403
    assert DeadLetter.objects.get(group="h").resolved_ms is None


def test_a_key_without_produce_on_the_original_topic_cannot_redrive(make_api, api, make_topic):
    make_topic("orders")
    (row,) = dead_letters(api)
    consumer = make_api("consume:orders", "describe:orders", "group:g", service="c")

    assert redrive(consumer, ids=[row.id]).status_code == 403
    assert redrive(api, ids=[]).status_code == 422
    assert len(read(api)) == 1


def test_an_editor_who_sees_personal_data_masked_cannot_edit_and_redrive_it_over_the_api(
    api, make_topic, client, django_user_model
):
    make_topic("orders")
    provider = {**settings.EVENTLINE, "PERSONAL_DATA_PROVIDER": f"{__name__}.card_is_personal_data"}
    editor = django_user_model.objects.create_user("eddie", password="pw")
    editor.groups.add(Group.objects.get_or_create(name="editor")[0])
    client.force_login(editor)
    with override_settings(EVENTLINE=provider):
        personal_data_forget()
        try:
            (row,) = dead_letters(api, data={"n": 0, "email": "ann@example.com"})
            refused = client.post(
                f"/api/v1/dead-letters/{row.id}/edit-and-redrive",
                {"data": {"n": 1, "email": "***"}},
                content_type="application/json",
            )
        finally:
            personal_data_forget()

    assert refused.status_code == 403, refused.content
    assert refused.json()["error"]["code"] == "personal_data_hidden"
    assert len(read(api)) == 1, "nothing was sent"
    assert not AuditEntry.objects.filter(action="dead_letter.edited_redriven").exists()
