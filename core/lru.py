"""A least-recently-used cache bounded by bytes, for per-process caches of user-sized values.

A cache bounded by entry count is unbounded in memory when entries are as large as users make
them: 512 parsed 12 MB schemas per thread took a web worker to a gigabyte. Every cache of
registry material therefore counts (an estimate of) the bytes it holds and evicts the least
recently used entries past its budget. An entry larger than the whole budget is not kept.

Pure Python (no Django): the compatibility checker uses it too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SizedLRU(Generic[K, V]):
    """Thread-safe LRU mapping whose entries' sizes (given by the caller) add up to at most
    `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._entries))

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def put(self, key: K, value: V, size: int) -> None:
        """Keep `value` under `key` (replacing what was there), evicting the least recently used
        entries until the budget holds. A value larger than the budget is not kept."""
        with self._lock:
            self._pop(key)
            if size > self.max_bytes:
                return
            self._entries[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted

    def take(self, key: K) -> V | None:
        """Remove and return the entry (None if absent): a caller that must not share a value
        with other threads while it uses it takes it, then `put`s it back."""
        with self._lock:
            found = self._pop(key)
            return None if found is None else found[0]

    def discard_where(self, predicate: Callable[[K], bool]) -> None:
        with self._lock:
            for key in [key for key in self._entries if predicate(key)]:
                self._pop(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _pop(self, key: K) -> tuple[V, int] | None:
        found = self._entries.pop(key, None)
        if found is not None:
            self._bytes -= found[1]
        return found
