"""Soak: producers and consumer groups over HTTP on loopback for a bounded time (`make soak`).

    python -m bench.soak [--db sqlite|postgres] [--seconds N]

The app runs as `make run` starts it (bench.harness.Server: granian's web workers, the scheduler
and, on SQLite, the append writer) on a fresh database. Producers (eventline.client's Producer,
in a process of their own) send batches at a steady rate, each event with an id of its own and
its send time; every consumer group (eventline.client's Consumer, one process per group, its
members in threads) joins before the first event and reads until it has everything. The run stops
by itself: SOAK_SECONDS of traffic (default 120), then at most DRAIN_TIMEOUT_S for the groups to
catch up. It then checks that every acknowledged event was consumed exactly once per group (by
id), and prints the counts, the errors, produce-to-consume latency and produce request latency
(p50, p99, max) beside a bare HTTP round trip, and the web workers' memory beside their own at
the start. It exits 1 if an event is missing or repeated in a group or a request failed.

Environment: SOAK_SECONDS (120), SOAK_RATE (events/s offered in all, 2,000), SOAK_PRODUCERS (4),
SOAK_BATCH (20), SOAK_GROUPS (2), SOAK_MEMBERS (members per group, 2), SOAK_PARTITIONS (6).
PostgreSQL needs BENCH_POSTGRES_URL (a role that may create databases).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import Database, Figure, Http, Report, Server, django_setup, percentile, rss_mb

TOPIC = "soak"
DRAIN_TIMEOUT_S = 60.0
QUIET_AFTER_DRAIN_S = 3.0  # a group that has everything keeps polling this long, so late repeats show
PROGRESS_EVERY_S = 15.0


@dataclass(frozen=True)
class Settings:
    seconds: float
    rate: int
    producers: int
    batch: int
    groups: int
    members: int
    partitions: int

    @classmethod
    def from_env(cls, seconds: float | None) -> Settings:
        def number(name: str, default: int) -> int:
            return int(os.environ.get(name, default))

        return cls(
            seconds=seconds if seconds is not None else float(os.environ.get("SOAK_SECONDS", 120)),
            rate=number("SOAK_RATE", 2000),
            producers=number("SOAK_PRODUCERS", 4),
            batch=number("SOAK_BATCH", 20),
            groups=number("SOAK_GROUPS", 2),
            members=number("SOAK_MEMBERS", 2),
            partitions=number("SOAK_PARTITIONS", 6),
        )


@dataclass
class Produced:
    acked: list[str] = field(default_factory=list)
    unacked: list[str] = field(default_factory=list)  # a send that failed after the client's retries
    request_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    late_batches: int = 0  # batches sent after their slot: the producer could not keep the rate


@dataclass
class Consumed:
    group: str
    ids: list[str] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rebalances: int = 0


def produce(url: str, token: str, settings: Settings, go: Any, counter: Any, out: Any) -> None:
    """The producer process: `settings.producers` threads, each sending batches on a fixed
    schedule for `settings.seconds`, through eventline.client (which retries 5xx and dropped
    connections with the same ids)."""
    from eventline.client import Producer

    result = Produced()
    lock = threading.Lock()
    interval = settings.batch * settings.producers / settings.rate

    def run(number: int) -> None:
        producer = Producer(url, token, source=f"/soak/producer-{number}", timeout=30)
        start = time.perf_counter() + number * interval / settings.producers
        batches = int(settings.seconds / interval)
        for n in range(batches):
            delay = start + n * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif delay < -interval:
                with lock:
                    result.late_batches += 1
            ids = [f"p{number}-{n}-{i}" for i in range(settings.batch)]
            sent_ns = time.time_ns()
            events = [
                {"id": event_id, "partitionkey": f"key-{(n * settings.batch + i) % 97}", "data": {"sent_ns": sent_ns}}
                for i, event_id in enumerate(ids)
            ]
            began = time.perf_counter()
            try:
                deliveries = producer.send(TOPIC, events)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                with lock:
                    result.unacked.extend(ids)
                    result.errors.append(repr(exc)[:300])
                continue
            elapsed_ms = (time.perf_counter() - began) * 1000
            with lock:
                result.request_ms.append(elapsed_ms)
                result.acked.extend(delivery.id for delivery in deliveries)
                if any(delivery.duplicate for delivery in deliveries):
                    result.errors.append(f"a fresh batch of producer {number} was answered as a duplicate")
            with counter.get_lock():
                counter.value += len(deliveries)
        producer.close()

    go.wait()
    threads = [threading.Thread(target=run, args=(number,)) for number in range(settings.producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(asdict(result))  # plain data: the parent may not know this module by the same name


def consume(
    url: str, token: str, group: str, settings: Settings, joined: Any, target: Any, counter: Any, out: Any
) -> None:
    """One group's process: `settings.members` members in threads, polling until the group has
    `target` distinct events (set once the producers are done) and then QUIET_AFTER_DRAIN_S more,
    or until DRAIN_TIMEOUT_S after the target was set."""
    from eventline.client import Consumer

    result = Consumed(group)
    lock = threading.Lock()
    seen: set[str] = set()
    done = threading.Event()
    started_ns = time.time_ns()

    def run(number: int) -> None:
        consumer = Consumer(url, token, group, client_id=f"soak-{number}", auto_offset_reset="earliest", timeout=30)

        def rebalanced(_: list) -> None:
            if time.time_ns() - started_ns > 5e9:  # the joins at the start are expected
                with lock:
                    result.rebalances += 1

        consumer.on_revoke = rebalanced
        consumer.subscribe([TOPIC])
        joined.release()
        try:
            while not done.is_set():
                try:
                    events = consumer.poll(timeout=1.0)
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    with lock:
                        result.errors.append(repr(exc)[:300])
                    time.sleep(0.5)
                    continue
                now = time.time_ns()
                with lock:
                    for event in events:
                        result.ids.append(event.id)
                        result.latency_ms.append((now - event.data["sent_ns"]) / 1e6)
                        seen.add(event.id)
                with counter.get_lock():
                    counter.value += len(events)
        finally:
            consumer.close()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(settings.members)]
    for thread in threads:
        thread.start()
    while target.value < 0:
        time.sleep(0.2)
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        with lock:
            complete = len(seen) >= target.value
        if complete:
            time.sleep(QUIET_AFTER_DRAIN_S)
            break
        time.sleep(0.2)
    done.set()
    for thread in threads:
        thread.join(60)
    out.put(asdict(result))


def wait_until_stable(http: Http, groups: list[str], members: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = [http.json("GET", f"/api/v1/groups/{group}") for group in groups]
        if all(d["state"] == "Stable" and len(d["members"]) == members for d in described):
            return
        time.sleep(0.2)
    raise SystemExit(f"the groups did not settle within {timeout} s: {[d['state'] for d in described]}")


def check_group(consumed: Consumed, acked: set[str], unacked: set[str]) -> list[str]:
    """Every acknowledged event exactly once; an event whose send failed at most once; nothing else."""
    counts = Counter(consumed.ids)
    missing = acked - counts.keys()
    repeated = sorted(event_id for event_id, count in counts.items() if count > 1)
    unknown = sorted(counts.keys() - acked - unacked)
    problems = []
    if missing:
        problems.append(
            f"{consumed.group}: {len(missing):,} acknowledged events never consumed, e.g. {sorted(missing)[:5]}"
        )
    if repeated:
        problems.append(f"{consumed.group}: {len(repeated):,} events consumed more than once, e.g. {repeated[:5]}")
    if unknown:
        problems.append(f"{consumed.group}: {len(unknown):,} consumed events no producer sent, e.g. {unknown[:5]}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default=os.environ.get("SOAK_DB", "sqlite"))
    parser.add_argument("--seconds", type=float, default=None, help="traffic time (default SOAK_SECONDS or 120)")
    args = parser.parse_args()
    settings = Settings.from_env(args.seconds)
    groups = [f"soak-group-{n}" for n in range(settings.groups)]
    with Database.fresh(args.db) as database, tempfile.TemporaryDirectory() as var:
        var_dir = Path(var)
        django_setup(database, var_dir)
        from django.db import connections

        from broker.services.topics import topic_create
        from core.services import api_key_create

        topic_create(name=TOPIC, partitions=settings.partitions)
        token = api_key_create(service_name="soak", scopes=["admin"])[1]
        connections.close_all()
        report = Report(f"Soak on {database.label}")
        print(
            f"\n== {report.title}: {settings.seconds:.0f} s at {settings.rate:,} ev/s offered by {settings.producers} "
            f"producers (batch {settings.batch}), {settings.groups} groups of {settings.members} members, "
            f"{settings.partitions} partitions ==",
            flush=True,
        )
        server = Server(database, var_dir)
        try:
            http = Http(server.url, token)
            trips = []
            for _ in range(1000):
                began = time.perf_counter()
                http.request("GET", "/healthz")
                trips.append((time.perf_counter() - began) * 1000)
            pids = server.worker_pids()
            rss_start = {pid: rss_mb(pid) for pid in pids}

            context = multiprocessing.get_context("spawn")
            produced_out: Any = context.Queue()
            consumed_out: Any = context.Queue()
            go, joined = context.Event(), context.Semaphore(0)
            target = context.Value("q", -1)
            produced_count = context.Value("q", 0)
            consumed_counts = {group: context.Value("q", 0) for group in groups}
            consumers = [
                context.Process(
                    target=consume,
                    args=(server.url, token, group, settings, joined, target, consumed_counts[group], consumed_out),
                    daemon=True,
                )
                for group in groups
            ]
            for process in consumers:
                process.start()
            for _ in range(settings.groups * settings.members):
                if not joined.acquire(timeout=60):
                    raise SystemExit("the consumers did not join")
            wait_until_stable(http, groups, settings.members)
            producer = context.Process(
                target=produce, args=(server.url, token, settings, go, produced_count, produced_out), daemon=True
            )
            producer.start()
            began = time.monotonic()
            go.set()
            # Read the results before joining: a process does not end until its queue is drained.
            while True:
                try:
                    produced = Produced(**produced_out.get(timeout=PROGRESS_EVERY_S))
                    break
                except queue.Empty:
                    if not producer.is_alive() or time.monotonic() - began > settings.seconds + 120:
                        raise SystemExit("the producers ended without a result") from None
                    consumed = ", ".join(f"{group} {value.value:,}" for group, value in consumed_counts.items())
                    print(
                        f"  {time.monotonic() - began:5.0f} s: produced {produced_count.value:,}; consumed {consumed}",
                        flush=True,
                    )
            traffic_s = time.monotonic() - began
            target.value = len(set(produced.acked))
            collected = [Consumed(**consumed_out.get(timeout=DRAIN_TIMEOUT_S + 120)) for _ in groups]
            for process in [producer, *consumers]:
                process.join(30)
            drained_s = time.monotonic() - began - traffic_s
            rss_end = {pid: rss_mb(pid) for pid in pids}
        finally:
            server.stop()

    acked, unacked = set(produced.acked), set(produced.unacked)
    problems = [problem for consumed in collected for problem in check_group(consumed, acked, unacked)]
    if len(acked) != len(produced.acked):
        problems.append(f"{len(produced.acked) - len(acked):,} ids were acknowledged twice")
    errors = produced.errors + [error for consumed in collected for error in consumed.errors]
    latencies = [ms for consumed in collected for ms in consumed.latency_ms]
    print(
        f"  produced {len(acked):,} events acknowledged in {traffic_s:.0f} s ({len(acked) / traffic_s:,.0f} ev/s; "
        f"{len(produced.request_ms):,} requests, {produced.late_batches} sent late), {len(unacked):,} unacknowledged",
        flush=True,
    )
    for consumed in collected:
        counts = Counter(consumed.ids)
        print(
            f"  {consumed.group}: consumed {len(consumed.ids):,} ({len(counts):,} distinct, "
            f"{sum(1 for count in counts.values() if count > 1):,} more than once), "
            f"{consumed.rebalances} rebalances after the start, {len(consumed.errors)} errors"
        )
    print(
        f"  the groups were done {drained_s:.1f} s after the producers ({QUIET_AFTER_DRAIN_S:.0f} s of it polling on for repeats)"
    )
    for label, values in (("Produce-to-consume latency", latencies), ("Produce request latency", produced.request_ms)):
        for pct in (50, 99):
            report.add(
                Figure(
                    f"{label} p{pct} (ms)",
                    percentile(values, pct),
                    "ms",
                    "bare HTTP round trip",
                    percentile(trips, pct),
                )
            )
        report.add(Figure(f"{label} max (ms)", max(values, default=float("nan")), "ms"))
    for pid in pids:
        report.add(Figure(f"Web worker {pid} RSS at the end (MB)", rss_end[pid], "MB", "at the start", rss_start[pid]))
    print(f"  errors: {len(errors)}" + "".join(f"\n    {error}" for error in errors[:10]))
    if problems:
        print("  EXACTLY ONCE PER GROUP: FAIL\n    " + "\n    ".join(problems))
    else:
        print(f"  EXACTLY ONCE PER GROUP: PASS ({len(acked):,} events x {len(collected)} groups)")
    sys.exit(1 if problems or errors else 0)


if __name__ == "__main__":
    main()
