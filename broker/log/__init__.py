"""The log behind one small interface (append, read, offsets, retention). The SQL log is the
default backend; `BROKER_BACKEND=kafka` puts it on the Kafka cluster KAFKA_BOOTSTRAP_SERVERS names
(DESIGN.md §4)."""

from __future__ import annotations

import threading
from functools import lru_cache

from broker.log.base import AppendedEvent, Log, PartitionOffsets, ReadBatch, TopicAdmin
from broker.log.sql import SQLLog


def get_log() -> Log:
    """The log the settings name (one per process and setting, so tests may switch backends)."""
    from django.conf import settings

    with _log_lock:  # lru_cache may run the function twice for two first callers at once
        return _log_for(settings.BROKER_BACKEND, settings.KAFKA_BOOTSTRAP_SERVERS)


_log_lock = threading.Lock()


@lru_cache(maxsize=4)
def _log_for(backend: str, bootstrap_servers: str) -> Log:
    if backend == "sql":
        return SQLLog()
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    if backend != "kafka":
        raise ImproperlyConfigured(f"BROKER_BACKEND={backend!r}: use 'sql' or 'kafka'.")
    if not bootstrap_servers:
        raise ImproperlyConfigured("BROKER_BACKEND=kafka needs KAFKA_BOOTSTRAP_SERVERS (host:port,...).")
    from broker.log.kafka import KafkaLog

    return KafkaLog(bootstrap_servers, client_config=settings.KAFKA_CLIENT_CONFIG)


def get_topic_admin() -> TopicAdmin | None:
    """The cluster's topics when the log keeps them outside the database (Kafka); None on SQL,
    where the Topic and Partition rows are the topics."""
    log = get_log()
    return log if hasattr(log, "topic_create") else None  # type: ignore[return-value]


__all__ = [
    "AppendedEvent",
    "Log",
    "PartitionOffsets",
    "ReadBatch",
    "TopicAdmin",
    "get_log",
    "get_topic_admin",
]
