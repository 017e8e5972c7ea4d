"""Writes for service identities and API keys."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from core.auth import clear_key_cache, digest_secret
from core.constants import NAME_PATTERN, SERVICE_NAME_MAX_LENGTH
from core.errors import NotFound, field_error
from core.models import ApiKey, Service
from core.scopes import invalid_scopes

KEY_ID_PREFIX = "elk_"


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
    *, service_name: str, scopes: Sequence[str], label: str = "", created_by_id: int | None = None
) -> tuple[ApiKey, str]:
    """Create an API key for a service (created if needed). Returns the key and its plaintext
    `<key id>.<secret>`, which is never stored and cannot be shown again."""
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
    )
    key.full_clean()
    key.save()
    return key, f"{key_id}.{secret}"


@transaction.atomic
def api_key_revoke(*, key_id: str) -> ApiKey:
    """Revoke a key; caches in other processes forget it within EVENTLINE['API_KEY_CACHE_S']."""
    key = ApiKey.objects.select_for_update().filter(key_id=key_id).first()
    if key is None:
        raise NotFound(f"API key '{key_id}' does not exist.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    transaction.on_commit(clear_key_cache)
    return key
