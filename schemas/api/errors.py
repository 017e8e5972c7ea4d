"""Confluent's error envelope: `{"error_code": N, "message": "..."}` with HTTP status = the code's
first three digits (registry-api.md §2)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from core.jsonutil import dumps
from schemas import constants as c
from schemas.api.negotiation import response_content_type
from schemas.errors import RegistryError

COMMON_HEADERS = {
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "X-XSS-Protection": "1; mode=block",
}


def error_response(request: HttpRequest, error: RegistryError) -> HttpResponse:
    response = HttpResponse(
        dumps({"error_code": error.error_code, "message": error.message}),
        status=error.http_status,
        content_type=response_content_type(request),
        headers=COMMON_HEADERS,
    )
    if error.error_code == c.UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Basic realm="eventline-registry", Bearer realm="eventline"'
    return response


def http_error(status: int, reason: str) -> RegistryError:
    """Errors the Confluent server raises outside its own codes (Jersey's): the code is the status."""
    return RegistryError(status, f"HTTP {status} {reason}")
