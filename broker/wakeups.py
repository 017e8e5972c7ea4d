"""Wake-ups for long-polling fetches.

A fetch that finds nothing waits until something is appended to one of its topics. Appends can
happen in any process (gunicorn workers, the scheduler), so an append bumps a slot in a small
memory-mapped file shared by every process on the machine; one watcher thread per process notices
changed slots and wakes the waiting threads. With REDIS_URL the bump is also published on Redis
so processes on other machines wake too. Waiters re-check the database at least every
`FALLBACK_RECHECK_S`, so a lost wake-up costs latency, never correctness.
"""

from __future__ import annotations

import logging
import mmap
import os
import struct
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

SLOTS = 512
SLOT_SIZE = 8
WATCH_INTERVAL_S = 0.001
FALLBACK_RECHECK_S = 0.5
REDIS_CHANNEL = "eventline:appends"


def slot_of(topic_id: int) -> int:
    return topic_id % SLOTS


class WakeupHub:
    """Per-process registry of threads waiting for appends, keyed by topic slot."""

    def __init__(self, run_dir: str, redis_url: str = "") -> None:
        self._cond = threading.Condition()
        self._versions = [0] * SLOTS
        self._waiters = 0
        self._stamp = (os.getpid() & 0xFFFF) << 48
        self._counter = 0
        self._map = self._open_shared(Path(run_dir) / "wakeups.bin")
        self._seen = bytes(self._map[:]) if self._map is not None else b""
        self._watcher: threading.Thread | None = None
        self._watch_needed = threading.Event()
        self._redis_url = redis_url
        self._redis_publisher = None
        if redis_url:
            self._start_redis_listener()

    @staticmethod
    def _open_shared(path: Path) -> mmap.mmap | None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_size < SLOTS * SLOT_SIZE:
                    os.ftruncate(fd, SLOTS * SLOT_SIZE)
                return mmap.mmap(fd, SLOTS * SLOT_SIZE)
            finally:
                os.close(fd)
        except OSError:
            logger.warning("No shared wake-up file at %s; fetches fall back to polling.", path, exc_info=True)
            return None

    # -- producers -------------------------------------------------------------------------------

    def notify(self, topic_ids: Iterable[int]) -> None:
        """Called after an append commits: wake local waiters and tell the other processes."""
        slots = {slot_of(topic_id) for topic_id in topic_ids}
        if not slots:
            return
        if self._map is not None:
            for slot in slots:
                # A value never written before, so a watcher always sees a change.
                self._counter += 1
                struct.pack_into("<Q", self._map, slot * SLOT_SIZE, self._stamp | (self._counter & 0xFFFFFFFFFFFF))
        self._bump(slots)
        if self._redis_url:
            self._publish(slots)

    def _bump(self, slots: Iterable[int]) -> None:
        with self._cond:
            for slot in slots:
                self._versions[slot] += 1
            self._cond.notify_all()

    # -- consumers -------------------------------------------------------------------------------

    def versions(self, topic_ids: Iterable[int], snapshot: Sequence[int] | None = None) -> tuple[int, ...]:
        """A snapshot to take *before* reading the log; `wait` returns once it changes. With
        `snapshot` (from `snapshot()`, taken before reading, when the topics were not yet known)
        the topics' versions as they were then."""
        versions = self._versions if snapshot is None else snapshot
        return tuple(versions[slot_of(topic_id)] for topic_id in topic_ids)

    def snapshot(self) -> tuple[int, ...]:
        """Every slot's version now, for `versions` once the topics are known."""
        return tuple(self._versions)

    def wait(self, topic_ids: Iterable[int], seen: tuple[int, ...], timeout_s: float) -> None:
        """Block until an append to one of `topic_ids` since `seen`, or `timeout_s`. Never longer
        than FALLBACK_RECHECK_S, so the caller looks at the database again now and then."""
        slots = [slot_of(topic_id) for topic_id in topic_ids]

        def changed() -> bool:
            return tuple(self._versions[slot] for slot in slots) != seen

        with self._cond:
            if changed():
                return
            self._waiters += 1
            self._ensure_watcher()
            try:
                self._cond.wait_for(changed, timeout=max(0.0, min(timeout_s, FALLBACK_RECHECK_S)))
            finally:
                self._waiters -= 1

    # -- cross-process -------------------------------------------------------------------------

    def _ensure_watcher(self) -> None:
        self._watch_needed.set()
        if self._map is None or (self._watcher is not None and self._watcher.is_alive()):
            return
        self._watcher = threading.Thread(target=self._watch, name="eventline-wakeups", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        assert self._map is not None
        while True:
            if self._waiters == 0:
                self._watch_needed.clear()
                self._watch_needed.wait(timeout=1.0)
                self._seen = bytes(self._map[:])
                continue
            current = bytes(self._map[:])
            if current != self._seen:
                changed = [
                    slot
                    for slot in range(SLOTS)
                    if current[slot * SLOT_SIZE : (slot + 1) * SLOT_SIZE]
                    != self._seen[slot * SLOT_SIZE : (slot + 1) * SLOT_SIZE]
                ]
                self._seen = current
                self._bump(changed)
            time.sleep(WATCH_INTERVAL_S)

    def _publish(self, slots: set[int]) -> None:
        try:
            if self._redis_publisher is None:
                import redis

                self._redis_publisher = redis.Redis.from_url(self._redis_url)
            self._redis_publisher.publish(REDIS_CHANNEL, ",".join(map(str, sorted(slots))))
        except Exception:  # noqa: BLE001 - a wake-up is an optimisation; never fail an append for it
            logger.warning("Could not publish a wake-up on Redis.", exc_info=True)

    def _start_redis_listener(self) -> None:
        def listen() -> None:
            import redis

            while True:
                try:
                    pubsub = redis.Redis.from_url(self._redis_url).pubsub(ignore_subscribe_messages=True)
                    pubsub.subscribe(REDIS_CHANNEL)
                    for message in pubsub.listen():
                        data = message.get("data")
                        if isinstance(data, bytes) and data:
                            self._bump(int(slot) for slot in data.split(b","))
                except Exception:  # noqa: BLE001
                    logger.warning("Redis wake-up listener lost its connection; retrying.", exc_info=True)
                    time.sleep(1.0)

        threading.Thread(target=listen, name="eventline-wakeups-redis", daemon=True).start()


_hub: WakeupHub | None = None
_hub_pid: int | None = None
_hub_lock = threading.Lock()


def hub() -> WakeupHub:
    """The hub of this process (a forked worker gets its own)."""
    global _hub, _hub_pid
    if _hub is None or _hub_pid != os.getpid():
        with _hub_lock:
            if _hub is None or _hub_pid != os.getpid():
                from django.conf import settings

                _hub = WakeupHub(settings.EVENTLINE["RUN_DIR"], settings.REDIS_URL)
                _hub_pid = os.getpid()
    return _hub
