"""Periodic broker work. Thin tasks: they call one service."""

from __future__ import annotations

from celery import shared_task

from broker.services.groups import group_expire_members
from broker.services.retention import retention_apply


@shared_task(name="broker.tasks.apply_retention")
def apply_retention() -> int:
    """Returns the number of events deleted."""
    return sum(result.deleted_events for result in retention_apply())


@shared_task(name="broker.tasks.expire_group_members")
def expire_group_members() -> int:
    """Returns the number of groups that rebalanced."""
    return group_expire_members()
