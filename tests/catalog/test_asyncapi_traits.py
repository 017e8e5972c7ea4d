"""Message traits in AsyncAPI documents (issue 16): applied in order by JSON Merge Patch before the
message is read, so a correlation id, tags, a summary or headers given in a shared trait reach the
catalog. AsyncAPI 2.x lets a trait's fields win; 3.0 never lets a trait override the message."""

from __future__ import annotations

import pytest

from catalog.models import EventType

pytestmark = pytest.mark.django_db
URL = "/api/v1/catalog/asyncapi/import?dry_run=false"

TRAITS = {
    "correlated": {
        "correlationId": {"location": "$message.payload#/request_id"},
        "summary": "From the trait",
        "tags": [{"name": "traced"}],
    },
    "headed": {"headers": {"type": "object", "properties": {"tenant": {"type": "string"}}}},
}
PAYLOAD = {"type": "object", "properties": {"request_id": {"type": "string"}}}


def v3(summary: str | None) -> dict:
    message = {
        "name": "LampSwitched",
        "payload": PAYLOAD,
        "traits": [{"$ref": "#/components/messageTraits/correlated"}, {"$ref": "#/components/messageTraits/headed"}],
    }
    if summary is not None:
        message["summary"] = summary
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Lamps", "version": "1.0.0"},
        "channels": {"switched": {"address": "lamps.switched", "messages": {"m": {"$ref": "#/components/messages/m"}}}},
        "operations": {"announce": {"action": "send", "channel": {"$ref": "#/channels/switched"}}},
        "components": {"messages": {"m": message}, "messageTraits": TRAITS},
    }  # fmt: skip


def v2(summary: str) -> dict:
    return {
        "asyncapi": "2.6.0",
        "info": {"title": "Lamps", "version": "1.0.0"},
        "channels": {"lamps.switched": {"publish": {"message": {
            "name": "LampSwitched", "summary": summary, "payload": PAYLOAD,
            "traits": [{"$ref": "#/components/messageTraits/correlated"}]}}}},
        "components": {"messageTraits": TRAITS},
    }  # fmt: skip


def imported(api, document) -> EventType:
    response = api.post(URL, document)
    assert response.status_code == 200 and response.json()["applied"], response.content
    return EventType.objects.prefetch_related("tags").get(name="LampSwitched")


def test_a_3_0_message_takes_what_its_traits_add_and_keeps_what_it_sets(api, db):
    event_type = imported(api, v3(summary="Said by the message"))

    assert event_type.correlation_id_location == "$message.payload#/request_id"
    assert [tag.name for tag in event_type.tags.all()] == ["traced"]
    assert event_type.summary == "Said by the message"


def test_a_3_0_message_without_its_own_summary_takes_the_traits(api, db):
    assert imported(api, v3(summary=None)).summary == "From the trait"


def test_in_2_6_the_traits_fields_win(api, db):
    event_type = imported(api, v2(summary="Said by the message"))

    assert event_type.summary == "From the trait"
    assert event_type.correlation_id_location == "$message.payload#/request_id"


def test_the_export_gives_the_traits_back_as_published(api, db):
    document = v3(summary="Said by the message")
    imported(api, document)

    exported = api.get("/api/v1/catalog/services/lamps/asyncapi")

    assert exported.status_code == 200, exported.content
    message = exported.json()["components"]["messages"]["m"]
    assert message["traits"] == document["components"]["messages"]["m"]["traits"]
    assert exported.json()["components"]["messageTraits"] == TRAITS
