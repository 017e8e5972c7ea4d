"""Project-level endpoints: health, the answers for addresses that lead nowhere, and the audit page."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from core import selectors, services
from core.auth import ROLE_ADMIN, ROLE_EDITOR, principal_for_user
from core.choices import ActorKind, AuditAction
from core.errors import EventlineError, NotFound
from core.filtersets import AuditEntryFilterSet
from core.ui import paginate, query_without, role_required


def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


API_PATHS = ("/api/", "/registry/")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 view (handler404) and the answer to a page whose object does not exist.

    /api/ answers the API's error envelope and /registry/ Confluent's, never HTML; a page answers a
    styled 404 that says what was not found, with a way back and the catalog search."""
    path = request.path
    if path.startswith("/registry/"):
        return JsonResponse({"error_code": 404, "message": "HTTP 404 Not Found"}, status=404)
    if path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "not_found", "message": f"No API endpoint at {path}.", "details": {}}}, status=404
        )
    message = getattr(exception, "message", None) or _http404_message(exception)
    return render(request, "404.html", {"message": message, "path": path}, status=404)


def _http404_message(exception: Exception | None) -> str:
    # Django's resolver raises Http404 with a dict of debug details; only a plain message is shown.
    text = exception.args[0] if exception is not None and exception.args else ""
    return text if isinstance(text, str) and text else "There is nothing at this address."


class NotFoundPageMiddleware:
    """Pages that look up a name that does not exist (a stale link, a typo) get the styled 404:
    the selectors raise core.errors.NotFound, which the API renders itself, and a page should not
    turn it into a server error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotFound) and not request.path.startswith(API_PATHS):
            return page_not_found(request, exception)
        return None


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys (`config.retention.ms`), so a change deep inside shows as itself."""
    if not isinstance(value, dict):
        return {prefix: value} if prefix else {}
    flat: dict[str, Any] = {}
    for key, inner in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        flat.update(_flat(inner, name) if isinstance(inner, dict) and inner else {name: inner})
    return flat


def audit_changes(before: Any, after: Any) -> list[tuple[str, str, str]]:
    """What an entry changed, for the page: the keys (nested ones dotted) whose values differ, every
    key of a created or deleted object, each as (key, before, after) text."""
    if isinstance(before, dict) or isinstance(after, dict):
        old, new = _flat(before), _flat(after)
        return [
            (key, _shown(old.get(key)), _shown(new.get(key)))
            for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)
        ]
    return [("", _shown(before), _shown(after))] if before != after else []


@role_required(ROLE_EDITOR)
def audit_list(request: HttpRequest) -> HttpResponse:
    """The audit page: the same filters and rule (editors and admins) as GET /api/v1/audit/."""
    filters = AuditEntryFilterSet(request.GET, queryset=selectors.audit_entry_list())
    rows = filters.qs if filters.is_valid() else selectors.audit_entry_list().none()
    page = paginate(request, rows, per_page=50)
    context = {
        "filters": filters,
        "page": page,
        "entries": [(entry, audit_changes(entry.before, entry.after)) for entry in page],
        "actions": AuditAction.choices,
        "actor_kinds": ActorKind.choices,
        "query": query_without(request, "page"),
    }
    return render(request, "audit/entry_list.html", context)


@role_required(ROLE_ADMIN)
def api_key_list(request: HttpRequest) -> HttpResponse:
    """API keys with their state, expiry and last use; admins create, rotate and revoke them here.
    A new key's plaintext is shown once, in the answer to the POST that made it."""
    actor = principal_for_user(request.user)
    created: tuple[str, str] | None = None  # (what happened, plaintext)
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "create":
                days = request.POST.get("expires_in_days", "").strip()
                key, plaintext = services.api_key_create(
                    service_name=request.POST.get("service", "").strip(),
                    scopes=request.POST.get("scopes", "").replace(",", " ").split(),
                    label=request.POST.get("label", "").strip(),
                    expires_at=timezone.now() + timedelta(days=int(days)) if days else None,
                    actor=actor,
                )
                created = (f"Created {key.key_id} for {key.service.name}.", plaintext)
            elif action == "rotate":
                hours = int(request.POST.get("grace_hours", "24") or 24)
                key, plaintext = services.api_key_rotate(
                    key_id=request.POST.get("key_id", ""), grace_seconds=hours * 3600, actor=actor
                )
                created = (f"Created {key.key_id}; {request.POST.get('key_id')} works for {hours} h more.", plaintext)
            elif action == "revoke":
                services.api_key_revoke(key_id=request.POST.get("key_id", ""), actor=actor)
                messages.success(request, f"Revoked {request.POST.get('key_id')}.")
                return redirect("keys:key-list")
            else:
                error = "Unknown action."
        except EventlineError as exc:
            error = exc.message
        except ValueError:
            error = "Days and hours are whole numbers."
    keys = selectors.api_key_list(service_name=request.GET.get("service") or None)
    context = {"keys": keys, "created": created, "error": error, "service": request.GET.get("service", "")}
    return render(request, "keys/key_list.html", context, status=422 if error else 200)
