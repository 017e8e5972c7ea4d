"""Periodic work runs with no other server (run_scheduler) and through Celery on a real Redis."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from broker.models import Event, GroupMember
from core.timeutil import now_ms

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_run_scheduler_once_applies_retention_and_expires_members(api, make_topic):
    make_topic("orders", retention_ms=1000)
    api.post("/api/v1/topics/orders/events", [{"data": 1}, {"data": 2}])
    Event.objects.update(append_time_ms=now_ms() - 10_000)
    api.post("/api/v1/groups/g/members", {"topics": ["orders"], "session_timeout_ms": 1000})
    GroupMember.objects.update(last_seen_ms=now_ms() - 10_000)
    out = io.StringIO()
    call_command("run_scheduler", "--once", stdout=out)
    output = out.getvalue()
    assert "retention: 2" in output and "expire-group-members: 1" in output
    assert Event.objects.count() == 0 and GroupMember.objects.count() == 0


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set: Celery on Redis cannot be tested here (.ci/run starts Redis)")
    import redis

    redis.Redis.from_url(url).ping()
    return url


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_celery_worker_on_redis_runs_retention(redis_url, api, make_topic):
    from broker.tasks import apply_retention

    make_topic("orders", retention_ms=1000)
    api.post("/api/v1/topics/orders/events", [{"data": n} for n in range(3)])
    Event.objects.update(append_time_ms=now_ms() - 10_000)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "EVENTLINE_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        "REDIS_URL": redis_url,
        "PYTHONPATH": str(ROOT),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        assert apply_retention.delay().get(timeout=60) == 3
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert Event.objects.count() == 0
