"""Monitoring benchmarks: a lag sampling round over 1,000 groups x 10 partitions (target under
1 s) and the lag dashboard with 1,000 groups (target under 300 ms server time), each beside the
same measurement on 10 groups from the same run.

    python -m bench.monitoring --db sqlite|postgres [--quick]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from bench.harness import Database, Figure, Report, django_setup
from bench.inprocess import logged_in_client, server_time_ms

PARTITIONS = 10


def build_estate(groups: int, prefix: str) -> None:
    """`groups` groups, each with a committed offset on every partition of a 10-partition topic
    holding a few hundred events, and a short commit history (what a sampler reads)."""
    from bench.broker import bulk_fill
    from broker.choices import ActivityKind
    from broker.models import ConsumerGroup, GroupActivity, GroupPartition
    from broker.services.topics import topic_create
    from core.timeutil import now_ms

    topic = topic_create(name=f"{prefix}-orders", partitions=PARTITIONS)
    for partition in range(PARTITIONS):
        bulk_fill(topic.name, 300, partition=partition)
    now = now_ms()
    rows = ConsumerGroup.objects.bulk_create(ConsumerGroup(name=f"{prefix}-group-{n:04d}") for n in range(groups))
    random.seed(7)
    offsets, activity = [], []
    for group in rows:
        for partition in range(PARTITIONS):
            committed = random.randint(200, 300)
            offsets.append(
                GroupPartition(
                    group=group, topic=topic, partition=partition, committed_offset=committed, committed_ms=now
                )
            )
            for step in range(3):
                activity.append(
                    GroupActivity(
                        group=group,
                        topic=topic,
                        partition=partition,
                        kind=ActivityKind.COMMIT,
                        at_ms=now - (3 - step) * 20_000,
                        start_offset=committed - 3 + step,
                        end_offset=committed - 3 + step,
                        log_end_offset=300,
                    )
                )
    GroupPartition.objects.bulk_create(offsets, batch_size=2000)
    GroupActivity.objects.bulk_create(activity, batch_size=2000)


def sample_ms() -> float:
    from core.timeutil import now_ms
    from monitoring.lag import lag_sample_round

    started = time.perf_counter()
    lag_sample_round(now_ms=now_ms())
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    groups = 300 if args.quick else 1000
    with Database.fresh(args.db) as database, tempfile.TemporaryDirectory() as var:
        django_setup(database, Path(var))
        report = Report(f"Monitoring on {database.label}")
        print(f"\n== {report.title} ({'quick' if args.quick else 'full'}) ==", flush=True)
        client = logged_in_client()

        build_estate(10, "small")
        sample_ms()
        small_round = min(sample_ms() for _ in range(3))
        small_page, _ = server_time_ms(lambda: client.get("/monitoring/"))

        build_estate(groups, "big")
        first = sample_ms()
        steady = min(sample_ms() for _ in range(3))
        print(f"  (first round over {groups + 10} groups, with no state yet: {first:.0f} ms)")
        report.add(
            Figure(
                f"Lag sampling round, {groups} groups x {PARTITIONS} partitions (ms)",
                steady,
                "ms",
                "10 groups",
                small_round,
                "< 1,000 ms",
                steady < 1000,
            )
        )
        page, worst = server_time_ms(lambda: client.get("/monitoring/"), repeat=9)
        report.add(
            Figure(
                f"Lag dashboard with {groups} groups, server time median (ms)",
                page,
                "ms",
                "10 groups",
                small_page,
                "< 300 ms",
                page < 300,
            )
        )
        print(f"  (dashboard worst of 9: {worst:.0f} ms)")


if __name__ == "__main__":
    main()
