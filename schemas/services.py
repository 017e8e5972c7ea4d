"""Writes to the registry: register, delete (soft, then permanent), config and mode.

Every write runs in one transaction that first locks the registry state row: writers are
serialised (version numbers and ids are allocated without races on PostgreSQL; SQLite takes its
write lock at BEGIN anyway), and the generation counter is bumped before commit so every process
sees the change on its next `registry_cache.sync()`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from core.auth import Principal
from core.choices import AuditAction
from core.services import SYSTEM_ACTOR, audit_record
from schemas import constants as c
from schemas import errors
from schemas import selectors as s
from schemas.cache import registry_cache
from schemas.choices import Mode
from schemas.documents import Reference
from schemas.errors import IncompatibleSchema, InvalidSchema, RegistryError
from schemas.models import RegistryState, Schema, SchemaReference, Subject, SubjectVersion
from schemas.naming import context_of, parse_level, parse_mode, parse_policy, valid_subject
from schemas.validation import REGISTRY_LOCK_KEY


@dataclass(frozen=True)
class RegisteredVersion:
    """What a registration returns: the global id and the subject's version holding it."""

    schema_id: int
    subject: str
    version: int
    schema_type: str
    schema_text: str
    references: tuple[Reference, ...]
    created: bool


def _lock_state() -> RegistryState:
    """Lock (creating if needed) the state row; call first in every registry write. On PostgreSQL
    the registry's advisory lock comes first, exclusive: appends that checked the registry hold it
    shared until they commit (schemas.validation.registry_guard)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REGISTRY_LOCK_KEY])
    state = RegistryState.objects.select_for_update().filter(pk=RegistryState.SINGLETON_ID).first()
    if state is None:
        # ON CONFLICT DO NOTHING: two processes creating it at once must not fail each other.
        RegistryState.objects.bulk_create(
            [
                RegistryState(
                    pk=RegistryState.SINGLETON_ID,
                    epoch=secrets.randbits(62),
                    generation=0,
                    next_schema_id=s.max_schema_id() + 1,
                )
            ],
            ignore_conflicts=True,
        )
        state = RegistryState.objects.select_for_update().get(pk=RegistryState.SINGLETON_ID)
    registry_cache.observe(state.epoch, state.generation, state.deletions)
    return state


def _bump(state: RegistryState) -> None:
    """Publish this transaction's write: the row is locked, so the in-memory values are current."""
    state.generation += 1
    RegistryState.objects.filter(pk=state.pk).update(
        generation=state.generation, next_schema_id=state.next_schema_id, deletions=state.deletions
    )


def _refuse_if_read_only(subject: str, mode: Mode) -> None:
    if mode.refuses_writes:
        raise errors.not_permitted(c.MSG_READ_ONLY.format(subject=subject, context=context_of(subject)))


# ---------------------------------------------------------------------------------------------
# Register


class _Refused(Exception):
    """Inside the registration's transaction: the candidate is incompatible. Carries what the
    example search needs, so it runs after the transaction has released the registry lock."""

    def __init__(self, subject: str, result: Any, candidate: Any, previous: list[Any]) -> None:
        super().__init__(subject)
        self.subject, self.result, self.candidate, self.previous = subject, result, candidate, previous


def schema_version_register(
    *,
    subject: str,
    schema: object,
    schema_type: object,
    references: object = None,
    normalize: bool = False,
    schema_id: int | None = None,
    version: int | None = None,
    actor: Principal = SYSTEM_ACTOR,
) -> RegisteredVersion:
    """Register a schema under a subject (POST /subjects/{s}/versions).

    A schema already live in the subject returns its id and version with no check and no new
    version. Otherwise the schema is checked (42201), then for compatibility with the live
    versions at the subject's level (409), then gets the id it already has under any subject
    (or a new one) and version max(all versions, soft-deleted included) + 1. IMPORT mode keeps an
    explicit `schema_id` (and `version`) and skips the compatibility check; READONLY refuses (42205).
    A new version is audited; an idempotent re-registration changes nothing and is not.

    The 409's example event (schemas.examples, up to its time budget) is searched for after the
    registration's transaction ends, so a refused change never holds the registry lock while it
    searches (the lock is still held when a caller's own transaction encloses this one).
    """
    try:
        return _register_locked(
            subject=subject,
            schema=schema,
            schema_type=schema_type,
            references=references,
            normalize=normalize,
            schema_id=schema_id,
            version=version,
            actor=actor,
        )
    except _Refused as refused:
        result = s.add_example(refused.result, refused.candidate, refused.previous)
        sentences = [difference.explanation for difference in result.differences if difference.breaks]
        example = result.example.line() if result.example is not None else ""
        raise IncompatibleSchema(refused.subject, result.messages, sentences=sentences, example=example) from None


@transaction.atomic
def _register_locked(
    *,
    subject: str,
    schema: object,
    schema_type: object,
    references: object,
    normalize: bool,
    schema_id: int | None,
    version: int | None,
    actor: Principal,
) -> RegisteredVersion:
    subject = valid_subject(subject)
    state = _lock_state()
    versions = s.version_heads(subject)
    subject_row = versions[0].subject if versions else s.subject_get(subject)
    mode = s.effective_mode(subject_row, state)
    _refuse_if_read_only(subject, mode)
    if schema_id is not None and not mode.takes_explicit_ids:
        raise errors.not_permitted(c.MSG_NOT_IMPORT_MODE.format(subject=subject, context=context_of(subject)))
    config = s.effective_config(subject_row, state)
    candidate = s.candidate_from_request(
        schema=schema,
        schema_type=schema_type,
        references=references,
        normalize=normalize or config.normalize,
        check=False,
    )
    live = [row for row in versions if not row.deleted]
    for row in live:
        if row.schema.fingerprint == candidate.fingerprint and (schema_id is None or row.schema_id == schema_id):
            return _registered(row.schema, subject, row.version, created=False)

    # Only now the full check: a schema already registered was checked when it was.
    candidate = s.candidate_checked(candidate)
    next_version = max((row.version for row in versions), default=0) + 1
    if version is not None:
        if mode.takes_explicit_ids:
            if any(row.version == version for row in versions):
                raise errors.not_permitted(
                    f"Version {version} of subject {subject} already exists; an import does not overwrite versions"
                )
            next_version = version
        elif version != next_version:
            raise InvalidSchema(c.MSG_VERSION_NOT_NEXT)
    if not mode.takes_explicit_ids:
        result = s.check_against(candidate, live, config, with_example=False)
        if not result.is_compatible:
            raise _Refused(subject, result, candidate, live)

    schema_row = _schema_for(candidate, state, schema_id)
    if subject_row is None:
        subject_row = Subject(name=subject)
        subject_row.full_clean()
        subject_row.save()
    SubjectVersion.objects.create(subject=subject_row, version=next_version, schema=schema_row)
    latest = max(live, key=lambda row: row.version, default=None)
    audit_record(
        principal=actor,
        action=AuditAction.SCHEMA_REGISTERED,
        target_type="subject",
        target=subject,
        before={"version": latest.version, "schema_id": latest.schema_id} if latest is not None else None,
        after={"version": next_version, **_schema_audited(schema_row)},
    )
    _bump(state)
    return _registered(schema_row, subject, next_version, created=True)


def _schema_audited(schema_row: Schema) -> dict[str, Any]:
    """What the audit keeps of a registered schema: its id and type, and its text unless long."""
    text = schema_row.schema_text
    shown: dict[str, Any] = {
        "schema_id": schema_row.id,
        "schema_type": schema_row.schema_type,
        "fingerprint": schema_row.fingerprint,
    }
    if schema_row.references:
        shown["references"] = schema_row.references
    if len(text) <= c.AUDIT_SCHEMA_TEXT_MAX_CHARS:
        shown["schema"] = text
    else:
        shown["schema_length"] = len(text)
    return shown


def _versions_audited(rows: Iterable[SubjectVersion]) -> list[dict[str, Any]]:
    return [{"version": row.version, "schema_id": row.schema_id, "deleted": row.deleted} for row in rows]


def _schema_for(candidate: s.Candidate, state: RegistryState, explicit_id: int | None) -> Schema:
    """The schema row for this content: the id it already has, the explicit (IMPORT) id, or a new one."""
    if explicit_id is not None:
        existing = Schema.objects.filter(pk=explicit_id).first()
        if existing is not None:
            if existing.fingerprint != candidate.fingerprint:
                raise RegistryError(c.ID_DOES_NOT_MATCH, c.MSG_ID_DOES_NOT_MATCH)
            return existing
        if not 1 <= explicit_id <= c.VERSION_MAX:
            raise InvalidSchema(f"Invalid schema id {explicit_id}: ids are between 1 and 2^31-1")
        new_id = explicit_id
        next_id = max(state.next_schema_id, explicit_id + 1)
    else:
        existing = Schema.objects.filter(fingerprint=candidate.fingerprint).order_by("id").first()
        if existing is not None:
            return existing
        new_id = state.next_schema_id
        next_id = new_id + 1
    row = Schema(
        id=new_id,
        schema_type=candidate.schema_type,
        schema_text=candidate.text,
        fingerprint=candidate.fingerprint,
        references=[reference.as_dict() for reference in candidate.references],
    )
    row.full_clean(validate_unique=False)
    row.save(force_insert=True)
    SchemaReference.objects.bulk_create(
        [
            SchemaReference(
                schema=row, position=position, name=reference.name, subject=reference.subject, version=reference.version
            )
            for position, reference in enumerate(candidate.references)
        ]
    )
    state.next_schema_id = next_id  # written by _bump
    return row


def _registered(schema_row: Schema, subject: str, version: int, *, created: bool) -> RegisteredVersion:
    return RegisteredVersion(
        schema_id=schema_row.id,
        subject=subject,
        version=version,
        schema_type=schema_row.schema_type,
        schema_text=schema_row.schema_text,
        references=tuple(s._reference_from_stored(item) for item in schema_row.references),
        created=created,
    )


# ---------------------------------------------------------------------------------------------
# Delete


def _reference_key(subject: str, version: int) -> str:
    return f"{{magic=1,keytype=SCHEMA,subject={subject},version={version}}}"


def _check_not_referenced(subject: str, versions: Iterable[int], *, permanent: bool) -> None:
    # A soft delete is refused while a live schema refers to the version; a permanent one while
    # any version (soft-deleted included) does, since that schema's id must stay resolvable.
    for number in versions:
        if s.version_is_referenced(subject, number, by_deleted_too=permanent):
            raise errors.reference_exists(_reference_key(subject, number))


def _delete_orphan_schemas(state: RegistryState, schema_ids: set[int]) -> set[int]:
    """Remove schema rows no version holds any more; returns the ids removed."""
    held = set(SubjectVersion.objects.filter(schema_id__in=schema_ids).values_list("schema_id", flat=True))
    orphans = schema_ids - held
    if orphans:
        Schema.objects.filter(id__in=orphans).delete()
        state.deletions += 1  # written by _bump
        # Forget them here at once (a rollback only costs a reload); other processes on their next sync.
        registry_cache.forget_ids(orphans)
    return orphans


@transaction.atomic
def subject_delete(*, subject: str, permanent: bool = False, actor: Principal = SYSTEM_ACTOR) -> list[int]:
    """DELETE /subjects/{s}: soft-delete every live version (40404 if none is left), or with
    `permanent` remove a soft-deleted subject for good, its config and mode too (40405 if it
    still has live versions). Returns the version numbers deleted."""
    state = _lock_state()
    subject_row = s.subject_get(subject)
    versions = s.all_versions(subject) if subject_row is not None else []
    if subject_row is None or not versions:
        raise errors.subject_not_found(subject)
    _refuse_if_read_only(subject, s.effective_mode(subject_row, state))
    live = [row for row in versions if not row.deleted]
    if not permanent:
        if not live:
            raise RegistryError(c.SUBJECT_SOFT_DELETED, c.MSG_SUBJECT_SOFT_DELETED.format(subject=subject))
        _check_not_referenced(subject, [row.version for row in live], permanent=False)
        SubjectVersion.objects.filter(pk__in=[row.pk for row in live]).update(deleted=True)
        before = _versions_audited(versions)
        for row in live:
            row.deleted = True
        audit_record(
            principal=actor,
            action=AuditAction.SUBJECT_DELETED,
            target_type="subject",
            target=subject,
            before={"versions": before},
            after={"versions": _versions_audited(versions)},
        )
        _bump(state)
        return [row.version for row in live]
    if live:
        raise RegistryError(c.SUBJECT_NOT_SOFT_DELETED, c.MSG_SUBJECT_NOT_SOFT_DELETED.format(subject=subject))
    _check_not_referenced(subject, [row.version for row in versions], permanent=True)
    schema_ids = {row.schema_id for row in versions}
    before = {
        "versions": _versions_audited(versions),
        "config": s._config_fields(subject_row),
        "mode": subject_row.mode,
    }
    subject_row.delete()
    removed = _delete_orphan_schemas(state, schema_ids)
    audit_record(
        principal=actor,
        action=AuditAction.SUBJECT_PURGED,
        target_type="subject",
        target=subject,
        before=before,
        after={"schema_ids_removed": sorted(removed)} if removed else None,
    )
    _bump(state)
    return [row.version for row in versions]


@transaction.atomic
def schema_version_delete(
    *, subject: str, version: int | str, permanent: bool = False, actor: Principal = SYSTEM_ACTOR
) -> int:
    """DELETE /subjects/{s}/versions/{v}: soft-delete a live version (40406 if already), or with
    `permanent` remove a soft-deleted one (40407 if still live). A version another schema refers
    to cannot be deleted (42206). Returns the version number."""
    state = _lock_state()
    subject_row = s.subject_get(subject)
    versions = s.all_versions(subject) if subject_row is not None else []
    if subject_row is None or not versions:
        raise errors.subject_not_found(subject)
    _refuse_if_read_only(subject, s.effective_mode(subject_row, state))
    if version == c.VERSION_LATEST:
        live = [row for row in versions if not row.deleted]
        if not live:
            raise errors.subject_not_found(subject)
        row = live[-1]
    else:
        matching = [row for row in versions if row.version == version]
        if not matching:
            raise errors.version_not_found(version)
        row = matching[0]
    if not permanent:
        if row.deleted:
            raise RegistryError(
                c.SCHEMAVERSION_SOFT_DELETED, c.MSG_VERSION_SOFT_DELETED.format(subject=subject, version=row.version)
            )
        _check_not_referenced(subject, [row.version], permanent=False)
        SubjectVersion.objects.filter(pk=row.pk).update(deleted=True)
        audit_record(
            principal=actor,
            action=AuditAction.SCHEMA_VERSION_DELETED,
            target_type="subject",
            target=subject,
            before={"version": row.version, "schema_id": row.schema_id, "deleted": False},
            after={"version": row.version, "schema_id": row.schema_id, "deleted": True},
        )
        _bump(state)
        return row.version
    if not row.deleted:
        raise RegistryError(
            c.SCHEMAVERSION_NOT_SOFT_DELETED,
            c.MSG_VERSION_NOT_SOFT_DELETED.format(subject=subject, version=row.version),
        )
    _check_not_referenced(subject, [row.version], permanent=True)
    before = {"version": row.version, "schema_id": row.schema_id, "deleted": True}
    row.delete()
    removed = _delete_orphan_schemas(state, {row.schema_id})
    if len(versions) == 1 and not subject_row.has_config and not subject_row.mode:
        subject_row.delete()
    audit_record(
        principal=actor,
        action=AuditAction.SCHEMA_VERSION_PURGED,
        target_type="subject",
        target=subject,
        before=before,
        after={"schema_ids_removed": sorted(removed)} if removed else None,
    )
    _bump(state)
    return row.version


# ---------------------------------------------------------------------------------------------
# Config


@dataclass(frozen=True)
class ConfigUpdate:
    """The keys of a PUT /config body this registry stores (others are ignored)."""

    compatibility: str | None = None
    compatibility_policy: str | None = None
    normalize: bool | None = None
    validate_fields: bool | None = None

    def echo(self) -> dict[str, object]:
        """The PUT response: Confluent echoes the update with the level under `compatibility`."""
        return s.config_shown(
            "compatibility", self.compatibility, self.compatibility_policy, self.normalize, self.validate_fields
        )


def config_update_from(body: dict[str, object]) -> ConfigUpdate:
    """Check a PUT /config body: levels and policies case-insensitive, stored upper-case (42203)."""
    level = body.get("compatibility")
    policy = body.get("compatibilityPolicy")
    normalize = body.get("normalize")
    validate_fields = body.get("validateFields")
    return ConfigUpdate(
        compatibility=parse_level(level).value if level is not None else None,
        compatibility_policy=parse_policy(policy).value if policy is not None else None,
        normalize=normalize if isinstance(normalize, bool) else None,
        validate_fields=validate_fields if isinstance(validate_fields, bool) else None,
    )


@transaction.atomic
def config_update(*, subject: str | None, update: ConfigUpdate, actor: Principal = SYSTEM_ACTOR) -> dict[str, object]:
    """PUT /config[/{s}]: set the given keys (others kept). Works for a subject with no versions.
    Audited when a stored key changes."""
    row: RegistryState | Subject
    state = _lock_state()
    if subject is None:
        row = state
    else:
        subject = valid_subject(subject)
        row = s.subject_get(subject) or Subject(name=subject)
    before = s._config_fields(row)
    for attribute, value in (
        ("compatibility_level", update.compatibility),
        ("compatibility_policy", update.compatibility_policy),
        ("normalize", update.normalize),
        ("validate_fields", update.validate_fields),
    ):
        if value is not None:
            setattr(row, attribute, value)
    if isinstance(row, Subject) and row.pk is None:
        row.full_clean()
        row.save()
    else:
        row.save(update_fields=["compatibility_level", "compatibility_policy", "normalize", "validate_fields"])
    after = s._config_fields(row)
    if after != before:
        audit_record(
            principal=actor,
            action=AuditAction.REGISTRY_CONFIG_CHANGED,
            target_type="registry_config",
            target=subject or c.GLOBAL_SUBJECT,
            before=before,
            after=after,
        )
    _bump(state)
    return update.echo()


@transaction.atomic
def config_delete(*, subject: str | None, actor: Principal = SYSTEM_ACTOR) -> dict[str, object]:
    """DELETE /config[/{s}]: drop the config (the global one falls back to the server default);
    returns the config that was in place. A subject without its own config is 40401. Audited
    unless nothing was set."""
    state = _lock_state()
    if subject is None:
        previous = s.global_config()
        row: RegistryState | Subject = state
    else:
        found = s.subject_get(subject)
        if found is None or not found.has_config:
            raise errors.subject_not_found(subject)
        previous = s.subject_config(subject)
        row = found
    before = s._config_fields(row)
    row.compatibility_level = row.compatibility_policy = None
    row.normalize = row.validate_fields = None
    row.save(update_fields=["compatibility_level", "compatibility_policy", "normalize", "validate_fields"])
    if isinstance(row, Subject):
        _drop_if_empty(row)
    if before:
        audit_record(
            principal=actor,
            action=AuditAction.REGISTRY_CONFIG_DELETED,
            target_type="registry_config",
            target=subject or c.GLOBAL_SUBJECT,
            before=before,
        )
    _bump(state)
    return previous


def _drop_if_empty(subject_row: Subject) -> None:
    if not subject_row.has_config and not subject_row.mode and not subject_row.versions.exists():
        subject_row.delete()


# ---------------------------------------------------------------------------------------------
# Mode


@transaction.atomic
def mode_update(*, subject: str | None, mode: object, force: bool = False, actor: Principal = SYSTEM_ACTOR) -> str:
    """PUT /mode[/{s}]. FORWARD is global only (42204). Switching to IMPORT where live versions
    exist is refused (42205) unless `force`; the switch permanently removes soft-deleted versions
    in its scope, as Confluent does (42206 if one is referenced). Audited when the mode changes,
    with the versions the switch removed."""
    new_mode = parse_mode(mode)
    state = _lock_state()
    if subject is not None:
        if new_mode is Mode.FORWARD:
            raise errors.invalid_mode(c.MSG_FORWARD_MODE_GLOBAL_ONLY)
        subject = valid_subject(subject)
        row: RegistryState | Subject = s.subject_get(subject) or Subject(name=subject)
        scope = SubjectVersion.objects.filter(subject__name=subject)
        current = row.mode
    else:
        row = state
        scope = SubjectVersion.objects.all()
        current = state.mode
    purged: list[dict[str, Any]] = []
    if new_mode is Mode.IMPORT and current != Mode.IMPORT:
        if scope.filter(deleted=False).exists() and not force:
            raise errors.not_permitted(c.MSG_IMPORT_EXISTING_SUBJECTS)
        purged = _purge_soft_deleted(state, scope.filter(deleted=True))
    row.mode = new_mode.value
    if isinstance(row, Subject) and row.pk is None:
        row.full_clean()
        row.save()
    else:
        row.save(update_fields=["mode"])
    if current != new_mode.value:
        after: dict[str, Any] = {"mode": new_mode.value}
        if purged:
            after["purged_versions"] = purged
        audit_record(
            principal=actor,
            action=AuditAction.REGISTRY_MODE_CHANGED,
            target_type="registry_mode",
            target=subject or c.GLOBAL_SUBJECT,
            before={"mode": current},
            after=after,
        )
    _bump(state)
    return new_mode.value


def _purge_soft_deleted(state: RegistryState, soft_deleted: Iterable[SubjectVersion]) -> list[dict[str, Any]]:
    """Remove soft-deleted versions for good; returns which (subject, version, schema id)."""
    rows = list(soft_deleted.select_related("subject"))  # type: ignore[attr-defined]
    for row in rows:
        _check_not_referenced(row.subject.name, [row.version], permanent=True)
    schema_ids = {row.schema_id for row in rows}
    SubjectVersion.objects.filter(pk__in=[row.pk for row in rows]).delete()
    _delete_orphan_schemas(state, schema_ids)
    return [{"subject": row.subject.name, "version": row.version, "schema_id": row.schema_id} for row in rows]


@transaction.atomic
def mode_delete(*, subject: str | None, actor: Principal = SYSTEM_ACTOR) -> str:
    """DELETE /mode[/{s}]: drop the mode (global falls back to READWRITE); returns the old one.
    A subject without its own mode is 40401. Audited unless no mode was set."""
    state = _lock_state()
    stored: str | None
    if subject is None:
        stored = state.mode
        previous = state.mode or c.DEFAULT_MODE
        state.mode = None
        state.save(update_fields=["mode"])
    else:
        row = s.subject_get(subject)
        if row is None or not row.mode:
            raise errors.subject_not_found(subject)
        stored = previous = row.mode
        row.mode = None
        row.save(update_fields=["mode"])
        _drop_if_empty(row)
    if stored:
        audit_record(
            principal=actor,
            action=AuditAction.REGISTRY_MODE_DELETED,
            target_type="registry_mode",
            target=subject or c.GLOBAL_SUBJECT,
            before={"mode": stored},
        )
    _bump(state)
    return previous
