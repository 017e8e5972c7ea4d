"""The dead-letter page of one event: classified personal data masked for people without the
right, and the edit-and-redrive form shown only to editors who may see the whole event (a masked
value sent back would overwrite the real one)."""

from __future__ import annotations

import html

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import override_settings

from broker.masking import MASK, personal_data_forget
from broker.services import retries
from tests.broker.test_dead_letters import dead_letters, read

pytestmark = pytest.mark.django_db

CARD = {"n": 0, "card": {"number": "4111 1111"}, "email": "ann@example.com"}


def card_is_personal_data() -> dict[str, list[str]]:
    return {"OrderPlaced": ["/card/number", "/email"]}


@pytest.fixture(autouse=True)
def _provider():
    retries._due_cache.clear()
    provider = {**settings.EVENTLINE, "PERSONAL_DATA_PROVIDER": f"{__name__}.card_is_personal_data"}
    with override_settings(EVENTLINE=provider):
        personal_data_forget()
        yield
    personal_data_forget()
    retries._due_cache.clear()


@pytest.fixture
def row(api, make_topic):
    make_topic("orders")
    (row,) = dead_letters(api, data=CARD)
    return row


@pytest.fixture
def person(client, django_user_model):
    def login(*groups: str):
        user = django_user_model.objects.create_user("-".join(groups) or "nobody", password="pw")
        for name in groups:
            user.groups.add(Group.objects.get_or_create(name=name)[0])
        client.force_login(user)
        return client

    return login


def detail(client, row) -> str:
    response = client.get(f"/monitoring/dead-letters/{row.id}/")
    assert response.status_code == 200
    return response.content.decode()


def test_an_editor_without_the_pii_right_sees_the_event_masked_and_no_redrive_form(person, row, api):
    editor = person("editor")
    page = detail(editor, row)
    event = html.unescape(page.split('id="dl-event">')[1].split("</pre>")[0])
    assert '"number": "***"' in event and '"email": "***"' in event and '"n": 0' in event
    assert "4111" not in page and "ann@example.com" not in page
    assert 'id="dl-edit"' not in page and 'id="dl-masked"' in page

    sent = editor.post(f"/monitoring/dead-letters/{row.id}/", {"data": '{"n": 1, "card": {"number": "***"}}'})
    assert sent.status_code == 403
    assert len(read(api)) == 1  # nothing was sent to the topic


def test_an_editor_in_the_pii_group_sees_the_event_whole_and_can_edit_and_redrive_it(person, row, api):
    editor = person("editor", "pii")
    page = detail(editor, row)
    assert "4111 1111" in page and "ann@example.com" in page
    assert 'id="dl-edit"' in page and 'id="dl-masked"' not in page

    sent = editor.post(f"/monitoring/dead-letters/{row.id}/", {"data": '{"n": 1, "card": {"number": "4000"}}'})
    assert sent.status_code == 302
    assert read(api)[-1]["data"] == {"n": 1, "card": {"number": "4000"}}


def test_a_viewer_sees_the_event_masked_no_redrive_form_and_is_refused_a_post(person, row, api):
    viewer = person("viewer")
    page = detail(viewer, row)
    assert "4111" not in page and MASK in page
    assert 'id="dl-edit"' not in page and 'id="dl-masked"' in page
    assert viewer.post(f"/monitoring/dead-letters/{row.id}/", {"data": "{}"}).status_code == 403
    assert len(read(api)) == 1


def test_an_editor_sees_the_form_for_an_event_of_a_type_that_classifies_nothing(person, api, make_topic):
    make_topic("orders")
    with override_settings(EVENTLINE={**settings.EVENTLINE, "PERSONAL_DATA_PROVIDER": ""}):
        personal_data_forget()
        (row,) = dead_letters(api, data=CARD)
        page = detail(person("editor"), row)
    assert "4111 1111" in page and 'id="dl-edit"' in page
