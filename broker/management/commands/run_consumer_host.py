"""Run the consumer host (broker.consumer_host): on BROKER_BACKEND=kafka, the one long-lived
process per machine that holds the Kafka consumers behind HTTP consumer-group members. `make run`
starts it beside the web server; in production it is the Procfile's `consumers` process."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from broker.consumer_host import Host, serve
from broker.services.hosted_groups import consumer_host_socket


class Command(BaseCommand):
    help = "Hold the Kafka consumers behind HTTP consumer-group members (BROKER_BACKEND=kafka)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--socket", default="", help="Unix socket to listen on (default: var/consumer-host.sock)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.KAFKA_BOOTSTRAP_SERVERS:
            raise CommandError("The consumer host needs KAFKA_BOOTSTRAP_SERVERS (BROKER_BACKEND=kafka).")
        path = Path(options["socket"]) if options["socket"] else consumer_host_socket()
        host = Host({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, **settings.KAFKA_CLIENT_CONFIG})
        server = serve(path, host)

        def stop(*_: object) -> None:
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Consumer host listening on {path}", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            host.stop()  # every member leaves its group, so the others rebalance at once
            server.server_close()
            path.unlink(missing_ok=True)
