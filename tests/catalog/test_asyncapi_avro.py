"""AsyncAPI export of an Avro-bound event type (issue 15): the message payload is a Multi Format
Schema Object (in components/schemas) naming Avro's schemaFormat, as AsyncAPI 3.0 defines, and the document stays valid."""

from __future__ import annotations

import json

import jsonschema
import pytest

from catalog import services
from catalog.models import EventType
from tests.catalog.conftest import EDITOR
from tests.catalog.test_asyncapi import SPECS, resolve
from tests.schemas.test_pages_avro import V1, register

pytestmark = pytest.mark.django_db


def test_an_avro_payload_is_exported_with_avros_schema_format(api, make_event_type):
    register("orders-value", V1)
    make_event_type("OrderPlaced", topics=["orders"], producers=None, subject="orders-value")
    services.service_document(principal=EDITOR, name="orders", create=True, owner_team="Checkout Team", summary="x")
    services.declared_flow_add(
        principal=EDITOR, event_type=EventType.objects.get(name="OrderPlaced"), service_name="orders", role="producer"
    )

    document = api.get("/api/v1/catalog/services/orders/asyncapi").json()

    payload = resolve(document, document["components"]["messages"]["OrderPlaced"]["payload"]["$ref"])
    assert payload == {"schemaFormat": "application/vnd.apache.avro+json;version=1.9.0", "schema": V1}
    spec = json.loads((SPECS / "asyncapi-3.0.0.json").read_text())
    errors = list(jsonschema.Draft7Validator(spec).iter_errors(document))
    assert errors == [], [error.message for error in errors[:3]]


def test_an_exported_avro_payload_imports_back_as_the_same_avro_schema(api, make_event_type):
    """AsyncAPI 3.0 in: the Multi Format Schema Object the export wrote is read as Avro, into the
    same catalog (nothing changes) and into an empty one (the subject is Avro with the schema)."""
    from schemas.models import RegistryState, Schema, Subject
    from schemas.selectors import loaded_schema
    from schemas.validation import resolve_subject

    test_an_avro_payload_is_exported_with_avros_schema_format(api, make_event_type)
    document = api.get("/api/v1/catalog/services/orders/asyncapi").json()
    url = "/api/v1/catalog/asyncapi/import"

    again = api.post(f"{url}?dry_run=true", document)
    assert again.status_code == 200, again.content
    assert [(s["subject"], s["schema_type"], s["action"]) for s in again.json()["subjects"]] == [
        ("orders-value", "AVRO", "unchanged")
    ]

    EventType.objects.all().delete()
    Subject.objects.all().delete()
    Schema.objects.all().delete()
    RegistryState.objects.all().delete()
    from schemas.cache import registry_cache

    registry_cache.sync()
    imported = api.post(f"{url}?dry_run=false", document)

    assert imported.status_code == 200, imported.content
    assert imported.json()["applied"]
    assert [(s["subject"], s["action"]) for s in imported.json()["subjects"]] == [("orders-value", "create")]
    stored = loaded_schema(resolve_subject("orders-value").schema_id)
    assert stored.schema_type == "AVRO" and stored.parsed == V1
    assert EventType.objects.get(name="OrderPlaced").subject == "orders-value"
