"""Writing in the background what requests only counted in memory (API keys' last uses, the
registry's use as lineage evidence), so no request pays a write for it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class BackgroundFlush:
    """Calls `flush` every `interval_s` seconds in a daemon thread of its own, started by the first
    `ensure_running` with a positive interval (0: never; the caller flushes when it likes). A
    failed flush is logged and retried at the next interval; the thread's database connection is
    closed after each round."""

    def __init__(self, flush: Callable[[], object], *, name: str, failure: str) -> None:
        self._flush = flush
        self._name = name
        self._failure = failure
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure_running(self, interval_s: float) -> None:
        if interval_s <= 0 or (self._thread is not None and self._thread.is_alive()):
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, args=(interval_s,), name=self._name, daemon=True)
                self._thread.start()

    def _loop(self, interval_s: float) -> None:
        from django.db import connection

        while True:
            time.sleep(interval_s)
            try:
                self._flush()
            except Exception:  # noqa: BLE001 - a busy or gone database must not end the thread
                logger.warning(self._failure, exc_info=True)
            finally:
                connection.close()
