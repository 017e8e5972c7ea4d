"""Where an event type's correlation id lives is part of the catalog, not only of an AsyncAPI
import (issue 16): set and cleared over the API and the edit form, checked (422 naming the field),
shown on the event type page, honoured by the next append in every process (the cached locations
are forgotten on commit), and kept by the catalog folder (test_folder.py)."""

from __future__ import annotations

import pytest

from broker.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/v1/catalog/event-types/OrderPlaced"


def produce(api, order_id: str, **attributes):
    sent = api.post(
        "/api/v1/topics/orders/events",
        {"type": "OrderPlaced", "source": "shop", "data": {"order_id": order_id}, **attributes},
        content_type="application/cloudevents+json",
    )
    assert sent.status_code in (200, 201), sent.content
    return Event.objects.order_by("-id").first()


def test_a_location_set_over_the_api_is_used_by_the_next_append(api, make_event_type):
    make_event_type("OrderPlaced", topics=["orders"])
    assert produce(api, "o-1", correlationid="c-1").correlation_id == "c-1"  # the default, cached now

    changed = api.patch(PATH, {"correlation_id_location": "$message.payload#/order_id"})

    assert changed.status_code == 200, changed.content
    assert changed.json()["correlation_id_location"] == "$message.payload#/order_id"
    assert produce(api, "o-2", correlationid="c-2").correlation_id == "o-2"
    assert api.patch(PATH, {"correlation_id_location": ""}).status_code == 200
    assert produce(api, "o-3", correlationid="c-3").correlation_id == "c-3"


@pytest.mark.parametrize("location", ["order_id", "$message.payload#order_id", "$message.body#/x", "$message.header#"])
def test_a_location_that_is_not_a_runtime_expression_is_refused_naming_the_field(api, make_event_type, location):
    make_event_type("OrderPlaced")

    refused = api.patch(PATH, {"correlation_id_location": location})

    assert refused.status_code == 422, refused.content
    error = refused.json()["error"]["details"]["errors"][0]
    assert error["field"] == "correlation_id_location" and "$message.payload#/" in error["reason"]


def test_the_page_shows_it_and_the_form_edits_it(as_role, make_event_type):
    make_event_type("OrderPlaced", correlation_id_location="$message.header#/requestid")
    editor = as_role("editor")
    page = editor.get("/catalog/event-types/OrderPlaced/").content.decode()
    assert "$message.header#/requestid" in page

    form = editor.get("/catalog/event-types/OrderPlaced/edit/")
    assert form.context["form"].initial["correlation_id_location"] == "$message.header#/requestid"
    data = {key: value for key, value in form.context["form"].initial.items() if value not in (None, [])}
    data["correlation_id_location"] = "$message.payload#/order_id"
    saved = editor.post("/catalog/event-types/OrderPlaced/edit/", data)

    assert saved.status_code == 302, saved.content.decode()[:2000]
    from catalog.models import EventType

    assert EventType.objects.get(name="OrderPlaced").correlation_id_location == "$message.payload#/order_id"
