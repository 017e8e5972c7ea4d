"""The log behind one small interface (append, read, offsets, retention). The SQL log is the
default backend; see DESIGN.md §4."""

from __future__ import annotations

from functools import lru_cache

from broker.log.base import AppendedEvent, Log, ReadBatch
from broker.log.sql import SQLLog


@lru_cache(maxsize=1)
def get_log() -> Log:
    from django.conf import settings

    if settings.BROKER_BACKEND != "sql":
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"BROKER_BACKEND={settings.BROKER_BACKEND!r} is not available in this build; use 'sql'."
        )
    return SQLLog()


__all__ = ["AppendedEvent", "Log", "ReadBatch", "get_log"]
