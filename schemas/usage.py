"""Registry traffic as evidence of who produces and consumes what (issue 18). Native clients never
call Eventline's broker, but their Confluent serializers call its registry: a serializer registers
its schema under the subject (or looks it up, or reads the subject's latest version) before it
writes, and a deserializer fetches each schema id it meets. So a service's key seen doing the first
is a producer candidate for the subject's topics, and one doing the second a consumer candidate.

Successful requests of that kind are counted in memory per (service, role, subject, schema id,
minute) and written in the background every EVENTLINE["REGISTRY_USE_FLUSH_S"] seconds per process
(`registry_uses_flush`), as API keys' last uses are, so no registry request pays a write. Requests
by people (a browser session) and by keys of no service are not evidence. Lineage reads the rows
(lineage.registry_evidence)."""

from __future__ import annotations

import json
import threading
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse

from core.auth import Principal
from core.flushing import BackgroundFlush
from core.timeutil import now_ms
from schemas.constants import SUBJECT_MAX_LENGTH
from schemas.models import RegistryUse

_UPSERT = (
    "INSERT INTO schemas_registryuse (service_id, role, subject, schema_id, minute_ms, requests, last_seen_ms) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (service_id, role, subject, schema_id, minute_ms) "
    "DO UPDATE SET requests = schemas_registryuse.requests + excluded.requests, "
    "last_seen_ms = CASE WHEN excluded.last_seen_ms > schemas_registryuse.last_seen_ms "
    "THEN excluded.last_seen_ms ELSE schemas_registryuse.last_seen_ms END"
)
_PRODUCER_ROUTES = {
    ("POST", "registry-versions"),  # register (auto.register.schemas)
    ("POST", "registry-subject"),  # look the schema up under the subject
    ("GET", "registry-version"),  # the latest version (use.latest.version), or one by number
}

RETENTION_MS = 7 * 24 * 3600 * 1000
_Key = tuple[int, str, str, int, int]  # service id, role, subject, schema id, minute
_pending: dict[_Key, list[int]] = {}  # -> [requests, last seen ms]
_lock = threading.Lock()


def registry_use_note(
    request: HttpRequest, principal: Principal, kwargs: dict[str, Any], response: HttpResponse
) -> None:
    """Count this request as evidence when it is a serializer's or a deserializer's, by a
    service's key, and it succeeded."""
    if principal.service_id is None or response.status_code != 200 or request.resolver_match is None:
        return
    route = (request.method or "", request.resolver_match.url_name or "")
    if route in _PRODUCER_ROUTES:
        role, subject = RegistryUse.PRODUCER, str(kwargs.get("subject", ""))
        schema_id = _id_of(response)
    elif route == ("GET", "registry-schema-by-id"):
        role, subject = RegistryUse.CONSUMER, request.GET.get("subject", "")
        schema_id = int(kwargs["schema_id"]) if str(kwargs.get("schema_id", "")).isdigit() else 0
    else:
        return
    at = now_ms()
    key = (principal.service_id, role, subject[:SUBJECT_MAX_LENGTH], schema_id, at - at % 60_000)
    with _lock:
        counted = _pending.setdefault(key, [0, at])
        counted[0] += 1
        counted[1] = at
    _uses_flush.ensure_running(settings.EVENTLINE["REGISTRY_USE_FLUSH_S"])


def registry_uses_flush() -> int:
    """Write what was counted since the last flush, in one transaction; returns how many rows."""
    with _lock:
        pending = dict(_pending)
        _pending.clear()
    if not pending:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        for (service_id, role, subject, schema_id, minute), (requests, last) in sorted(pending.items()):
            cursor.execute(_UPSERT, [service_id, role, subject, schema_id, minute, requests, last])
    return len(pending)


def registry_uses_prune(*, now_ms: int) -> int:
    """Forget evidence older than seven days, as observed flows are."""
    deleted, _ = RegistryUse.objects.filter(minute_ms__lt=now_ms - RETENTION_MS).delete()
    return deleted


def registry_uses_forget() -> None:
    """Drop what was counted and not written (for tests, whose databases come and go)."""
    with _lock:
        _pending.clear()


_uses_flush = BackgroundFlush(
    registry_uses_flush, name="registry-use-flush", failure="Could not record the registry's use as evidence."
)


def _id_of(response: HttpResponse) -> int:
    try:
        found = json.loads(response.content).get("id")
    except (ValueError, AttributeError):
        return 0
    return found if isinstance(found, int) else 0
