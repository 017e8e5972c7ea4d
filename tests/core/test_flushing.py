"""core.flushing.BackgroundFlush: what API keys' last uses and the registry's evidence are written
by. Interval 0 starts nothing; a positive one flushes every interval, on one thread however
often it is asked for, and a failing flush does not end it."""

from __future__ import annotations

import threading
import time

from core.flushing import BackgroundFlush


def test_zero_starts_nothing_and_a_failure_does_not_end_the_thread() -> None:
    calls: list[float] = []
    enough = threading.Event()

    def flush() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("database gone")
        if len(calls) == 3:
            enough.set()

    flusher = BackgroundFlush(flush, name="test-flush", failure="test flush failed")
    flusher.ensure_running(0)
    time.sleep(0.1)
    assert calls == [] and not [t for t in threading.enumerate() if t.name == "test-flush"]
    for _ in range(5):
        flusher.ensure_running(0.02)
    assert enough.wait(5), calls
    assert len([t for t in threading.enumerate() if t.name == "test-flush"]) == 1
