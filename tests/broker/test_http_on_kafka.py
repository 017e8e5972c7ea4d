"""The HTTP API on both log backends: topics, produce (keys, atomic batches, Confluent's wire
format) and browse by offset and by time give the same answers with BROKER_BACKEND=sql and
BROKER_BACKEND=kafka. The Kafka half runs when KAFKA_BOOTSTRAP_SERVERS names a cluster
(`scripts/kafka.sh start`; `.ci/run` starts one), else it is skipped with the reason."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from broker.partitioner import partition_for_key
from schemas.services import schema_version_register

pytestmark = pytest.mark.django_db

KAFKA_BOOTSTRAP_SERVERS = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
TOPICS = "/api/v1/topics"
KEYS = ["21", "foobar", "abc", "a-little-bit-long-string", *(f"order-{n}" for n in range(20))]


def _need_kafka() -> None:
    if not KAFKA_BOOTSTRAP_SERVERS:
        pytest.skip(
            "KAFKA_BOOTSTRAP_SERVERS is not set: start a local Kafka with `scripts/kafka.sh start` and export it"
        )


@pytest.fixture(scope="module")
def cluster() -> Iterator[AdminClient]:
    _need_kafka()
    yield AdminClient({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS})


@pytest.fixture
def unique() -> str:
    """A prefix for this test's topic names: the cluster outlives the test's database."""
    return f"http-{uuid.uuid4().hex[:10]}"


def _use_kafka(settings: Any) -> None:
    settings.BROKER_BACKEND = "kafka"
    settings.KAFKA_BOOTSTRAP_SERVERS = KAFKA_BOOTSTRAP_SERVERS


@pytest.fixture(params=["sql", "kafka"])
def backend(request: pytest.FixtureRequest, settings: Any, unique: str) -> Iterator[str]:
    """The backend the test's HTTP calls run on; on Kafka, the test's topics are deleted from the
    cluster afterwards."""
    if request.param == "sql":
        yield "sql"
        return
    admin = request.getfixturevalue("cluster")
    _use_kafka(settings)
    yield "kafka"
    _drop_topics(admin, unique)


def _drop_topics(admin: AdminClient, prefix: str) -> None:
    names = [name for name in admin.list_topics(timeout=10).topics if name.startswith(prefix)]
    if names:
        for future in admin.delete_topics(names, request_timeout=10).values():
            future.result(timeout=10)


def _read(api: Any, topic: str, partition: int = 0, *, want: int = 0, **params: Any) -> dict[str, Any]:
    """A browse page; waits (bounded) until it holds `want` events: a Kafka transaction's events
    become readable a few milliseconds after the produce answered (broker.log.base, Visibility)."""
    deadline = time.monotonic() + 10
    while True:
        response = api.get(f"{TOPICS}/{topic}/partitions/{partition}/events", **params)
        assert response.status_code == 200, response.content
        page = response.json()
        if len(page["events"]) >= want or time.monotonic() > deadline:
            return page
        time.sleep(0.02)


def _cluster_config(admin: AdminClient, name: str) -> dict[str, str]:
    from confluent_kafka.admin import ConfigResource, ResourceType

    [future] = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name)], request_timeout=10).values()
    return {key: entry.value for key, entry in future.result(timeout=10).items()}


# --- topics ---------------------------------------------------------------------------------------


def test_topics_are_created_grown_configured_and_deleted(api: Any, backend: str, unique: str, request: Any) -> None:
    name = f"{unique}-orders"
    created = api.post(TOPICS, {"name": name, "partitions": 2, "config": {"retention.ms": 3_600_000}})
    assert created.status_code == 201, created.content
    assert created.json()["partition_count"] == 2
    assert api.post(TOPICS, {"name": name, "partitions": 1}).status_code == 409

    changed = api.patch(f"{TOPICS}/{name}", {"partitions": 4, "config": {"retention.bytes": 1_048_576}})
    assert changed.status_code == 200, changed.content
    described = changed.json()
    assert described["partition_count"] == 4 and [p["partition"] for p in described["partitions"]] == [0, 1, 2, 3]
    assert described["config"]["retention.ms"] == 3_600_000 and described["config"]["retention.bytes"] == 1_048_576
    assert api.patch(f"{TOPICS}/{name}", {"partitions": 3}).status_code == 422  # never shrinks
    if backend == "kafka":
        admin = request.getfixturevalue("cluster")
        assert len(admin.list_topics(topic=name, timeout=10).topics[name].partitions) == 4
        config = _cluster_config(admin, name)
        assert (config["retention.ms"], config["retention.bytes"]) == ("3600000", "1048576")

    assert api.delete(f"{TOPICS}/{name}").status_code == 204
    assert api.get(f"{TOPICS}/{name}").status_code == 404
    if backend == "kafka":
        assert name not in request.getfixturevalue("cluster").list_topics(timeout=10).topics


def test_cleanup_policy_is_the_clusters_setting(api: Any, backend: str, unique: str, request: Any) -> None:
    name = f"{unique}-compacted"
    assert api.post(TOPICS, {"name": name}).status_code == 201
    response = api.patch(f"{TOPICS}/{name}", {"config": {"cleanup.policy": "compact"}})
    if backend == "sql":  # the SQL log has no compaction: the setting is unknown there
        assert response.status_code == 422
        return
    assert response.status_code == 200, response.content
    assert response.json()["config"]["cleanup.policy"] == "compact"
    assert _cluster_config(request.getfixturevalue("cluster"), name)["cleanup.policy"] == "compact"


def test_topic_list_shows_every_cluster_topic_and_adopts_those_other_clients_created(
    api: Any, cluster: AdminClient, settings: Any, unique: str
) -> None:
    _use_kafka(settings)
    native = f"{unique}-native"
    try:
        [future] = cluster.create_topics([NewTopic(native, num_partitions=3, replication_factor=1)]).values()
        future.result(timeout=10)
        deadline = time.monotonic() + 10
        while native not in cluster.list_topics(timeout=10).topics and time.monotonic() < deadline:
            time.sleep(0.05)
        listed = api.get(TOPICS, limit=1000).json()["results"]
        names = [topic["name"] for topic in listed]
        assert native in names
        assert not [name for name in names if name.startswith("__")]  # internal topics hidden
        assert next(topic for topic in listed if topic["name"] == native)["partition_count"] == 3
        # Adopted: produce and browse work on it like on any other topic.
        produced = api.post(f"{TOPICS}/{native}/events", {"data": {"n": 1}, "partitionkey": "k"})
        assert produced.status_code == 200, produced.content
        partition = produced.json()["events"][0]["partition"]
        assert partition == partition_for_key(b"k", 3)
        assert [e["data"] for e in _read(api, native, partition, want=1)["events"]] == [{"n": 1}]
    finally:
        _drop_topics(cluster, unique)
    # A topic deleted from the cluster by another client leaves the list (once the deletion
    # reached the broker's metadata: it is asynchronous).
    deadline = time.monotonic() + 10
    while native in (names := [topic["name"] for topic in api.get(TOPICS, limit=1000).json()["results"]]):
        assert time.monotonic() < deadline, "still listed 10 s after its deletion"
        time.sleep(0.1)


def test_groups_are_listed_on_both_and_retry_policies_are_sql_only(api: Any, backend: str) -> None:
    """Groups are Kafka's own on Kafka (tests/broker/test_groups_on_kafka.py); retry policies,
    nack and ack stay on the SQL backend and say so."""
    assert api.get("/api/v1/groups").status_code == 200
    policy = api.get("/api/v1/groups/some-group/retry-policy")
    if backend == "sql":
        assert policy.status_code == 200
    else:
        assert policy.status_code == 501
        assert policy.json()["error"]["code"] == "not_on_backend"


# --- produce --------------------------------------------------------------------------------------


def _produce_keys(api: Any, topic: str) -> dict[str, int]:
    response = api.post(
        f"{TOPICS}/{topic}/events",
        [{"id": f"e-{key}", "source": "/t", "type": "t", "partitionkey": key, "data": {"key": key}} for key in KEYS],
    )
    assert response.status_code == 200, response.content
    return {key: event["partition"] for key, event in zip(KEYS, response.json()["events"], strict=True)}


def test_a_key_lands_on_the_same_partition_on_both_backends_and_from_librdkafka(
    api: Any, cluster: AdminClient, settings: Any, unique: str
) -> None:
    name = f"{unique}-keys"
    assert api.post(TOPICS, {"name": f"{name}-sql", "partitions": 6}).status_code == 201
    on_sql = _produce_keys(api, f"{name}-sql")
    _use_kafka(settings)
    try:
        assert api.post(TOPICS, {"name": name, "partitions": 6}).status_code == 201
        on_kafka = _produce_keys(api, name)
        placed: dict[str, int] = {}
        producer = Producer({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS, "partitioner": "murmur2_random"})
        for key in KEYS:
            producer.produce(
                name,
                key=key.encode(),
                value=b"{}",
                on_delivery=lambda e, m: placed.update({m.key().decode(): m.partition()}),
            )
        assert producer.flush(10) == 0
        # The record key is the partitionkey, readable by any Kafka client.
        events = _read(api, name, on_kafka["foobar"], want=1)["events"]
        assert "foobar" in [event["key"] for event in events]
    finally:
        _drop_topics(cluster, unique)
    assert on_kafka == on_sql == placed == {key: partition_for_key(key.encode(), 6) for key in KEYS}
    assert (on_sql["21"], on_sql["foobar"], on_sql["abc"]) == (0, 0, 3)  # kafka-semantics.md §1, p (6)


def test_a_batch_with_a_refused_event_appends_nothing(api: Any, backend: str, unique: str) -> None:
    name = f"{unique}-batch"
    assert api.post(TOPICS, {"name": name}).status_code == 201
    response = api.post(f"{TOPICS}/{name}/events", [{"data": {"n": 1}}, {"data": {"n": 2}, "specversion": "0.3"}])
    assert response.status_code == 422
    assert api.post(f"{TOPICS}/{name}/events", [{"data": {"n": 3}}]).status_code == 200
    page = _read(api, name, want=1, offset=0)
    assert [event["data"] for event in page["events"]] == [{"n": 3}]


def test_a_kafka_batch_that_fails_before_its_commit_is_aborted(
    api: Any, cluster: AdminClient, settings: Any, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's records reached the partition, but its transaction was aborted: read_committed
    readers (Eventline's browse, any such consumer) never see them."""
    _use_kafka(settings)
    name = f"{unique}-abort"
    try:
        assert api.post(TOPICS, {"name": name}).status_code == 201
        schema_version_register(subject=f"{name}-value", schema=json.dumps({"type": "object"}), schema_type="JSON")

        def fail(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("the database went away just before the commit")

        monkeypatch.setattr("broker.log.kafka.execute_together", fail)
        with pytest.raises(RuntimeError):
            api.post(f"{TOPICS}/{name}/events", [{"data": {"n": n}} for n in range(5)])
        monkeypatch.undo()
        assert api.post(f"{TOPICS}/{name}/events", {"data": {"n": "after"}}).status_code == 200
        assert [event["data"] for event in _read(api, name, want=1, offset=0)["events"]] == [{"n": "after"}]
        uncommitted = Consumer(
            {
                "bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS,
                "group.id": f"{unique}-reader",
                "isolation.level": "read_uncommitted",
                "enable.partition.eof": True,
            }
        )
        uncommitted.assign([TopicPartition(name, 0, 0)])
        values = []
        deadline = time.monotonic() + 10
        while len(values) < 6 and time.monotonic() < deadline:
            message = uncommitted.poll(0.2)
            if message is not None and not message.error():
                values.append(message.value())
        uncommitted.close()
        assert len(values) == 6  # the aborted five were written, and are not read above
    finally:
        _drop_topics(cluster, unique)


def test_values_are_in_confluents_wire_format_for_its_deserializers(
    api: Any, cluster: AdminClient, settings: Any, unique: str
) -> None:
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.schema_registry.error import SchemaRegistryError
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    _use_kafka(settings)
    json_topic, avro_topic, plain_topic = f"{unique}-json", f"{unique}-avro", f"{unique}-plain"
    json_schema = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}
    avro_schema = {
        "type": "record",
        "name": "Order",
        "fields": [{"name": "order_id", "type": "string"}, {"name": "total", "type": "double"}],
    }

    class Registry:
        """The registry client AvroDeserializer asks for the writer's schema, answered by
        Eventline's own Confluent-compatible registry API."""

        def get_schema(self, schema_id: int, *args: Any, **kwargs: Any) -> Schema:
            found = api.get(f"/registry/schemas/ids/{schema_id}").json()
            return Schema(found["schema"], found.get("schemaType", "AVRO"), [])

        def get_associations_by_resource_name(self, *args: Any, **kwargs: Any) -> Any:
            raise SchemaRegistryError(404, 40401, "no associations")  # topic-name strategy applies

        def config(self) -> dict[str, Any]:
            return {}

    try:
        for topic in (json_topic, avro_topic, plain_topic):
            assert api.post(TOPICS, {"name": topic}).status_code == 201
        json_id = schema_version_register(
            subject=f"{json_topic}-value", schema=json.dumps(json_schema), schema_type="JSON"
        ).schema_id
        avro_id = schema_version_register(
            subject=f"{avro_topic}-value", schema=json.dumps(avro_schema), schema_type="AVRO"
        ).schema_id
        data = {json_topic: {"order_id": "o-1"}, avro_topic: {"order_id": "o-2", "total": 9.5}, plain_topic: {"x": 1}}
        for topic, value in data.items():
            assert api.post(f"{TOPICS}/{topic}/events", {"data": value}).status_code == 200

        consumer = Consumer({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS, "group.id": f"{unique}-native"})
        raw: dict[str, bytes] = {}
        consumer.assign([TopicPartition(topic, 0, 0) for topic in data])
        deadline = time.monotonic() + 15
        while len(raw) < 3 and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                raw[message.topic()] = message.value()
        consumer.close()

        assert raw[json_topic][:5] == b"\0" + json_id.to_bytes(4, "big")
        assert raw[avro_topic][:5] == b"\0" + avro_id.to_bytes(4, "big")
        assert raw[plain_topic] == b'{"x":1}'  # no subject in the registry: plain JSON
        read_json = JSONDeserializer(json.dumps(json_schema))
        assert read_json(raw[json_topic], SerializationContext(json_topic, MessageField.VALUE)) == data[json_topic]
        read_avro = AvroDeserializer(Registry())  # type: ignore[arg-type]
        assert read_avro(raw[avro_topic], SerializationContext(avro_topic, MessageField.VALUE)) == data[avro_topic]
        # Browsing through Eventline shows the data, unwrapped.
        for topic, value in data.items():
            assert [event["data"] for event in _read(api, topic, want=1, offset=0)["events"]] == [value]
    finally:
        _drop_topics(cluster, unique)


# --- browse ---------------------------------------------------------------------------------------


def test_browse_by_offset_and_seek_by_timestamp(api: Any, backend: str, unique: str) -> None:
    name = f"{unique}-browse"
    assert api.post(TOPICS, {"name": name}).status_code == 201
    base_ms = 1_767_323_045_000
    times = [base_ms + 1000 * n for n in range(5)]
    events = [
        {"id": f"e{n}", "source": "/b", "type": "t", "time": _iso(at), "data": {"n": n}} for n, at in enumerate(times)
    ]
    produced = api.post(f"{TOPICS}/{name}/events", events).json()["events"]
    offsets = [event["offset"] for event in produced]
    assert offsets == sorted(offsets)

    page = _read(api, name, want=2, offset=offsets[2], limit=2)
    assert [event["offset"] for event in page["events"]] == offsets[2:4]
    assert [event["data"]["n"] for event in page["events"]] == [2, 3]
    assert page["next_offset"] == offsets[3] + 1

    everything = _read(api, name, want=5, offset=0, limit=100)
    assert [event["id"] for event in everything["events"]] == [f"e{n}" for n in range(5)]
    assert everything["log_start_offset"] == 0 and everything["end_offset"] > offsets[-1]

    at_time = _read(api, name, want=1, timestamp=times[3] - 500, limit=10)
    assert [event["data"]["n"] for event in at_time["events"]] == [3, 4]
    later = _read(api, name, timestamp=times[-1] + 1)
    assert later["events"] == [] and later["next_offset"] == later["end_offset"]

    described = api.get(f"{TOPICS}/{name}").json()["partitions"][0]
    assert described["log_start_offset"] == 0 and described["end_offset"] == everything["end_offset"]


def _iso(epoch_ms: int) -> str:
    from core.timeutil import ms_to_iso

    return ms_to_iso(epoch_ms)


def test_two_kafka_logs_of_one_process_never_fence_each_others_producers(settings: Any, unique: str) -> None:
    """Two KafkaLog instances in one process (two first callers of get_log at once could each
    build one) used to number their transactional ids from 0 alike, so the second producer's
    init fenced the first: its next transaction failed with _FENCED (a 500 under load)."""
    from broker.envelope import prepare_event
    from broker.log import get_log
    from broker.log.kafka import KafkaLog
    from broker.services.topics import topic_create

    _need_kafka()
    _use_kafka(settings)
    topic = topic_create(name=f"{unique}-fence", partitions=1)
    first, second = KafkaLog(KAFKA_BOOTSTRAP_SERVERS), KafkaLog(KAFKA_BOOTSTRAP_SERVERS)

    def append(log: KafkaLog, n: int) -> None:
        now_ms = int(time.time() * 1000)
        event, errors = prepare_event(
            0, {"id": f"e-{n}", "data": {"n": n}}, default_source="t", default_type="T", partition_count=1
        )
        assert not errors
        event.partition = 0
        event.render_body(now_ms, now_ms)
        log.append(topic_id=topic.id, topic_name=topic.name, events=[event], producer_id=None, now_ms=now_ms)

    try:
        append(first, 1)  # first's producer holds transactional id ...-0
        append(second, 2)  # second's producer initialises its own id: ...-0 before, fencing first's
        append(first, 3)
    finally:
        _drop_topics(AdminClient({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS}), unique)
    assert get_log() is get_log()
