"""Request context for the audit: which request a change came from (remote address, request id)
without passing the request into every service.

The middleware only remembers the request object for the duration of the call; the address and id
are worked out when (rarely) an audit entry is written, so the produce path pays one context
variable set and reset per request.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest
from django.http.response import HttpResponseBase

_current_request: ContextVar[HttpRequest | None] = ContextVar("eventline_current_request", default=None)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,64}$")


def request_context_middleware(
    get_response: Callable[[HttpRequest], HttpResponseBase],
) -> Callable[[HttpRequest], HttpResponseBase]:
    def middleware(request: HttpRequest) -> HttpResponseBase:
        token = _current_request.set(request)
        try:
            return get_response(request)
        finally:
            _current_request.reset(token)

    return middleware


def current_request_meta() -> tuple[str, str | None]:
    """(request id, remote address) of the request being served, or ("", None) outside one.
    The id is the caller's `X-Request-ID` when it is a sane token, else one made up for this request
    (the same for every entry the request writes)."""
    request = _current_request.get()
    if request is None:
        return "", None
    request_id = getattr(request, "_eventline_request_id", None)
    if request_id is None:
        supplied = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        request._eventline_request_id = request_id  # type: ignore[attr-defined]
    return request_id, request.META.get("REMOTE_ADDR") or None
