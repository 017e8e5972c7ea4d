"""A mixed estate end to end on a real Kafka (issue 18, the Kafka pass of `.ci/run`): Orders
produces over Eventline's HTTP API; Payments is a plain confluent-kafka service that reads the
orders in its own consumer group and writes Avro with Confluent's AvroSerializer, registering its
schema through Eventline's /registry and carrying the correlation id in a header; Fulfilment is a
native consumer group reading the payments with the AvroDeserializer. Then a record without the
wire format breaks the payments topic's contract.

Eventline never sees those clients' calls. What it knows comes from the indexer (the records),
the commit-log reader (the groups' commits), the lag round (members and lag) and the catalog
(which service runs which group). The test asserts what a user reads: the trace across both
kinds of client with native hops and their latency, the lineage edges, the lag figures, and the
data-contract violation."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from broker.commit_log import CommitLogReader
from broker.indexer import Indexer, IndexerConfig
from broker.models import ConsumerGroup, ContractViolation, Event, GroupActivity
from catalog import services as catalog
from core.models import Service
from core.services import api_key_create
from schemas.usage import registry_uses_flush
from tests.broker.conftest import cluster_forget
from tests.catalog.conftest import EDITOR

pytestmark = pytest.mark.django_db

KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")

PAYMENT = {
    "type": "record",
    "name": "PaymentCompleted",
    "namespace": "com.example.payments",
    "fields": [
        {"name": "order_id", "type": "string"},
        {"name": "amount_cents", "type": "long"},
        {"name": "currency", "type": "string"},
    ],
}


@pytest.fixture
def estate(settings: Any) -> Iterator[str]:
    if not KAFKA:
        pytest.skip("KAFKA_BOOTSTRAP_SERVERS is not set: start a local Kafka with `scripts/kafka.sh start`")
    settings.BROKER_BACKEND = "kafka"
    settings.KAFKA_BOOTSTRAP_SERVERS = KAFKA
    prefix = f"mix-{uuid.uuid4().hex[:8]}"
    settings.EVENTLINE = {**settings.EVENTLINE, "INDEXER_GROUP": f"{prefix}-indexer"}
    yield prefix
    cluster_forget(AdminClient({"bootstrap.servers": KAFKA}), prefix)


def _registry(live_server: Any, service: str) -> SchemaRegistryClient:
    _, key = api_key_create(service_name=service, scopes=["registry:write"])
    key_id, _, secret = key.partition(".")
    return SchemaRegistryClient({"url": f"{live_server.url}/registry", "basic.auth.user.info": f"{key_id}:{secret}"})


def _poll_one(consumer: Consumer, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            return message
    raise AssertionError("no record arrived")


def _until(done: Any, *steps: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        for step in steps:
            step()
    assert done()


def test_a_mixed_estate_of_http_and_native_avro_clients_is_traced_mapped_and_checked(
    api: Any, make_api: Any, estate: str, live_server: Any
) -> None:
    from lineage.selectors import lineage_graph
    from monitoring.kafka_groups import members_due
    from monitoring.lag import lag_sample_round
    from monitoring.latency import group_latencies

    orders, payments = f"{estate}-orders", f"{estate}-payments"
    for name in (orders, payments):
        assert api.post("/api/v1/topics", {"name": name, "partitions": 1}).status_code == 201
    payments_group, fulfilment_group = f"{estate}-payments-svc", f"{estate}-fulfilment"
    # The catalog knows which service runs which native group: Payments by its group's name,
    # Fulfilment by its client ids.
    catalog.service_document(principal=EDITOR, name="payments", create=True, consumer_groups=[f"{estate}-payments-*"])
    catalog.service_document(principal=EDITOR, name="fulfilment", create=True, client_ids=["fulfilment-*"])
    correlation = str(uuid.uuid4())

    # 1. Orders, over HTTP: an earlier order, then the one followed here.
    orders_api = make_api(f"produce:{orders}", service="orders")
    for order_id, correlation_id in (("o-0", str(uuid.uuid4())), ("o-1", correlation)):
        placed = orders_api.post(
            f"/api/v1/topics/{orders}/events",
            {
                "type": "OrderPlaced",
                "source": "/services/orders",
                "correlationid": correlation_id,
                "data": {"order": order_id},
            },
            content_type="application/cloudevents+json",
        )
        assert placed.status_code == 200, placed.content

    # 2. Payments: a native consumer of the orders, and a native Avro producer.
    registry = _registry(live_server, "payments")
    serializer = AvroSerializer(registry, json.dumps(PAYMENT))  # registers <topic>-value on first use
    reader = Consumer(
        {
            "bootstrap.servers": KAFKA,
            "group.id": payments_group,
            "client.id": "payments-1",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    reader.subscribe([orders])
    reader.commit(message=_poll_one(reader), asynchronous=False)  # the earlier order, done at once
    order = _poll_one(reader)
    time.sleep(0.3)  # the work the payment takes
    producer = Producer({"bootstrap.servers": KAFKA})
    value = serializer(
        {"order_id": "o-1", "amount_cents": 4_200, "currency": "EUR"},
        SerializationContext(payments, MessageField.VALUE),
    )
    headers = [
        ("ce_id", b"pay-1"),
        ("ce_type", b"PaymentCompleted"),
        ("ce_source", b"/services/payments"),
        ("X-Correlation-ID", correlation.encode()),
    ]
    producer.produce(payments, key=b"o-1", value=value, headers=headers)
    assert producer.flush(10) == 0
    reader.commit(message=order, asynchronous=False)
    reader.close()

    # 3. Fulfilment: a native consumer group reading the payments with Confluent's deserializer.
    deserializer = AvroDeserializer(_registry(live_server, "fulfilment"))
    fulfilment = Consumer(
        {
            "bootstrap.servers": KAFKA,
            "group.id": fulfilment_group,
            "client.id": "fulfilment-7",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    fulfilment.subscribe([payments])
    payment = _poll_one(fulfilment)
    assert deserializer(payment.value(), SerializationContext(payments, MessageField.VALUE))["amount_cents"] == 4_200
    fulfilment.commit(message=payment, asynchronous=False)

    # 4. A bad record: no wire format on a topic whose subject is registered.
    producer.produce(payments, key=b"o-2", value=b'{"order_id": "o-2"}', headers=[("ce_source", b"/services/payments")])
    assert producer.flush(10) == 0

    # What Eventline runs: the indexer, the commit-log reader, a lag round (while Fulfilment is up).
    indexer = Indexer(KAFKA, config=IndexerConfig(include=[f"{estate}-.*"]), batch=100)
    commits = CommitLogReader(KAFKA)
    try:
        _until(
            lambda: (
                Event.objects.filter(topic__name__startswith=estate).count() == 4
                and GroupActivity.objects.filter(group__name__in=[payments_group, fulfilment_group]).count() == 3
            ),
            lambda: indexer.run_once(timeout_s=0.2),
            lambda: commits.run_once(timeout_s=0.2),
        )
        members_due()  # members are described once a minute: this round does it
        lag_sample_round(now_ms=int(time.time() * 1000))
    finally:
        indexer.close()
        commits.close()
        fulfilment.close()

    # The trace: the HTTP event and the native Avro one, with native hops and their latency.
    trace = api.get(f"/api/v1/traces/{correlation}")
    assert trace.status_code == 200, trace.content
    body = trace.json()
    assert [(e["type"], e["producer"]) for e in body["events"]] == [
        ("OrderPlaced", "orders"),
        ("PaymentCompleted", "payments"),
    ]
    first, second = body["events"]
    assert second["data"] == {"order_id": "o-1", "amount_cents": 4_200, "currency": "EUR"}
    assert second["schema"] == {"subject": f"{payments}-value", "version": 1}
    [hop] = first["hops"]  # the indexer's own group is not a consumer
    assert (hop["group"], hop["service"], hop["state"], hop["fetch_estimated"]) == (
        payments_group,
        "payments",
        "consumed",
        True,
    )
    # Fetched when the earlier order was committed (the estimate); the 0.3 s of work is processing.
    assert hop["time_in_broker_ms"] >= 0 and hop["processing_ms"] >= 300
    [hop] = second["hops"]
    assert (hop["group"], hop["service"], hop["state"]) == (fulfilment_group, "fulfilment", "consumed")

    # Lineage: Payments produces to its topic; its group reads the orders and runs in it;
    # Fulfilment's group reads the payments.
    edges = set(lineage_graph(window="1h").edges)
    assert {
        (f"topic:{orders}", f"group:{payments_group}"),
        (f"group:{payments_group}", "service:payments"),
        (f"topic:{payments}", f"group:{fulfilment_group}"),
        (f"group:{fulfilment_group}", "service:fulfilment"),
    } <= edges

    # Registry traffic, beside the flows: Payments' serializer registered the subject (a producer
    # candidate), Fulfilment's deserializer fetched the id (a consumer candidate); both are backed
    # by what the broker observed.
    registry_uses_flush()  # what the web process writes every EVENTLINE_REGISTRY_USE_FLUSH_S
    found = api.get("/api/v1/lineage/registry-evidence?window=1h").json()["evidence"]
    evidence = {(e["service"], e["role"], e["topic"]): e for e in found}
    assert evidence[("payments", "producer", payments)]["status"] == "observed"
    assert evidence[("payments", "producer", payments)]["subject"] == f"{payments}-value"
    assert evidence[("fulfilment", "consumer", payments)]["status"] == "observed"

    # Lag: Fulfilment read the payment and not the bad record after it.
    lag = api.get(f"/api/v1/groups/{fulfilment_group}/lag-summary")
    assert lag.status_code == 200, lag.content
    assert lag.json()["total_lag"] == 1
    assert ConsumerGroup.objects.get(name=fulfilment_group).client_ids == ["fulfilment-7"]
    [figures] = group_latencies(
        group_id=ConsumerGroup.objects.get(name=payments_group).id,
        group_name=payments_group,
        since_ms=0,
        by_type=False,
    ) or [None]
    assert figures is not None and figures.fetch_estimated and figures.events == 1

    # The data contract: the bad record, counted once, produced by Payments.
    [violation] = ContractViolation.objects.filter(topic__name=payments)
    assert (violation.kind, violation.count, violation.producer_id) == (
        ContractViolation.MISSING_WIRE_FORMAT,
        1,
        Service.objects.get(name="payments").id,
    )
