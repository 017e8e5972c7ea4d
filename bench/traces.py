"""Correlation-ID trace lookup with 10,000,000 events in the log (1,000,000 with --quick), each
figure beside a baseline from the same run:

* the trace selector (find the events by correlation id, follow causation links, per-group hop
  status from the fetch and commit log, mask payloads) at p50/p99, beside the same lookup when the
  log held 100,000 events (measured before the rest was filled) and beside one bare indexed
  SELECT by correlation id on the full log;
* the HTTP API (`GET /api/v1/traces/{correlation_id}`) on a warm server, beside a bare HTTP round
  trip (`/healthz`) to the same server;
* what topic-scanning UIs do (AKHQ's published figure: about 10 s to search 800,000 messages):
  one SQL scan of the payloads for the same id, timed once;
* the query plans of every lookup the trace makes (EXPLAIN), checked for index use.

The log is filled the way bench/broker.py fills it: raw bulk inserts of the rows the append path
writes (COPY on PostgreSQL). Transactions look like the demo's saga: five events on four topics,
random correlation ids, each event caused by the one before (the fifth branches from the third),
W3C traceparent on every event, and the events of a transaction interleaved with others'. Two
consumer groups read every partition (a service's group and a slower analytics group that lags
behind), with a fetch and commit log like real consumers write.

    python -m bench.traces --db sqlite|postgres [--quick] [--events N]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import orjson

from bench.broker import event_document
from bench.harness import Database, Figure, Http, Report, Server, django_setup, percentile
from eventline.ids import uuid7_batch

TOPICS = ("orders", "inventory", "payments", "shipping")
PARTITIONS = 3
# Event j of a transaction: (topic, type, index of its cause within the transaction).
SAGA = (
    ("orders", "OrderPlaced", None),
    ("inventory", "StockReserved", 0),
    ("payments", "PaymentCompleted", 1),
    ("shipping", "OrderShipped", 2),
    ("orders", "InvoiceIssued", 2),
)
WINDOW = 1_000  # events of a transaction are spread over this many consecutive appends
ANALYTICS_LAG = 5_000  # the analytics group is this many events behind on every partition
BASELINE_EVENTS = 100_000
CHUNK = 10_000


class LogFiller:
    """Appends synthetic saga traffic in raw bulk inserts, and writes the fetch and commit log of
    two consumer groups per partition as it goes."""

    def __init__(self, seed: int = 7) -> None:
        from broker.models import ConsumerGroup, GroupPartition
        from broker.services.topics import topic_create
        from core.models import Service

        self.random = random.Random(seed)
        self.topics = {name: topic_create(name=name, partitions=PARTITIONS) for name in TOPICS}
        self.producers = {name: Service.objects.get_or_create(name=name)[0].id for name in TOPICS}
        self.groups = {name: ConsumerGroup.objects.create(name=f"{name}-service").id for name in TOPICS}
        self.analytics = ConsumerGroup.objects.create(name="analytics-service").id
        self.next_offset = {(topic.id, p): 0 for topic in self.topics.values() for p in range(PARTITIONS)}
        self.unfetched = {key: 0 for key in self.next_offset}  # offset where the current fetch begins
        self.fetch_size = {key: self._fetch_size() for key in self.next_offset}
        self.sequence = 0
        self.clock_ms = int(time.time() * 1000) - 3 * 3600 * 1000
        self.sample: list[str] = []
        self.samples_seen = 0
        for topic in self.topics.values():
            for partition in range(PARTITIONS):
                for group in (*self.groups.values(), self.analytics):
                    if group == self.analytics or group == self.groups[topic.name]:
                        GroupPartition.objects.create(group_id=group, topic=topic, partition=partition)

    def _fetch_size(self) -> int:
        return self.random.randint(1, 200)

    def _remember(self, correlation: str) -> None:
        """Reservoir sample of correlation ids to look up later."""
        self.samples_seen += 1
        if len(self.sample) < 2_000:
            self.sample.append(correlation)
        else:
            slot = self.random.randrange(self.samples_seen)
            if slot < 2_000:
                self.sample[slot] = correlation

    def fill(self, count: int, *, final: bool) -> None:
        """Append `count` more events (a multiple of WINDOW); `final` leaves the analytics group
        lagging behind."""
        from django.db import connection, transaction

        from broker.log.sql import _insert_rows
        from broker.models import GroupActivity

        rows: list[tuple] = []
        activity: list = []
        for window in range(0, count, WINDOW):
            window_rows, window_activity = self._window()
            rows.extend(window_rows)
            activity.extend(window_activity)
            if len(rows) >= CHUNK or window + WINDOW >= count:
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        _insert_rows(cursor, rows)
                    GroupActivity.objects.bulk_create(activity, batch_size=2_000)
                rows, activity = [], []
        self._store_offsets(lag_analytics=final)

    def _window(self) -> tuple[list[tuple], list]:
        from broker.choices import ActivityKind
        from broker.models import GroupActivity

        transactions = WINDOW // len(SAGA)
        slots = list(range(WINDOW))
        self.random.shuffle(slots)
        placed: list[tuple[int, int, int]] = []  # (slot, transaction, step)
        for number in range(transactions):
            positions = sorted(slots[number * len(SAGA) : (number + 1) * len(SAGA)])
            placed.extend((position, number, step) for step, position in enumerate(positions))
        placed.sort()
        correlations = [str(uuid.UUID(int=self.random.getrandbits(128), version=4)) for _ in range(transactions)]
        for correlation in correlations:
            self._remember(correlation)
        ids = uuid7_batch(WINDOW)
        event_ids: dict[tuple[int, int], str] = {}
        rows: list[tuple] = []
        activity: list[GroupActivity] = []
        for index, (_, number, step) in enumerate(placed):
            topic_name, event_type, cause_step = SAGA[step]
            topic = self.topics[topic_name]
            correlation = correlations[number]
            partition = int(correlation[:8], 16) % PARTITIONS
            key = (topic.id, partition)
            offset = self.next_offset[key]
            self.next_offset[key] = offset + 1
            self.sequence += 1
            self.clock_ms += self.random.choice((0, 0, 1))
            event_id = ids[index]
            event_ids[(number, step)] = event_id
            causation = event_ids[(number, cause_step)] if cause_step is not None else None
            trace_id = correlation.replace("-", "")
            document = event_document(self.sequence, correlation)
            document["correlationid"] = correlation
            document["type"] = event_type
            document["source"] = f"/services/{topic_name}"
            document["partitionkey"] = f"ord-{correlation[:10]}"
            if causation:
                document["causationid"] = causation
            document["traceparent"] = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
            body = orjson.dumps(
                {
                    "id": event_id,
                    **document,
                    "key": document["partitionkey"],
                    "headers": [],
                    "timestamp": self.clock_ms,
                    "append_time": self.clock_ms,
                }
            )
            payload = (
                f'{{"topic":"{topic_name}","partition":{partition},"offset":{offset},'.encode() + body[1:]
            ).decode()
            rows.append(
                (
                    topic.id,
                    partition,
                    offset,
                    event_id,
                    document["source"],
                    event_type,
                    document["partitionkey"],
                    correlation,
                    causation,
                    trace_id,
                    self.producers[topic_name],
                    None,
                    self.clock_ms,
                    self.clock_ms,
                    len(body),
                    payload,
                )
            )
            # Consumers fetch what has arrived in batches and commit after processing.
            if offset + 1 - self.unfetched[key] >= self.fetch_size[key]:
                activity.extend(self._fetch_and_commit(key, offset + 1, ActivityKind))
        return rows, activity

    def _fetch_and_commit(self, key: tuple[int, int], end: int, kinds) -> list:
        from broker.models import GroupActivity

        topic_id, partition = key
        start = self.unfetched[key]
        self.unfetched[key] = end
        self.fetch_size[key] = self._fetch_size()
        service_group = self.groups[next(name for name, topic in self.topics.items() if topic.id == topic_id)]
        made = []
        for group, delay in (
            (service_group, self.random.randint(1, 15)),
            (self.analytics, self.random.randint(20, 400)),
        ):
            fetched_at = self.clock_ms + delay
            committed_at = fetched_at + self.random.randint(2, 60)
            made.append(
                GroupActivity(
                    group_id=group,
                    topic_id=topic_id,
                    partition=partition,
                    kind=kinds.FETCH,
                    at_ms=fetched_at,
                    start_offset=start,
                    end_offset=end,
                    member_id="bench",
                    log_end_offset=end,
                )
            )
            made.append(
                GroupActivity(
                    group_id=group,
                    topic_id=topic_id,
                    partition=partition,
                    kind=kinds.COMMIT,
                    at_ms=committed_at,
                    start_offset=end,
                    end_offset=end,
                    member_id="bench",
                    log_end_offset=end,
                )
            )
        return made

    def _store_offsets(self, *, lag_analytics: bool) -> None:
        """Log end offsets, and committed offsets: the service groups are caught up to their last
        commit; analytics is ANALYTICS_LAG behind (its later fetch and commit rows are removed,
        as they would not have happened yet)."""
        from broker.choices import ActivityKind
        from broker.models import GroupActivity, GroupPartition, Partition

        for (topic_id, partition), end in self.next_offset.items():
            Partition.objects.filter(topic_id=topic_id, number=partition).update(
                end_offset=end, last_append_ms=self.clock_ms
            )
            committed = self.unfetched[(topic_id, partition)]
            lagging = max(0, committed - ANALYTICS_LAG) if lag_analytics else committed
            GroupPartition.objects.filter(topic_id=topic_id, partition=partition).exclude(
                group_id=self.analytics
            ).update(committed_offset=committed, position=committed, committed_ms=self.clock_ms)
            GroupActivity.objects.filter(
                group_id=self.analytics, topic_id=topic_id, partition=partition, end_offset__gt=lagging
            ).filter(kind__in=[ActivityKind.FETCH, ActivityKind.COMMIT]).delete()
            last = (
                GroupActivity.objects.filter(
                    group_id=self.analytics, topic_id=topic_id, partition=partition, kind=ActivityKind.COMMIT
                )
                .order_by("-end_offset")
                .values_list("end_offset", flat=True)
                .first()
            )
            GroupPartition.objects.filter(group_id=self.analytics, topic_id=topic_id, partition=partition).update(
                committed_offset=last, position=last, committed_ms=self.clock_ms
            )


def stop(server: Server) -> None:
    """Stop the server and its scheduler; a scheduler busy in a long task is killed rather than
    left running over the benchmark database."""
    try:
        server.stop()
    except subprocess.TimeoutExpired:
        server.scheduler.kill()
        server.scheduler.wait()
        server.stop()


def timed(function, arguments: list, warmup: list | None = None) -> list[float]:
    for argument in warmup or []:
        function(argument)
    times = []
    for argument in arguments:
        began = time.perf_counter()
        function(argument)
        times.append((time.perf_counter() - began) * 1000)
    return times


def selector_lookup(principal):
    from monitoring.traces.selectors import trace_get

    def lookup(correlation: str) -> None:
        trace = trace_get(query=correlation, principal=principal)
        assert len(trace.items) == len(SAGA), (correlation, len(trace.items))

    return lookup


def bare_select(correlation: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT id, topic_id, partition, "offset", event_id, causation_id, append_time_ms FROM broker_event '
            "WHERE correlation_id = %s",
            [correlation],
        )
        assert len(cursor.fetchall()) == len(SAGA)


def explain(label: str, sql: str, params: list) -> bool:
    """Print the plan; True when it reads through an index (no full scan of a big table)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        lines = [" ".join(str(part) for part in row if part is not None) for row in cursor.fetchall()]
    text = "\n".join(lines)
    scans = (
        "Seq Scan on broker_event",
        "Seq Scan on broker_groupactivity",
        "SCAN broker_event",
        "SCAN broker_groupactivity",
    )
    indexed = not any(scan in text for scan in scans) and ("Index" in text or "INDEX" in text)
    print(f"  EXPLAIN {label}: {'index' if indexed else 'NO INDEX'}")
    for line in lines:
        print(f"      {line}")
    return indexed


def check_plans(correlation: str, group_id: int) -> bool:
    from broker.models import Event
    from monitoring.traces import selectors

    row = Event.objects.filter(correlation_id=correlation).order_by("offset").values().first()
    ok = True
    ok &= explain(
        "by correlation id",
        "SELECT id FROM broker_event WHERE correlation_id = %s",
        [correlation],
    )
    ok &= explain(
        "children (causation_id IN)",
        "SELECT id FROM broker_event WHERE causation_id IN (%s, %s)",
        [row["event_id"], "x"],
    )
    ok &= explain(
        "parents / event id (event_id IN)",
        "SELECT id FROM broker_event WHERE event_id IN (%s, %s)",
        [row["event_id"], "x"],
    )
    ok &= explain("by W3C trace id", "SELECT id FROM broker_event WHERE trace_id = %s", [row["trace_id"]])
    ok &= explain(
        "by position",
        'SELECT id FROM broker_event WHERE topic_id = %s AND partition = %s AND "offset" = %s',
        [row["topic_id"], row["partition"], row["offset"]],
    )
    ok &= explain(
        "first fetch covering the offset",
        selectors._FETCH_LOOKUP[1:-1],
        [group_id, row["topic_id"], row["partition"], row["append_time_ms"] - 1000, row["offset"], row["offset"]],
    )
    ok &= explain(
        "first commit past the offset",
        selectors._COMMIT_LOOKUP[1:-1],
        [group_id, row["topic_id"], row["partition"], row["append_time_ms"], row["offset"]],
    )
    return ok


def api_lookups(server: Server, token: str, correlations: list[str], warmup: list[str]) -> list[float]:
    http = Http(server.url, token)

    def get(correlation: str) -> None:
        status, raw = http.request("GET", f"/api/v1/traces/{correlation}")
        assert status == 200, raw[:300]

    return timed(get, correlations, warmup)


def healthz_trips(server: Server, token: str, count: int) -> list[float]:
    http = Http(server.url, token)
    return timed(lambda _: http.request("GET", "/healthz"), list(range(count)), list(range(20)))


def scan_for(correlation: str) -> float:
    """What a topic-scanning UI does: read every stored event looking for the id."""
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM broker_event WHERE payload LIKE %s", [f"%{correlation}%"])
        assert cursor.fetchone()[0] == len(SAGA)
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int, help="events in the log (default 10,000,000; 1,000,000 with --quick)")
    parser.add_argument("--no-scan", action="store_true", help="skip the full-scan comparison")
    args = parser.parse_args()
    total = args.events or (1_000_000 if args.quick else 10_000_000)
    total -= total % WINDOW
    lookups = 300 if args.quick else 1_000
    with Database.fresh(args.db) as database, tempfile.TemporaryDirectory() as var:
        var_dir = Path(var)
        django_setup(database, var_dir)
        from django.db import connection

        from core.auth import Principal
        from core.services import api_key_create

        report = Report(f"Traces on {database.label}")
        print(f"\n== {report.title} ({total:,} events in the log) ==", flush=True)
        principal = Principal(scopes=frozenset({"admin"}), username="bench")
        lookup = selector_lookup(principal)
        filler = LogFiller()

        began = time.perf_counter()
        filler.fill(BASELINE_EVENTS, final=False)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        small_sample = filler.sample[:lookups]
        small = timed(lookup, small_sample, warmup=filler.sample[-20:])
        print(f"  (100,000-event log: selector p50 {percentile(small, 50):.2f} ms, p99 {percentile(small, 99):.2f} ms)")

        filler.fill(total - BASELINE_EVENTS, final=True)
        fill_seconds = time.perf_counter() - began
        print(f"  (filled {total:,} events in {fill_seconds:,.0f} s, {total / fill_seconds:,.0f} ev/s)", flush=True)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE broker_event")
                cursor.execute("VACUUM ANALYZE broker_groupactivity")
        from broker.models import Event, GroupActivity

        events_in_log = Event.objects.count()
        print(f"  ({events_in_log:,} events, {GroupActivity.objects.count():,} fetch/commit log rows)", flush=True)
        assert events_in_log == total

        sample = list(filler.sample)
        random.Random(11).shuffle(sample)
        sample, warmup = sample[:lookups], sample[lookups : lookups + 20]
        plans_ok = check_plans(sample[0], filler.groups["orders"])

        full = timed(lookup, sample, warmup)
        bare = timed(bare_select, sample, warmup)
        report.add(
            Figure(
                f"Trace lookup (selector) p50, {total:,}-event log",
                percentile(full, 50),
                "ms",
                "same lookup, 100,000-event log",
                percentile(small, 50),
            )
        )
        report.add(
            Figure(
                f"Trace lookup (selector) p99, {total:,}-event log",
                percentile(full, 99),
                "ms",
                "same lookup, 100,000-event log",
                percentile(small, 99),
                "< 50 ms",
                percentile(full, 99) < 50,
            )
        )
        report.add(
            Figure(
                "Trace lookup (selector) p99 vs one indexed SELECT",
                percentile(full, 99),
                "ms",
                "bare SELECT by correlation id p99",
                percentile(bare, 99),
            )
        )

        token = api_key_create(service_name="bench", scopes=["admin"])[1]
        server = Server(database, var_dir)
        try:
            trips = healthz_trips(server, token, 2_000)
            api = api_lookups(server, token, sample, warmup)
            report.add(
                Figure(
                    "Trace API GET p50 (warm server)",
                    percentile(api, 50),
                    "ms",
                    "bare HTTP round trip p50",
                    percentile(trips, 50),
                )
            )
            report.add(
                Figure(
                    "Trace API GET p99 (warm server)",
                    percentile(api, 99),
                    "ms",
                    "bare HTTP round trip p99",
                    percentile(trips, 99),
                    "< 50 ms",
                    percentile(api, 99) < 50,
                )
            )
        finally:
            stop(server)
        if not args.no_scan:
            scan_ms = scan_for(sample[1])
            report.add(
                Figure(
                    f"Topic scan for one id ({total:,} events; what Kafka UIs do)",
                    scan_ms,
                    "ms",
                    "indexed trace lookup p50",
                    percentile(full, 50),
                )
            )
        print(f"  query plans use indexes: {'yes' if plans_ok else 'NO'}")
        (var_dir / "report.json").write_text(orjson.dumps([f.__dict__ for f in report.figures]).decode())


if __name__ == "__main__":
    main()
