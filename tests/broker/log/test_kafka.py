"""What only the Kafka log has: topics in the cluster (TopicAdmin), and keys placed where a Java
client would put them. Runs when KAFKA_BOOTSTRAP_SERVERS is set (tests/broker/log/conftest.py)."""

from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka import Producer

from broker.partitioner import partition_for_key

from .conftest import KAFKA_BOOTSTRAP_SERVERS


def test_topics_are_created_changed_listed_and_deleted_in_the_cluster(kafka_log: Any) -> None:
    name = f"admin-{uuid.uuid4().hex[:12]}"
    kafka_log.topic_create(name=name, partitions=2, config={"retention.ms": "3600000"})
    try:
        assert name in kafka_log.topic_list()
        assert not any(topic.startswith("__") for topic in kafka_log.topic_list())  # internal topics hidden
        kafka_log.topic_update(
            name=name, partitions=4, config={"retention.bytes": "1048576", "cleanup.policy": "compact"}
        )
        described = kafka_log.topic_describe(name=name)
        assert described.partitions == 4
        assert {key: described.config[key] for key in ("retention.ms", "retention.bytes", "cleanup.policy")} == {
            "retention.ms": "3600000",  # kept: incremental changes leave the other settings alone
            "retention.bytes": "1048576",
            "cleanup.policy": "compact",
        }
    finally:
        kafka_log.topic_delete(name=name)
    assert name not in kafka_log.topic_list()


def test_librdkafka_murmur2_random_places_keys_where_the_sql_log_does(kafka_log: Any) -> None:
    """The Kafka log produces to the partition broker.partitioner chose; a native client with
    `partitioner=murmur2_random` (as Java's default) must agree, or the two would split a key."""
    name = f"keys-{uuid.uuid4().hex[:12]}"
    partitions = 12
    keys = ["21", "foobar", "abc", "", "a-little-bit-long-string", *(f"key-{n}" for n in range(40))]
    kafka_log.topic_create(name=name, partitions=partitions)
    try:
        placed: dict[str, int] = {}
        producer = Producer({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS, "partitioner": "murmur2_random"})
        for key in keys:
            producer.produce(
                name,
                key=key.encode(),
                value=b"x",
                on_delivery=lambda err, msg: placed.update({msg.key().decode(): msg.partition()}),
            )
        assert producer.flush(20) == 0
        assert placed == {key: partition_for_key(key.encode(), partitions) for key in keys}
    finally:
        kafka_log.topic_delete(name=name)
