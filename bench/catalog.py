"""Catalog benchmarks: the catalog page, a search, an event type page and the list API with
5,000 event types (target: under 200 ms server time), each beside the same request on a catalog
of 50 from the same run.

    python -m bench.catalog --db sqlite|postgres [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.harness import Database, Figure, Report, django_setup
from bench.inprocess import logged_in_client, server_time_ms

WORDS = "order payment stock parcel refund invoice customer basket warehouse carrier".split()


def build_catalog(count: int, prefix: str) -> None:
    """`count` event types over 20 domains and 40 teams with tags, topics and declared flows,
    written in bulk (the services would take minutes for 5,000)."""
    from broker.services.topics import topic_create
    from catalog.models import DeclaredFlow, Domain, EventType, Tag, Team
    from core.models import Service

    domains = Domain.objects.bulk_create(Domain(name=f"{prefix} domain {n}") for n in range(20))
    teams = Team.objects.bulk_create(Team(name=f"{prefix} team {n}") for n in range(40))
    tags = Tag.objects.bulk_create(Tag(name=f"{prefix}-{word}") for word in WORDS)
    topics = [topic_create(name=f"{prefix}-topic-{n}", partitions=1) for n in range(50)]
    services = Service.objects.bulk_create(Service(name=f"{prefix}-svc-{n}") for n in range(200))
    types = EventType.objects.bulk_create(
        EventType(
            name=f"{prefix.title()}Event{n:05d}",
            domain=domains[n % 20],
            owner_team=teams[n % 40],
            summary=f"A {WORDS[n % 10]} happened ({n})",
            business_meaning=f"Means that a {WORDS[(n * 7) % 10]} changed state.",
            lifecycle="active",
            search_text=f"{prefix}event{n:05d} a {WORDS[n % 10]} happened means that a {WORDS[(n * 7) % 10]} changed state",
        )
        for n in range(count)
    )
    EventType.tags.through.objects.bulk_create(
        EventType.tags.through(eventtype_id=t.id, tag_id=tags[n % len(tags)].id) for n, t in enumerate(types)
    )
    EventType.topics.through.objects.bulk_create(
        EventType.topics.through(eventtype_id=t.id, topic_id=topics[n % 50].id) for n, t in enumerate(types)
    )
    DeclaredFlow.objects.bulk_create(
        DeclaredFlow(service=services[(n + k) % 200], event_type=t, role=role)
        for n, t in enumerate(types)
        for k, role in ((0, "producer"), (1, "consumer"), (2, "consumer"))
    )


def measure(client, prefix: str) -> dict[str, float]:
    return {
        "page": server_time_ms(lambda: client.get("/catalog/"))[0],
        "search": server_time_ms(lambda: client.get("/catalog/", {"q": "warehouse"}))[0],
        "filtered": server_time_ms(
            lambda: client.get("/catalog/", {"domain": f"{prefix} domain 3", "sort": "updated"})
        )[0],
        "last page": server_time_ms(lambda: client.get("/catalog/", {"page": "last"}))[0],
        "api": server_time_ms(lambda: client.get("/api/v1/catalog/event-types/", {"limit": 100}))[0],
        "detail": server_time_ms(lambda: client.get(f"/catalog/event-types/{prefix.title()}Event00003/"))[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count = 2000 if args.quick else 5000
    with Database.fresh(args.db) as database, tempfile.TemporaryDirectory() as var:
        django_setup(database, Path(var))
        report = Report(f"Catalog on {database.label}")
        print(f"\n== {report.title} ({'quick' if args.quick else 'full'}) ==", flush=True)
        client = logged_in_client()
        build_catalog(50, "small")
        small = measure(client, "small")
        build_catalog(count, "big")
        big = measure(client, "big")
        labels = {
            "page": "catalog page (first 25)",
            "search": "search ?q=warehouse",
            "filtered": "filter by domain, sorted by change",
            "last page": "last page",
            "api": "list API, 100 per page",
            "detail": "event type page",
        }
        for key, label in labels.items():
            report.add(
                Figure(
                    f"{label}, {count + 50:,} event types (ms)",
                    big[key],
                    "ms",
                    "50 event types",
                    small[key],
                    "< 200 ms",
                    big[key] < 200,
                )
            )


if __name__ == "__main__":
    main()
