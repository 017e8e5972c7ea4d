"""Personal data in event reads: masked for keys without pii:read (or admin) in browse and group
fetches, nested and array pointers, and untouched types returned byte for byte as stored."""

import pytest
from django.conf import settings
from django.test import override_settings

from broker.masking import MASK, mask_data, mask_payloads, personal_data_forget
from broker.models import Event
from core.auth import Principal
from core.jsonutil import loads

pytestmark = pytest.mark.django_db

FIELDS = {"CustomerRegistered": ["/email", "/address/street", "/phones/*/number", "/age", "/tags"]}

REGISTERED = {
    "id": "cus-1",
    "email": "someone@example.com",
    "address": {"street": "1 Main St", "city": "Lyon"},
    "phones": [{"kind": "home", "number": "+33 1"}, {"kind": "work", "number": "+33 2"}],
    "age": 42,
    "tags": ["vip"],
}
MASKED = {
    "id": "cus-1",
    "email": MASK,
    "address": {"street": MASK, "city": "Lyon"},
    "phones": [{"kind": "home", "number": MASK}, {"kind": "work", "number": MASK}],
    "age": None,
    "tags": None,
}


def fields_provider() -> dict[str, list[str]]:
    return FIELDS


@pytest.fixture(autouse=True)
def _provider():
    with override_settings(EVENTLINE={**settings.EVENTLINE, "PERSONAL_DATA_PROVIDER": f"{__name__}.fields_provider"}):
        personal_data_forget()
        yield
    personal_data_forget()


@pytest.fixture
def produced(api, make_topic):
    make_topic("customers")
    response = api.post(
        "/api/v1/topics/customers/events",
        [
            {"type": "CustomerRegistered", "data": REGISTERED},
            {"type": "CustomerVisited", "data": {"email": "someone@example.com", "page": "/"}},
        ],
    )
    assert response.status_code == 200, response.content


def browse(client):
    response = client.get("/api/v1/topics/customers/partitions/0/events", offset=0)
    assert response.status_code == 200, response.content
    return response


def test_strings_become_the_mask_other_values_null_and_the_original_is_not_changed():
    original = loads(b'{"a": {"b": [1, {"c": "x"}]}, "n": null, "m": {"k1": {"s": "1"}, "k2": {"s": "2"}}}')
    masked = mask_data(original, ["/a/b/1/c", "/a/b/0", "/n", "/missing/deep", "/m/*/s"])
    assert masked == {"a": {"b": [None, {"c": MASK}]}, "n": None, "m": {"k1": {"s": MASK}, "k2": {"s": MASK}}}
    assert original["a"]["b"][1]["c"] == "x" and original["m"]["k1"]["s"] == "1"


def test_a_key_without_pii_read_browses_classified_fields_masked(make_api, produced):
    events = browse(make_api("consume:customers")).json()["events"]
    assert events[0]["data"] == MASKED
    assert events[0]["id"] and events[0]["offset"] == 0 and events[0]["type"] == "CustomerRegistered"


@pytest.mark.parametrize("scopes", [("consume:customers", "pii:read"), ("admin",)])
def test_a_key_with_pii_read_or_admin_browses_them_as_stored(make_api, produced, scopes):
    assert browse(make_api(*scopes)).json()["events"][0]["data"] == REGISTERED


def test_events_of_types_without_classified_fields_come_back_byte_for_byte_as_stored(make_api, produced):
    body = browse(make_api("consume:customers")).content.decode()
    stored = Event.objects.get(type="CustomerVisited").payload
    assert stored in body


def test_payloads_are_the_same_list_when_nothing_is_masked():
    payloads = ['{"topic":"t","partition":0,"offset":0,"id":"1","source":"s","type":"CustomerVisited","data":{}}']
    reader = Principal(scopes=frozenset({"consume:*"}))
    assert mask_payloads(payloads, reader) is payloads
    assert mask_payloads(payloads, Principal(scopes=frozenset({"pii:read"}))) is payloads


def test_a_type_whose_name_needs_escaping_is_still_found():
    with override_settings(EVENTLINE={**settings.EVENTLINE, "PERSONAL_DATA_PROVIDER": f"{__name__}.quoted"}):
        personal_data_forget()
        payload = '{"topic":"t","partition":0,"offset":0,"id":"1","source":"s","type":"a\\"b","data":{"x":"y"}}'
        [masked] = mask_payloads([payload], Principal(scopes=frozenset({"consume:*"})))
    assert loads(masked)["data"] == {"x": MASK}


def quoted() -> dict[str, list[str]]:
    return {'a"b': ["/x"]}


def join_and_fetch(client):
    member = client.post("/api/v1/groups/readers/members", {"topics": ["customers"], "auto_offset_reset": "earliest"})
    assert member.status_code == 200, member.content
    response = client.get(f"/api/v1/groups/readers/members/{member.json()['member_id']}/events", max_wait_ms=0)
    assert response.status_code == 200, response.content
    return response


def test_a_group_fetch_masks_for_a_key_without_pii_read(make_api, produced):
    response = join_and_fetch(make_api("consume:customers", "group:readers"))
    events = response.json()["events"]
    assert [event["type"] for event in events] == ["CustomerRegistered", "CustomerVisited"]
    assert events[0]["data"] == MASKED
    assert Event.objects.get(type="CustomerVisited").payload in response.content.decode()


def test_a_group_fetch_shows_them_to_a_key_with_pii_read(make_api, produced):
    events = join_and_fetch(make_api("consume:customers", "group:readers", "pii:read")).json()["events"]
    assert events[0]["data"] == REGISTERED


def test_pii_read_is_a_valid_scope_and_a_misspelling_is_not(api):
    from core.scopes import scope_is_valid

    assert scope_is_valid("pii:read") and not scope_is_valid("pii:write")


@override_settings(
    EVENTLINE={**settings.EVENTLINE, "PERSONAL_DATA_PROVIDER": "catalog.selectors.personal_data_fields_by_type"}
)
def test_a_field_classified_in_the_catalog_is_masked_as_soon_as_the_edit_commits(
    make_api, api, make_topic, django_capture_on_commit_callbacks
):
    from catalog import services

    editor = Principal(scopes=frozenset({"admin"}), username="editor")
    make_topic("customers")
    api.post("/api/v1/topics/customers/events", {"type": "CustomerRegistered", "data": REGISTERED})
    reader = make_api("consume:customers")
    with django_capture_on_commit_callbacks(execute=True):
        services.domain_create(principal=editor, name="People")
        services.team_create(principal=editor, name="CRM")
        event_type = services.event_type_create(
            principal=editor,
            data={"name": "CustomerRegistered", "domain": "People", "owner_team": "CRM", "summary": "registered"},
        )
    assert browse(reader).json()["events"][0]["data"] == REGISTERED  # read (and cached) before classifying
    with django_capture_on_commit_callbacks(execute=True):
        services.event_type_update(principal=editor, event_type=event_type, data={"personal_data_fields": ["/email"]})
    assert browse(reader).json()["events"][0]["data"]["email"] == MASK


def test_schema_error_reasons_about_a_classified_field_are_masked_too():
    from broker.masking import mask_document

    document = {
        "type": "CustomerRegistered",
        "data": {"email": "not-an-email", "phones": [{"number": 7}], "age": "x"},
        "schema_errors": [
            {"pointer": "/data/email", "reason": "'not-an-email' is not a 'email'"},
            {"pointer": "/data/phones/0/number", "reason": "7 is not of type 'string'"},
            {"pointer": "/data/plan", "reason": "'plan' is a required property"},
        ],
    }
    mask_document(document, FIELDS["CustomerRegistered"])
    assert [error["reason"] for error in document["schema_errors"]] == [MASK, MASK, "'plan' is a required property"]
