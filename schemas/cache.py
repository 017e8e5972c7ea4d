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
from typing import Any

from django.db import connection

from core.lru import SizedLRU

ID_READ_SYNC_S = 0.2
_PRUNE_CHUNK = 500
DEFAULT_CACHE_BYTES = 32 << 20
#: Estimated bytes per byte of schema text. A parsed document measured 4.3 times its text
#: (tracemalloc); jsonschema-rs's compiled form lives outside Python's heap and is estimated.
DOCUMENT_BYTES_PER_TEXT_BYTE = 5
VALIDATOR_BYTES_PER_TEXT_BYTE = 4
#: An id read keeps the text and its references: the text, plus room for the rest.
ID_READ_OVERHEAD_BYTES = 256


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
        # Keyed by schema id, each bounded by (estimated) bytes: schemas are as large as users
        # make them. schema id -> EventValidator / LoadedSchema / GET /schemas/ids/{id} answer
        self.validators: SizedLRU[int, Any] = SizedLRU(DEFAULT_CACHE_BYTES)
        self.documents: SizedLRU[int, Any] = SizedLRU(DEFAULT_CACHE_BYTES)
        self.id_reads: SizedLRU[int, Any] = SizedLRU(DEFAULT_CACHE_BYTES)

    def configure(self, *, max_bytes: int) -> None:
        """Set the byte budget of each cache keyed by schema id (emptying them)."""
        with self._lock:
            for cache in (self.validators, self.documents, self.id_reads):
                cache.clear()
                cache.max_bytes = max_bytes

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
                self._clear_by_id()
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
            for cache in (self.validators, self.documents, self.id_reads):
                cache.discard_where(gone.__contains__)

    def _clear_by_id(self) -> None:
        for cache in (self.validators, self.documents, self.id_reads):
            cache.clear()

    def forget_ids(self, ids: set[int]) -> None:
        """Drop ids this process just deleted (other processes learn it on their next sync)."""
        with self._lock:
            self._forget(ids)
            self.subjects = {}
            self.schema_ids = {}

    def document(self, schema_id: int) -> Any | None:
        return self.documents.get(schema_id)

    def remember_document(self, schema_id: int, document: Any) -> None:
        self.documents.put(schema_id, document, len(document.text) * DOCUMENT_BYTES_PER_TEXT_BYTE)

    def remember_validator(self, schema_id: int, validator: Any, *, text_length: int) -> None:
        self.validators.put(schema_id, validator, text_length * VALIDATOR_BYTES_PER_TEXT_BYTE)

    def remember_id_read(self, schema_id: int, answer: Any) -> None:
        self.id_reads.put(schema_id, answer, len(answer.schema_text) + ID_READ_OVERHEAD_BYTES)

    def clear(self) -> None:
        with self._lock:
            self._state = None
            self.synced_at = 0.0
            self.subjects, self.schema_ids = {}, {}
            self._clear_by_id()


registry_cache = RegistryCache()
