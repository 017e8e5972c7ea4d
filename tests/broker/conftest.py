"""Fixtures for the broker's tests on a real Kafka (KAFKA_BOOTSTRAP_SERVERS; `.ci/run` starts
one; skipped with the reason without it): the cluster, a unique prefix for the test's topics and
groups, BROKER_BACKEND=kafka with them removed afterwards, and a consumer host in this process."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from broker.consumer_host import Host, serve

KAFKA_BOOTSTRAP_SERVERS = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")


@pytest.fixture(scope="module")
def cluster() -> Iterator[AdminClient]:
    if not KAFKA_BOOTSTRAP_SERVERS:
        pytest.skip("KAFKA_BOOTSTRAP_SERVERS is not set: start a local Kafka with `scripts/kafka.sh start`")
    yield AdminClient({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS})


@pytest.fixture
def unique() -> str:
    return f"grp-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def on_kafka(settings: Any, cluster: AdminClient, unique: str, tmp_path_factory: Any) -> Iterator[Path]:
    """BROKER_BACKEND=kafka with a consumer host serving on a socket of its own; the test's topics
    and groups are deleted from the cluster afterwards. Yields the socket's path."""
    socket_path = Path(tmp_path_factory.mktemp("host")) / "consumers.sock"
    settings.BROKER_BACKEND = "kafka"
    settings.KAFKA_BOOTSTRAP_SERVERS = KAFKA_BOOTSTRAP_SERVERS
    settings.EVENTLINE_CONSUMER_HOST_SOCKET = str(socket_path)
    yield socket_path
    cluster_forget(cluster, unique)


def cluster_forget(admin: AdminClient, prefix: str) -> None:
    """Delete the topics and consumer groups of the cluster whose names start with `prefix`: what
    a test made there."""
    names = [name for name in admin.list_topics(timeout=10).topics if name.startswith(prefix)]
    for future in admin.delete_topics(names, request_timeout=10).values() if names else ():
        future.result(timeout=10)
    listed = admin.list_consumer_groups(request_timeout=10).result(timeout=10)
    groups = [g.group_id for g in listed.valid if g.group_id.startswith(prefix)]
    for future in admin.delete_consumer_groups(groups, request_timeout=10).values() if groups else ():
        with contextlib.suppress(KafkaException):  # a group a test deleted itself, or still leaving
            future.result(timeout=10)


@pytest.fixture
def host(on_kafka: Path) -> Iterator[Host]:
    """The consumer host, in this process (its server in a thread)."""
    hosted = Host({"bootstrap.servers": KAFKA_BOOTSTRAP_SERVERS})
    server = serve(on_kafka, hosted)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield hosted
    server.shutdown()
    hosted.stop()
    server.server_close()
