"""Key -> partition exactly as Kafka's Java producer picks it, so keys land where Java clients
would put them: `(murmur2(key bytes) & 0x7fffffff) % partitions`.

Pure; no Django import.
"""

from __future__ import annotations

import itertools
import threading
from functools import lru_cache

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (`Utils.murmur2`), returned as the Java signed 32-bit int."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    full = length & ~3
    for i in range(0, full, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    tail = length & 3
    if tail == 3:
        h ^= data[full + 2] << 16
    if tail >= 2:
        h ^= data[full + 1] << 8
    if tail >= 1:
        h ^= data[full]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def to_positive(value: int) -> int:
    """Kafka's `Utils.toPositive`: clear the sign bit (not abs())."""
    return value & 0x7FFFFFFF


@lru_cache(maxsize=65536)
def partition_for_key(key: bytes, partitions: int) -> int:
    """Cached: keys repeat (an order, a customer) and murmur2 in Python costs microseconds."""
    return to_positive(murmur2(key)) % partitions


class RoundRobin:
    """Spreads events without a key over the partitions in turn, per topic."""

    def __init__(self) -> None:
        self._counters: dict[int, itertools.count[int]] = {}
        self._lock = threading.Lock()

    def next(self, topic_id: int, partitions: int) -> int:
        counter = self._counters.get(topic_id)
        if counter is None:
            with self._lock:
                counter = self._counters.setdefault(topic_id, itertools.count())
        # itertools.count is atomic under the GIL.
        return next(counter) % partitions
