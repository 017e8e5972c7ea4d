"""Writes for service identities and API keys, and the audit every audited change writes."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.auth import Principal, clear_key_cache, digest_secret
from core.choices import ActorKind, AuditAction
from core.constants import NAME_PATTERN, SCOPE_ADMIN, SERVICE_NAME_MAX_LENGTH
from core.errors import NotFound, field_error
from core.middleware import current_request_meta
from core.models import ApiKey, AuditEntry, Service
from core.scopes import invalid_scopes

KEY_ID_PREFIX = "elk_"

# Who acts when no person or key does: management commands, periodic work. It may do anything
# (an operator at the shell already can); audit entries show it as the system.
SYSTEM_ACTOR = Principal(scopes=frozenset({SCOPE_ADMIN}), username="system")


def _actor_fields(principal: Principal) -> dict[str, Any]:
    if principal.key_id:
        return {
            "actor_kind": ActorKind.KEY,
            "actor": principal.service_name or "",
            "actor_key_id": principal.key_id,
        }
    if principal.user_id is not None:
        return {"actor_kind": ActorKind.USER, "actor": principal.username or "", "actor_user_id": principal.user_id}
    return {"actor_kind": ActorKind.SYSTEM, "actor": principal.display_name}


def audit_record(
    *,
    principal: Principal,
    action: str,
    target_type: str,
    target: str,
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    """Record a change: who (`principal`), what (`action` on `target_type` `target`), and the
    state before and after (JSON; None where the object did not or no longer exists).

    Call it inside the transaction that makes the change, after the change's own checks: the
    entry commits or rolls back with it. Outside a transaction it refuses, since an entry written
    on its own could outlive a change that failed.
    """
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}; add it to core.choices.AuditAction")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    request_id, remote_addr = current_request_meta()
    entry = AuditEntry(
        **_actor_fields(principal),
        action=action,
        target_type=target_type,
        target=target,
        before=before,
        after=after,
        request_id=request_id,
        remote_addr=remote_addr,
    )
    entry.save()
    return entry


def _validate_service_name(name: str) -> None:
    if not name or len(name) > SERVICE_NAME_MAX_LENGTH or not NAME_PATTERN.match(name):
        raise field_error(
            "service",
            f"'{name}' is not a valid service name: use 1-{SERVICE_NAME_MAX_LENGTH} of a-z, A-Z, 0-9, '.', '_', '-'.",
        )


@transaction.atomic
def service_get_or_create(*, name: str, description: str = "") -> Service:
    """Return the service called `name`, creating it if it does not exist yet."""
    _validate_service_name(name)
    service, _ = Service.objects.get_or_create(name=name, defaults={"description": description})
    return service


@transaction.atomic
def api_key_create(
    *,
    service_name: str,
    scopes: Sequence[str],
    label: str = "",
    created_by_id: int | None = None,
    expires_at: datetime | None = None,
    actor: Principal = SYSTEM_ACTOR,
) -> tuple[ApiKey, str]:
    """Create an API key for a service (created if needed), working until `expires_at` (or for
    good). Returns the key and its plaintext `<key id>.<secret>`, which is never stored and cannot
    be shown again. Audited (never the secret or its digest)."""
    if expires_at is not None and expires_at <= timezone.now():
        raise field_error("expires_at", "must be in the future")
    bad = invalid_scopes(scopes)
    if bad or not scopes:
        raise field_error(
            "scope",
            f"invalid scope(s) {bad or '(none given)'}: use admin, registry:write, produce:<topic or prefix*>, "
            "consume:<topic or prefix*>, describe:<topic or prefix*>, group:<group or prefix*>",
        )
    service = service_get_or_create(name=service_name)
    key_id = KEY_ID_PREFIX + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        key_id=key_id,
        secret_digest=digest_secret(secret),
        service=service,
        scopes=sorted(set(scopes)),
        label=label,
        created_by_id=created_by_id,
        expires_at=expires_at,
    )
    key.full_clean()
    key.save()
    audit_record(
        principal=actor,
        action=AuditAction.API_KEY_CREATED,
        target_type="api_key",
        target=key_id,
        after=_key_snapshot(key),
    )
    return key, f"{key_id}.{secret}"


def _key_snapshot(key: ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "service": key.service.name,
        "scopes": key.scopes,
        "label": key.label,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        "replaced_by": key.replaced_by.key_id if key.replaced_by_id else None,
    }


#: How long a rotated key keeps working beside its replacement, unless the rotation says.
DEFAULT_ROTATION_GRACE_S = 24 * 3600
MAX_ROTATION_GRACE_S = 90 * 24 * 3600


@transaction.atomic
def api_key_rotate(
    *, key_id: str, grace_seconds: int = DEFAULT_ROTATION_GRACE_S, actor: Principal = SYSTEM_ACTOR
) -> tuple[ApiKey, str]:
    """Replace a key with a new one of the same service, scopes and label. Both work during the
    grace period (the old key then expires; one already expiring sooner keeps its expiry), so
    clients can move to the new key without an outage. Returns the new key and its plaintext."""
    if type(grace_seconds) is not int or not 0 <= grace_seconds <= MAX_ROTATION_GRACE_S:
        raise field_error("grace_seconds", f"must be an integer from 0 to {MAX_ROTATION_GRACE_S}")
    old = ApiKey.objects.select_for_update(of=("self",)).select_related("service").filter(key_id=key_id).first()
    if old is None:
        raise NotFound(f"API key '{key_id}' does not exist.")
    if old.state != "active":
        raise field_error("key_id", f"the key is {old.state}: only an active key can be rotated")
    before = _key_snapshot(old)
    new, plaintext = api_key_create(
        service_name=old.service.name,
        scopes=old.scopes,
        label=old.label,
        expires_at=old.expires_at,
        actor=actor,
    )
    grace_end = timezone.now() + timedelta(seconds=grace_seconds)
    old.expires_at = grace_end if old.expires_at is None else min(old.expires_at, grace_end)
    old.replaced_by = new
    old.save(update_fields=["expires_at", "replaced_by"])
    audit_record(
        principal=actor,
        action=AuditAction.API_KEY_ROTATED,
        target_type="api_key",
        target=old.key_id,
        before=before,
        after=_key_snapshot(old),
    )
    transaction.on_commit(clear_key_cache)
    return new, plaintext


@transaction.atomic
def api_key_revoke(*, key_id: str, actor: Principal = SYSTEM_ACTOR) -> ApiKey:
    """Revoke a key; caches in other processes forget it within EVENTLINE['API_KEY_CACHE_S'].
    Revoking a revoked key changes nothing and is not audited again."""
    key = ApiKey.objects.select_for_update(of=("self",)).select_related("service").filter(key_id=key_id).first()
    if key is None:
        raise NotFound(f"API key '{key_id}' does not exist.")
    if key.revoked_at is None:
        before = _key_snapshot(key)
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(
            principal=actor,
            action=AuditAction.API_KEY_REVOKED,
            target_type="api_key",
            target=key.key_id,
            before=before,
            after=_key_snapshot(key),
        )
    transaction.on_commit(clear_key_cache)
    return key
