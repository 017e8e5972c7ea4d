"""The Celery app and the periodic schedule.

The same schedule drives two runners: Celery beat (with REDIS_URL) and, on a laptop with no other
server, `manage.py run_scheduler`, which calls the same tasks in-process.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("eventline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def periodic_schedule() -> dict[str, dict]:
    """Task name -> {"task": dotted name, "schedule": seconds}; read by beat and run_scheduler."""
    from django.conf import settings

    intervals = settings.EVENTLINE
    return {
        "retention": {
            "task": "broker.tasks.apply_retention",
            "schedule": intervals["RETENTION_INTERVAL_S"],
        },
        "sqlite-checkpoint": {
            "task": "broker.tasks.checkpoint_sqlite",
            "schedule": intervals["WAL_CHECKPOINT_INTERVAL_S"],
        },
        "sample-lag": {
            "task": "monitoring.tasks.sample_lag",
            "schedule": intervals["LAG_SAMPLE_INTERVAL_S"],
        },
        "compact-lag-history": {
            "task": "monitoring.tasks.compact_lag_history",
            "schedule": 3600.0,
        },
        "index-business-keys": {
            "task": "broker.tasks.index_business_keys",
            "schedule": intervals["BUSINESS_KEY_INDEX_INTERVAL_S"],
        },
        "expire-group-members": {
            "task": "broker.tasks.expire_group_members",
            "schedule": intervals["GROUP_EXPIRY_INTERVAL_S"],
        },
    }


@app.on_after_finalize.connect
def _install_beat_schedule(sender: Celery, **kwargs: object) -> None:
    sender.conf.beat_schedule = periodic_schedule()
