"""Periodic broker work. Thin tasks: they call one service."""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from broker.business_keys import business_keys_index
from broker.flows import flow_stats_prune
from broker.services.groups import group_expire_members
from broker.services.retention import retention_apply
from core.timeutil import now_ms
from schemas.usage import registry_uses_prune


@shared_task(name="broker.tasks.apply_retention")
def apply_retention() -> int:
    """Returns the number of events deleted (old flow counts and registry evidence are pruned on
    the same pass)."""
    flow_stats_prune(now_ms=now_ms())
    registry_uses_prune(now_ms=now_ms())
    return sum(result.deleted_events for result in retention_apply())


@shared_task(name="broker.tasks.expire_group_members")
def expire_group_members() -> int:
    """Returns the number of groups that rebalanced."""
    return group_expire_members()


@shared_task(name="broker.tasks.checkpoint_sqlite")
def checkpoint_sqlite() -> int:
    """Copy SQLite's write-ahead log into the database without blocking writers (PASSIVE), so
    appends never pay for a checkpoint's fsync. Returns the frames checkpointed (0 on PostgreSQL)."""
    if connection.vendor != "sqlite":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        _busy, _log_frames, checkpointed = cursor.fetchone()
    return int(checkpointed)


@shared_task(name="broker.tasks.index_business_keys")
def index_business_keys() -> int:
    """Returns the number of business-key values recorded."""
    return business_keys_index()
