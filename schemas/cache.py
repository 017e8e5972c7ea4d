"""Per-process caches of the registry, kept honest by the generation counter.

Every registry write transaction bumps `RegistryState.generation` (and `deletions` when it
permanently deletes schema ids). A reader that must see every committed write (resolving a
subject on produce) calls `registry_cache.sync()`: one primary-key read; when the generation
moved, the subject resolutions are dropped, and when `deletions` moved, cached ids that no longer
exist are forgotten. Schema contents, by-id answers and compiled validators are keyed by id, and
ids are immutable and never reused, so they need no other invalidation. A new epoch (the state
row made anew) drops everything.

The broker's produce path reads without syncing and instead checks, in the transaction that
appends, that the state it validated against is still the database's (`registry_guard`); when it
is not, it syncs and validates again. That saves a read per produce.

`GET /schemas/ids/{id}` is the other read that does not sync on every call: it is served from
memory and syncs at most every `ID_READ_SYNC_S`, so a permanent delete committed by another
process is seen there within that time (a Confluent follower serves such reads with the same
kind of lag). A new id is never delayed: a miss always reads the database.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from django.db import connection

DOCUMENT_CACHE_SIZE = 4096
ID_READ_CACHE_SIZE = 20000
ID_READ_SYNC_S = 0.2
_PRUNE_CHUNK = 500


class RegistryCache:
    """What one process remembers of the registry between requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (epoch, generation, deletions) of the state row this cache reflects; None before a sync.
        # One tuple, replaced whole, so a reader never sees two states mixed.
        self._state: tuple[int, int, int] | None = None
        self.synced_at = 0.0
        # (subject, version or None) -> ResolvedSchema | None
        self.subjects: dict[tuple[str, int | None], Any] = {}
        # schema id -> ResolvedSchema | None
        self.schema_ids: dict[int, Any] = {}
        # schema id -> EventValidator
        self.validators: dict[int, Any] = {}
        # schema id -> LoadedSchema (LRU)
        self.documents: OrderedDict[int, Any] = OrderedDict()
        # schema id -> its GET /schemas/ids/{id} answer
        self.id_reads: dict[int, Any] = {}

    def sync(self) -> None:
        """Read the state row and drop what a committed write may have changed."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT epoch, generation, deletions FROM schemas_registrystate WHERE id = 1")
            row = cursor.fetchone()
        epoch, generation, deletions = row if row is not None else (0, 0, 0)
        self.synced_at = time.monotonic()
        if (epoch, generation, deletions) != self._state:
            self.observe(epoch, generation, deletions)

    def known_state(self) -> tuple[int, int, int]:
        """The (epoch, generation, deletions) this process's cache reflects, read once if it has
        none yet. A caller that answers from the cache without `sync` checks it is still the
        database's in the transaction that acts on the answer (schemas.validation.registry_guard)."""
        if self._state is None:
            self.sync()
        state = self._state
        return state if state is not None else (0, 0, 0)

    def sync_if_older_than(self, seconds: float) -> None:
        if time.monotonic() - self.synced_at >= seconds:
            self.sync()

    def observe(self, epoch: int, generation: int, deletions: int) -> None:
        """Adopt a state seen by this process (by `sync`, or by a write that holds the row lock)."""
        with self._lock:
            known = self._state
            if (epoch, generation, deletions) == known:
                return
            if known is None or epoch != known[0]:
                self.validators, self.id_reads = {}, {}
                self.documents = OrderedDict()
            elif deletions != known[2]:
                self._forget(self._deleted_ids())
            self.subjects = {}
            self.schema_ids = {}
            self._state = (epoch, generation, deletions)

    def _deleted_ids(self) -> set[int]:
        from schemas.models import Schema

        cached = sorted(set(self.validators) | set(self.documents) | set(self.id_reads))
        alive: set[int] = set()
        for start in range(0, len(cached), _PRUNE_CHUNK):
            chunk = cached[start : start + _PRUNE_CHUNK]
            alive.update(Schema.objects.filter(id__in=chunk).values_list("id", flat=True))
        return set(cached) - alive

    def _forget(self, gone: set[int]) -> None:
        if gone:
            self.validators = {key: value for key, value in self.validators.items() if key not in gone}
            self.id_reads = {key: value for key, value in self.id_reads.items() if key not in gone}
            self.documents = OrderedDict((key, value) for key, value in self.documents.items() if key not in gone)

    def forget_ids(self, ids: set[int]) -> None:
        """Drop ids this process just deleted (other processes learn it on their next sync)."""
        with self._lock:
            self._forget(ids)
            self.subjects = {}
            self.schema_ids = {}

    def document(self, schema_id: int) -> Any | None:
        found = self.documents.get(schema_id)
        if found is not None:
            try:
                self.documents.move_to_end(schema_id)
            except KeyError:
                pass
        return found

    def remember_document(self, schema_id: int, document: Any) -> None:
        with self._lock:
            self.documents[schema_id] = document
            while len(self.documents) > DOCUMENT_CACHE_SIZE:
                self.documents.popitem(last=False)

    def remember_id_read(self, schema_id: int, answer: Any) -> None:
        if len(self.id_reads) >= ID_READ_CACHE_SIZE:
            self.id_reads = {}
        self.id_reads[schema_id] = answer

    def clear(self) -> None:
        with self._lock:
            self._state = None
            self.synced_at = 0.0
            self.subjects, self.schema_ids, self.validators, self.id_reads = {}, {}, {}, {}
            self.documents = OrderedDict()


registry_cache = RegistryCache()
