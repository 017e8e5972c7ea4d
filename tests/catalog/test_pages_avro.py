"""The catalog's event type page with an Avro subject: the same field table as the registry's
(type, default, doc) and the version history judged by Avro's rules (issue 15)."""

from __future__ import annotations

import pytest

from tests.schemas.test_pages_avro import V1, V2, register

pytestmark = pytest.mark.django_db


def test_the_catalog_event_type_page_shows_the_avro_fields(client, django_user_model, make_event_type):
    register("orders-value", V1)
    register("orders-value", V2)
    make_event_type(name="OrderPlaced", subject="orders-value")
    client.force_login(django_user_model.objects.create_user("viewer", password="pw-viewer-123"))

    response = client.get("/catalog/event-types/OrderPlaced/")

    assert response.status_code == 200, response.content[:500]
    content = response.content.decode()
    assert "The order number" in content and "long (timestamp-millis)" in content and "Free text" in content
