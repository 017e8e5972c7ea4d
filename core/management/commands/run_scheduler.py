"""Run the periodic work (retention, member expiry, ...) in this process, on the same schedule
Celery beat uses. This is how a laptop runs Eventline with no Redis; with REDIS_URL, run Celery's
worker and beat instead (`make run` picks for you)."""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connection

from config.celery import app, periodic_schedule

logger = logging.getLogger("eventline.scheduler")


class Command(BaseCommand):
    help = "Run Eventline's periodic tasks in-process (no Celery broker needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run every task once and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        app.loader.import_default_modules()  # registers every app's tasks now, not lazily
        schedule = periodic_schedule()
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        due = {name: 0.0 for name in schedule}
        while not stopping:
            now = time.monotonic()
            for name, entry in schedule.items():
                if now < due[name]:
                    continue
                due[name] = now + float(entry["schedule"])
                if not connection.in_atomic_block:
                    close_old_connections()
                try:
                    result = app.tasks[entry["task"]].run()
                    logger.debug("%s -> %s", name, result)
                    if options["once"]:
                        self.stdout.write(f"{name}: {result}")
                except Exception:
                    logger.exception("Periodic task %s failed", name)
            if options["once"]:
                return
            time.sleep(max(0.05, min(due.values()) - time.monotonic()))
