"""Registry traffic beside the flows (lineage.registry_evidence, issue 18): each service's
serializer and deserializer calls become producer and consumer candidates of the topics their
subjects name (TopicNameStrategy, TopicRecordNameStrategy, a bound subject, a schema id's
subjects), marked observed, declared or registry only; the graph page lists them all, the drift
page the ones nothing else shows, and the API serves them."""

from __future__ import annotations

import json
from typing import Any

from core.services import service_get_or_create
from lineage.selectors import lineage_registry_evidence
from schemas.models import RegistryUse
from schemas.services import schema_version_register
from tests.lineage.conftest import MINUTE


def _asked(estate: Any, service: str, role: str, subject: str = "", schema_id: int = 0, requests: int = 1) -> None:
    at = estate.now - MINUTE
    RegistryUse.objects.create(
        service=service_get_or_create(name=service),
        role=role,
        subject=subject,
        schema_id=schema_id,
        minute_ms=at - at % 60_000,
        requests=requests,
        last_seen_ms=at,
    )


def test_candidates_are_placed_on_topics_and_marked_by_what_backs_them(estate: Any) -> None:
    estate.service("orders").service("billing").service("audit").service("risk")
    estate.event_type("OrderPlaced", topic="orders").declares("orders", "producer", "OrderPlaced")
    estate.produced("orders", "OrderPlaced", "orders")
    estate.declares("billing", "consumer", "OrderPlaced")
    estate.topic("orders-archive")
    refund = schema_version_register(
        subject="refunds-RefundIssued", schema=json.dumps({"type": "object"}), schema_type="JSON"
    )
    estate.topic("refunds")
    _asked(estate, "orders", "producer", "orders-value", requests=3)  # observed and declared
    _asked(estate, "billing", "consumer", "orders-value")  # declared only
    _asked(estate, "audit", "consumer", "orders-archive-value")  # the longer topic name wins
    _asked(estate, "risk", "consumer", schema_id=refund.schema_id)  # an id: the subjects holding it
    _asked(estate, "risk", "producer", "nowhere-value")  # no topic Eventline knows

    found = {(e.service, e.role, e.topic, e.subject): e.status for e in lineage_registry_evidence(window="1h")}
    assert found == {
        ("orders", "producer", "orders", "orders-value"): "observed and declared",
        ("billing", "consumer", "orders", "orders-value"): "declared",
        ("audit", "consumer", "orders-archive", "orders-archive-value"): "registry only",
        ("risk", "consumer", "refunds", "refunds-RefundIssued"): "registry only",
        ("risk", "producer", None, "nowhere-value"): "registry only",
    }


def test_the_pages_and_the_api_show_the_evidence_marked_as_such(estate: Any, as_role: Any, api: Any) -> None:
    estate.service("orders").service("audit")
    estate.event_type("OrderPlaced", topic="orders")
    estate.produced("orders", "OrderPlaced", "orders")
    _asked(estate, "orders", "producer", "orders-value")
    _asked(estate, "audit", "consumer", "orders-value")
    viewer = as_role("viewer")

    graph_page = viewer.get("/lineage/?window=1h").content.decode()
    assert graph_page.count('class="registry-evidence-row"') == 2 and "registry only" in graph_page
    drift_page = viewer.get("/lineage/drift/?window=1h").content.decode()
    assert drift_page.count('class="registry-evidence-row"') == 1  # only what nothing else shows
    body = api.get("/api/v1/lineage/registry-evidence?window=1h").json()
    assert [(e["service"], e["role"], e["status"], e["evidence"]) for e in body["evidence"]] == [
        ("audit", "consumer", "registry only", "registry"),
        ("orders", "producer", "observed", "registry"),
    ]
