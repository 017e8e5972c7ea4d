"""SQLite: one process writes the appends of every web worker (the append writer).

SQLite lets one transaction write at a time. When each web worker appended its own events, the
worker holding the write lock shared its interpreter with the threads parsing the next requests,
and it ran for only about 60% of the time it held the lock (measured at batch 100 under 8
producers): the lock, not the two cores, set the pace. The writer is a process with nothing else
to do. A worker still checks its events, looks up repeats and plans the rows (broker.log.sql's
_Plan, everything but the offsets); it sends the plan over a Unix socket beside the database.
The writer writes whatever plans have arrived in one transaction (group commit across all
workers) and answers each with its end offsets per partition, or with its own error: a batch
that fails is written again plan by plan, so one request's error never fails another's.

`make run` starts the writer beside the web server on SQLite (`manage.py run_append_writer`). A
worker that finds no writer listening appends itself, as before, under the same write lock, so
the writer is never needed for correctness: tests, management commands and a stopped writer all
take that path. If the writer goes away after a request was sent, the worker cannot know whether
the append committed; it answers 503, and the client's retry with the same event ids is answered
from the log (repeats come back as duplicates, never appended twice).

Frames both ways: a 4-byte big-endian length, then JSON (orjson). Only this user can open the
socket (mode 0600, like the database file itself).
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

_HEADER = struct.Struct(">I")
_MAX_FRAME = 256 * 1024 * 1024
# A worker waits this long for an answer before it gives up with 503: as long as a worker would
# wait for SQLite's write lock (the database's `timeout`).
REPLY_TIMEOUT_S = 30.0
# After a failed connect, a thread tries again only after this long, so a missing writer costs
# one failed connect per thread per second, not one per append.
_RETRY_CONNECT_S = 1.0


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
    """Where this database's writer listens: None on PostgreSQL, with EVENTLINE_APPEND_WRITER
    off, or when socket_path_for finds no place for it."""
    from django.conf import settings

    if connection.vendor != "sqlite" or not settings.EVENTLINE["APPEND_WRITER"]:
        return None
    return socket_path_for(str(connection.settings_dict["NAME"]))


# -- the request and the answer ---------------------------------------------------------------


@dataclass
class WriteRequest:
    """One worker's planned append (broker.log.sql._Plan, as `wire()` gives it), and what became
    of it: the plan's end offsets per partition, or its error."""

    plan: Any
    result: dict[tuple[int, int], int] | None = None
    error: BaseException | None = None


def _decode_request(frame: bytes) -> WriteRequest:
    from broker.log.sql import _Plan

    return WriteRequest(_Plan.from_wire(frame))


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
    else:
        failure = {"kind": "failed", "message": f"{type(error).__name__}: {error}"}
    return orjson.dumps({"error": failure})


def _decode_outcome(frame: bytes) -> dict[tuple[int, int], int]:
    outcome = orjson.loads(frame)
    if "ends" in outcome:
        return {(topic_id, partition): end for topic_id, partition, end in outcome["ends"]}
    failure = outcome["error"]
    if failure["kind"] == "not_found":
        raise NotFound(failure["message"], code=failure["code"])
    if failure["kind"] == "expectation":
        raise ExpectationFailed(failure["reason"])
    if failure["kind"] == "integrity":
        raise IntegrityError(failure["message"])
    raise DatabaseError(f"The append writer could not append: {failure['message']}")


# -- the worker's side ------------------------------------------------------------------------


class AppendWriterClient:
    """A web worker's way to the writer: one connection per thread, opened on first use."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()

    def write(self, wired_plan: list[bytes]) -> dict[tuple[int, int], int] | None:
        """Have the writer write a plan (the pieces `_Plan.wire()` gives): its end offsets per
        partition, or the error the writer met (NotFound, ExpectationFailed, IntegrityError, DatabaseError). None
        when no writer is listening: nothing was sent, append in this process instead."""
        sock = self._connected()
        if sock is None:
            return None
        frame = b"".join([_HEADER.pack(sum(map(len, wired_plan))), *wired_plan])
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
        return _decode_outcome(reply)

    def _connected(self) -> socket.socket | None:
        sock = getattr(self._local, "sock", None)
        if sock is not None:
            return sock
        if time.monotonic() < getattr(self._local, "retry_at", 0.0):
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(REPLY_TIMEOUT_S)
        try:
            sock.connect(self.path)
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
    # A forked child must not share its parent's connections to the writer.
    global _clients
    _clients = {}


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
        self._listener: socket.socket | None = None
        self.ready = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def serve(self) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # a socket left by a writer that did not stop cleanly
        old_umask = os.umask(0o177)
        try:
            listener.bind(self.path)
        finally:
            os.umask(old_umask)
        listener.listen(256)
        listener.setblocking(False)
        self._listener = listener
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ)
        buffers: dict[socket.socket, bytearray] = {}
        self.ready.set()
        try:
            while not self._stop.is_set():
                arrived: list[tuple[socket.socket, WriteRequest]] = []
                for key, _ in selector.select(timeout=0.5):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is listener:
                        self._accept(listener, selector, buffers)
                    else:
                        self._receive(sock, selector, buffers, arrived)
                if arrived:
                    self._answer(arrived, selector, buffers)
        finally:
            for sock in list(buffers):
                self._close(sock, selector, buffers)
            selector.close()
            listener.close()
            with contextlib.suppress(FileNotFoundError):
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
            except (ValueError, TypeError, LookupError) as exc:
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
        self._run(requests)
        self.batches += 1
        self.requests_served += len(requests)
        for sock, request in arrived:
            if sock not in buffers:
                continue  # the worker hung up meanwhile
            frame = _encode_outcome(request)
            try:
                sock.settimeout(REPLY_TIMEOUT_S)
                sock.sendall(_HEADER.pack(len(frame)) + frame)
                sock.setblocking(False)
            except OSError:
                self._close(sock, selector, buffers)

    @staticmethod
    def _close(sock: socket.socket, selector: selectors.BaseSelector, buffers: dict[socket.socket, bytearray]) -> None:
        buffers.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(sock)
        with contextlib.suppress(OSError):
            sock.close()
