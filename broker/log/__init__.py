"""The log behind one small interface (append, read, offsets, retention). The SQL log is the
default backend; see DESIGN.md §4."""

from __future__ import annotations

from functools import lru_cache

from broker.log.base import AppendedEvent, Log, PartitionOffsets, ReadBatch, TopicAdmin
from broker.log.sql import SQLLog


@lru_cache(maxsize=1)
def get_log() -> Log:
    from django.conf import settings

    if settings.BROKER_BACKEND != "sql":
        from django.core.exceptions import ImproperlyConfigured

        # broker/log/kafka.py implements the log on Kafka, but topics, groups and fetch are not
        # wired to it yet (issue 17): refuse rather than half-work.
        raise ImproperlyConfigured(
            f"BROKER_BACKEND={settings.BROKER_BACKEND!r} is not available in this build yet; use 'sql'."
        )
    return SQLLog()


__all__ = ["AppendedEvent", "Log", "PartitionOffsets", "ReadBatch", "TopicAdmin", "get_log"]
