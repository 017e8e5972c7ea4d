"""Periodic monitoring work. Thin tasks: they call one service."""

from __future__ import annotations

from celery import shared_task

from core.timeutil import now_ms
from monitoring.lag import lag_history_compact, lag_sample_round


@shared_task(name="monitoring.tasks.sample_lag")
def sample_lag() -> int:
    """Returns the number of partitions sampled."""
    return lag_sample_round(now_ms=now_ms()).partitions


@shared_task(name="monitoring.tasks.compact_lag_history")
def compact_lag_history() -> int:
    """Returns the number of raw samples folded into five-minute buckets."""
    return lag_history_compact(now_ms=now_ms())
