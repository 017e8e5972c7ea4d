"""The audit page: editors and admins read it with the API's filters, viewers are refused and do not
see it in the navigation, anonymous visitors go to the login page, and its query count does not
grow with the entries."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.auth import Principal
from core.choices import AuditAction
from core.services import audit_record

pytestmark = pytest.mark.django_db
PAGE = "/audit/"


def _login(client, django_user_model, role: str):
    user = django_user_model.objects.create_user(f"{role}-user", password="pw")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    client.force_login(user)
    return client


@pytest.fixture
def editor(client, django_user_model):
    return _login(client, django_user_model, "editor")


def _record(n: int, *, target: str = "orders", action: str = AuditAction.TOPIC_UPDATED) -> None:
    ada = Principal(scopes=frozenset({"admin"}), user_id=9, username="ada")
    with transaction.atomic():
        for i in range(n):
            audit_record(
                principal=ada,
                action=action,
                target_type="topic",
                target=target,
                before={"partitions": i, "config": {"retention.ms": 1}},
                after={"partitions": i + 1, "config": {"retention.ms": 1}},
            )


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_editor_sees_who_changed_what_with_before_and_after(editor):
    _record(1)
    response = editor.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="audit-entries"' in html and "Topic changed" in html and "ada" in html
    assert "<code>partitions</code>" in html and "retention.ms</code>" not in html  # only what changed
    assert 'href="/audit/"' in html  # in the navigation


def test_a_change_inside_a_nested_object_shows_as_its_dotted_key(editor, make_topic):
    from broker.services.topics import topic_update

    make_topic("orders")
    topic_update(name="orders", config={"retention.ms": 5000})
    html = editor.get(PAGE, {"action": "topic.updated"}).content.decode()
    assert "<code>config.retention.ms</code>" in html and "config.validation.mode" not in html


def test_a_viewer_is_refused_and_has_no_audit_link(client, django_user_model):
    viewer = _login(client, django_user_model, "viewer")
    assert viewer.get(PAGE).status_code == 403
    assert 'href="/audit/"' not in viewer.get("/topics/").content.decode()


def test_filters_in_the_query_string_narrow_the_entries(editor):
    _record(2, target="orders")
    _record(1, target="payments", action=AuditAction.TOPIC_DELETED)
    html = editor.get(PAGE, {"target": "pay*"}).content.decode()
    assert html.count('class="audit-entry"') == 1 and 'value="pay*"' in html
    html = editor.get(PAGE, {"action": "topic.updated"}).content.decode()
    assert html.count('class="audit-entry"') == 2
    html = editor.get(PAGE, {"since": "2000-01-01T00:00", "until": "2999-01-01T00:00"}).content.decode()
    assert html.count('class="audit-entry"') == 3  # what a datetime-local input sends
    html = editor.get(PAGE, {"since": "not a date"}).content.decode()
    assert html.count('class="audit-entry"') == 0 and "Enter a valid date/time" in html


def test_pages_keep_the_filters_in_their_links(editor):
    _record(60)
    html = editor.get(PAGE, {"target": "orders"}).content.decode()
    assert html.count('class="audit-entry"') == 50
    assert "?target=orders&amp;page=2" in html


def test_the_page_takes_the_same_number_of_queries_for_5_or_50_entries(editor):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert editor.get(PAGE).status_code == 200
        return len(context.captured_queries)

    _record(5)
    few = count_queries()
    _record(45)
    assert count_queries() == few
