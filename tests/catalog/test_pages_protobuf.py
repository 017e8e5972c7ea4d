"""The catalog's event type page with a Protobuf subject: the registry's field table (issue 15)."""

from __future__ import annotations

import pytest

from tests.schemas.test_pages_protobuf import ORDER, register

pytestmark = pytest.mark.django_db


def test_the_catalog_event_type_page_shows_the_protobuf_fields(client, django_user_model, make_event_type):
    register("orders-value", ORDER)
    make_event_type(name="OrderPlaced", subject="orders-value")
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-viewer-123"))

    response = client.get("/catalog/event-types/OrderPlaced/")

    assert response.status_code == 200, response.content[:500]
    rows = response.context["schema"].fields
    assert [row.pointer for row in rows][:3] == ["/orderId", "/placedAt", "/status"]
    assert rows[0].type == "int64" and rows[0].constraints == ["#1, json: orderId"]
    assert "repeated Line" in response.content.decode()
