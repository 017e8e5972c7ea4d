"""Registry traffic as evidence (schemas.usage, issue 18): what a serializer asks (register, look up,
the latest version) counts as its service producing the subject, what a deserializer asks (a schema
by id) as consuming it; per minute, by the key's service; failed requests, people's sessions and
other routes do not count."""

from __future__ import annotations

import time
from typing import Any

from django.db.models import F

from schemas.models import RegistryUse
from schemas.usage import registry_uses_flush

SCHEMA = {"type": "object", "properties": {"order_id": {"type": "string"}}}


def _uses() -> list[tuple[str, str, str, int, int]]:
    registry_uses_flush()
    return sorted(RegistryUse.objects.values_list("service__name", "role", "subject", "schema_id", "requests"))


def test_serializer_and_deserializer_calls_are_counted_per_service(make_registry: Any) -> None:
    payments = make_registry("registry:write", service="payments")
    fulfilment = make_registry("consume:payments", service="fulfilment")
    schema_id = payments.registered_id("payments-value", SCHEMA)
    body = {"schemaType": "JSON", "schema": '{"type": "object", "properties": {"order_id": {"type": "string"}}}'}
    assert payments.post("/subjects/payments-value", body).status_code == 200  # lookup
    assert payments.get("/subjects/payments-value/versions/latest").status_code == 200
    assert fulfilment.get(f"/schemas/ids/{schema_id}?subject=payments-value").status_code == 200
    assert fulfilment.get(f"/schemas/ids/{schema_id}").status_code == 200
    assert fulfilment.get("/subjects").status_code == 200  # browsing is not evidence

    assert _uses() == [
        ("fulfilment", "consumer", "", schema_id, 1),
        ("fulfilment", "consumer", "payments-value", schema_id, 1),
        ("payments", "producer", "payments-value", schema_id, 3),
    ]


def test_failures_and_people_are_not_evidence(make_registry: Any, client: Any, django_user_model: Any) -> None:
    reader = make_registry("consume:payments", service="reader")
    assert reader.get("/schemas/ids/999").status_code == 404
    assert reader.get("/subjects/nothing/versions/latest").status_code == 404
    user = django_user_model.objects.create_user("vera")
    client.force_login(user)
    assert client.get("/registry/subjects").status_code == 200
    assert _uses() == []


def test_evidence_is_kept_a_week(make_registry: Any) -> None:
    from schemas.usage import RETENTION_MS, registry_uses_prune

    payments = make_registry("registry:write", service="payments")
    payments.registered_id("payments-value", SCHEMA)
    [row] = _uses()
    RegistryUse.objects.update(minute_ms=F("minute_ms") - RETENTION_MS)
    assert registry_uses_prune(now_ms=int(time.time() * 1000)) == 1 and _uses() == []
    assert row[1] == "producer"
