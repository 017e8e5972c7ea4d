"""Event validation for the broker: which schema a subject means now, and a compiled validator
per schema id. No HTTP; safe to call on every produce.

    resolved = resolve_subject("orders-value")          # one primary-key read when nothing changed
    issues = validator_for(resolved.schema_id).validate(event["data"])

`resolve_subject` reads the registry generation (one primary-key read) and answers from a
per-process cache until a registry write anywhere bumps it, so a registration or delete that
committed in any process is seen by the next call in every process. The produce path skips that
read: it resolves with `sync=False` and appends under `registry_guard`, which fails the append's
transaction if the registry moved since the cache last looked. Validators are compiled once
per schema id per process (ids are immutable and never reused) with jsonschema-rs, registry
references resolved locally; one whose id was permanently deleted is dropped at the next sync.

jsonschema-rs was chosen by measurement (bench/registry.py prints it beside the `jsonschema`
library; 1 KB event, 30-property schema, this 2-core machine): about 1.2 us per valid event,
against about 7 us for fastjsonschema and about 170 us for `jsonschema`. fastjsonschema also
knows drafts 4, 6 and 7 only: it reads a 2020-12 `prefixItems`/`items: false` schema as draft-07
(refusing valid tuples) and ignores 2019-09 `unevaluatedProperties`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection

from core.db import Expectation
from schemas import formats
from schemas.cache import registry_cache
from schemas.documents import json_pointer


@dataclass(frozen=True)
class ValidationIssue:
    """One reason an event does not match its schema."""

    pointer: str  # JSON pointer into the event data, e.g. "/customer/email" ("" for the root)
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "reason": self.reason}


@dataclass(frozen=True)
class ResolvedSchema:
    """A schema id and the subject version it was resolved through."""

    schema_id: int
    subject: str
    version: int


class EventValidator:
    """A compiled schema. `validate` returns [] for a valid instance (the fast path is one
    native call) or one issue per failure, each with the JSON pointer of the failing value."""

    __slots__ = ("_compiled", "schema_id")

    def __init__(self, schema_id: int, compiled: Any) -> None:
        self.schema_id = schema_id
        self._compiled = compiled

    def validate(self, instance: Any) -> list[ValidationIssue]:
        if self._compiled.is_valid(instance):
            return []
        return [
            ValidationIssue(pointer=json_pointer(error.instance_path), reason=error.message)
            for error in self._compiled.iter_errors(instance)
        ]

    def is_valid(self, instance: Any) -> bool:
        return bool(self._compiled.is_valid(instance))


def validator_for(schema_id: int) -> EventValidator:
    """The compiled validator of a schema id (compiled on first use in this process).
    Raises schemas.errors.SchemaNotFound (a LookupError) for an id that does not exist."""
    found = registry_cache.validators.get(schema_id)
    if found is not None:
        return found
    from schemas.selectors import loaded_schema

    document = loaded_schema(schema_id)
    validator = formats.event_validator(schema_id, document.schema_type, document.parsed, document.documents)
    registry_cache.remember_validator(schema_id, validator, text_length=len(document.text))
    return validator


def resolve_subject(subject: str, version: int | None = None, *, sync: bool = True) -> ResolvedSchema | None:
    """The latest live version of `subject` (or that `version`), or None if the subject or
    version does not exist or is soft-deleted. With `sync=False` the answer may be from a state
    the registry has left; the caller checks it with `registry_guard`."""
    if sync:
        registry_cache.sync()
    key = (subject, version)
    cache = registry_cache.subjects
    if key in cache:
        return cache[key]
    from schemas.models import SubjectVersion
    from schemas.naming import normalize_subject

    queryset = SubjectVersion.objects.filter(subject__name=normalize_subject(subject), deleted=False)
    if version is not None:
        queryset = queryset.filter(version=version)
    row = queryset.order_by("-version").values_list("schema_id", "version").first()
    resolved = ResolvedSchema(row[0], normalize_subject(subject), row[1]) if row is not None else None
    cache[key] = resolved
    return resolved


def resolve_schema_id(schema_id: int, *, sync: bool = True) -> ResolvedSchema | None:
    """A schema id with the first live (subject, version) holding it, or None if no live version
    holds it (unknown, permanently deleted, or only in soft-deleted versions). `sync` as for
    resolve_subject."""
    if sync:
        registry_cache.sync()
    cache = registry_cache.schema_ids
    if schema_id in cache:
        return cache[schema_id]
    from schemas.models import SubjectVersion

    row = (
        SubjectVersion.objects.filter(schema_id=schema_id, deleted=False)
        .order_by("subject__name", "version")
        .values_list("subject__name", "version")
        .first()
    )
    resolved = ResolvedSchema(schema_id, row[0], row[1]) if row is not None else None
    cache[schema_id] = resolved
    return resolved


REGISTRY_MOVED = "the schema registry changed"
# PostgreSQL advisory lock key of the registry: shared by appends' checks, exclusive for writes.
REGISTRY_LOCK_KEY = 0x4576656E746C696E  # "Eventlin"


def _on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def registry_guard(state: tuple[int, int, int]) -> Expectation:
    """A transaction's expectation that the registry is still at `state` (RegistryCache.known_state):
    what was validated against that state holds when the transaction commits. A registration
    either committed before the check (and fails it) or waits for the transaction to end."""
    epoch, generation, deletions = state
    # PostgreSQL: the check first takes the registry's advisory lock in shared mode, held until
    # the transaction ends; registry writers take it exclusively (schemas.services._lock_state),
    # so a registration waits for an append that already checked instead of committing between
    # the check and the append's COMMIT. (A shared row lock on the state row would do the same,
    # but every append would then write to that one row.) SQLite: the append already holds the
    # only write lock.
    shared = "(SELECT true FROM (SELECT pg_advisory_xact_lock_shared(%s)) AS locked) AND " if _on_postgresql() else ""
    return Expectation(
        f"{shared}COALESCE((SELECT epoch = %s AND generation = %s AND deletions = %s FROM schemas_registrystate "
        "WHERE id = 1), %s)",
        [*([REGISTRY_LOCK_KEY] if shared else []), epoch, generation, deletions, state == (0, 0, 0)],
        REGISTRY_MOVED,
    )
