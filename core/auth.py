"""Who is calling: API keys (Bearer or HTTP Basic) resolve to a service principal with scopes;
logged-in users of the web UI get scopes from their role."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.conf import settings
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from core.constants import (
    SCOPE_ACTIONS,
    SCOPE_ADMIN,
    SCOPE_DESCRIBE,
    SCOPE_GROUP,
    SCOPE_PII_READ,
    SCOPE_REGISTRY_WRITE,
)
from core.errors import Forbidden, Unauthorized
from core.flushing import BackgroundFlush
from core.scopes import NameRule, name_rule

ROLE_ADMIN = "admin"
ROLE_EDITOR = "editor"
ROLE_VIEWER = "viewer"
ROLES = (ROLE_VIEWER, ROLE_EDITOR, ROLE_ADMIN)
# Not a role but a right beside one: members of this Django group (and admins) see personal data.
GROUP_PII = "pii"


@dataclass(frozen=True)
class Principal:
    """The caller as the API sees it: a service (API key) or a person (session), with scopes."""

    scopes: frozenset[str]
    service_id: int | None = None
    service_name: str | None = None
    key_id: str | None = None
    user_id: int | None = None
    username: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    is_authenticated: bool = True

    @property
    def is_admin(self) -> bool:
        return SCOPE_ADMIN in self.scopes

    @property
    def may_see_personal_data(self) -> bool:
        """Whether event reads show this principal the catalog's personal-data fields unmasked."""
        return SCOPE_ADMIN in self.scopes or SCOPE_PII_READ in self.scopes

    @cached_property
    def rules(self) -> dict[str, NameRule]:
        """Per action (produce, consume, describe, group), the names this principal may act on.
        Worked out once: principals of keys are cached per process."""
        return {
            action: name_rule(self.scopes, action, service_name=self.service_name)
            for action in (*SCOPE_ACTIONS, SCOPE_DESCRIBE, SCOPE_GROUP)
        }

    def allows(self, action: str, topic: str = "") -> bool:
        """Whether this principal may do `action` on `topic` (or on a group, for `group`)."""
        if action in (SCOPE_ADMIN, SCOPE_REGISTRY_WRITE):
            return SCOPE_ADMIN in self.scopes or action in self.scopes
        return self.rules[action].matches(topic)

    def require(self, action: str, topic: str = "") -> None:
        """Raise 403 naming the missing scope unless this principal may do `action` on `topic`."""
        if not self.allows(action, topic):
            needed = action if action in (SCOPE_ADMIN, SCOPE_REGISTRY_WRITE) else f"{action}:{topic}"
            raise Forbidden(f"Missing scope '{needed}'.", details={"required_scope": needed})

    def may_describe(self, topic: str) -> bool:
        return self.allows(SCOPE_DESCRIBE, topic)

    def may_use_group(self, group: str) -> bool:
        """Join, commit for, reset, describe and remove members of `group` (see core.scopes)."""
        return self.allows(SCOPE_GROUP, group)

    def require_group(self, group: str) -> None:
        self.require(SCOPE_GROUP, group)

    def require_describe_all(self) -> None:
        """For answers about the whole estate (lineage): every topic must be describable."""
        if not self.rules[SCOPE_DESCRIBE].everything:
            raise Forbidden("Missing scope 'describe:*'.", details={"required_scope": "describe:*"})

    @property
    def identity(self) -> str:
        """Who acts, for binding group members: the API key, else the logged-in person."""
        if self.key_id:
            return self.key_id
        return f"user:{self.user_id}" if self.user_id is not None else ""

    @property
    def display_name(self) -> str:
        return self.service_name or self.username or "anonymous"


def digest_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(token: str) -> tuple[str, str]:
    key_id, sep, secret = token.partition(".")
    if not sep or not key_id or not secret:
        raise Unauthorized("Malformed API key: expected '<key id>.<secret>'.")
    return key_id, secret


@dataclass(frozen=True)
class _CachedKey:
    digest: str
    principal: Principal
    expires_at: float


_cache: dict[str, _CachedKey] = {}
_cache_lock = threading.Lock()


def clear_key_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _load_key(key_id: str) -> _CachedKey | None:
    """The key from the database if it works now (not revoked, not expired), cached until the
    cache's time-to-live or the key's expiry, whichever comes first."""
    from django.utils import timezone

    from core.models import ApiKey

    now = timezone.now()
    row = (
        ApiKey.objects.filter(key_id=key_id, revoked_at__isnull=True)
        .exclude(expires_at__lte=now)
        .select_related("service")
        .only("secret_digest", "scopes", "expires_at", "service__id", "service__name")
        .first()
    )
    if row is None:
        return None
    principal = Principal(
        scopes=frozenset(row.scopes),
        service_id=row.service.id,
        service_name=row.service.name,
        key_id=key_id,
    )
    ttl = settings.EVENTLINE["API_KEY_CACHE_S"]
    if row.expires_at is not None:
        ttl = min(ttl, (row.expires_at - now).total_seconds())
    return _CachedKey(row.secret_digest, principal, time.monotonic() + ttl)


def authenticate_key(key_id: str, secret: str) -> Principal:
    """Resolve an API key to its principal, or raise 401. Lookups are cached briefly per process."""
    now = time.monotonic()
    cached = _cache.get(key_id)
    if cached is None or cached.expires_at <= now:
        cached = _load_key(key_id)
        if cached is None:
            raise Unauthorized(_UNKNOWN_KEY)
        if cached.expires_at > now:
            with _cache_lock:
                _cache[key_id] = cached
    assert cached is not None
    if not hmac.compare_digest(cached.digest, digest_secret(secret)):
        raise Unauthorized(_UNKNOWN_KEY)
    _record_use(key_id)
    return cached.principal


_UNKNOWN_KEY = "Unknown, revoked or expired API key."

# Last use of each key, kept in memory and written in the background (at most every
# EVENTLINE["KEY_USE_FLUSH_S"] seconds per process), so no request pays a write for it.
_uses: dict[str, float] = {}
_uses_lock = threading.Lock()


def _record_use(key_id: str) -> None:
    with _uses_lock:
        _uses[key_id] = time.time()
    _uses_flush.ensure_running(settings.EVENTLINE["KEY_USE_FLUSH_S"])


def flush_key_uses() -> int:
    """Write the last use of the keys seen since the last flush; returns how many were written."""
    from datetime import UTC, datetime

    from django.db.models import Q

    from core.models import ApiKey

    with _uses_lock:
        pending = dict(_uses)
        _uses.clear()
    for key_id, at in pending.items():
        used = datetime.fromtimestamp(at, tz=UTC)
        ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=used), key_id=key_id).update(
            last_used_at=used
        )
    return len(pending)


_uses_flush = BackgroundFlush(
    flush_key_uses, name="key-use-flush", failure="Could not record the last use of API keys."
)


def credentials_from_header(header: bytes) -> tuple[str, str] | None:
    """(key id, secret) from `Authorization: Bearer <id>.<secret>` or Basic `<id>:<secret>`."""
    if not header:
        return None
    scheme, _, value = header.partition(b" ")
    scheme_name = scheme.lower()
    value = value.strip()
    if scheme_name == b"bearer":
        return split_key(value.decode("latin-1"))
    if scheme_name == b"basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError) as exc:
            raise Unauthorized("Malformed Basic credentials.") from exc
        key_id, sep, secret = decoded.partition(":")
        if not sep or not key_id or not secret:
            raise Unauthorized("Basic credentials must be '<key id>:<secret>'.")
        return key_id, secret
    return None


def principal_for_user(user: Any) -> Principal:
    """A logged-in person's principal: admins may do anything; editors and viewers may browse.
    Personal data shows unmasked to admins and to members of the `pii` group."""
    names: set[str] = set()
    if user.is_superuser:
        roles = frozenset(ROLES)
    else:
        names = {group.name for group in user.groups.all()}
        roles = frozenset(role for role in ROLES if role in names)
        if ROLE_ADMIN in roles:
            roles = frozenset(ROLES)
        elif ROLE_EDITOR in roles:
            roles = roles | {ROLE_VIEWER}
    scopes = {SCOPE_ADMIN} if ROLE_ADMIN in roles else {"consume:*"} if roles else set()
    # Pages show every topic and group to anyone logged in; the API answers them the same.
    scopes |= {f"{SCOPE_DESCRIBE}:*", f"{SCOPE_GROUP}:*"}
    if GROUP_PII in names:
        scopes.add(SCOPE_PII_READ)
    return Principal(scopes=frozenset(scopes), user_id=user.pk, username=user.get_username(), roles=roles)


def principal_of(request: Request | Any) -> Principal:
    """The principal of an authenticated DRF request, whichever way it authenticated."""
    user = request.user
    if isinstance(user, Principal):
        return user
    if user is not None and getattr(user, "is_authenticated", False):
        cached = getattr(request, "_eventline_principal", None)
        if cached is None:
            cached = principal_for_user(user)
            request._eventline_principal = cached
        return cached
    raise Unauthorized("Authentication required: send an API key as 'Authorization: Bearer <key id>.<secret>'.")


def require_role(request: Request | Any, role: str) -> Principal:
    """For people: raise 403 unless the user holds `role`; API keys with `admin` pass too."""
    principal = principal_of(request)
    if principal.is_admin or role in principal.roles:
        return principal
    raise Forbidden(f"This needs the {role} role.", details={"required_role": role})


class ApiKeyAuthentication(BaseAuthentication):
    """DRF authentication for API keys."""

    def authenticate(self, request: Request) -> tuple[Principal, str] | None:
        credentials = credentials_from_header(get_authorization_header(request))
        if credentials is None:
            return None
        key_id, secret = credentials
        return authenticate_key(key_id, secret), key_id

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="eventline"'
