"""The indexer on a real Kafka (broker.indexer, issue 18): records from Eventline's HTTP API and
from plain confluent-kafka producers land in the index the traces read, with their correlation
ids (CloudEvents attribute, header or JSON field), schema ids, producing services and observed
flows; a poison record is skipped and counted; a restart re-reads nothing twice."""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from django.db import connections
from prometheus_client.parser import text_string_to_metric_families

from broker.choices import ActivityKind
from broker.commit_log import CommitLogReader
from broker.indexer import Indexer, IndexerConfig, run
from broker.indexer import store_batch as indexer_store_batch
from broker.models import Event, FlowStat, GroupActivity, IndexerState
from broker.selectors import STORED_EVENT_COLUMNS, event_documents
from core.models import Service
from tests.broker.conftest import cluster_forget

pytestmark = pytest.mark.django_db

KAFKA_BOOTSTRAP_SERVERS = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")


@pytest.fixture
def unique(settings: Any) -> Iterator[str]:
    if not KAFKA_BOOTSTRAP_SERVERS:
        pytest.skip("KAFKA_BOOTSTRAP_SERVERS is not set: start a local Kafka with `scripts/kafka.sh start`")
    settings.BROKER_BACKEND = "kafka"
    settings.KAFKA_BOOTSTRAP_SERVERS = KAFKA_BOOTSTRAP_SERVERS
    prefix = f"idx-{uuid.uuid4().hex[:10]}"
    yield prefix
    cluster_forget(AdminClient({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS}), prefix)


def _indexer(prefix: str) -> Indexer:
    return Indexer(
        KAFKA_BOOTSTRAP_SERVERS, config=IndexerConfig(include=[f"{prefix}.*"]), group=f"{prefix}-indexer", batch=100
    )


def _index_until(indexer: Indexer, done: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        indexer.run_once(timeout_s=0.2)
    assert done(), indexer.counts


def _native(topic: str, records: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]) -> None:
    producer = Producer({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS})
    for key, value, headers in records:
        producer.produce(topic, value=value, key=key, headers=headers)
    assert producer.flush(10) == 0


def test_http_and_native_records_are_indexed_into_one_trace(api: Any, unique: str) -> None:
    orders, shipments = f"{unique}-orders", f"{unique}-shipments"
    for name in (orders, shipments):
        assert api.post("/api/v1/topics", {"name": name, "partitions": 2}).status_code == 201
    shipping = Service.objects.create(name="shipping")
    sent = api.post(
        f"/api/v1/topics/{orders}/events",
        {"type": "OrderPlaced", "source": "/services/orders", "correlationid": "corr-1", "data": {"order": 1}},
        content_type="application/cloudevents+json",
    )
    assert sent.status_code == 200, sent.content
    _native(
        shipments,
        [
            # CloudEvents binary mode from a native client, the correlation id in a plain header.
            (
                b"1",
                json.dumps({"order": 1}).encode(),
                [
                    ("ce_id", b"ship-1"),
                    ("ce_type", b"ShipmentCreated"),
                    ("ce_source", b"/services/shipping"),
                    ("X-Correlation-ID", b"corr-1"),
                    ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
                ],
            ),
            # No CloudEvents at all: the correlation id is a field of the JSON value; in
            # Confluent's wire format (magic byte, schema id 7) as JSONSerializer writes it.
            (
                None,
                b"\0\0\0\0\x07" + json.dumps({"correlation_id": "corr-1", "step": 2}).encode(),
                [("service", b"shipping")],
            ),
            # A poison record: a CloudEvents extension header announcing JSON that is not.
            (None, b"{}", [("ce_id", b"bad"), ("ce_extra", b"\0{not json")]),
        ],
    )
    indexer = _indexer(unique)
    try:
        _index_until(indexer, lambda: Event.objects.filter(topic__name__startswith=unique).count() == 3)
    finally:
        indexer.close()
    assert indexer.counts.skipped == 1 and indexer.counts.indexed == 3

    native = Event.objects.get(event_id="ship-1")
    assert (native.type, native.correlation_id, native.producer_id) == ("ShipmentCreated", "corr-1", shipping.id)
    assert native.trace_id == "0af7651916cd43dd8448eb211c80319c"
    plain = Event.objects.get(topic__name=shipments, correlation_id="corr-1", schema_id=7)
    assert plain.producer_id == shipping.id and plain.type == shipments, "the topic stands in for a missing type"

    trace = api.get("/api/v1/traces/corr-1")
    assert trace.status_code == 200, trace.content
    types = sorted(event["type"] for event in trace.json()["events"])
    assert types == ["OrderPlaced", "ShipmentCreated", shipments]
    produced = FlowStat.objects.filter(role=FlowStat.ROLE_PRODUCE, service_id=shipping.id)
    assert sum(produced.values_list("events", flat=True)) == 2, "the native producer's flow is observed"


def test_a_restart_resumes_after_the_last_commit_and_a_lost_commit_indexes_nothing_twice(
    api: Any, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = f"{unique}-events"
    assert api.post("/api/v1/topics", {"name": topic, "partitions": 1}).status_code == 201
    _native(topic, [(None, json.dumps({"n": n}).encode(), []) for n in range(5)])
    first = _indexer(unique)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed between the database commit and Kafka's")

    monkeypatch.setattr(first, "_commit", crash)
    with pytest.raises(RuntimeError):
        _index_until(first, lambda: False, timeout_s=5)
    first.close()
    assert Event.objects.filter(topic__name=topic).count() == 5

    _native(topic, [(None, json.dumps({"n": n}).encode(), []) for n in range(5, 8)])
    second = _indexer(unique)
    try:
        _index_until(second, lambda: second.counts.indexed == 3)
    finally:
        second.close()
    assert second.counts.repeated == 5, "the batch whose commit was lost was read again and skipped"
    assert sorted(Event.objects.filter(topic__name=topic).values_list("offset", flat=True)) == list(range(8))


def test_a_commit_refused_by_a_rebalance_loses_nothing_and_repeats_nothing(
    api: Any, unique: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    topic = f"{unique}-events"
    assert api.post("/api/v1/topics", {"name": topic, "partitions": 1}).status_code == 201
    _native(topic, [(None, json.dumps({"n": n}).encode(), []) for n in range(5)])
    first = _indexer(unique)

    def refused(*args: Any, **kwargs: Any) -> None:
        raise KafkaException(KafkaError(KafkaError.REBALANCE_IN_PROGRESS))

    monkeypatch.setattr(first, "_commit", refused)
    try:
        _index_until(first, lambda: first.counts.indexed == 5)  # the refusal does not stop it
    finally:
        first.close()
    assert "commit refused" in caplog.text
    second = _indexer(unique)
    try:
        _index_until(second, lambda: second.counts.repeated == 5)
    finally:
        second.close()
    assert second.counts.indexed == 0 and Event.objects.filter(topic__name=topic).count() == 5


@pytest.mark.django_db(transaction=True)  # the writer thread has its own connection
def test_the_running_indexer_writes_beside_its_reads_and_commits_each_batch_after_its_rows(
    api: Any, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic, readers = f"{unique}-events", f"{unique}-readers"
    assert api.post("/api/v1/topics", {"name": topic, "partitions": 2}).status_code == 201
    _native(topic, [(str(n % 7).encode(), json.dumps({"n": n}).encode(), []) for n in range(1_000)])
    reader = Consumer({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS, "group.id": readers, "enable.auto.commit": False})
    reader.assign([TopicPartition(topic, 0, 0)])
    assert reader.consume(3, timeout=10)
    reader.commit(asynchronous=False)  # a native group's commit, for the commit log
    reader.close()
    writers: set[str] = set()
    collecting: set[bool] = set()
    switch_interval = sys.getswitchinterval()

    def store_batch(*args: Any) -> int:
        writers.add(threading.current_thread().name)
        collecting.add(gc.isenabled())
        return indexer_store_batch(*args)

    monkeypatch.setattr("broker.indexer.store_batch", store_batch)
    indexer = _indexer(unique)  # batches of 100: ten or more handed to the writer
    commit_log = CommitLogReader(KAFKA_BOOTSTRAP_SERVERS)
    stop = threading.Event()
    loop = threading.Thread(target=run, args=(indexer, stop), kwargs={"commit_log": commit_log, "report_every_s": 0.2})
    loop.start()
    try:
        deadline = time.monotonic() + 60
        committed = GroupActivity.objects.filter(group__name=readers, kind=ActivityKind.COMMIT)
        while time.monotonic() < deadline and not (indexer.counts.indexed == 1_000 and committed.exists()):
            time.sleep(0.1)
    finally:
        stop.set()
        loop.join(30)
        indexer.close()
        commit_log.close()
    assert not loop.is_alive()
    assert (indexer.counts.indexed, indexer.counts.repeated) == (1_000, 0)
    assert Event.objects.filter(topic__name=topic).count() == 1_000
    assert committed.exists(), "the commit log is read in the same loop"
    assert writers and all(name.startswith("indexer-writer") for name in writers), writers
    assert collecting == {False}, "the cyclic collector is off while the loop runs"
    assert gc.isenabled() and sys.getswitchinterval() == switch_interval, "and both are put back after"
    check = Consumer({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS, "group.id": f"{unique}-indexer"})
    try:
        positions = check.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=10)
        ends = [check.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in (0, 1)]
    finally:
        check.close()
    assert [tp.offset for tp in positions] == ends, "the last batch's offsets were committed before it stopped"
    [state] = IndexerState.objects.filter(group=f"{unique}-indexer")
    assert state.total_lag == 0 and state.name == indexer.member


def test_the_index_keeps_no_copy_of_a_record_and_traces_read_it_back_from_kafka_while_kafka_has_it(
    api: Any, unique: str, client: Any, admin_user: Any
) -> None:
    topic = f"{unique}-shipments"
    assert api.post("/api/v1/topics", {"name": topic, "partitions": 1}).status_code == 201
    headers = [("ce_type", b"ShipmentCreated"), ("ce_source", b"/services/shipping")]
    _native(
        topic,
        [
            (
                b"ord-1",
                json.dumps({"correlation_id": "corr-9", "n": n}).encode(),
                [("ce_id", f"s{n}".encode()), *headers],
            )
            for n in range(3)
        ],
    )
    indexer = _indexer(unique)
    try:
        _index_until(indexer, lambda: indexer.counts.indexed == 3)
    finally:
        indexer.close()
    assert set(Event.objects.filter(topic__name=topic).values_list("payload", flat=True)) == {""}

    def events() -> list[dict[str, Any]]:
        answer = api.get("/api/v1/traces/corr-9")
        assert answer.status_code == 200, answer.content
        return sorted(answer.json()["events"], key=lambda event: event["offset"])

    assert [(e["event_id"], e["data"]) for e in events()] == [
        (f"s{n}", {"correlation_id": "corr-9", "n": n}) for n in range(3)
    ]
    client.force_login(admin_user)
    for search in ("correlation=corr-9", "key=ord-1"):  # the topic page's searches of the index
        html = client.get(f"/topics/{topic}/?{search}").content.decode()
        assert all(f"&quot;n&quot;: {n}" in html for n in range(3)), search
    # Retention removes the first two records: the trace keeps them, as what the index knows.
    admin = AdminClient({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS})
    for future in admin.delete_records([TopicPartition(topic, 0, 2)]).values():
        future.result(timeout=30)
    gone, kept = events()[:2], events()[2]
    assert [
        (
            "data" in e,
            e["event_id"],
            e["attributes"]["key"],
            "no longer in Kafka" in e["attributes"]["unavailable"],
        )
        for e in gone
    ] == [
        (False, "s0", "ord-1", True),
        (False, "s1", "ord-1", True),
    ]
    assert kept["data"] == {"correlation_id": "corr-9", "n": 2} and "unavailable" not in kept["attributes"]


def test_its_own_lag_is_reported_on_the_monitoring_page_and_in_metrics(
    api: Any, unique: str, client: Any, admin_user: Any
) -> None:
    topic = f"{unique}-events"
    assert api.post("/api/v1/topics", {"name": topic, "partitions": 1}).status_code == 201
    _native(topic, [(None, json.dumps({"n": n}).encode(), [("ce_id", f"e{n}".encode())]) for n in range(10)])
    indexer = Indexer(
        KAFKA_BOOTSTRAP_SERVERS, config=IndexerConfig(include=[f"{unique}.*"]), group=f"{unique}-indexer", batch=2
    )
    try:
        _index_until(indexer, lambda: indexer.counts.indexed >= 2)
        indexer.report()
    finally:
        indexer.close()
    behind = 10 - indexer.counts.indexed
    assert behind > 0, "two records a batch: most are still to index"

    client.force_login(admin_user)
    html = client.get("/monitoring/").content.decode()
    assert f"{behind} records behind" in html and f"{indexer.counts.indexed} indexed" in html
    families = text_string_to_metric_families(api.client.get("/metrics").content.decode())
    lag = {
        s.labels.get("topic"): s.value for f in families for s in f.samples if s.name == "eventline_indexer_lag_records"
    }
    assert lag == {topic: behind}


def test_native_records_that_break_their_data_contract_are_counted_shown_and_exported(
    api: Any, unique: str, client: Any, admin_user: Any
) -> None:
    from broker.models import ContractViolation
    from core.auth import principal_for_user
    from monitoring.attention import attention_items
    from schemas.services import schema_version_register, subject_delete

    topic, retired = f"{unique}-payments", f"{unique}-retired"
    for name in (topic, retired):
        assert api.post("/api/v1/topics", {"name": name, "partitions": 1}).status_code == 201
    schema = {"type": "object", "properties": {"amount": {"type": "number"}}, "required": ["amount"]}
    schema_id = schema_version_register(
        subject=f"{topic}-value", schema=json.dumps(schema), schema_type="JSON"
    ).schema_id
    # A subject whose versions are all (soft-)deleted no longer asks for the wire format.
    schema_version_register(subject=f"{retired}-value", schema=json.dumps(schema), schema_type="JSON")
    subject_delete(subject=f"{retired}-value")
    Service.objects.create(name="billing")
    framed = b"\0" + schema_id.to_bytes(4, "big")
    by_billing = [("service", b"billing")]
    _native(
        topic,
        [
            (None, framed + b'{"amount": 5}', [("ce_id", b"ok-1"), *by_billing]),  # keeps its contract
            (None, framed + b'{"amount": "five"}', [("ce_id", b"bad-1"), ("ce_type", b"PaymentTaken"), *by_billing]),
            (None, b"\0\0\x0f\x42\x3f" + b'{"amount": 5}', [("ce_id", b"bad-2"), *by_billing]),  # unknown id 999,999
            (None, b'{"amount": 5}', [("ce_id", b"bad-3"), *by_billing]),  # no wire format on a registered topic
        ],
    )
    _native(retired, [(None, b'{"amount": 5}', [("ce_id", b"fine-1"), *by_billing])])
    # Eventline's own records were checked when produced: not checked again.
    assert api.post(f"/api/v1/topics/{topic}/events", {"data": {"amount": 1}}).status_code == 200
    indexer = _indexer(unique)
    try:
        _index_until(indexer, lambda: indexer.counts.indexed == 6)
    finally:
        indexer.close()

    found = {(v.kind, v.producer.name if v.producer else None, v.count) for v in ContractViolation.objects.all()}
    assert ContractViolation.objects.get(kind=ContractViolation.INVALID).event_type == "PaymentTaken"
    assert found == {
        (ContractViolation.INVALID, "billing", 1),
        (ContractViolation.UNKNOWN_SCHEMA, "billing", 1),
        (ContractViolation.MISSING_WIRE_FORMAT, "billing", 1),
    }
    assert not ContractViolation.objects.filter(topic__name=retired).exists(), "its subject's versions are deleted"
    invalid = ContractViolation.objects.get(kind=ContractViolation.INVALID)
    assert "/amount" in invalid.example_reason and json.loads(invalid.example_payload)["id"] == "bad-1"

    again = Indexer(KAFKA_BOOTSTRAP_SERVERS, config=IndexerConfig(include=[f"{unique}.*"]), group=f"{unique}-again")
    try:
        _index_until(again, lambda: again.counts.repeated == 6)  # everything read a second time
    finally:
        again.close()
    assert sum(ContractViolation.objects.values_list("count", flat=True)) == 3, "nothing counted twice"

    client.force_login(admin_user)
    page = client.get(f"/topics/{topic}/").content.decode()
    assert 'id="contract-violations"' in page and "schema id 999999 is not in the registry" in page
    from django.urls import reverse

    from catalog import services as catalog
    from core.auth import Principal

    editor = Principal(scopes=frozenset({"admin"}), username="seed")
    catalog.domain_create(principal=editor, name="Billing", description="")
    catalog.team_create(principal=editor, name="Billing Team")
    catalog.event_type_create(
        principal=editor,
        data={"name": "PaymentTaken", "domain": "Billing", "owner_team": "Billing Team", "summary": "paid"},
    )
    type_page = client.get(reverse("catalog:event-type-detail", args=["PaymentTaken"])).content.decode()
    assert 'id="contract-violations"' in type_page and "/amount" in type_page
    assert "schema id 999999" not in type_page, "only this type's violations"
    items = [item for item in attention_items(principal=principal_for_user(admin_user)) if item.kind == "Data contract"]
    assert len(items) == 3 and all(topic in item.title and "billing" in item.detail for item in items)
    families = text_string_to_metric_families(api.client.get("/metrics").content.decode())
    exported = {
        s.labels["kind"]: s.value
        for f in families
        for s in f.samples
        if s.name == "eventline_contract_violations_total" and s.labels.get("topic") == topic
    }
    assert exported == {"invalid": 1, "unknown_schema": 1, "missing_wire_format": 1}


def test_the_demos_native_clients_in_json_avro_and_protobuf_are_read_with_their_schemas(
    api: Any, unique: str, live_server: Any
) -> None:
    """The demo's native clients on Kafka (catalog.demo_native): confluent-kafka with Confluent's
    JSON, Avro and Protobuf serializers against Eventline's /registry (Avro and Protobuf registering
    their schemas), CloudEvents headers; the indexer reads each value with the schema its id names,
    and the demo's native consumer reads them back through Confluent's deserializers."""
    import threading

    from broker.models import ContractViolation
    from catalog.demo_native import NativeConsumer, NativeProducer
    from core.services import api_key_create
    from schemas.models import SubjectVersion
    from schemas.services import schema_version_register

    topic = f"{unique}-mixed"
    assert api.post("/api/v1/topics", {"name": topic, "partitions": 1}).status_code == 201
    schema = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}
    json_id = schema_version_register(
        subject=f"{topic}-OrderShipped", schema=json.dumps(schema), schema_type="JSON"
    ).schema_id
    services = {name: Service.objects.create(name=name) for name in ("shipping", "payments", "inventory")}
    keys = {name: api_key_create(service_name=name, scopes=["registry:write"])[1] for name in services}
    sent = [
        ("shipping", "json", "OrderShipped", {"order_id": "ord-1"}),
        (
            "payments",
            "avro",
            "PaymentCompleted",
            {"order_id": "ord-1", "amount": 12.5, "currency": "EUR", "method": "card"},
        ),
        # The schema's second message (message index 1): read as itself, not as the first.
        ("inventory", "protobuf", "StockReservationFailed", {"order_id": "ord-2", "reason": "out of stock"}),
        (
            "inventory",
            "protobuf",
            "StockReserved",
            {"order_id": "ord-1", "items": [{"sku": "A", "quantity": 2}], "warehouse": "AMS-1"},
        ),
    ]
    correlations: dict[str, str] = {}
    for service, fmt, event_type, data in sent:
        native = NativeProducer(live_server.url, keys[service], service, KAFKA_BOOTSTRAP_SERVERS, {}, fmt)
        native.produce(topic, event_type, data, None, correlations.setdefault(event_type, str(uuid.uuid4())))
        native.close()

    indexer = _indexer(unique)
    try:
        _index_until(indexer, lambda: indexer.counts.indexed == 4)
    finally:
        indexer.close()
    events = list(Event.objects.filter(topic__name=topic).order_by("offset"))
    # The index keeps no payload: the pages read each record back from Kafka, decoded as indexed.
    stored = event_documents(
        list(Event.objects.filter(topic__name=topic).order_by("offset").values(*STORED_EVENT_COLUMNS))
    )
    assert [(e.type, e.producer_id, e.payload, d["data"]) for e, d in zip(events, stored, strict=True)] == [
        (event_type, services[service].id, "", data) for service, _, event_type, data in sent
    ], "each value was read with the schema its id names"
    subjects = {
        e.type: set(SubjectVersion.objects.filter(schema_id=e.schema_id).values_list("subject__name", flat=True))
        for e in events
    }
    assert events[0].schema_id == json_id
    assert subjects["PaymentCompleted"] == {f"{topic}-eventline.demo.PaymentCompleted"}  # registered by the serializer
    # One .proto file with three messages: one schema id, under each message's subject.
    assert subjects["StockReserved"] == {
        f"{topic}-eventline.demo.StockReserved",
        f"{topic}-eventline.demo.StockReservationFailed",
    }
    assert not ContractViolation.objects.exists()
    # A trace names the subject of the event's own message, of the three holding its schema id.
    trace = api.get(f"/api/v1/traces/{correlations['StockReservationFailed']}").json()
    assert trace["events"][0]["schema"] == {"subject": f"{topic}-eventline.demo.StockReservationFailed", "version": 1}

    # Bytes that claim the Protobuf schema and do not parse under it: indexed, and a violation.
    _native(topic, [(b"ord-3", b"\0" + events[-1].schema_id.to_bytes(4, "big") + b"\0\xff\xff\xff", [])])
    indexer = _indexer(unique)
    try:
        _index_until(indexer, lambda: Event.objects.filter(topic__name=topic).count() == 5)
    finally:
        indexer.close()
    [violation] = ContractViolation.objects.all()
    assert (violation.kind, violation.example_reason) == (
        ContractViolation.INVALID,
        f"schema id {events[-1].schema_id}: the value does not decode under it",
    )

    # The demo's native consumer group reads all three back with Confluent's deserializers.
    _, reader_key = api_key_create(service_name="notifications", scopes=[f"consume:{topic}"])
    reader = NativeConsumer(
        live_server.url, reader_key, f"{unique}-notifications", [topic], KAFKA_BOOTSTRAP_SERVERS, {}
    )
    stop, seen = threading.Event(), []

    def handle(event: Any) -> None:
        seen.append((event.type, event.data))
        if len(seen) == len(sent):
            stop.set()

    thread = threading.Thread(target=reader.run, args=(stop, handle))
    thread.start()
    thread.join(timeout=30)
    stop.set()
    assert seen == [(event_type, data) for _, _, event_type, data in sent]


def test_native_records_are_found_by_business_key_and_retention_drops_their_keys(
    api: Any, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Kafka the business-key pass reads what the indexer indexed (the SQL log's partition
    offsets stay at zero there): a native client's orders are found by order id in the trace API,
    each only once however often the pass runs, and the keys of records Kafka deleted go."""
    from broker.business_keys import business_key_find, business_keys_forget, business_keys_index
    from broker.log import get_log
    from broker.models import BusinessKey, BusinessKeyCursor
    from broker.services.retention import retention_apply
    from catalog import services
    from core.auth import Principal

    topic = f"{unique}-orders"
    assert api.post("/api/v1/topics", {"name": topic, "partitions": 1}).status_code == 201
    editor = Principal(scopes=frozenset({"admin"}), username="seed")
    services.domain_create(principal=editor, name="Ordering")
    services.team_create(principal=editor, name="Checkout")
    services.event_type_create(
        principal=editor,
        data={
            "name": f"{unique}.OrderPlaced",
            "domain": "Ordering",
            "owner_team": "Checkout",
            "summary": "An order was placed",
            "business_key_fields": ["/order_id"],
        },
    )
    business_keys_forget()
    _native(
        topic,
        [
            (
                None,
                json.dumps({"order_id": f"ord-{n}"}).encode(),
                [
                    ("ce_id", f"o{n}".encode()),
                    ("ce_type", f"{unique}.OrderPlaced".encode()),
                    ("correlation_id", f"c{n}".encode()),
                ],
            )
            for n in range(4)
        ],
    )
    assert business_keys_index() == 0, "nothing indexed yet: nothing to read"
    indexer = _indexer(unique)
    try:
        _index_until(indexer, lambda: indexer.counts.indexed == 4)
        # Kafka hands nothing back within the log's timeout: the pass records nothing and moves
        # no cursor (while a page shows the same records as unavailable).
        log = get_log()
        take, give = log._readers.take, log._readers.give

        class Silent:
            def __init__(self, reader: Any) -> None:
                self.reader = reader

            def consume(self, *args: Any, **kwargs: Any) -> list[Any]:
                time.sleep(0.01)
                return []

            def __getattr__(self, name: str) -> Any:
                return getattr(self.reader, name)

        with monkeypatch.context() as kafka_down:
            kafka_down.setattr(log, "_timeout_s", 0.3)
            kafka_down.setattr(log, "_silent_since", 0.0)  # Kafka answers again after the block
            kafka_down.setattr(log._readers, "take", lambda: Silent(take()))
            kafka_down.setattr(log._readers, "give", lambda reader: give(reader.reader))
            assert business_keys_index() == 0
            assert not BusinessKeyCursor.objects.filter(topic__name=topic, next_offset__gt=0).exists(), (
                "records Kafka did not hand back are not passed over"
            )
            assert log._silent_since, "not one partition answered: the cluster is taken for silent"
            shown = api.get("/api/v1/traces/c2").json()["events"]  # refused at once: shown unavailable
            assert [e["attributes"]["unavailable"] != "" for e in shown] == [True]
        assert business_keys_index() == 4 and business_keys_index() == 0, "each record read once"
        assert [(m.offset, m.correlation_id) for m in business_key_find("order_id=ord-2")] == [(2, "c2")]
        trace = api.get("/api/v1/traces/order_id=ord-2")
        assert trace.status_code == 200, trace.content
        assert [(e["event_id"], e["data"]) for e in trace.json()["events"]] == [("o2", {"order_id": "ord-2"})]

        _native(
            topic, [(None, json.dumps({"order_id": "ord-4"}).encode(), [("ce_type", f"{unique}.OrderPlaced".encode())])]
        )
        _index_until(indexer, lambda: indexer.counts.indexed == 5)
    finally:
        indexer.close()
    assert business_keys_index() == 1 and business_key_find("ord-4")[0].offset == 4
    # Kafka deletes the first three records; the retention pass drops their index rows, and the
    # next business-key pass their keys.
    admin = AdminClient({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS})
    for future in admin.delete_records([TopicPartition(topic, 0, 3)]).values():
        future.result(timeout=30)
    retention_apply()
    business_keys_index()
    assert sorted(BusinessKey.objects.filter(topic__name=topic).values_list("offset", "value")) == [
        (3, "ord-3"),
        (4, "ord-4"),
    ]
    assert BusinessKeyCursor.objects.get(topic__name=topic).next_offset == 5
    business_keys_forget()


@pytest.mark.django_db(transaction=True)  # each member's thread has its own connection
def test_members_of_one_indexer_group_share_the_partitions_and_the_pages_add_them_up(
    api: Any, unique: str, client: Any, admin_user: Any
) -> None:
    """Two `run_indexer` processes (here two Indexers, one thread each) join one group: each
    indexes its own partitions, nothing twice, and each reports its own share; the monitoring page
    and /metrics show the group's sums, without a member that stopped long ago."""
    topic, group = f"{unique}-events", f"{unique}-indexer"
    assert api.post("/api/v1/topics", {"name": topic, "partitions": 4}).status_code == 201
    IndexerState.objects.create(name=f"{group}@gone:1/1", group=group, lag={topic: 99}, total_lag=99, updated_ms=1)
    members = [_indexer(unique), _indexer(unique)]
    holding: list[set[int]] = [set(), set()]  # each member's partitions, as of its last round

    def index(member: Indexer, held: set[int]) -> None:
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline and sum(m.counts.indexed for m in members) < 400:
                member.run_once(timeout_s=0.2)
                held.clear()
                held.update(tp.partition for tp in member.consumer.assignment())
        finally:
            connections.close_all()  # this thread's own

    try:
        threads = [threading.Thread(target=index, args=pair) for pair in zip(members, holding, strict=True)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while not (all(holding) and holding[0] | holding[1] == {0, 1, 2, 3}) and time.monotonic() < deadline:
            time.sleep(0.05)
        shares = [set(held) for held in holding]
        assert not shares[0] & shares[1] and shares[0] | shares[1] == {0, 1, 2, 3}, shares
        _native(topic, [(str(n).encode(), json.dumps({"n": n}).encode(), []) for n in range(400)])
        for thread in threads:
            thread.join(90)
        for member in members:
            member.report()
    finally:
        for member in members:
            member.close()
    assert Event.objects.filter(topic__name=topic).count() == 400
    assert sorted(m.counts.indexed for m in members) != [0, 400], "both members indexed a share"
    assert sum(m.counts.indexed for m in members) == 400 and all(m.counts.repeated == 0 for m in members)
    states = IndexerState.objects.filter(group=group)
    assert sorted(states.values_list("name", flat=True)) == sorted(m.member for m in members), "the gone one deleted"

    client.force_login(admin_user)
    html = client.get("/monitoring/").content.decode()
    assert "0 records behind" in html and "400 indexed" in html and f"2 processes in group {group}" in html
    families = text_string_to_metric_families(api.client.get("/metrics").content.decode())
    samples = [s for f in families for s in f.samples]
    assert [s.value for s in samples if s.name == "eventline_indexer_lag_records"] == [0]
    by_member = {s.labels["indexer"]: s.value for s in samples if s.name == "eventline_indexer_records_total"}
    assert by_member == {m.member: m.counts.indexed for m in members}


def test_cloudevents_sources_and_types_are_kept_whole_up_to_their_columns(api: Any, unique: str) -> None:
    """Sources and types repeat from record to record (the indexer decodes each once): each row
    still gets its own, a type cut at 255 characters and a source at 500, and a record without
    them its topic's."""
    topic = f"{unique}-events"
    assert api.post("/api/v1/topics", {"name": topic, "partitions": 1}).status_code == 201
    long_type, long_source = "T" * 300, "/services/" + "s" * 600
    records = [
        [("ce_id", b"a"), ("ce_source", b"/services/orders"), ("ce_type", b"OrderPlaced")],
        [("ce_id", b"b"), ("ce_source", b"/services/orders"), ("ce_type", long_type.encode())],
        [("ce_id", b"c"), ("ce_source", long_source.encode()), ("ce_type", b"OrderPlaced")],
        [("ce_id", b"d"), ("ce_source", b"/services/billing"), ("ce_type", long_type.encode())],
        [("ce_id", b"e")],
    ]
    _native(topic, [(None, b"{}", headers) for headers in records])
    indexer = _indexer(unique)
    try:
        _index_until(indexer, lambda: indexer.counts.indexed == 5)
    finally:
        indexer.close()
    rows = list(Event.objects.filter(topic__name=topic).order_by("offset").values_list("event_id", "source", "type"))
    assert rows == [
        ("a", "/services/orders", "OrderPlaced"),
        ("b", "/services/orders", "T" * 255),
        ("c", long_source[:500], "OrderPlaced"),
        ("d", "/services/billing", "T" * 255),
        ("e", f"kafka:{topic}", topic),
    ]
