"""Seed the demo estate (idempotent). Today: the order-flow topics; the catalog issue adds the
services, event types, schemas and docs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from broker.models import Topic
from broker.services.topics import topic_create

DEMO_TOPICS = {
    "orders": 3,
    "inventory": 3,
    "payments": 3,
    "shipping": 3,
    "notifications": 1,
}


class Command(BaseCommand):
    help = "Create the demo topics (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        created = []
        for name, partitions in DEMO_TOPICS.items():
            if not Topic.objects.filter(name=name).exists():
                topic_create(name=name, partitions=partitions)
                created.append(name)
        if options.get("verbosity", 1) >= 1:
            self.stdout.write(f"Demo topics: {', '.join(DEMO_TOPICS)} ({len(created)} created).")
