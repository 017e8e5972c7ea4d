"""On the Kafka backend, lag covers every group of the cluster, native ones included (issue 17):
a plain confluent-kafka consumer group that commits is seen by a sampling round, with committed
and end offsets from Kafka, the exact time lag from the timestamp of the record at its committed
offset, a Burrow status, and the group on the lag API. Runs in the Kafka pass (.ci/run)."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from broker.models import ConsumerGroup

KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not KAFKA, reason="KAFKA_BOOTSTRAP_SERVERS is not set: `scripts/kafka.sh start` and export it"),
]


@pytest.fixture
def cluster_topic(settings: Any):
    settings.BROKER_BACKEND = "kafka"
    settings.KAFKA_BOOTSTRAP_SERVERS = KAFKA
    name = f"lag-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": KAFKA})
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(timeout=30)
    yield name
    for future in admin.delete_topics([name]).values():
        future.result(timeout=30)


def test_a_native_groups_commits_make_its_lag_and_exact_time_lag(cluster_topic: str, api: Any) -> None:
    from monitoring.lag import lag_sample_round, partition_lags

    written_at = int(time.time() * 1000) - 60_000  # ten records written a minute ago, one second apart
    producer = Producer({"bootstrap.servers": KAFKA})
    for n in range(10):
        producer.produce(cluster_topic, value=b'{"n": %d}' % n, partition=0, timestamp=written_at + n * 1000)
    producer.flush(30)
    group = f"native-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": KAFKA, "group.id": group, "enable.auto.commit": False})
    consumer.commit(offsets=[TopicPartition(cluster_topic, 0, 4)], asynchronous=False)  # read 0-3
    consumer.close()

    now_ms = int(time.time() * 1000)
    lag_sample_round(now_ms=now_ms)

    row = ConsumerGroup.objects.get(name=group)
    [lag] = partition_lags(group_ids=[row.id], now_ms=now_ms)[row.id]
    assert (lag.topic, lag.committed_offset, lag.log_end_offset, lag.lag) == (cluster_topic, 4, 10, 6)
    assert lag.time_lag_ms == now_ms - (written_at + 4 * 1000)  # the oldest unread record's age, exactly
    listed = api.get(f"/api/v1/groups/{group}/lag-summary")
    assert listed.status_code == 200, listed.content
    assert listed.json()["total_lag"] == 6


def test_a_later_commit_is_seen_by_the_next_round(cluster_topic: str) -> None:
    from monitoring.lag import lag_sample_round, partition_lags

    producer = Producer({"bootstrap.servers": KAFKA})
    for _ in range(5):
        producer.produce(cluster_topic, value=b"{}", partition=0)
    producer.flush(30)
    group = f"native-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": KAFKA, "group.id": group, "enable.auto.commit": False})
    consumer.commit(offsets=[TopicPartition(cluster_topic, 0, 1)], asynchronous=False)
    lag_sample_round(now_ms=int(time.time() * 1000))
    consumer.commit(offsets=[TopicPartition(cluster_topic, 0, 5)], asynchronous=False)
    consumer.close()

    now_ms = int(time.time() * 1000)
    lag_sample_round(now_ms=now_ms)

    row = ConsumerGroup.objects.get(name=group)
    [lag] = partition_lags(group_ids=[row.id], now_ms=now_ms)[row.id]
    assert (lag.committed_offset, lag.lag, lag.time_lag_ms) == (5, 0, 0)
    # The commit that moved is an observed flow: the native group consumed 4 records of the topic.
    from broker.models import FlowStat

    flows = FlowStat.objects.filter(role=FlowStat.ROLE_CONSUME, group_id=row.id)
    assert [(f.topic.name, f.events) for f in flows] == [(cluster_topic, 4)]
