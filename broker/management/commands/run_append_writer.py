"""Run the append writer (broker.log.writer): on SQLite, the one process that writes every web
worker's appends. `make run` starts it beside the web server; on PostgreSQL there is nothing to
run."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from broker.log import get_log
from broker.log.sql import SQLLog
from broker.log.writer import writer_socket_path
from core.process import settle_garbage_collector


class Command(BaseCommand):
    help = "Append every web worker's events to the SQLite database from this one process."

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "sqlite":
            raise CommandError("The append writer is for SQLite; PostgreSQL takes concurrent appends itself.")
        path = writer_socket_path()
        log = get_log()
        if path is None or not isinstance(log, SQLLog):
            raise CommandError(
                "The append writer needs a file database (with a path short enough for a Unix socket), "
                "EVENTLINE_APPEND_WRITER on and the SQL log."
            )
        writer = log.serve_as_writer(path)
        settle_garbage_collector()

        def stop(*_: object) -> None:
            writer.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Append writer listening on {path}")
        writer.serve()
