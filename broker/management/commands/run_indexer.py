"""Run the indexer (broker.indexer): on BROKER_BACKEND=kafka, the process that indexes every
governed topic of the cluster, native clients' records included, for traces, the catalog and
lineage, and reads the consumer groups' commits from Kafka's commit log (broker.commit_log).
`make run` starts it on Kafka; in production it is the Procfile's `indexer`. Several may run: they
share the topics' partitions (one Kafka group), and one of them at a time reads the commit log."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from broker.commit_log import CommitLogReader
from broker.indexer import Indexer, run


class Command(BaseCommand):
    help = "Index every governed Kafka topic for traces, the catalog and lineage (BROKER_BACKEND=kafka)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.KAFKA_BOOTSTRAP_SERVERS:
            raise CommandError("The indexer needs KAFKA_BOOTSTRAP_SERVERS (BROKER_BACKEND=kafka).")
        indexer = Indexer(settings.KAFKA_BOOTSTRAP_SERVERS, client_config=settings.KAFKA_CLIENT_CONFIG)
        commit_log = CommitLogReader(settings.KAFKA_BOOTSTRAP_SERVERS, client_config=settings.KAFKA_CLIENT_CONFIG)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        self.stdout.write(
            f"Indexer consuming {settings.KAFKA_BOOTSTRAP_SERVERS} as group '{settings.EVENTLINE['INDEXER_GROUP']}', "
            "and the groups' commits from __consumer_offsets"
        )
        self.stdout.flush()
        try:
            run(indexer, stop, commit_log=commit_log)
        finally:
            indexer.close()
            commit_log.close()
            self.stdout.write(f"Indexer stopped: {indexer.counts}")
