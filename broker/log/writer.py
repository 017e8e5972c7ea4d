"""SQLite: one process writes the appends of every web worker (the append writer).

SQLite lets one transaction write at a time. When each web worker appended its own events, the
worker holding the write lock shared its interpreter with the threads parsing the next requests,
and it ran for only about 60% of the time it held the lock (measured at batch 100 under 8
producers): the lock, not the two cores, set the pace. The writer is a process with nothing else
to do. A worker still checks its events, looks up repeats and plans the rows (broker.log.sql's
_Plan, everything but the offsets); it sends the plan over a Unix socket beside the database.
The writer writes whatever plans have arrived in one transaction (group commit across all
workers) and answers each with its end offsets per partition, or with its own error: a batch
that fails on one request's own error (a repeated id, a moved registry, a deleted topic) is
written again plan by plan, so that request fails alone; a database error fails the batch.

`make run` starts the writer beside the web server on SQLite (`manage.py run_append_writer`). A
worker that finds no writer listening appends itself, as before, under the same write lock, so
the writer is never needed for correctness: tests, management commands and a stopped writer all
take that path. Each request carries a deadline: the writer writes it only if it holds the write
lock before then, and the worker waits that long and a grace period more, so a request is never
written after its worker gave up (past the deadline: 503 append_writer_busy, nothing appended).
If the writer goes away after a request was sent, the worker cannot know whether the append
committed; it answers 503 append_outcome_unknown, and the client's retry with the same event ids
is answered from the log (repeats come back as duplicates, never appended twice). A stopping
writer first stops taking connections (workers then append themselves), then answers what the
open ones still send.

Workers talk to the writer only if the process at the other end of the socket runs as the same
user (SO_PEERCRED), and the writer serves only such workers.

Frames both ways: a 4-byte big-endian length, then the bytes. A request is a protocol version,
its deadline and the plan (`_Plan.wire()`: a JSON header, then the event bodies as bytes); an
answer is JSON. Only this user can open the socket (mode 0600, like the database file).
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import DatabaseError, IntegrityError, connection

from core.db import ExpectationFailed
from core.errors import NotFound, Unavailable

logger = logging.getLogger(__name__)

_HEADER = struct.Struct(">I")  # every frame: its length, then its bytes
# A request: this protocol's version, the time (Unix seconds) after which the writer must not
# start writing it, then the plan (`_Plan.wire()`).
_REQUEST = struct.Struct(">Bd")
PROTOCOL_VERSION = 2  # 2: the plan carries whole event bodies (977585f), 1: payload tails
_MAX_FRAME = 256 * 1024 * 1024
# The writer writes a request only if it holds the write lock by this long after the worker sent
# it; after that it answers "not written". The worker waits that long and ANSWER_GRACE_S more
# (the write itself, lock in hand, takes milliseconds) before it gives up and answers 503 with the
# outcome unknown, so the writer never writes a request its worker has given up on.
WRITE_WITHIN_S = 30.0
ANSWER_GRACE_S = 30.0
# After a failed connect, a thread tries again only after this long, so a missing writer costs
# one failed connect per thread per second, not one per append.
_RETRY_CONNECT_S = 1.0
# On stop: keep answering the connections that have requests in flight until none has arrived for
# DRAIN_IDLE_S (at most DRAIN_MAX_S); new connections already find no writer and append themselves.
DRAIN_IDLE_S = 0.3
DRAIN_MAX_S = 5.0
# The longest path a Unix socket can be bound to (sun_path, less its terminating NUL).
_MAX_SOCKET_PATH = 107


def socket_path_for(database_name: str) -> str | None:
    """The writer's socket beside a file database; None for an in-memory one, or when the path
    is too long for a Unix socket (then there is no writer, and each worker appends itself)."""
    if not database_name or database_name == ":memory:" or database_name.startswith("file:"):
        return None
    path = database_name + ".append.sock"
    return path if len(os.fsencode(path)) <= _MAX_SOCKET_PATH else None


def writer_socket_path() -> str | None:
    """Where this database's writer listens: None on PostgreSQL, on the Kafka backend (events go
    to Kafka), with EVENTLINE_APPEND_WRITER off, or when socket_path_for finds no place for it."""
    from django.conf import settings

    if connection.vendor != "sqlite" or settings.BROKER_BACKEND != "sql" or not settings.EVENTLINE["APPEND_WRITER"]:
        return None
    return socket_path_for(str(connection.settings_dict["NAME"]))


def _same_user(sock: socket.socket) -> bool:
    """The process at the other end of a Unix socket runs as this user (where the OS says)."""
    peer_credentials = getattr(socket, "SO_PEERCRED", None)
    if peer_credentials is None:
        return True
    _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, peer_credentials, struct.calcsize("3i")))
    return bool(uid == os.getuid())


# -- the request and the answer ---------------------------------------------------------------


class WriteExpired(Exception):
    """The writer got the write lock only after the request's deadline: nothing was written."""


@dataclass
class WriteRequest:
    """One worker's planned append (broker.log.sql._Plan) with its deadline, and what became of
    it: the plan's end offsets per partition, or its error."""

    plan: Any
    deadline: float
    result: dict[tuple[int, int], int] | None = None
    error: BaseException | None = None


class _Incompatible(ValueError):
    """A request in another version of the protocol (a writer left running across an upgrade)."""


def _decode_request(frame: bytes) -> WriteRequest:
    from broker.log.sql import _Plan

    version, deadline = _REQUEST.unpack_from(frame)
    if version != PROTOCOL_VERSION:
        raise _Incompatible(f"protocol version {version}, this writer speaks {PROTOCOL_VERSION}")
    return WriteRequest(_Plan.from_wire(frame[_REQUEST.size :]), deadline)


def _encode_outcome(request: WriteRequest) -> bytes:
    error = request.error
    if error is None:
        assert request.result is not None
        return orjson.dumps({"ends": [[*key, end] for key, end in request.result.items()]})
    if isinstance(error, NotFound):
        failure = {"kind": "not_found", "message": error.message, "code": error.code}
    elif isinstance(error, ExpectationFailed):
        failure = {"kind": "expectation", "reason": error.reason}
    elif isinstance(error, IntegrityError):
        failure = {"kind": "integrity", "message": str(error)}
    elif isinstance(error, WriteExpired):
        failure = {"kind": "expired"}
    else:
        failure = {"kind": "failed", "message": f"{type(error).__name__}: {error}"}
    return orjson.dumps({"error": failure})


_INCOMPATIBLE = orjson.dumps({"error": {"kind": "incompatible"}})


def _decode_outcome(frame: bytes) -> dict[tuple[int, int], int] | None:
    outcome = orjson.loads(frame)
    if "ends" in outcome:
        return {(topic_id, partition): end for topic_id, partition, end in outcome["ends"]}
    failure = outcome["error"]
    kind = failure["kind"]
    if kind == "not_found":
        raise NotFound(failure["message"], code=failure["code"])
    if kind == "expectation":
        raise ExpectationFailed(failure["reason"])
    if kind == "integrity":
        raise IntegrityError(failure["message"])
    if kind == "expired":
        raise Unavailable(
            f"The append writer could not get to these events within {WRITE_WITHIN_S:.0f} s; nothing was "
            "appended. Send them again.",
            code="append_writer_busy",
        )
    if kind == "incompatible":
        return None  # nothing was written: append here
    raise DatabaseError(f"The append writer could not append: {failure['message']}")


# -- the worker's side ------------------------------------------------------------------------


class AppendWriterClient:
    """A web worker's way to the writer: one connection per thread, opened on first use."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()

    def write(self, wired_plan: list[bytes | memoryview]) -> dict[tuple[int, int], int] | None:
        """Have the writer write a plan (the pieces `_Plan.wire()` gives): its end offsets per
        partition, or the error the writer met (NotFound, ExpectationFailed, IntegrityError,
        Unavailable, DatabaseError). None when nothing was written and this process should
        append itself: no writer listening, or one that speaks another protocol version."""
        sock = self._connected()
        if sock is None:
            return None
        header = _REQUEST.pack(PROTOCOL_VERSION, time.time() + WRITE_WITHIN_S)
        frame = b"".join([_HEADER.pack(len(header) + sum(map(len, wired_plan))), header, *wired_plan])
        try:
            sock.sendall(frame)
        except OSError:
            # The writer went away before it had the whole request: it appends nothing from a
            # partial frame. Try a fresh connection once, then append here.
            self._drop()
            sock = self._connected()
            if sock is None:
                return None
            try:
                sock.sendall(frame)
            except OSError:
                self._drop()
                return None
        try:
            reply = _read_frame(sock)
        except (OSError, ValueError) as exc:
            self._drop()
            raise Unavailable(
                "The append writer stopped before it answered, so whether these events were appended is "
                "unknown. Send them again with the same ids: events already appended come back as duplicates.",
                code="append_outcome_unknown",
            ) from exc
        ends = _decode_outcome(reply)
        if ends is None:
            logger.warning("The append writer at %s speaks another protocol version; appending here.", self.path)
        return ends

    def _connected(self) -> socket.socket | None:
        sock = getattr(self._local, "sock", None)
        if sock is not None:
            return sock
        if time.monotonic() < getattr(self._local, "retry_at", 0.0):
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(WRITE_WITHIN_S + ANSWER_GRACE_S)
        try:
            sock.connect(self.path)
            if not _same_user(sock):
                # Whoever listens there is not us: never hand it events (nor believe its answers).
                logger.warning("The socket at %s is served by another user; appending here.", self.path)
                raise ConnectionRefusedError
        except OSError:
            sock.close()
            self._local.retry_at = time.monotonic() + _RETRY_CONNECT_S
            return None
        self._local.sock = sock
        return sock

    def _drop(self) -> None:
        sock = getattr(self._local, "sock", None)
        self._local.sock = None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


_clients: dict[str, AppendWriterClient] = {}
_clients_lock = threading.Lock()


def writer_client() -> AppendWriterClient | None:
    """This process's client for the current database's writer (None when writer_socket_path
    is)."""
    path = writer_socket_path()
    if path is None:
        return None
    client = _clients.get(path)
    if client is None:
        with _clients_lock:
            client = _clients.setdefault(path, AppendWriterClient(path))
    return client


def _forget_after_fork() -> None:
    # A forked child must not share its parent's connections to the writer (nor its lock, which
    # another thread of the parent may have held at the fork).
    global _clients, _clients_lock
    _clients = {}
    _clients_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def _read_frame(sock: socket.socket) -> bytes:
    header = _recv_exactly(sock, _HEADER.size)
    (length,) = _HEADER.unpack(header)
    if length > _MAX_FRAME:
        raise ValueError(f"a frame of {length} bytes")
    return _recv_exactly(sock, length)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionError("the append writer closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


# -- the writer's side ------------------------------------------------------------------------


class AppendWriter:
    """The writer process's loop: read every request that has arrived, have `run` write them
    (setting each one's result or error), answer each, repeat."""

    def __init__(self, path: str, run: Callable[[list[WriteRequest]], None]) -> None:
        self.path = path
        self._run = run
        self._stop = threading.Event()
        self.requests_served = 0
        self.batches = 0
        self.ready = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def serve(self) -> None:
        listener = self._listen()
        bound = os.stat(self.path).st_ino
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ)
        buffers: dict[socket.socket, bytearray] = {}
        self.ready.set()
        draining_since = last_arrival = 0.0
        try:
            while True:
                now = time.monotonic()
                if self._stop.is_set() and not draining_since:
                    # Stop taking connections (workers that connect now append themselves), then
                    # answer what the open ones still send.
                    selector.unregister(listener)
                    listener.close()
                    self._unlink_if_ours(bound)
                    draining_since = last_arrival = now
                if draining_since and (now - last_arrival > DRAIN_IDLE_S or now - draining_since > DRAIN_MAX_S):
                    return
                arrived: list[tuple[socket.socket, WriteRequest]] = []
                for key, _ in selector.select(timeout=0.1 if draining_since else 0.5):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is listener:
                        self._accept(listener, selector, buffers)
                    else:
                        self._receive(sock, selector, buffers, arrived)
                if arrived:
                    last_arrival = time.monotonic()
                    self._answer(arrived, selector, buffers)
        finally:
            for sock in list(buffers):
                self._close(sock, selector, buffers)
            selector.close()
            if not draining_since:
                listener.close()
                self._unlink_if_ours(bound)

    def _listen(self) -> socket.socket:
        """Bind the socket (this user only), taking over one left by a writer that is gone; refuse
        to start beside a writer that still answers."""
        if os.path.exists(self.path):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(self.path)
            except OSError:
                os.unlink(self.path)  # left by a writer that did not stop cleanly
            else:
                raise RuntimeError(f"Another append writer is already listening at {self.path}.")
            finally:
                probe.close()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            listener.bind(self.path)
        finally:
            os.umask(old_umask)
        listener.listen(256)
        listener.setblocking(False)
        return listener

    def _unlink_if_ours(self, bound: int) -> None:
        # Another writer may have taken the path over since: leave its socket alone.
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == bound:
                os.unlink(self.path)

    @staticmethod
    def _accept(
        listener: socket.socket, selector: selectors.BaseSelector, buffers: dict[socket.socket, bytearray]
    ) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except BlockingIOError:
                return
            except OSError as exc:  # out of file descriptors, a connection aborted: keep serving the others
                logger.warning("append writer: could not accept a connection: %s", exc)
                return
            if not _same_user(sock):
                sock.close()
                continue
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
            buffers[sock] = bytearray()

    def _receive(
        self,
        sock: socket.socket,
        selector: selectors.BaseSelector,
        buffers: dict[socket.socket, bytearray],
        arrived: list[tuple[socket.socket, WriteRequest]],
    ) -> None:
        buffer = buffers[sock]
        try:
            while True:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    self._close(sock, selector, buffers)  # a partial request is dropped, never appended
                    return
                buffer += chunk
        except BlockingIOError:
            pass
        except OSError:
            self._close(sock, selector, buffers)
            return
        while len(buffer) >= _HEADER.size:
            (length,) = _HEADER.unpack_from(buffer)
            if length > _MAX_FRAME:
                logger.warning("append writer: dropped a connection that sent a %d-byte frame", length)
                self._close(sock, selector, buffers)
                return
            if len(buffer) < _HEADER.size + length:
                return
            frame = bytes(buffer[_HEADER.size : _HEADER.size + length])
            del buffer[: _HEADER.size + length]
            try:
                arrived.append((sock, _decode_request(frame)))
            except _Incompatible as exc:
                logger.warning("append writer: %s; the worker appends itself", exc)
                if not self._send(sock, _INCOMPATIBLE, selector, buffers):
                    return
            except Exception as exc:  # noqa: BLE001 - whatever it sent, it costs only its own connection
                logger.warning("append writer: dropped a connection that sent an unreadable request: %r", exc)
                self._close(sock, selector, buffers)
                return

    def _answer(
        self,
        arrived: list[tuple[socket.socket, WriteRequest]],
        selector: selectors.BaseSelector,
        buffers: dict[socket.socket, bytearray],
    ) -> None:
        requests = [request for _, request in arrived]
        try:
            self._run(requests)
        except Exception as exc:  # noqa: BLE001 - `run` reports errors per request; this is a last resort
            logger.exception("append writer: a batch failed")
            for request in requests:
                if request.result is None and request.error is None:
                    request.error = exc
        self.batches += 1
        self.requests_served += len(requests)
        for sock, request in arrived:
            if sock in buffers:  # else the worker hung up meanwhile
                self._send(sock, _encode_outcome(request), selector, buffers)

    def _send(
        self,
        sock: socket.socket,
        frame: bytes,
        selector: selectors.BaseSelector,
        buffers: dict[socket.socket, bytearray],
    ) -> bool:
        try:
            sock.settimeout(ANSWER_GRACE_S)
            sock.sendall(_HEADER.pack(len(frame)) + frame)
            sock.setblocking(False)
        except OSError:
            self._close(sock, selector, buffers)
            return False
        return True

    @staticmethod
    def _close(sock: socket.socket, selector: selectors.BaseSelector, buffers: dict[socket.socket, bytearray]) -> None:
        buffers.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(sock)
        with contextlib.suppress(OSError):
            sock.close()
