"""Epoch-millisecond time, the unit Kafka and the log use."""

from __future__ import annotations

import datetime
import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def ms_to_datetime(value: int | None) -> datetime.datetime | None:
    if value is None:
        return None
    return datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC)


def ms_to_iso(value: int | None) -> str | None:
    moment = ms_to_datetime(value)
    return moment.isoformat().replace("+00:00", "Z") if moment else None
