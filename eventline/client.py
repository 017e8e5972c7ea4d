"""A small Python client for Eventline's HTTP API, in the spirit of confluent-kafka's Producer
and Consumer. Standard library only; no Django import.

    from eventline.client import Producer, Consumer

    with Producer("http://127.0.0.1:8000", api_key="elk_....secret") as producer:
        producer.produce("orders", {"order_id": 1}, key="order-1", type="OrderPlaced")
    # leaving the block flushes: every event is delivered or an error is raised

    consumer = Consumer("http://127.0.0.1:8000", api_key="...", group="billing", auto_offset_reset="earliest")
    consumer.subscribe(["orders"])
    for event in consumer:          # polls; commits automatically every 5 s by default
        print(event.offset, event.data)

Producer: events are buffered per topic and sent in batches (`batch_size`, `linger_ms`). Every event
gets its id before the first attempt, so a retry after a timeout, a dropped connection or a 5xx
never appends it twice (the broker deduplicates on (source, id)). Retries back off exponentially.

Consumer: joins the group, heartbeats in the background, long-polls its partitions, and commits the
next offset to read (Kafka's convention). After a rebalance the broker answers 409; the consumer
then takes its new assignment and carries on.

Failures: `consumer.run(handler)` calls the handler for each event; an event whose handler raises
is nacked with the exception's class, message and stack, and the broker delivers it again to
this group after its backoff (`event.attempt` > 1), then dead-letters it after the last attempt.
The partition is not held up meanwhile. `ProcessedIds` remembers handled (source, id) pairs for a
window, so an event delivered twice (a redelivery after a crash, a producer's retry) is handled
once:

    seen = ProcessedIds(window_s=3600)
    consumer.run(handle_order, processed=seen)
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from eventline.ids import uuid7

__all__ = ["Consumer", "Delivery", "Event", "EventlineError", "ProcessedIds", "Producer"]

RETRYABLE_STATUS = {500, 502, 503, 504}


class EventlineError(Exception):
    """An error answer from the server (the envelope's code, message and details)."""

    def __init__(self, status: int, code: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})


@dataclass(frozen=True)
class Delivery:
    """Where the broker put a produced event."""

    topic: str
    id: str
    partition: int
    offset: int
    timestamp: int
    duplicate: bool


@dataclass(frozen=True)
class Event:
    """An event as read from the broker."""

    topic: str
    partition: int
    offset: int
    id: str
    source: str
    type: str
    key: str | None
    data: Any
    headers: list[tuple[str, str | None]]
    timestamp: int
    append_time: int
    attributes: dict[str, Any] = field(default_factory=dict)
    #: Which delivery of this event to this group this is (1 the first; more after nacks).
    attempt: int = 1

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], attempt: int = 1) -> Event:
        known = {
            "topic",
            "partition",
            "offset",
            "id",
            "source",
            "type",
            "key",
            "data",
            "data_base64",
            "headers",
            "timestamp",
            "append_time",
        }
        data = raw.get("data")
        if "data_base64" in raw:
            data = base64.b64decode(raw["data_base64"])
        return cls(
            topic=raw["topic"],
            partition=raw["partition"],
            offset=raw["offset"],
            id=raw["id"],
            source=raw["source"],
            type=raw["type"],
            key=raw.get("key"),
            data=data,
            headers=[(h["key"], h.get("value")) for h in raw.get("headers") or []],
            timestamp=raw["timestamp"],
            append_time=raw["append_time"],
            attributes={k: v for k, v in raw.items() if k not in known},
            attempt=attempt,
        )

    @property
    def correlation_id(self) -> str | None:
        return self.attributes.get("correlationid")


class _Http:
    """One keep-alive connection per thread, JSON in and out, retries with exponential backoff."""

    def __init__(
        self, url: str, api_key: str, timeout: float, retries: int, backoff_ms: int, max_backoff_ms: int
    ) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._prefix = parts.path
        self._auth = f"Bearer {api_key}"
        self._timeout = timeout
        self._retries = retries
        self._backoff_ms = backoff_ms
        self._max_backoff_ms = max_backoff_ms
        self._local = threading.local()

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=timeout)
            self._local.conn = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
        timeout: float | None = None,
        retry: bool = True,
    ) -> Any:
        url = self._prefix + path + (("?" + urlencode(query)) if query else "")
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Authorization": self._auth, "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = content_type
        attempts = self._retries + 1 if retry else 1
        for attempt in range(attempts):
            try:
                conn = self._connection(timeout or self._timeout)
                conn.request(method, url, body=payload, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                self._drop()
                if attempt + 1 >= attempts:
                    raise
                self._sleep(attempt)
                continue
            if status in RETRYABLE_STATUS and attempt + 1 < attempts:
                self._sleep(attempt)
                continue
            document = json.loads(raw) if raw else None
            if status >= 400:
                error = (document or {}).get("error", {}) if isinstance(document, dict) else {}
                raise EventlineError(
                    status,
                    error.get("code", "error"),
                    error.get("message", raw.decode(errors="replace")),
                    error.get("details"),
                )
            return document
        raise AssertionError("unreachable")

    def _sleep(self, attempt: int) -> None:
        delay = min(self._max_backoff_ms, self._backoff_ms * (2**attempt))
        time.sleep(delay * random.uniform(0.5, 1.0) / 1000)  # noqa: S311 - jitter, not crypto

    def close(self) -> None:
        self._drop()


class Producer:
    """Buffers events per topic and sends them in batches; see the module docstring."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        batch_size: int = 100,
        linger_ms: int = 5,
        retries: int = 8,
        backoff_ms: int = 100,
        max_backoff_ms: int = 5000,
        timeout: float = 30.0,
        source: str | None = None,
    ) -> None:
        self._http = _Http(url, api_key, timeout, retries, backoff_ms, max_backoff_ms)
        self._batch_size = batch_size
        self._linger_s = linger_ms / 1000
        self._source = source
        self._buffers: dict[
            str, list[tuple[dict[str, Any], Callable[[Delivery | None, Exception | None], None] | None]]
        ] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._closed = False
        self._oldest: float | None = None
        self._errors: list[Exception] = []
        self._flusher = threading.Thread(target=self._linger_loop, name="eventline-producer", daemon=True)
        self._flusher.start()

    def produce(
        self,
        topic: str,
        data: Any = None,
        *,
        key: str | None = None,
        type: str | None = None,  # noqa: A002 - CloudEvents attribute name
        id: str | None = None,  # noqa: A002
        source: str | None = None,
        partition: int | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        traceparent: str | None = None,
        headers: Sequence[tuple[str, str | None]] | None = None,
        time_iso: str | None = None,
        extensions: Mapping[str, str | int | bool] | None = None,
        on_delivery: Callable[[Delivery | None, Exception | None], None] | None = None,
    ) -> str:
        """Queue one event; returns its id (set now, so retries never duplicate it)."""
        if self._closed:
            raise RuntimeError("producer is closed")
        event: dict[str, Any] = {"id": id or uuid7()}
        if source or self._source:
            event["source"] = source or self._source
        optional = {
            "type": type,
            "partitionkey": key,
            "partition": partition,
            "correlationid": correlation_id,
            "causationid": causation_id,
            "traceparent": traceparent,
            "time": time_iso,
        }
        event.update({name: value for name, value in optional.items() if value is not None})
        if extensions:
            event.update(extensions)
        if headers:
            event["headers"] = [{"key": k, "value": v} for k, v in headers]
        event["data"] = data
        flush_now = False
        with self._lock:
            buffer = self._buffers.setdefault(topic, [])
            buffer.append((event, on_delivery))
            if self._oldest is None:
                self._oldest = time.monotonic()
            flush_now = len(buffer) >= self._batch_size
        if flush_now:
            self._send_topic(topic)
        return event["id"]

    def send(self, topic: str, events: Sequence[Mapping[str, Any]]) -> list[Delivery]:
        """Send a batch now (ids are added where missing before the first attempt)."""
        batch = [dict(event) for event in events]
        for event in batch:
            event.setdefault("id", uuid7())
            if self._source:
                event.setdefault("source", self._source)
        return self._post(topic, batch)

    def _post(self, topic: str, batch: list[dict[str, Any]]) -> list[Delivery]:
        answer = self._http.request("POST", f"/api/v1/topics/{quote(topic, safe='')}/events", batch)
        return [
            Delivery(topic, item["id"], item["partition"], item["offset"], item["timestamp"], item["duplicate"])
            for item in answer["events"]
        ]

    def _send_topic(self, topic: str) -> None:
        with self._send_lock:
            while True:
                with self._lock:
                    buffer = self._buffers.get(topic) or []
                    batch, rest = buffer[: self._batch_size], buffer[self._batch_size :]
                    self._buffers[topic] = rest
                    if not any(self._buffers.values()):
                        self._oldest = None
                if not batch:
                    return
                try:
                    deliveries = self._post(topic, [event for event, _ in batch])
                except Exception as exc:  # noqa: BLE001 - handed to callbacks and re-raised by flush()
                    self._errors.append(exc)
                    for _, callback in batch:
                        if callback:
                            callback(None, exc)
                    continue
                for (_, callback), delivery in zip(batch, deliveries, strict=True):
                    if callback:
                        callback(delivery, None)

    def _linger_loop(self) -> None:
        while not self._closed:
            time.sleep(max(self._linger_s, 0.001))
            oldest = self._oldest
            if oldest is not None and time.monotonic() - oldest >= self._linger_s:
                self._flush_all()

    def _flush_all(self) -> None:
        with self._lock:
            topics = [topic for topic, buffer in self._buffers.items() if buffer]
        for topic in topics:
            self._send_topic(topic)

    def flush(self) -> None:
        """Send everything buffered; raise the first delivery error since the last flush."""
        self._flush_all()
        if self._errors:
            error, self._errors = self._errors[0], []
            raise error

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._closed = True
            self._http.close()

    def __enter__(self) -> Producer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Consumer:
    """A member of a consumer group; see the module docstring."""

    def __init__(
        self,
        url: str,
        api_key: str,
        group: str,
        *,
        client_id: str = "eventline-python",
        auto_offset_reset: str = "latest",
        session_timeout_ms: int = 45000,
        heartbeat_interval_ms: int = 3000,
        assignor: str = "range",
        enable_auto_commit: bool = True,
        auto_commit_interval_ms: int = 5000,
        max_poll_events: int = 500,
        retries: int = 8,
        backoff_ms: int = 100,
        timeout: float = 60.0,
    ) -> None:
        self._http = _Http(url, api_key, timeout, retries, backoff_ms, 5000)
        self.group = group
        self._client_id = client_id
        self._auto_offset_reset = auto_offset_reset
        self._session_timeout_ms = session_timeout_ms
        self._heartbeat_s = heartbeat_interval_ms / 1000
        self._assignor = assignor
        self._auto_commit = enable_auto_commit
        self._auto_commit_s = auto_commit_interval_ms / 1000
        self._max_poll_events = max_poll_events
        self._topics: list[str] = []
        self.member_id: str | None = None
        self.generation = -1
        self.assignment: list[tuple[str, int]] = []
        self._positions: dict[tuple[str, int], int] = {}  # next offset to read, of what poll() returned
        self._committed: dict[tuple[str, int], int] = {}
        self._last_commit = time.monotonic()
        self._lock = threading.RLock()
        self._needs_refresh = False
        self._needs_rewind = False
        self._stop = threading.Event()
        self._heartbeat_thread: threading.Thread | None = None
        self.on_assign: Callable[[list[tuple[str, int]]], None] | None = None
        self.on_revoke: Callable[[list[tuple[str, int]]], None] | None = None

    # -- membership --------------------------------------------------------------------------

    def subscribe(self, topics: Sequence[str]) -> None:
        self._topics = list(topics)
        self._join()
        if self._heartbeat_thread is None:
            self._heartbeat_thread = threading.Thread(
                target=self._heartbeat_loop, name="eventline-heartbeat", daemon=True
            )
            self._heartbeat_thread.start()

    def _path(self, suffix: str = "") -> str:
        return f"/api/v1/groups/{quote(self.group, safe='')}{suffix}"

    def _member_path(self, suffix: str = "") -> str:
        assert self.member_id is not None
        return self._path(f"/members/{quote(self.member_id, safe='')}{suffix}")

    def _join(self) -> None:
        body: dict[str, Any] = {
            "topics": self._topics,
            "auto_offset_reset": self._auto_offset_reset,
            "session_timeout_ms": self._session_timeout_ms,
            "assignor": self._assignor,
            "client_id": self._client_id,
        }
        if self.member_id:
            body["member_id"] = self.member_id
        self._apply(self._http.request("POST", self._path("/members"), body))

    def _apply(self, view: Mapping[str, Any]) -> None:
        with self._lock:
            new = [(item["topic"], item["partition"]) for item in view["assignment"]]
            revoked = [tp for tp in self.assignment if tp not in new]
            if revoked and self.on_revoke:
                self.on_revoke(revoked)
            self.member_id = view["member_id"]
            self.generation = view["generation"]
            # The broker restarts every partition of a new generation from its committed offset
            # unless this member kept it; forget local positions of partitions we lost.
            for tp in revoked:
                self._positions.pop(tp, None)
            added = [tp for tp in new if tp not in self.assignment]
            self.assignment = new
            self._needs_refresh = False
            if added and self.on_assign:
                self.on_assign(added)

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self._heartbeat_s):
            if self.member_id is None:
                continue
            try:
                view = self._http.request("POST", self._member_path("/heartbeat"), {}, timeout=10)
                if view.get("rebalance_in_progress"):
                    with self._lock:
                        if self._auto_commit:
                            self._commit_positions(generation=self.generation)
                        self._apply(view)
            except EventlineError as exc:
                if exc.status == 404:
                    with self._lock:
                        self._needs_refresh = True
            except Exception:  # noqa: BLE001, S112 - the next poll rejoins if the broker is gone
                continue

    # -- consuming ---------------------------------------------------------------------------

    def poll(self, timeout: float = 1.0, max_events: int | None = None) -> list[Event]:
        """Long-poll for up to `timeout` seconds; returns the events (possibly none)."""
        if self.member_id is None:
            raise RuntimeError("subscribe() first")
        if self._auto_commit and time.monotonic() - self._last_commit >= self._auto_commit_s:
            self.commit()
        for attempt in range(5):
            if self._needs_refresh:
                self._join()
            if self._needs_rewind:
                self._rewind()
            try:
                # Never retried as it is: the broker moves the member's position when it answers, so
                # an answer lost on the way would skip its events. A failed fetch rewinds instead.
                answer = self._http.request(
                    "GET",
                    self._member_path("/events"),
                    query={"max_wait_ms": int(timeout * 1000), "max_events": max_events or self._max_poll_events},
                    timeout=timeout + self._http._timeout,
                    retry=False,
                )
            except (OSError, http.client.HTTPException):
                self._needs_rewind = True
                self._http._sleep(attempt)
                continue
            except EventlineError as exc:
                if exc.code == "stale_generation":
                    view = self._http.request("POST", self._member_path("/heartbeat"), {})
                    self._apply(view)
                    continue
                if exc.code == "unknown_member":
                    self._needs_refresh = True
                    continue
                if exc.status in RETRYABLE_STATUS:
                    self._needs_rewind = True
                    self._http._sleep(attempt)
                    continue
                raise
            events = [Event.from_json(raw) for raw in answer["events"]]
            with self._lock:
                for event in events:
                    self._positions[(event.topic, event.partition)] = event.offset + 1
            # Retried events are older than the positions: they do not move them.
            return events + [Event.from_json(r["event"], attempt=r["attempt"]) for r in answer.get("retries", ())]
        return []

    def _rewind(self) -> None:
        """After a fetch whose answer may have been lost: put every assigned partition back where
        this consumer last was (what poll() returned, else the committed offset), so nothing the
        broker handed out unseen is skipped."""
        with self._lock:
            assignment = list(self.assignment)
            known = {tp: self._positions.get(tp, self._committed.get(tp)) for tp in assignment}
        if any(offset is None for offset in known.values()):
            committed = self._http.request("GET", self._path("/offsets"))["offsets"]
            for row in committed:
                tp = (row["topic"], row["partition"])
                if known.get(tp, 0) is None:
                    known[tp] = row["offset"]
        for (topic, partition), offset in known.items():
            if offset is None:
                if self._auto_offset_reset != "earliest":
                    continue  # "latest" with nothing consumed or committed: nothing to go back to
                to: str | dict[str, int] = "beginning"
            else:
                to = {"offset": offset}
            try:
                self._http.request(
                    "POST", self._member_path("/seek"), {"topic": topic, "partition": partition, "to": to}
                )
            except EventlineError as exc:
                if exc.code in ("stale_generation", "unknown_member", "not_assigned"):
                    continue  # the partition moved on: its new owner starts from the last commit
                raise
        self._needs_rewind = False

    def nack(self, event: Event, error: BaseException | None = None) -> dict[str, Any]:
        """Tell the broker this consumer failed on `event`: it is delivered to this group again
        after the group's backoff, or dead-lettered after its last attempt. Returns the outcome."""
        body: dict[str, Any] = {"topic": event.topic, "partition": event.partition, "offset": event.offset}
        if error is not None:
            body["error"] = {
                "class": f"{type(error).__module__}.{type(error).__qualname__}",
                "message": str(error),
                "stack": "".join(traceback.format_exception(error)),
            }
        return dict(self._http.request("POST", self._member_path("/nack"), body))

    def ack(self, event: Event) -> None:
        """Tell the broker a retried event was handled (first deliveries are acknowledged by the
        commit of a later offset)."""
        body = {"topic": event.topic, "partition": event.partition, "offset": event.offset}
        self._http.request("POST", self._member_path("/ack"), body)

    def run(
        self,
        handler: Callable[[Event], None],
        *,
        processed: ProcessedIds | None = None,
        max_events: int | None = None,
        timeout: float = 1.0,
    ) -> int:
        """Poll and hand each event to `handler` until `close()` (or until `max_events` were
        handled or failed). A handler that raises nacks the event; with `processed`, an event
        already handled within its window is skipped. Returns how many events were handled."""
        handled = failed = 0
        while not self._stop.is_set() and (max_events is None or handled + failed < max_events):
            for event in self.poll(timeout=timeout):
                if processed is not None and processed.seen(event):
                    if event.attempt > 1:
                        self.ack(event)
                    continue
                try:
                    handler(event)
                except Exception as exc:  # noqa: BLE001 - any failure of the handler is the event's
                    self.nack(event, exc)
                    failed += 1
                    continue
                if processed is not None:
                    processed.remember(event)
                if event.attempt > 1:
                    self.ack(event)
                handled += 1
        return handled

    def __iter__(self) -> Iterator[Event]:
        while not self._stop.is_set():
            yield from self.poll(timeout=1.0)

    def commit(self, events: Sequence[Event] | None = None) -> None:
        """Commit the next offset to read for everything `poll()` returned (or for `events`)."""
        with self._lock:
            if events is not None:
                offsets = {}
                for event in events:
                    tp = (event.topic, event.partition)
                    offsets[tp] = max(offsets.get(tp, 0), event.offset + 1)
                self._commit(offsets)
            else:
                self._commit_positions(generation=self.generation)

    def _commit_positions(self, generation: int) -> None:
        pending = {tp: offset for tp, offset in self._positions.items() if self._committed.get(tp) != offset}
        self._commit(pending)

    def _commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self._last_commit = time.monotonic()
        if not offsets or self.member_id is None:
            return
        body = {
            "member_id": self.member_id,
            "generation": self.generation,
            "offsets": [{"topic": t, "partition": p, "offset": o} for (t, p), o in sorted(offsets.items())],
        }
        try:
            self._http.request("POST", self._path("/offsets"), body)
        except EventlineError as exc:
            if exc.code in ("stale_generation", "unknown_member"):
                return  # the partitions moved on; their new owner resumes from the last good commit
            raise
        self._committed.update(offsets)

    def seek(self, topic: str, partition: int, to: str | Mapping[str, int]) -> int:
        """Move this member's position: "beginning", "end", {"offset": n} or {"timestamp": ms}."""
        answer = self._http.request(
            "POST", self._member_path("/seek"), {"topic": topic, "partition": partition, "to": to}
        )
        with self._lock:
            self._positions.pop((topic, partition), None)
        return int(answer["position"])

    def close(self) -> None:
        """Commit (with auto-commit on) and leave the group, so the others rebalance at once."""
        self._stop.set()
        if self.member_id is None:
            return
        try:
            if self._auto_commit:
                self.commit()
            self._http.request("DELETE", self._member_path(), retry=False)
        except EventlineError:
            pass
        finally:
            self.member_id = None
            self._http.close()

    def __enter__(self) -> Consumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProcessedIds:
    """Consumer-side idempotency: the (source, id) pairs handled in the last `window_s` seconds
    (at most `max_ids` of them, oldest forgotten first), so a redelivered event is handled once.
    In memory, per consumer process; a handler with side effects elsewhere keeps its own record
    (a unique key in its database) for redeliveries after a restart."""

    def __init__(self, window_s: float = 3600.0, max_ids: int = 100_000) -> None:
        self.window_s = window_s
        self.max_ids = max_ids
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, event: Event) -> bool:
        with self._lock:
            self._expire(time.monotonic())
            return (event.source, event.id) in self._seen

    def remember(self, event: Event) -> None:
        with self._lock:
            now = time.monotonic()
            self._seen[(event.source, event.id)] = now
            self._seen.move_to_end((event.source, event.id))
            self._expire(now)

    def _expire(self, now: float) -> None:
        while self._seen and (len(self._seen) > self.max_ids or next(iter(self._seen.values())) < now - self.window_s):
            self._seen.popitem(last=False)
