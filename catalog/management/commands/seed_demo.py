"""Seed the demo estate (idempotent): the order-flow topics, domains, teams, services, event
types with two schema versions each, docs, owners and declared producers and consumers."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from catalog.demo import seed_demo


class Command(BaseCommand):
    help = "Seed the demo order flow (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        created = seed_demo()
        if options.get("verbosity", 1) >= 1:
            self.stdout.write(
                f"Demo estate ready ({created['topics']} topics, {created['event_types']} event types, "
                f"{created['schemas']} schema versions created)."
            )
