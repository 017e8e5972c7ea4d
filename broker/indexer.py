"""The indexer (issue 18): on the Kafka backend, the governance index of everything the cluster's
topics carry, whoever wrote it. `manage.py run_indexer` (`make run` starts it on Kafka; the
Procfile's `indexer`) consumes every governed topic with its own group (EVENTLINE_INDEXER_GROUP, "eventline-indexer"),
read_committed, from where it left off, and writes one row per record into the events table the
traces, business keys and event pages read (broker.models.Event), with what governance needs:

- id, type and source: CloudEvents headers (binary mode, `ce_*`), else a structured CloudEvents
  JSON value, else the record's coordinates and topic (broker.log.kafka.render_record);
- the schema id from Confluent's wire format (magic byte 0, 4-byte id);
- the correlation id: CloudEvents `correlationid`, else the first of INDEXER_CORRELATION_HEADERS
  present, else the JSON field INDEXER_CORRELATION_FIELD of the data;
- the W3C trace id from `traceparent` (CloudEvents attribute or plain header), the causation
  id from `causationid`;
- the producing service: Eventline's own producer header for events produced over HTTP, else the
  service named by INDEXER_SERVICE_HEADER, else the one the CloudEvents source names
  (`/services/<name>` or `<name>`), when the catalog knows it;
- key, partition, offset, the record timestamp and the append time.

Exactly once into the index: a batch's rows are inserted (a row whose position is already there
is skipped) and its observed flows counted from the rows actually inserted, in one database
transaction; only then are the batch's offsets committed to Kafka. A restart re-reads at most the
batches in flight and inserts none of them twice. A record that cannot be indexed (a poison
record) is skipped and counted, and never stops the indexer. run() overlaps the two halves: a
writer thread stores batch N while the loop reads and extracts batch N+1.
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
import re
import socket
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F

from broker.envelope import parse_traceparent
from broker.flows import minute_of, produced_counts, record_flows
from broker.log import wire
from broker.log.kafka import ce_attribute, record_document
from broker.models import ContractViolation, IndexerState, Topic
from core.jsonutil import dumps
from core.models import Service
from core.timeutil import now_ms
from schemas.models import SubjectVersion
from schemas.validation import validator_for

logger = logging.getLogger(__name__)

_COLUMNS = (
    'topic_id, partition, "offset", event_id, source, type, key, correlation_id, causation_id, trace_id, '
    "producer_id, schema_id, timestamp_ms, append_time_ms, size_bytes, payload"
)
# A batch's rows on their way into broker_event (PostgreSQL), emptied at each commit.
_PG_BATCH_TABLE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS eventline_index_batch ON COMMIT DELETE ROWS AS "
    f"SELECT {_COLUMNS} FROM broker_event WITH NO DATA"
)
_RETURNING = 'topic_id, producer_id, type, partition, "offset"'
_AS_RETURNING = itemgetter(0, 10, 5, 1, 2)  # an index row's _RETURNING columns
_FLOW_OF = itemgetter(0, 1, 2)  # a _RETURNING row's topic, producer and type
_SQLITE_CACHE = "PRAGMA cache_size=-32768"  # KiB
_MAX_TEXT = 255
_APPEND_TIME_HEADER = "eventline_append_time"  # present on what Eventline's produce wrote
_TRACEPARENT_HEADERS = ("traceparent",)
_TEXTS_KEPT = 4_096
_INSTANCES = itertools.count(1)  # the Indexers of this process, for their member names
# A member that has not reported for this long is gone (it reports every few seconds): its row is
# deleted when another member of its group starts.
_GONE_MS = 3_600_000


@dataclass
class IndexerConfig:
    """Which topics are governed and where native clients put what the index needs."""

    include: list[str] = field(default_factory=lambda: [".*"])
    exclude: list[str] = field(default_factory=list)
    correlation_headers: list[str] = field(default_factory=lambda: ["correlation_id", "X-Correlation-ID"])
    correlation_field: str = "correlation_id"
    service_header: str = "service"
    _governed: dict[str, bool] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(cls) -> IndexerConfig:
        options = settings.EVENTLINE
        return cls(
            include=list(options["INDEXER_INCLUDE"]) or [".*"],
            exclude=list(options["INDEXER_EXCLUDE"]),
            correlation_headers=list(options["INDEXER_CORRELATION_HEADERS"]),
            correlation_field=options["INDEXER_CORRELATION_FIELD"],
            service_header=options["INDEXER_SERVICE_HEADER"],
        )

    def subscription(self) -> str:
        """The consumer's regex subscription: every topic but the internal ones, or the included
        ones (governs() applies the exclusions)."""
        if self.include == [".*"]:
            return "^[^_].*"
        return "^(" + "|".join(self.include) + ")$"

    def governs(self, topic: str) -> bool:
        known = self._governed.get(topic)
        if known is None:
            known = self._governed[topic] = self._matches(topic)
        return known

    def _matches(self, topic: str) -> bool:
        if topic.startswith("_"):
            return False  # Kafka's internal topics (__consumer_offsets, __transaction_state, _schemas)
        return any(re.fullmatch(p, topic) for p in self.include) and not any(
            re.fullmatch(p, topic) for p in self.exclude
        )


@dataclass
class Batch:
    """What one read of the topics yields: the index rows, the violations among them, by position
    ((topic id, partition, offset) -> (kind, reason, producer id, type, payload)), and the offsets
    to commit to Kafka once the rows are in the database."""

    rows: list[tuple[Any, ...]]
    violations: dict[tuple[int, int, int], tuple[str, str, int | None, str, str]]
    offsets: list[TopicPartition]
    read: int  # records read, governed or not


@dataclass
class Counts:
    indexed: int = 0
    repeated: int = 0  # already in the index (a batch re-read after a restart)
    by_topic_skipped: Counter[str] = field(default_factory=Counter)  # poison records, per topic

    @property
    def skipped(self) -> int:
        return sum(self.by_topic_skipped.values())


class Indexer:
    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_config: dict[str, Any] | None = None,
        config: IndexerConfig | None = None,
        group: str | None = None,
        batch: int = 5_000,
    ) -> None:
        self.config = config or IndexerConfig.from_settings()
        self.group = group or settings.EVENTLINE["INDEXER_GROUP"]
        # Its IndexerState row: one per member, the group's figures being their sums.
        self.member = f"{self.group}@{socket.gethostname()}:{os.getpid()}/{next(_INSTANCES)}"[:255]
        self.started_ms = now_ms()
        self.batch = batch
        self.counts = Counts()
        self.reported = False
        self._topics: dict[str, int] = {}
        self._services: dict[str, int | None] = {}
        self._producers: dict[tuple[bytes | None, str], int | None] = {}  # (service header, source) -> id
        # A ce_source, a ce_type header -> its text (_text).
        self._sources: dict[bytes | None, str] = {}
        self._types: dict[bytes | None, str] = {}
        self._required: dict[int, str] = {}  # topic id -> the subject its records must name ('' for none)
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                **(client_config or {}),
                "group.id": self.group,
                "client.id": "eventline-indexer",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
                "topic.metadata.refresh.interval.ms": 5_000,  # new topics are picked up within seconds
            }
        )
        self.consumer.subscribe([self.config.subscription()])

    def close(self) -> None:
        self.consumer.close()

    def lag(self) -> dict[str, int]:
        """Records not yet indexed per topic of its assignment: the partitions' high watermarks
        (as of the last fetch, no request) less its positions."""
        assignment = self.consumer.assignment()
        behind: Counter[str] = Counter()
        for tp in self.consumer.position(assignment) if assignment else []:
            _, high = self.consumer.get_watermark_offsets(tp, cached=True)
            if high >= 0 and tp.offset >= 0:
                behind[tp.topic] += max(high - tp.offset, 0)
            elif high > 0:
                behind[tp.topic] += high  # nothing read yet: the whole partition
        return {topic: count for topic, count in behind.items() if self.config.governs(topic)}

    def report(self) -> None:
        """Write its state where the monitoring page and /metrics read it (IndexerState, one row a
        member: broker.selectors.indexer_summary adds up the group's live ones)."""
        lag = self.lag()
        at = now_ms()
        if not self.reported:
            # Members of earlier runs (another pid each) that stopped long ago.
            IndexerState.objects.filter(group=self.group, updated_ms__lt=at - _GONE_MS).delete()
            self.reported = True
        IndexerState.objects.update_or_create(
            name=self.member,
            defaults={
                "group": self.group,
                "lag": lag,
                "total_lag": sum(lag.values()),
                "indexed": self.counts.indexed,
                "skipped": self.counts.skipped,
                "skipped_by_topic": dict(self.counts.by_topic_skipped),
                "started_ms": self.started_ms,
                "updated_ms": at,
            },
        )

    def run_once(self, timeout_s: float = 1.0) -> int:
        """Index what arrived (waiting up to `timeout_s` for the first record); returns how many
        records were read."""
        batch = self.read(timeout_s)
        if batch is None:
            return 0
        self.write(batch)
        self.commit(batch)
        return batch.read

    def read(self, timeout_s: float = 1.0) -> Batch | None:
        """The next batch, its rows extracted (waiting up to `timeout_s` for the first record);
        None when nothing arrived."""
        first = self.consumer.poll(timeout_s)
        if first is None:
            return None
        messages = [first, *self.consumer.consume(self.batch - 1, timeout=0)]
        batch = Batch([], {}, [], len(messages))
        rows, governs = batch.rows, self.config.governs
        ends: dict[tuple[str, int], int] = {}
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    logger.warning("indexer: %s", error)
                continue
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            ends[(topic, partition)] = offset + 1
            if not governs(topic):
                continue
            try:
                rows.append(self._row(message, topic, partition, offset, batch.violations))
            except Exception:  # noqa: BLE001 - a poison record is skipped and counted, never fatal
                logger.warning("indexer: skipped %s/%s@%s", topic, partition, offset, exc_info=True)
                self.counts.by_topic_skipped[topic] += 1
        batch.offsets = [TopicPartition(t, p, o) for (t, p), o in ends.items()]
        return batch

    def commit(self, batch: Batch) -> None:
        """Kafka's commit of a batch, once its rows are in the database. A commit refused because
        the partitions moved to another member meanwhile loses nothing: the new owner reads the
        batch again and the index skips what it already holds."""
        if not batch.offsets:
            return
        try:
            self._commit(batch.offsets)
        except KafkaException as error:
            logger.warning("indexer: commit refused (%s); the batch will be read again and skipped", error)

    def _commit(self, offsets: list[TopicPartition]) -> None:
        self.consumer.commit(offsets=offsets, asynchronous=False)

    # --- one record ---------------------------------------------------------------------------

    def _row(
        self,
        message: Any,
        topic: str,
        partition: int,
        offset: int,
        violations: dict[tuple[int, int, int], tuple[Any, ...]],
    ) -> tuple[Any, ...]:
        """The index row of one record (and its violation, if it breaks its contract): its
        attributes and coordinates, not the record itself, which stays in Kafka (the pages that
        show it read it back: broker.selectors.event_documents). The hot path of the indexer: the
        value is decoded only when something needs its data (a schema id to check it against, a
        correlation id to find in it, a violation's example)."""
        headers = message.headers() or []
        key, value = message.key(), message.value()
        timestamp_ms = message.timestamp()[1]
        # The headers by name, the last of a repeated one winning (as record_document reads
        # them); a CloudEvents attribute is decoded only when the row needs it.
        named = dict(headers)
        header = named.get
        own_schema = header("eventline_schema_id")
        schema_id = int(own_schema) if own_schema else None
        framed = schema_id is None and value is not None and len(value) >= 5 and value[0] == 0
        if framed:
            schema_id = int.from_bytes(value[1:5], "big")  # Confluent's wire format: the id after the magic byte
        native = _APPEND_TIME_HEADER not in named  # Eventline's own records were checked when produced
        document = None
        if framed and native:
            document = record_document(topic, partition, offset, timestamp_ms, key, value, headers)
        correlation = ce_attribute(header("ce_correlationid")) or self._header(named, self.config.correlation_headers)
        if not correlation and self.config.correlation_field and value:
            if document is None:
                document = record_document(topic, partition, offset, timestamp_ms, key, value, headers)
            data = document.get("data")
            found = data.get(self.config.correlation_field) if isinstance(data, dict) else None
            correlation = str(found) if isinstance(found, str | int) else None
        # The CloudEvents distributed-tracing attribute, else W3C trace context's own header
        # (what OpenTelemetry's Kafka instrumentation writes).
        raw = header("ce_traceparent")
        traceparent = (raw and ce_attribute(raw)) or self._header(named, _TRACEPARENT_HEADERS)
        topic_id = self._topics.get(topic) or self._topic_id(topic)
        # A topic's records name a handful of sources and types: decoded once each.
        raw = header("ce_source")
        source = self._sources.get(raw) or self._text(self._sources, raw, f"kafka:{topic}", 500)
        raw = header("ce_type")
        event_type = self._types.get(raw) or self._text(self._types, raw, topic, _MAX_TEXT)
        producer_id = self._producer(named, source)
        if native:
            broken = self._contract_broken(topic_id, schema_id if framed else None, document)
            if broken is not None:
                if document is None:
                    document = record_document(topic, partition, offset, timestamp_ms, key, value, headers)
                violations[(topic_id, partition, offset)] = (*broken, producer_id, event_type, dumps(document).decode())
        raw = header("ce_causationid")
        causation = raw and ce_attribute(raw)
        append_time = header(_APPEND_TIME_HEADER)
        return (
            topic_id,
            partition,
            offset,
            str(ce_attribute(header("ce_id")) or f"{topic}-{partition}-{offset}")[:_MAX_TEXT],
            source,
            event_type,
            key.decode(errors="replace") if key is not None else None,
            str(correlation)[:_MAX_TEXT] if correlation else None,
            str(causation)[:_MAX_TEXT] if causation else None,
            parse_traceparent(traceparent) if isinstance(traceparent, str) else None,
            producer_id,
            schema_id,
            timestamp_ms,
            int(append_time) if append_time else timestamp_ms,
            len(value) if value is not None else 0,
            "",  # the payload: the record stays in Kafka
        )

    def _contract_broken(
        self, topic_id: int, schema_id: int | None, document: dict[str, Any] | None
    ) -> tuple[str, str] | None:
        """(kind, reason) when a native record breaks its data contract: a schema id the registry
        does not know, data that fails the schema its id names, or no schema id at all on a topic
        whose subject (TopicNameStrategy's `<topic>-value`, or its bound subject) is registered."""
        if schema_id is None:
            subject = self._required_subject(topic_id)
            if subject:
                return ContractViolation.MISSING_WIRE_FORMAT, f"no schema id, and subject '{subject}' is registered"
            return None
        try:
            validator = validator_for(schema_id)
        except LookupError:
            return ContractViolation.UNKNOWN_SCHEMA, f"schema id {schema_id} is not in the registry"
        if document is None or "data" not in document:
            return ContractViolation.INVALID, f"schema id {schema_id}: the value does not decode under it"
        if wire.schema_type(schema_id) == "PROTOBUF":
            return None  # decoded into the message its indexes name: the binary fits the schema
        issues = validator.validate(document["data"])
        if not issues:
            return None
        reasons = "; ".join(f"{issue.pointer or '/'}: {issue.reason}" for issue in issues[:3])
        return ContractViolation.INVALID, f"schema id {schema_id}: {reasons}"

    def _required_subject(self, topic_id: int) -> str:
        """The subject whose records must carry a schema id on this topic ('' for none): its bound
        subject, else `<topic>-value`, when the registry has a version of it that is not deleted;
        never with validation off."""
        if topic_id not in self._required:
            topic = Topic.objects.filter(pk=topic_id).values("name", "value_subject", "validation_mode").first()
            subject = ""
            if topic is not None and topic["validation_mode"] != "off":
                candidate = topic["value_subject"] or f"{topic['name']}-value"
                if SubjectVersion.objects.filter(subject__name=candidate, deleted=False).exists():
                    subject = candidate
            self._required[topic_id] = subject
        return self._required[topic_id]

    @staticmethod
    def _text(kept: dict[bytes | None, str], raw: bytes | None, default: str, limit: int) -> str:
        """A CloudEvents attribute's text, or `default` when it has none, cut to `limit`; kept by
        its bytes (a few thousand at most) for the records that repeat it."""
        text = str(ce_attribute(raw) or default)[:limit]
        if raw:
            if len(kept) >= _TEXTS_KEPT:
                kept.clear()
            kept[raw] = text
        return text

    @staticmethod
    def _header(named: dict[str, bytes | None], names: Sequence[str]) -> str | None:
        for name in names:
            raw = named.get(name)
            if raw:
                return raw.decode(errors="replace")
        return None

    def _topic_id(self, name: str) -> int:
        topic_id = self._topics.get(name)
        if topic_id is None:
            topic_id = Topic.objects.filter(name=name).values_list("id", flat=True).first()
            if topic_id is None:
                from broker.services.topics import topics_sync_with_cluster

                topics_sync_with_cluster()  # a topic another client created: adopted on sight
                topic_id = Topic.objects.filter(name=name).values_list("id", flat=True).first()
            if topic_id is None:
                raise LookupError(f"topic {name!r} is not in the cluster's topic list")
            self._topics[name] = topic_id
        return topic_id

    def _producer(self, named: dict[str, bytes | None], source: str) -> int | None:
        raw = named.get("eventline_producer")
        if raw:
            return int(raw)
        header = named.get(self.config.service_header) if self.config.service_header else None
        key = (header, source)
        if key not in self._producers:
            name = header.decode(errors="replace") if header else source.rstrip("/").rsplit("/", 1)[-1]
            if name not in self._services:
                self._services[name] = Service.objects.filter(name=name).values_list("id", flat=True).first()
            self._producers[key] = self._services[name]
        return self._producers[key]

    # --- the batch ------------------------------------------------------------------------------

    def write(self, batch: Batch) -> None:
        """Put a batch's rows into the index (store_batch). Safe to run in another thread than
        read(): it touches no state read() uses but the counts."""
        if batch.rows:
            inserted = store_batch(batch.rows, batch.violations)
            self.counts.indexed += inserted
            self.counts.repeated += len(batch.rows) - inserted


# --- the index's writes -----------------------------------------------------------------------


def store_batch(rows: list[tuple[Any, ...]], violations: dict[tuple[int, int, int], tuple[Any, ...]]) -> int:
    """Insert index rows (a row whose position or identity is already there is skipped), and
    count the observed flows and violations of the rows actually written, in one transaction;
    returns how many were written."""
    inserted: list[tuple[Any, ...]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY the batch into a temporary table, then insert it from there: 3-4x faster than
            # multi-row VALUES, whose thousands of placeholders the driver rewrites for every
            # statement (measured: 5,000 rows in 0.13 s against 0.48 s). RETURNING names exactly
            # the rows written.
            raw = cursor.cursor
            raw.execute(_PG_BATCH_TABLE)
            raw.execute("DELETE FROM eventline_index_batch")  # empty, unless inside an outer transaction
            with raw.copy(f"COPY eventline_index_batch ({_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            raw.execute(
                f"INSERT INTO broker_event ({_COLUMNS}) SELECT {_COLUMNS} FROM eventline_index_batch "
                f"ON CONFLICT DO NOTHING RETURNING {_RETURNING}"
            )
            inserted = raw.fetchall()
        else:
            # A batch dirties a page of the identity and correlation indexes for nearly every row
            # (their keys arrive in no order): with SQLite's default 2 MB cache (settings) they
            # spill to the WAL in the middle of the transaction. This connection writes the index
            # alone, so it keeps 32 MB (7-11% less CPU a row in the loop, measured).
            cursor.execute(_SQLITE_CACHE)
            inserted = _sqlite_insert(connection.connection, rows)
        # Counted in C: a row's (topic, producer, type) by itemgetter, the rows by Counter.
        record_flows(cursor, produced_counts(Counter(map(_FLOW_OF, inserted))), now_ms())
        # Violations of the rows written now only: a batch read again counts none twice.
        if violations:
            _record_violations(
                [violations[(t, p, o)] + (t, p, o) for t, _, _, p, o in inserted if (t, p, o) in violations]
            )
    return len(inserted)


def _sqlite_insert(raw: Any, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Insert `rows` with sqlite3 itself and return what _RETURNING names of those written.

    Not Django's cursor: its placeholder rewriting and parameter checks cost as much as the insert
    (26 us a row through it, 14 us raw). Not RETURNING either: SQLite hands its rows back one
    step at a time, and sqlite3 lets go of the GIL and takes it back at every step, which stalls
    run()'s reading thread and this one in turn. Instead, one statement a few thousand rows, which
    SQLite runs in one step without the GIL; what was there before is found by position first
    (nothing, but for a batch read again), and the rare row the identity constraint turned away
    (an event id a producer sent twice) by position after."""
    spans: dict[tuple[int, int], list[int]] = {}
    for row in rows:
        span = spans.get((row[0], row[1]))
        if span is None:
            spans[(row[0], row[1])] = [row[2], row[2]]
        elif row[2] < span[0]:
            span[0] = row[2]
        elif row[2] > span[1]:
            span[1] = row[2]
    before = _positions(raw, spans)
    candidates = [row for row in rows if (row[0], row[1], row[2]) not in before] if before else rows
    written = raw.total_changes
    for start in range(0, len(candidates), _SQLITE_ROWS):
        part = candidates[start : start + _SQLITE_ROWS]
        statement = _SQLITE_INSERT if len(part) == _SQLITE_ROWS else _sqlite_statement(len(part))
        raw.execute(statement, list(chain.from_iterable(part)))
    if raw.total_changes - written < len(candidates):
        now = _positions(raw, spans)
        candidates = [row for row in candidates if (row[0], row[1], row[2]) in now]
    return list(map(_AS_RETURNING, candidates))


def _positions(raw: Any, spans: dict[tuple[int, int], list[int]]) -> set[tuple[int, int, int]]:
    found: set[tuple[int, int, int]] = set()
    for (topic_id, partition), (low, high) in spans.items():
        found.update(
            raw.execute(
                'SELECT topic_id, partition, "offset" FROM broker_event '
                'WHERE topic_id = ? AND partition = ? AND "offset" BETWEEN ? AND ?',
                (topic_id, partition, low, high),
            ).fetchall()
        )
    return found


def _sqlite_statement(rows: int) -> str:
    values = ", ".join(["(" + ", ".join(["?"] * 16) + ")"] * rows)
    return f"INSERT INTO broker_event ({_COLUMNS}) VALUES {values} ON CONFLICT DO NOTHING"


# SQLite binds at most 32,766 parameters a statement: 2,000 rows of 16.
_SQLITE_ROWS = 2_000
_SQLITE_INSERT = _sqlite_statement(_SQLITE_ROWS)


def _record_violations(found: list[tuple[Any, ...]]) -> None:
    """Add this batch's violations to their minute's counts; the last one is the example."""
    at = now_ms()
    for kind, reason, producer_id, event_type, payload, topic_id, partition, offset in found:
        key = {
            "topic_id": topic_id,
            "kind": kind,
            "event_type": event_type,
            "producer_id": producer_id,
            "minute_ms": minute_of(at),
        }
        example = {
            "last_seen_ms": at,
            "example_partition": partition,
            "example_offset": offset,
            "example_reason": reason,
            "example_payload": payload,
        }
        if not ContractViolation.objects.filter(**key).update(count=F("count") + 1, **example):
            ContractViolation.objects.create(**key, count=1, **example)


def run(indexer: Indexer, stop: Any, *, commit_log: Any = None, report_every_s: float = 5.0) -> None:
    """Index until `stop` (a threading.Event) is set, reporting its state every few seconds; with
    a `commit_log` (broker.commit_log.CommitLogReader), read the groups' commits in the same loop.

    Two stages, one batch apart: while a writer thread puts batch N into the database (and reads
    the commit log, the loop's other writer), this thread reads and extracts batch N+1; the
    database driver lets go of the GIL while it works, so the two share the machine's cores.
    Batch N's offsets are committed to Kafka here, once its rows are in, before batch N+1 is
    handed over: run_once's order, overlapped."""
    # The indexer allocates a dozen objects per record (librdkafka's message, its headers, the
    # row) and keeps two batches alive, so CPython's cyclic collector would run every few hundred
    # records and walk them all, and a full collection everything the process has loaded (Django,
    # the models, the schemas): 10% of the reading thread. Reference counting frees what a batch
    # leaves; the collector is off while the loop runs, and a collection at each report (every
    # few seconds) catches any cycle, with what was loaded before moved out of its view (freeze).
    gc.collect()
    gc.freeze()
    collecting = gc.isenabled()
    gc.disable()
    # The writer takes the GIL back after each of SQLite's statements; at CPython's default
    # switch interval (5 ms) it waits up to that long for the reading thread to let go.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        _run(indexer, stop, commit_log, report_every_s)
    finally:
        sys.setswitchinterval(switch_interval)
        gc.unfreeze()
        if collecting:
            gc.enable()


def _run(indexer: Indexer, stop: Any, commit_log: Any, report_every_s: float) -> None:
    reported = 0.0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="indexer-writer") as writer:
        pending: Future[None] | None = None
        written: Batch | None = None
        try:
            while not stop.is_set():
                batch = indexer.read(timeout_s=0.5)
                if pending is not None:
                    pending.result()  # a failed write stops the indexer; its batch is read again
                    if written is not None:
                        indexer.commit(written)
                pending, written = writer.submit(_write_stage, indexer, batch, commit_log), batch
                if time.monotonic() - reported >= report_every_s:
                    reported = time.monotonic()
                    indexer.report()
                    gc.collect()
            if pending is not None:
                pending.result()
                if written is not None:
                    indexer.commit(written)
        finally:
            writer.submit(connections.close_all)  # the writer thread's own connections
    indexer.report()


def _write_stage(indexer: Indexer, batch: Batch | None, commit_log: Any) -> None:
    """run()'s writer: the batch's rows, then the commit log, so that one thread writes to the
    database (on SQLite, a second writer would wait for the first's transaction)."""
    if batch is not None:
        indexer.write(batch)
    if commit_log is not None:
        try:
            while commit_log.run_once(timeout_s=0) >= commit_log.batch:
                pass  # catching up: drain before indexing again
        except Exception:  # noqa: BLE001 - the commit log never stops the indexing
            logger.warning("commit log: reading failed; retried on the next round", exc_info=True)
