"""The Kafka log: Eventline's log interface (broker.log.base) on an Apache Kafka cluster, with
confluent-kafka. DESIGN.md §4 and §8; what differs from the SQL log is listed in base.py.

- Topics are Kafka topics, created, changed and deleted through the admin client (TopicAdmin).
- A produce request is one Kafka transaction (transactional, idempotent producer, acks=all): its
  events are all visible to read_committed readers or none is. Every event goes to the partition
  the caller chose (broker.partitioner's murmur2, the Java client's); `murmur2_random` is also the
  producer's partitioner, so keyed records other code sends without a partition land alike.
- Records are CloudEvents in Kafka's binary content mode: the value is the data (JSON, or the raw
  bytes of binary data; null when the event has none), attributes are `ce_<name>` headers,
  `datacontenttype` is `content-type`, the key is the record key, the event time the record
  timestamp (CreateTime). The event's own headers follow as ordinary record headers. What only
  Eventline needs travels in `eventline_*` headers (append time, producer, schema id, schema
  errors, binary data), so a read renders the same document the SQL log stores.
- Readers use read_committed, so an aborted or open transaction is never read; its commit marker
  takes an offset, so offsets are increasing but not dense.
"""

from __future__ import annotations

import base64
import functools
import itertools
import os
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic, ResourceType

from broker.envelope import PreparedEvent
from broker.log import claims, wire
from broker.log.base import AppendedEvent, PartitionOffsets, ReadBatch, RetentionResult, TopicDescription
from core.db import Expectation, execute_together
from core.errors import Conflict, NotFound, ValidationFailed
from core.jsonutil import dumps, loads

# Attributes the rendered document carries outside `attributes` (PreparedEvent.render_body).
_CE_PREFIX = "ce_"
_CONTENT_TYPE = "content-type"
_APPEND_TIME = "eventline_append_time"
_PRODUCER = "eventline_producer"
_SCHEMA_ID = "eventline_schema_id"
_SCHEMA_ERRORS = "eventline_schema_errors"
_DATA_BINARY = "eventline_data_binary"  # the value is raw bytes (the event had data_base64)
_OWN_HEADERS = frozenset({_APPEND_TIME, _PRODUCER, _SCHEMA_ID, _SCHEMA_ERRORS, _DATA_BINARY})
# The group id of Eventline's readers: they assign partitions and never join nor commit, so the
# group never appears with members or offsets; lists of the cluster's groups leave it out.
READER_GROUP = "eventline-log-reader"
# Eventline's own consumer groups, which consume no business events: the readers' and the indexer's.


def own_groups() -> frozenset[str]:
    """Eventline's own consumer groups (the log's reader, the indexer): they consume no business
    events, so lag, lineage and traces leave them out."""
    from django.conf import settings

    return frozenset({READER_GROUP, settings.EVENTLINE["INDEXER_GROUP"]})


# Topic settings Eventline manages, by Kafka's names.
TOPIC_CONFIG_KEYS = ("retention.ms", "retention.bytes", "cleanup.policy", "max.message.bytes")

# How long one call may wait on the cluster. Bounded, so a request never hangs on a lost broker.
_TIMEOUT_S = 15.0
# record_timestamps reads through a gap of at most this many records between two positions.
_SPAN = 2_000
# Repeats of (topic, source, id) this process answers with the original coordinates.
DEDUP_WINDOW = 100_000

_TOPIC_ERRORS = (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC, KafkaError._UNKNOWN_PARTITION)
# What a client says when it reached no broker in time (refused, unreachable, or no answer).
_SILENCE_ERRORS = (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._TIMED_OUT)
# Once a read found the cluster silent, this process's reads fail at once for this long, instead
# of each waiting out _TIMEOUT_S (a page makes several); the first read after it asks again.
SILENT_S = 10.0
# A partition new to this client's metadata, or whose leader moved: answered after a refresh.
_STALE_LEADER_ERRORS = (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE)


def _answered(method: Callable[..., Any]) -> Callable[..., Any]:
    """A read of KafkaLog's, refused at once (KafkaException, _TRANSPORT) while the cluster is
    taken for silent; a silence it meets itself (_SILENCE_ERRORS) makes it so for SILENT_S."""

    @functools.wraps(method)
    def read(self: KafkaLog, *args: Any, **kwargs: Any) -> Any:
        self._refuse_while_silent()
        try:
            return method(self, *args, **kwargs)
        except KafkaException as exc:
            if exc.args and isinstance(exc.args[0], KafkaError) and exc.args[0].code() in _SILENCE_ERRORS:
                self._fell_silent()
            raise

    return read


def _topic_not_found(name: str) -> NotFound:
    return NotFound(f"Topic '{name}' does not exist.", code="topic_not_found")


def record_headers(document: dict[str, Any], event: PreparedEvent, producer_id: int | None) -> list[tuple[str, bytes]]:
    """The record headers of a rendered event (PreparedEvent.render_body's document)."""
    headers: list[tuple[str, bytes]] = [
        ("ce_id", document["id"].encode()),
        ("ce_source", document["source"].encode()),
        ("ce_type", document["type"].encode()),
    ]
    for name, value in document.items():
        if name in ("id", "source", "type", "key", "headers", "data", "data_base64", "schema_errors", "timestamp"):
            continue
        if name == "append_time":
            headers.append((_APPEND_TIME, str(value).encode()))
        elif name == "datacontenttype":
            headers.append((_CONTENT_TYPE, str(value).encode()))
        else:  # CloudEvents attributes are strings in binary mode; other JSON values keep their type as JSON
            headers.append((_CE_PREFIX + name, value.encode() if isinstance(value, str) else b"\0" + dumps(value)))
    if "data_base64" in document:
        headers.append((_DATA_BINARY, b"1"))
    if document.get("schema_errors"):
        headers.append((_SCHEMA_ERRORS, dumps(document["schema_errors"])))
    if producer_id is not None:
        headers.append((_PRODUCER, str(producer_id).encode()))
    if event.schema_id is not None:
        headers.append((_SCHEMA_ID, str(event.schema_id).encode()))
    for header in document.get("headers") or ():
        value = header.get("value")
        headers.append((header["key"], value.encode() if value is not None else None))  # type: ignore[arg-type]
    return headers


def record_value(document: dict[str, Any], schema_id: int | None = None) -> bytes | None:
    """The record value: the data, in Confluent's wire format when it was checked against a
    registry schema and fits it (broker.log.wire), else as JSON (raw bytes for binary data)."""
    if "data_base64" in document:
        return base64.b64decode(document["data_base64"])
    if "data" in document:
        if schema_id is not None and not document.get("schema_errors"):
            framed = wire.encode(schema_id, document["data"])
            if framed is not None:
                return framed
        return dumps(document["data"])
    return None


def _data_of(value: bytes) -> tuple[str, Any]:
    """("data", JSON) or ("data_base64", text) of a value that lacks Eventline's binary header:
    framed values are unwrapped; what is neither framed nor JSON (another client's bytes) is
    shown as binary data."""
    if value[:1] == wire.MAGIC_BYTE:
        try:
            framed = wire.decode(value)
        except Exception:  # noqa: BLE001 - bytes that do not parse under their schema stay bytes
            return "data_base64", base64.b64encode(value).decode("ascii")
        if framed is not None:
            return "data", framed[1]
        try:  # a schema id the registry does not know: JSON (JSONSerializer's) may follow the header
            return "data", loads(value[5:])
        except ValueError:
            return "data_base64", base64.b64encode(value).decode("ascii")
    try:
        return "data", loads(value)
    except ValueError:
        return "data_base64", base64.b64encode(value).decode("ascii")


def render_record(
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
) -> str:
    """The document the SQL log stores for this event (with its coordinates), from the record."""
    return dumps(record_document(topic, partition, offset, timestamp_ms, key, value, headers)).decode()


def ce_attribute(raw: bytes | None) -> Any:
    """A `ce_*` header's value as a CloudEvents attribute: text, or JSON after a zero byte (a
    non-string value Eventline wrote); "" for a header that is missing or empty."""
    text = raw or b""
    return loads(text[1:]) if text[:1] == b"\0" else text.decode()


def record_document(
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
) -> dict[str, Any]:
    """render_record's document, not yet serialised."""
    attributes: dict[str, Any] = {}
    own: dict[str, bytes | None] = {}
    user_headers: list[dict[str, str | None]] = []
    for name, raw in headers:
        if name in _OWN_HEADERS:
            own[name] = raw
        elif name == _CONTENT_TYPE:
            attributes["datacontenttype"] = (raw or b"").decode()
        elif name.startswith(_CE_PREFIX):
            attributes[name[len(_CE_PREFIX) :]] = ce_attribute(raw)
        else:
            user_headers.append({"key": name, "value": raw.decode() if raw is not None else None})
    # A record another client wrote may lack the CloudEvents headers: its coordinates and topic
    # stand in for the required attributes.
    document: dict[str, Any] = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "id": attributes.pop("id", None) or f"{topic}-{partition}-{offset}",
        "source": attributes.pop("source", None) or f"kafka:{topic}",
        "type": attributes.pop("type", None) or topic,
        **attributes,
        "key": key.decode(errors="replace") if key is not None else None,
        "headers": user_headers,
    }
    if value is not None:
        if _DATA_BINARY in own:
            document["data_base64"] = base64.b64encode(value).decode("ascii")
        else:
            field, data = _data_of(value)
            document[field] = data
    if own.get(_SCHEMA_ERRORS):
        document["schema_errors"] = loads(own[_SCHEMA_ERRORS])  # type: ignore[arg-type]
    document["timestamp"] = timestamp_ms
    document["append_time"] = int(own[_APPEND_TIME]) if own.get(_APPEND_TIME) else timestamp_ms  # type: ignore[arg-type]
    return document


_transactional_sequence = itertools.count()
_transactional_lock = threading.Lock()


def _next_transactional_id() -> str:
    with _transactional_lock:
        n = next(_transactional_sequence)
    return f"eventline-{socket.gethostname()}-{os.getpid()}-{n}"


class _Pool:
    """Clients reused across calls, one caller at a time each (a transactional producer runs one
    transaction at a time; a reading consumer holds one assignment)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    def take(self) -> Any:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._make()

    def give(self, client: Any) -> None:
        with self._lock:
            self._idle.append(client)


class KafkaLog:
    """The log on a Kafka cluster. `client_config` is added to every client's settings
    (security.protocol, sasl.*, ssl.ca.location for a real cluster). `topic_name_of` maps a
    topic's database id to its name (the interface's callers know topics by id)."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_config: dict[str, Any] | None = None,
        topic_name_of: Callable[[int], str] | None = None,
        timeout_s: float = _TIMEOUT_S,
    ) -> None:
        self._common = {"bootstrap.servers": bootstrap_servers, **(client_config or {})}
        self._timeout_s = timeout_s
        self._topic_name_of = topic_name_of or _topic_name_from_database
        self._admin = AdminClient(dict(self._common))
        # One transactional.id per producer of this process, counted across every KafkaLog of the
        # process (two instances counting from 0 would fence each other's producers); a restart
        # fences its predecessor's.
        self._producers = _Pool(self._new_producer)
        self._readers = _Pool(self._new_reader)
        self._seen: OrderedDict[tuple[str, str, str], tuple[int, int, int]] = OrderedDict()
        self._seen_lock = threading.Lock()
        self._silent_since = 0.0  # time.time() of the last read that found the cluster silent

    # --- when the cluster does not answer ---------------------------------------------------

    def _fell_silent(self) -> None:
        self._silent_since = time.time()

    def _refuse_while_silent(self) -> None:
        since = self._silent_since
        if since and time.time() - since < SILENT_S:
            at = time.strftime("%H:%M:%S", time.localtime(since))
            raise KafkaException(
                KafkaError(
                    KafkaError._TRANSPORT,
                    f"Kafka ({self._common['bootstrap.servers']}) did not answer at {at}; "
                    f"asked again {SILENT_S:.0f} s after that",
                )
            )

    # --- clients ----------------------------------------------------------------------------

    @property
    def admin(self) -> AdminClient:
        """The process's admin client for this cluster (consumer groups are managed with it too:
        broker.services.hosted_groups). Kept alive here: a request's futures complete only while
        their client lives."""
        return self._admin

    def _new_producer(self) -> Producer:
        timeout_ms = int(self._timeout_s * 1000)
        producer = Producer(
            {
                **self._common,
                "enable.idempotence": True,
                "acks": "all",
                "partitioner": "murmur2_random",
                "transactional.id": _next_transactional_id(),
                "transaction.timeout.ms": max(timeout_ms * 2, 10_000),
                "message.timeout.ms": timeout_ms,
                "linger.ms": 0,
            }
        )
        producer.init_transactions(self._timeout_s * 2)
        return producer

    def _new_reader(self) -> Consumer:
        return Consumer(
            {
                **self._common,
                "group.id": READER_GROUP,  # never joins nor commits: assign() only
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
                "enable.partition.eof": True,
                "fetch.wait.max.ms": 10,
            }
        )

    # --- topics (TopicAdmin) ----------------------------------------------------------------

    def topic_create(self, *, name: str, partitions: int, config: dict[str, str] | None = None) -> None:
        futures = self._admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=-1, config=config or {})],
            request_timeout=self._timeout_s,
        )
        try:
            self._wait(futures[name], name)
        except KafkaException as exc:
            if exc.args and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                raise Conflict(f"Topic '{name}' already exists in the cluster.", code="topic_exists") from None
            if exc.args and exc.args[0].code() in (KafkaError.INVALID_CONFIG, KafkaError.INVALID_PARTITIONS):
                raise ValidationFailed(exc.args[0].str(), code="invalid_topic_config") from None
            raise
        self._until_visible(name, partitions)

    def _until_visible(self, name: str, partitions: int) -> None:
        """The controller answered; wait (bounded) until the broker's metadata has every partition
        with a leader, so the next call does not find an unknown topic."""
        deadline = time.monotonic() + self._timeout_s
        while time.monotonic() < deadline:
            topic = self._admin.list_topics(topic=name, timeout=self._timeout_s).topics.get(name)
            if (
                topic is not None
                and topic.error is None
                and len(topic.partitions) >= partitions
                and all(p.leader >= 0 for p in topic.partitions.values())
            ):
                return
            time.sleep(0.05)
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT, f"topic {name!r} not in the metadata in time"))

    def topic_update(self, *, name: str, partitions: int | None = None, config: dict[str, str] | None = None) -> None:
        """Grow the partition count and/or set topic settings (the others keep their values)."""
        if partitions is not None and partitions != self.topic_describe(name=name).partitions:
            futures = self._admin.create_partitions([NewPartitions(name, partitions)], request_timeout=self._timeout_s)
            self._wait(futures[name], name)
            self._until_visible(name, partitions)
        if config:
            from confluent_kafka.admin import AlterConfigOpType, ConfigEntry

            resource = ConfigResource(
                ResourceType.TOPIC,
                name,
                incremental_configs=[
                    ConfigEntry(key, str(value), incremental_operation=AlterConfigOpType.SET)
                    for key, value in config.items()
                ],
            )
            futures = self._admin.incremental_alter_configs([resource], request_timeout=self._timeout_s)
            self._wait(next(iter(futures.values())), name)

    def topic_delete(self, *, name: str) -> None:
        futures = self._admin.delete_topics([name], request_timeout=self._timeout_s)
        self._wait(futures[name], name)

    def topic_list(self) -> list[str]:
        """Every topic of the cluster, those other clients created included; internal ones hidden."""
        return sorted(self.topic_partition_counts())

    @_answered
    def topic_partition_counts(self) -> dict[str, int]:
        """Every topic of the cluster (internal ones hidden) with its partition count, from one
        metadata request."""
        metadata = self._admin.list_topics(timeout=self._timeout_s)
        return {
            name: len(topic.partitions)
            for name, topic in metadata.topics.items()
            if not name.startswith("__") and topic.error is None
        }

    @_answered
    def topic_describe(self, *, name: str) -> TopicDescription:
        metadata = self._admin.list_topics(topic=name, timeout=self._timeout_s)
        topic = metadata.topics.get(name)
        if topic is None or topic.error is not None:
            raise _topic_not_found(name)
        futures = self._admin.describe_configs(
            [ConfigResource(ResourceType.TOPIC, name)], request_timeout=self._timeout_s
        )
        entries = self._wait(next(iter(futures.values())), name)
        config = {key: entries[key].value for key in TOPIC_CONFIG_KEYS if key in entries}
        return TopicDescription(name, len(topic.partitions), config)

    def _wait(self, future: Any, topic: str) -> Any:
        try:
            return future.result(timeout=self._timeout_s)
        except KafkaException as exc:
            if exc.args and exc.args[0].code() in _TOPIC_ERRORS:
                raise _topic_not_found(topic) from None
            raise

    # --- the log ----------------------------------------------------------------------------

    def append(
        self,
        *,
        topic_id: int,
        topic_name: str,
        events: Sequence[PreparedEvent],
        producer_id: int | None,
        now_ms: int,
        expect: Sequence[Expectation] = (),
    ) -> list[AppendedEvent]:
        results: dict[int, AppendedEvent] = {}
        first_here: dict[tuple[str, str], int] = {}  # (source, id) -> index of its first event in the batch
        pending: list[tuple[PreparedEvent, int]] = []
        for event in events:
            identity = (event.source, event.event_id)
            original = None if event.id_generated else self._original(topic_name, *identity)
            if original is not None:
                results[event.index] = AppendedEvent(event.index, event.event_id, *original, duplicate=True)
            elif identity in first_here:
                continue  # answered from its first occurrence below
            else:
                first_here[identity] = event.index
                pending.append((event, event.timestamp_ms if event.timestamp_ms is not None else now_ms))
        # Repeats from other processes, or racing this request, are found by claiming the ids in
        # the database first (broker.log.claims).
        named = [(event.source, event.event_id) for event, _ in pending if not event.id_generated]
        claimed = claims.claim(topic_name, named, timeout_s=self._timeout_s) if named else None
        if claimed is not None and claimed.originals:
            kept = []
            for event, timestamp_ms in pending:
                original = None if event.id_generated else claimed.originals.get((event.source, event.event_id))
                if original is None:
                    kept.append((event, timestamp_ms))
                    continue
                results[event.index] = AppendedEvent(event.index, event.event_id, *original, duplicate=True)
                self._remember(topic_name, event.source, event.event_id, results[event.index])
            pending = kept
        if pending:
            try:
                produced = self._produce(topic_name, pending, producer_id, expect)
            except BaseException:
                if claimed is not None:
                    claims.release(claimed)
                raise
            landed: dict[tuple[str, str], tuple[int, int, int]] = {}
            for (event, _), appended in zip(pending, produced, strict=True):
                results[event.index] = appended
                if not event.id_generated:
                    self._remember(topic_name, event.source, event.event_id, appended)
                    landed[(event.source, event.event_id)] = (
                        appended.partition,
                        appended.offset,
                        appended.timestamp_ms,
                    )
            if claimed is not None:
                claims.record(claimed, landed)
        answers = []
        for event in events:
            answer = results.get(event.index)
            if answer is None:  # a repeat within this batch: the first occurrence's coordinates
                first = results[first_here[(event.source, event.event_id)]]
                answer = AppendedEvent(
                    event.index, event.event_id, first.partition, first.offset, first.timestamp_ms, duplicate=True
                )
            answers.append(answer)
        return answers

    def _produce(
        self,
        topic: str,
        pending: list[tuple[PreparedEvent, int]],
        producer_id: int | None,
        expect: Sequence[Expectation],
    ) -> list[AppendedEvent]:
        """One transaction: produce every event to its partition, check `expect` in the database,
        commit. Any failure aborts it, so read_committed readers see none of the events."""
        producer = self._producers.take()
        reports: list[Any] = [None] * len(pending)
        errors: list[KafkaError] = []

        def delivered(position: int) -> Callable[[KafkaError | None, Any], None]:
            def report(error: KafkaError | None, message: Any) -> None:
                if error is not None:
                    errors.append(error)
                else:
                    reports[position] = message

            return report

        healthy = True
        try:
            producer.begin_transaction()
            try:
                for position, (event, timestamp_ms) in enumerate(pending):
                    document = loads(event.body)
                    producer.produce(
                        topic,
                        value=record_value(document, event.schema_id),
                        key=event.key.encode() if event.key is not None else None,
                        partition=event.partition,
                        headers=record_headers(document, event, producer_id),
                        timestamp=timestamp_ms,
                        on_delivery=delivered(position),
                    )
                    producer.poll(0)
                remaining = producer.flush(self._timeout_s)
                if remaining or errors:
                    raise _delivery_failed(topic, errors, remaining)
                if expect:
                    # The database's conditions (the registry guard) are checked just before the
                    # commit, not inside it: base.py says what that leaves open. A savepoint (or a
                    # transaction of its own) keeps a refused condition from aborting the caller's
                    # PostgreSQL transaction along with this batch.
                    from django.db import connection, transaction

                    with transaction.atomic(), connection.cursor() as cursor:
                        execute_together(cursor, list(expect))
                producer.commit_transaction(self._timeout_s)
            except BaseException:
                try:
                    producer.abort_transaction(self._timeout_s)
                except KafkaException:
                    healthy = False  # fenced or timed out: a new producer takes over next time
                raise
        except KafkaException as exc:
            healthy = healthy and not _fatal(exc)
            raise
        finally:
            if healthy:
                self._producers.give(producer)
        return [
            AppendedEvent(event.index, event.event_id, reports[n].partition(), reports[n].offset(), timestamp_ms)
            for n, (event, timestamp_ms) in enumerate(pending)
        ]

    def _original(self, topic: str, source: str, event_id: str) -> tuple[int, int, int] | None:
        with self._seen_lock:
            return self._seen.get((topic, source, event_id))

    def _remember(self, topic: str, source: str, event_id: str, appended: AppendedEvent) -> None:
        with self._seen_lock:
            self._seen[(topic, source, event_id)] = (appended.partition, appended.offset, appended.timestamp_ms)
            while len(self._seen) > DEDUP_WINDOW:
                self._seen.popitem(last=False)

    @_answered
    def read(self, *, topic_id: int, partition: int, offset: int, max_events: int, max_bytes: int) -> ReadBatch:
        topic = self._topic_name_of(topic_id)
        offsets = self.offsets(topic_id=topic_id, partition=partition)
        if offset >= offsets.end or max_events <= 0:
            return ReadBatch([], offset, 0, -1)
        start = max(offset, offsets.start)
        reader = self._readers.take()
        payloads: list[str] = []
        total, next_offset, first_offset = 0, start, -1
        try:
            reader.assign([TopicPartition(topic, partition, start)])
            deadline = time.monotonic() + self._timeout_s
            done = False
            while not done and len(payloads) < max_events and time.monotonic() < deadline:
                # consume() waits for all it asked for until its timeout: ask in short waits, and
                # stop at the end of the partition (its EOF event) rather than at a timeout.
                for message in reader.consume(max_events - len(payloads), timeout=0.05):
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            next_offset = max(next_offset, message.offset())  # past any commit marker
                            done = True
                            continue
                        if error.code() in _TOPIC_ERRORS:
                            raise _topic_not_found(topic)
                        raise KafkaException(error)
                    value = message.value()
                    size = len(value or b"")
                    if payloads and total + size > max_bytes:
                        done = True
                        break
                    _, timestamp_ms = message.timestamp()
                    payloads.append(
                        render_record(
                            topic,
                            partition,
                            message.offset(),
                            timestamp_ms,
                            message.key(),
                            value,
                            message.headers() or [],
                        )
                    )
                    total += size
                    next_offset = message.offset() + 1
                    if first_offset < 0:
                        first_offset = message.offset()
                    if len(payloads) >= max_events:
                        break
        finally:
            reader.unassign()
            self._readers.give(reader)
        return ReadBatch(payloads, next_offset, total, first_offset)

    @_answered
    def group_offsets(self) -> dict[str, list[tuple[str, int, int]]]:
        """Every consumer group of the cluster with its committed offsets: {group: [(topic,
        partition, next offset to read)]}. Groups with no commit are listed with none;
        Eventline's own (the log's reader, the indexer) are left out: they consume no business
        events."""
        from confluent_kafka import ConsumerGroupTopicPartitions

        listed = self._admin.list_consumer_groups(request_timeout=self._timeout_s).result()
        own = own_groups()
        names = sorted(g.group_id for g in listed.valid if g.group_id not in own)
        # Kafka's OffsetFetch names one group per request here: all are sent before any answer
        # is awaited, so a thousand groups cost about one round trip, not a thousand.
        pending = {
            name: next(
                iter(
                    self._admin.list_consumer_group_offsets(
                        [ConsumerGroupTopicPartitions(name)], request_timeout=self._timeout_s
                    ).values()
                )
            )
            for name in names
        }
        found: dict[str, list[tuple[str, int, int]]] = {}
        for name, future in pending.items():
            committed = future.result()
            found[name] = sorted(
                (tp.topic, tp.partition, tp.offset)
                for tp in committed.topic_partitions or []
                if tp.offset >= 0 and not tp.topic.startswith("__")
            )
        return found

    @_answered
    def offsets(self, *, topic_id: int, partition: int) -> PartitionOffsets:
        topic = self._topic_name_of(topic_id)
        reader = self._readers.take()
        try:
            deadline = time.monotonic() + 2.0
            while True:
                try:
                    low, high = reader.get_watermark_offsets(TopicPartition(topic, partition), timeout=self._timeout_s)
                    break
                except KafkaException as exc:
                    code = exc.args[0].code() if exc.args else None
                    if code not in _TOPIC_ERRORS and code not in _STALE_LEADER_ERRORS:
                        raise
                    if time.monotonic() >= deadline:
                        if code in _TOPIC_ERRORS:
                            raise _topic_not_found(topic) from None
                        raise
                    # A pooled reader's metadata may predate the topic, its new partitions or
                    # their leaders: refresh it before calling the partition unknown.
                    reader.list_topics(topic=topic, timeout=self._timeout_s)
                    time.sleep(0.05)
        finally:
            self._readers.give(reader)
        return PartitionOffsets(low, high)

    @_answered
    def offsets_of(self, partitions: Sequence[tuple[str, int]]) -> dict[tuple[str, int], PartitionOffsets]:
        """`offsets` of many partitions (by topic name) in two admin requests, earliest and
        latest, instead of a round trip per partition. Partitions the cluster does not know are
        left out."""
        from confluent_kafka.admin import OffsetSpec

        if not partitions:
            return {}
        found: dict[tuple[str, int], list[int]] = {}
        for spec in (OffsetSpec.earliest(), OffsetSpec.latest()):
            request = {TopicPartition(topic, partition): spec for topic, partition in partitions}
            futures = self._admin.list_offsets(request, request_timeout=self._timeout_s)
            for tp, future in futures.items():
                try:
                    found.setdefault((tp.topic, tp.partition), []).append(future.result().offset)
                except KafkaException as exc:
                    if exc.args and exc.args[0].code() in _TOPIC_ERRORS:
                        continue
                    raise
        return {key: PartitionOffsets(*pair) for key, pair in found.items() if len(pair) == 2}

    @_answered
    def record_timestamps(self, positions: Sequence[tuple[str, int, int]]) -> dict[tuple[str, int, int], int]:
        """When the record at each (topic, partition, offset) was appended (or the first record
        after it, when the offset is a transaction marker). Positions with no record (the log
        end) are left out."""
        return {position: _append_time_of(message) for position, message in self._at_or_after(positions)}

    @_answered
    def records_at(
        self, positions: Sequence[tuple[str, int, int]], *, strict: bool = False
    ) -> dict[tuple[str, int, int], dict[str, Any]]:
        """The record's document (record_document's, what read() returns serialised) at each
        (topic, partition, offset) the cluster still has: what the governance index points at,
        read back for the pages that show it. Positions retention removed, or past the end, are
        left out; so are those Kafka did not answer for within the log's timeout, unless
        `strict`, which raises KafkaException then (_TIMED_OUT when no partition answered,
        REQUEST_TIMED_OUT when some did), for a caller that must not take an unanswered position
        for a deleted one. While the cluster is taken for silent it raises at once (_answered)."""
        return {
            position: record_document(
                position[0],
                position[1],
                position[2],
                message.timestamp()[1],
                message.key(),
                message.value(),
                message.headers() or [],
            )
            for position, message in self._at_or_after(positions, strict=strict)
            if message.offset() == position[2]
        }

    def _at_or_after(
        self, positions: Sequence[tuple[str, int, int]], *, strict: bool = False
    ) -> Iterator[tuple[tuple[str, int, int], Any]]:
        """(position, the first record at or after it) for each position that has one. All
        partitions are read at once, each forward from its first position rather than once per
        position; a gap of more than _SPAN records is skipped with a seek. Partitions still
        unanswered at the log's timeout are given up, or raise KafkaException when `strict`."""
        wanted: dict[tuple[str, int], list[int]] = {}
        for topic, partition, offset in positions:
            wanted.setdefault((topic, partition), []).append(offset)
        if not wanted:
            return
        for key in wanted:
            wanted[key] = sorted(set(wanted[key]))
        following = dict.fromkeys(wanted, 0)  # per partition, the index of the next position to find
        reader = self._readers.take()
        try:
            reader.assign([TopicPartition(t, p, offsets[0]) for (t, p), offsets in wanted.items()])
            active = set(wanted)
            left = sum(len(offsets) for offsets in wanted.values())
            answered = False
            deadline = time.monotonic() + self._timeout_s
            while active and time.monotonic() < deadline:
                # No more records at once than positions are left: a fetch brings a partition's
                # next megabyte, and each record handed over costs a Python object.
                for message in reader.consume(min(max(left, 16), 1000), timeout=0.005):
                    answered = True
                    key = (message.topic(), message.partition())
                    if key not in active:
                        continue
                    error = message.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF or error.code() in _TOPIC_ERRORS:
                            active.discard(key)  # the positions left are at the log end: no record there
                            continue
                        raise KafkaException(error)
                    offsets, index, at = wanted[key], following[key], message.offset()
                    while index < len(offsets) and offsets[index] <= at:
                        yield (key[0], key[1], offsets[index]), message
                        index += 1
                        left -= 1
                    following[key] = index
                    if index >= len(offsets):
                        active.discard(key)  # its later records are skipped (a pause would outlive unassign)
                    elif offsets[index] - at > _SPAN:
                        reader.seek(TopicPartition(key[0], key[1], offsets[index]))  # rather than read the gap
            if active and not answered:
                self._fell_silent()  # not one partition answered: the cluster, not a partition
            if active and strict:
                unanswered = ", ".join(f"{t}/{p}" for t, p in sorted(active))
                # Some partitions answered: slow ones, not a silent cluster (REQUEST_TIMED_OUT
                # is not among _SILENCE_ERRORS).
                code = KafkaError.REQUEST_TIMED_OUT if answered else KafkaError._TIMED_OUT
                raise KafkaException(KafkaError(code, f"no answer in time for {unanswered}"))
        finally:
            reader.unassign()
            self._readers.give(reader)

    def wait_visible(self, *, topic_id: int, appended: Sequence[AppendedEvent], timeout_s: float = 5.0) -> bool:
        """Wait (bounded) until read_committed readers can read `appended`. commit_transaction
        returns once the coordinator has logged the commit; the markers that let readers past
        the transaction are written just after, so a read at once may not see the events yet.
        False if they were not visible within `timeout_s`."""
        last: dict[int, int] = {}
        for event in appended:
            last[event.partition] = max(last.get(event.partition, -1), event.offset)
        deadline = time.monotonic() + timeout_s
        while last:
            for partition, offset in list(last.items()):
                if self.offsets(topic_id=topic_id, partition=partition).end > offset:
                    del last[partition]
            if last:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.01)
        return True

    @_answered
    def first_offset_at_or_after(self, *, topic_id: int, partition: int, timestamp_ms: int) -> int | None:
        topic = self._topic_name_of(topic_id)
        reader = self._readers.take()
        try:
            [found] = reader.offsets_for_times(
                [TopicPartition(topic, partition, timestamp_ms)], timeout=self._timeout_s
            )
        finally:
            self._readers.give(reader)
        if found.offset < 0:
            return None
        # The answer can be a transaction's commit marker (it carries the commit time): the event
        # is the first readable record from there, if there is one.
        first = self.read(topic_id=topic_id, partition=partition, offset=found.offset, max_events=1, max_bytes=1)
        return first.first_offset if first.payloads else None

    def apply_retention(
        self, *, topic_id: int, retention_ms: int, retention_bytes: int, now_ms: int
    ) -> list[RetentionResult]:
        """Kafka's brokers apply retention.ms and retention.bytes themselves, per closed segment
        (topic_update sets them). What is left here: forgetting the topic's appended ids once
        they are out of the repeat window (broker.log.claims), and the index rows of records
        Kafka no longer has."""
        from django.conf import settings

        from broker.models import Event, Partition

        name = self._topic_name_of(topic_id)
        window_ms = settings.EVENTLINE["KAFKA_REPEAT_WINDOW_S"] * 1000
        claims.forget_older_than(name, now_ms - window_ms)
        # The indexer's rows of records Kafka has deleted go too (broker.indexer).
        numbers = list(Partition.objects.filter(topic_id=topic_id).values_list("number", flat=True))
        results = []
        for (_, number), offsets in self.offsets_of([(name, n) for n in numbers]).items():
            deleted, _ = Event.objects.filter(topic_id=topic_id, partition=number, offset__lt=offsets.start).delete()
            if deleted:
                results.append(RetentionResult(number, offsets.start, offsets.start, deleted, 0))
        return results

    def delete_before(self, *, topic_id: int, partition: int, offset: int) -> PartitionOffsets:
        """Move the log start up to `offset` (Kafka's DeleteRecords), as retention would."""
        topic = self._topic_name_of(topic_id)
        futures = self._admin.delete_records(
            [TopicPartition(topic, partition, offset)], request_timeout=self._timeout_s
        )
        self._wait(next(iter(futures.values())), topic)
        return self.offsets(topic_id=topic_id, partition=partition)


def _append_time_of(message: Any) -> int:
    """When the record was appended: Eventline's append-time header (the record timestamp is the
    event's own time), else the record timestamp (another client's record)."""
    for name, raw in message.headers() or ():
        if name == _APPEND_TIME and raw:
            return int(raw)
    return int(message.timestamp()[1])


def _delivery_failed(topic: str, errors: list[KafkaError], remaining: int) -> Exception:
    if any(error.code() in _TOPIC_ERRORS for error in errors):
        return _topic_not_found(topic)
    if errors:
        return KafkaException(errors[0])
    return KafkaException(KafkaError(KafkaError._TIMED_OUT, f"{remaining} record(s) not delivered in time"))


def _fatal(exc: KafkaException) -> bool:
    error = exc.args[0] if exc.args else None
    return isinstance(error, KafkaError) and error.fatal()


def _topic_name_from_database(topic_id: int) -> str:
    from broker.models import Topic

    name = Topic.objects.filter(pk=topic_id).values_list("name", flat=True).first()
    if name is None:
        raise NotFound("The topic does not exist (it was deleted).", code="topic_not_found")
    return name


__all__ = ["KafkaLog"]
