"""The consumer host: the one long-lived process per machine that holds the Kafka consumers behind
HTTP consumer-group members when BROKER_BACKEND=kafka (`manage.py run_consumer_host`; `make run`
starts it; docs/deployment.md).

Web workers come and go, and a long poll parks one of their threads, so members cannot live in
them. Each HTTP member is one confluent-kafka Consumer here, a real member of the Kafka group of
the same name, with one thread that keeps polling it (librdkafka serves rebalances from poll).
Web workers reach the host over a Unix socket (broker.services.hosted_groups): a request is one
JSON line; the answer is one JSON line, followed by the events of a fetch, one per line.

How the member API maps to Kafka:
- join: a new Consumer (group.id = the group, client.id = the member's client_id, offsets
  committed by hand, read_committed) subscribes to the topics. The answer waits for its first
  assignment from Kafka's group coordinator. The member id is Kafka's own, so
  `kafka-consumer-groups.sh --describe --members` shows the same id. Native consumers in the
  same group share its partitions.
- generation: Kafka's group generation, read from the consumer's group metadata after each
  assignment. A member that has not yet heard of its newest assignment (by heartbeat or rejoin)
  gets 409 stale_generation on fetch, commit and seek, as on the SQL backend.
- fetch: the member's thread keeps fetching into a bounded buffer (pausing its partitions while
  the buffer is full); a fetch takes from it and waits up to max_wait_ms for the first event.
  Buffered events of a revoked partition are dropped: its new owner reads them from the commit.
- commit: a Kafka offset commit by the member's own consumer, so Kafka checks the generation too.
- seek: the consumer's own seek; beginning, end and timestamps are resolved from the partition's
  watermarks and Kafka's offsetsForTimes.
- leave: Consumer.close() leaves the group, so the others rebalance at once.
- session: a member not heard from (heartbeat, fetch, commit, seek) within its session timeout is
  closed, which leaves the group as a leave does.
- restart: members live in this process's memory. After a restart every member id is unknown
  (404 unknown_member): clients rejoin and resume from the group's commits in Kafka, as a Kafka
  consumer does after a crash; events fetched but not committed are delivered again.

Checks of scopes are the web worker's; the host checks only that a member is acted on by the key
that joined it (403 member_of_another_key; an admin may remove any member).
"""

from __future__ import annotations

import json
import logging
import os
import socketserver
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition

from broker.log.kafka import render_record

logger = logging.getLogger(__name__)

# A member's buffer of fetched events: past either bound its partitions are paused until a fetch
# drains it below half.
BUFFER_EVENTS = 5_000
BUFFER_BYTES = 16 * 1024 * 1024
# How long join waits for Kafka's first assignment, and a member's poll slice (how late a seek
# or leave may start).
JOIN_TIMEOUT_S = 30.0
POLL_SLICE_S = 0.05
# How often the reaper looks for members past their session timeout.
REAP_INTERVAL_S = 0.5
# What Kafka's coordinator gives the consumer (it heartbeats in the background): how soon the
# group notices a host that died. The HTTP session timeout is the host's to enforce.
KAFKA_SESSION_TIMEOUT_MS = 10_000

_ASSIGNORS = {"range": "range", "roundrobin": "roundrobin", None: "range"}
# Commit errors that mean the group moved on without this member.
_FENCED = frozenset(
    {
        KafkaError.ILLEGAL_GENERATION,
        KafkaError.REBALANCE_IN_PROGRESS,
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError.FENCED_INSTANCE_ID,
        KafkaError._ASSIGNMENT_LOST,
    }
)


class HostError(Exception):
    """An answer with an HTTP status, code and message (the web worker raises the matching
    core.errors class)."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "message": self.message, "details": self.details}


def _generation_of(metadata: Any) -> int | None:
    """Kafka's group generation from a consumer's group metadata (librdkafka's serialised
    'CGMDv2:' record: the generation id follows as a native int32). None if the format changed."""
    raw = bytes(metadata) if metadata is not None else b""
    if raw[:7] != b"CGMDv2:" or len(raw) < 11:
        return None
    return int(struct.unpack("=i", raw[7:11])[0])


@dataclass(slots=True)
class _Buffered:
    topic: str
    partition: int
    payload: str
    size: int


class Member:
    """One HTTP member: its consumer, the thread that polls it, and the events fetched ahead."""

    def __init__(
        self,
        *,
        group: str,
        topics: list[str],
        identity: str,
        client_id: str,
        session_timeout_ms: int,
        auto_offset_reset: str,
        assignor: str | None,
        client_config: dict[str, Any],
    ) -> None:
        self.group, self.topics, self.identity = group, topics, identity
        self.client_id = client_id or "eventline-http"
        self.session_timeout_ms = session_timeout_ms
        self.auto_offset_reset = auto_offset_reset
        self.assignor = assignor or "range"
        self.member_id = ""
        self.generation = -1  # Kafka's, as of the newest assignment
        self.acknowledged = -1  # the newest generation the HTTP member has been told of
        self.assignment: list[tuple[str, int]] = []
        self.rebalancing = False  # revoked, not yet assigned again
        self.last_seen = time.monotonic()
        self.closed = False
        self.error: str | None = None
        self._buffer: deque[_Buffered] = deque()
        self._buffered_bytes = 0
        self._paused = False
        self._cond = threading.Condition()
        self._client_lock = threading.Lock()  # the poll loop and seeks take turns on the consumer
        self.consumer = Consumer(
            {
                **client_config,
                "group.id": group,
                "client.id": self.client_id,
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "auto.offset.reset": auto_offset_reset,
                "partition.assignment.strategy": _ASSIGNORS.get(assignor, "range"),
                "session.timeout.ms": KAFKA_SESSION_TIMEOUT_MS,
                "heartbeat.interval.ms": 1_000,
            }
        )
        self.consumer.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_revoke)
        self._thread = threading.Thread(target=self._poll_loop, name=f"member-{group}", daemon=True)
        self._thread.start()

    # --- the member's thread ----------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        generation = _generation_of(consumer.consumer_group_metadata())
        with self._cond:
            self.member_id = self.member_id or consumer.memberid() or ""
            self.generation = generation if generation is not None else self.generation + 1
            self.assignment = sorted((tp.topic, tp.partition) for tp in partitions)
            self.rebalancing = False
            self._cond.notify_all()
        consumer.assign(partitions)
        if self._paused:
            consumer.pause(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        with self._cond:
            self.rebalancing = True
            self._drop(lambda item: (item.topic, item.partition) in revoked)
            self._cond.notify_all()
        consumer.unassign()

    def _drop(self, which: Callable[[_Buffered], bool]) -> None:
        kept = deque(item for item in self._buffer if not which(item))
        self._buffered_bytes = sum(item.size for item in kept)
        self._buffer = kept

    def _poll_loop(self) -> None:
        try:
            while not self.closed:
                with self._client_lock:
                    if self.closed:
                        break
                    self._pace()
                    messages = self._next_messages()
                if messages:
                    self._take(messages)
        except Exception as exc:  # noqa: BLE001 - the member ends; its next call says why
            logger.exception("member %s of group %s stopped", self.member_id, self.group)
            self.error = str(exc)
        finally:
            with self._client_lock:
                try:
                    self.consumer.close()  # leaves the group: the others rebalance at once
                except Exception:  # noqa: BLE001 - closing what failed
                    logger.debug("closing member %s", self.member_id, exc_info=True)
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    def _next_messages(self) -> list[Any]:
        """What the consumer has (up to 500), else the first message within POLL_SLICE_S and
        what came with it. consume() alone would wait out its timeout for a full batch, which
        is latency for every event of a quiet topic; poll() returns with the first one."""
        messages = self.consumer.consume(500, timeout=0)
        if messages:
            return list(messages)
        first = self.consumer.poll(POLL_SLICE_S)
        if first is None:
            return []
        return [first, *self.consumer.consume(499, timeout=0)]

    def _pace(self) -> None:
        """Pause fetching while the buffer is full; resume once a fetch drained it below half."""
        full = len(self._buffer) >= BUFFER_EVENTS or self._buffered_bytes >= BUFFER_BYTES
        low = len(self._buffer) < BUFFER_EVENTS // 2 and self._buffered_bytes < BUFFER_BYTES // 2
        assigned = self.consumer.assignment()
        if full and not self._paused:
            self.consumer.pause(assigned)
            self._paused = True
        elif low and self._paused:
            self.consumer.resume(assigned)
            self._paused = False

    def _take(self, messages: list[Any]) -> None:
        items = []
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    logger.warning("group %s member %s: %s", self.group, self.member_id, error)
                continue
            value = message.value()
            _, timestamp_ms = message.timestamp()
            payload = render_record(
                message.topic(),
                message.partition(),
                message.offset(),
                timestamp_ms,
                message.key(),
                value,
                message.headers() or [],
            )
            items.append(_Buffered(message.topic(), message.partition(), payload, len(value or b"")))
        with self._cond:
            assigned = set(self.assignment)
            for item in items:
                if (item.topic, item.partition) in assigned:
                    self._buffer.append(item)
                    self._buffered_bytes += item.size
            self._cond.notify_all()

    # --- what the HTTP member asks ------------------------------------------------------------

    def wait_assigned(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self.generation < 0 and not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise HostError(
                        503, "join_timeout", f"Kafka gave group '{self.group}' no assignment within {timeout_s:.0f} s."
                    )
                self._cond.wait(remaining)
        if self.closed:
            raise HostError(503, "member_failed", f"The member's Kafka consumer stopped: {self.error or 'closed'}.")

    def view(self) -> dict[str, Any]:
        """Join's and heartbeat's answer; the member now knows of the newest generation."""
        with self._cond:
            self.last_seen = time.monotonic()
            rebalanced = self.acknowledged != self.generation or self.rebalancing
            self.acknowledged = self.generation
            state = "PreparingRebalance" if self.rebalancing else "Stable"
            return {
                "member_id": self.member_id,
                "generation": self.generation,
                "assignment": [{"topic": t, "partition": p} for t, p in self.assignment],
                "rebalance_in_progress": rebalanced,
                "state": state,
            }

    def _require_current(self, generation: int | None = None) -> None:
        """409 unless the member knows of the newest assignment (and commits with its generation)."""
        if self.closed:
            raise _unknown_member(self.group, self.member_id)
        stale = self.rebalancing or self.acknowledged != self.generation
        if stale or (generation is not None and generation != self.generation):
            raise HostError(
                409,
                "stale_generation",
                f"Group '{self.group}' rebalanced to generation {self.generation}; send a heartbeat or rejoin "
                "to get the new assignment, then fetch again.",
                {"generation": self.generation},
            )

    def fetch(self, max_wait_ms: int, max_events: int, max_bytes: int) -> list[str]:
        deadline = time.monotonic() + max_wait_ms / 1000
        with self._cond:
            self.last_seen = time.monotonic()
            self._require_current()
            while not self._buffer and not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
                self._require_current()
            payloads: list[str] = []
            size = 0
            while self._buffer and len(payloads) < max_events:
                item = self._buffer[0]
                if payloads and size + item.size > max_bytes:
                    break
                self._buffer.popleft()
                self._buffered_bytes -= item.size
                payloads.append(item.payload)
                size += item.size
            self.last_seen = time.monotonic()
            return payloads

    def commit(self, offsets: list[dict[str, Any]], generation: Any) -> None:
        with self._cond:
            self.last_seen = time.monotonic()
            self._require_current(generation if isinstance(generation, int) else -2)
        partitions = [commit_partition(o) for o in offsets]
        try:
            with self._client_lock:  # between two polls (a commit beside a running poll waits for it to end)
                self.consumer.commit(offsets=partitions, asynchronous=False)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if error is not None and error.code() in _FENCED:
                raise HostError(
                    409, "stale_generation", f"Kafka refused the commit: {error.str()}; heartbeat or rejoin."
                ) from exc
            raise HostError(503, "commit_failed", f"Kafka refused the commit: {exc}.") from exc

    def seek(self, topic: str, partition: int, to: Any) -> int:
        with self._cond:
            self.last_seen = time.monotonic()
            self._require_current()
            if (topic, partition) not in self.assignment:
                raise HostError(
                    409, "not_assigned", f"Partition {topic}/{partition} is not assigned to this member.", {}
                )
        with self._client_lock:  # between two polls: nothing fetched from the old position lands after
            target = self._target(topic, partition, to)
            self.consumer.seek(TopicPartition(topic, partition, target))
            with self._cond:
                self._drop(lambda item: item.topic == topic and item.partition == partition)
        return target

    def _target(self, topic: str, partition: int, to: Any) -> int:
        low, high = self.consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        if to in ("beginning", "earliest"):
            return int(low)
        if to in ("end", "latest"):
            return int(high)
        if isinstance(to, dict) and isinstance(to.get("offset"), int) and not isinstance(to["offset"], bool):
            return min(max(int(to["offset"]), int(low)), int(high))
        if isinstance(to, dict) and isinstance(to.get("timestamp"), int) and not isinstance(to["timestamp"], bool):
            [found] = self.consumer.offsets_for_times([TopicPartition(topic, partition, to["timestamp"])], timeout=10)
            return int(high) if found.offset in (OFFSET_END, -1) else int(found.offset)
        raise HostError(
            422,
            "validation_failed",
            'to: must be "beginning", "end", {"offset": n} or {"timestamp": ms}',
            {"errors": [{"field": "to", "reason": 'must be "beginning", "end", {"offset": n} or {"timestamp": ms}'}]},
        )

    def close(self, wait: bool = True) -> None:
        self.closed = True
        with self._cond:
            self._cond.notify_all()
        if wait and threading.current_thread() is not self._thread:
            self._thread.join(timeout=KAFKA_SESSION_TIMEOUT_MS / 1000 + 5)


def commit_partition(offset: dict[str, Any]) -> TopicPartition:
    if offset.get("metadata"):
        return TopicPartition(offset["topic"], offset["partition"], offset["offset"], metadata=offset["metadata"])
    return TopicPartition(offset["topic"], offset["partition"], offset["offset"])


def _unknown_member(group: str, member_id: str) -> HostError:
    return HostError(
        404,
        "unknown_member",
        f"Member '{member_id}' is not in group '{group}' (it left, its session expired or the consumer host "
        "restarted); join again.",
        {"member_id": member_id},
    )


class Host:
    """The members of this process, by (group, member id), and the reaper of expired sessions."""

    def __init__(self, client_config: dict[str, Any]) -> None:
        self.client_config = client_config
        self._members: dict[tuple[str, str], Member] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._reaper = threading.Thread(target=self._reap_loop, name="member-reaper", daemon=True)
        self._reaper.start()

    def member(self, group: str, member_id: str, identity: str, admin: bool = False) -> Member:
        with self._lock:
            member = self._members.get((group, member_id))
        if member is None or member.closed:
            raise _unknown_member(group, member_id)
        if member.identity != identity and not admin:
            raise HostError(
                403,
                "member_of_another_key",
                f"Member '{member_id}' was joined with another API key; only that key may act as it.",
                {"member_id": member_id},
            )
        return member

    def join(self, args: dict[str, Any], identity: str) -> dict[str, Any]:
        group = args["group"]
        member_id = args.get("member_id")
        if member_id:
            existing = self.member(group, member_id, identity)
            if existing.topics == args["topics"]:
                existing.session_timeout_ms = args["session_timeout_ms"]
                return existing.view()
            self.leave(group, member_id, identity)  # a new subscription: a new Kafka member
        member = Member(
            group=group,
            topics=args["topics"],
            identity=identity,
            client_id=args.get("client_id") or "",
            session_timeout_ms=args["session_timeout_ms"],
            auto_offset_reset=args["auto_offset_reset"],
            assignor=args.get("assignor"),
            client_config=self.client_config,
        )
        try:
            member.wait_assigned(JOIN_TIMEOUT_S)
        except HostError:
            member.close()
            raise
        with self._lock:
            self._members[(group, member.member_id)] = member
        return member.view()

    def leave(self, group: str, member_id: str, identity: str, admin: bool = False) -> None:
        member = self.member(group, member_id, identity, admin)
        with self._lock:
            self._members.pop((group, member_id), None)
        member.close()

    def members_of(self, group: str) -> list[Member]:
        with self._lock:
            return [m for (g, _), m in self._members.items() if g == group and not m.closed]

    def _reap_loop(self) -> None:
        while not self._stopping.wait(REAP_INTERVAL_S):
            now = time.monotonic()
            with self._lock:
                expired = [
                    key
                    for key, m in self._members.items()
                    if m.closed or now - m.last_seen > m.session_timeout_ms / 1000
                ]
                gone = [self._members.pop(key) for key in expired]
            for member in gone:
                logger.info("member %s of group %s: session expired", member.member_id, member.group)
                member.close(wait=False)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            members = list(self._members.values())
            self._members.clear()
        for member in members:
            member.close(wait=False)
        for member in members:
            member.close()

    # --- one request ----------------------------------------------------------------------------

    def handle(self, request: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The answer to one request, and the events of a fetch."""
        op = request.get("op")
        args = request.get("args") or {}
        identity = str(request.get("identity") or "")
        admin = bool(request.get("admin"))
        if op == "join":
            return self.join(args, identity), []
        group, member_id = args.get("group", ""), args.get("member_id", "")
        if op == "leave":
            self.leave(group, member_id, identity, admin)
            return {}, []
        if op == "members":
            return {"members": [_described(m) for m in self.members_of(group)]}, []
        member = self.member(group, member_id, identity)
        if op == "heartbeat":
            return member.view(), []
        if op == "fetch":
            return {}, member.fetch(args["max_wait_ms"], args["max_events"], args["max_bytes"])
        if op == "commit":
            member.commit(args["offsets"], args.get("generation"))
            return {}, []
        if op == "seek":
            return {"position": member.seek(args["topic"], args["partition"], args.get("to"))}, []
        raise HostError(400, "bad_request", f"Unknown operation {op!r}.")


def _described(member: Member) -> dict[str, Any]:
    return {
        "member_id": member.member_id,
        "client_id": member.client_id,
        "topics": member.topics,
        "generation": member.generation,
        "session_timeout_ms": member.session_timeout_ms,
        "idle_ms": int((time.monotonic() - member.last_seen) * 1000),
    }


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        host = self.server.host
        for line in self.rfile:
            try:
                answer, events = host.handle(json.loads(line))
                head: dict[str, Any] = {"ok": answer, "events": len(events)}
            except HostError as exc:
                head, events = {"error": exc.as_dict(), "events": 0}, []
            except Exception as exc:  # noqa: BLE001 - one bad request must not end the connection
                logger.exception("consumer host request failed")
                head, events = {"error": HostError(500, "host_error", str(exc)).as_dict(), "events": 0}, []
            out = [json.dumps(head).encode(), *(event.encode() for event in events)]
            self.wfile.write(b"\n".join(out) + b"\n")
            self.wfile.flush()


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    host: Host


def serve(path: Path, host: Host) -> _Server:
    """A server for `host` on the Unix socket `path` (replacing a stale socket file); call
    serve_forever() on it, and shutdown() to stop."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    server = _Server(str(path), _Handler)
    os.chmod(path, 0o600)
    server.host = host
    return server


__all__ = ["Host", "HostError", "Member", "serve"]
