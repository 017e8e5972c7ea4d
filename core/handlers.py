"""One Django, two middleware chains: a request that brings an API key to the API skips the
middleware that exists for people in a browser.

Sessions, CSRF cookies, the logged-in user, flash messages and static files mean nothing to a
service calling `/api/` or `/registry/` with `Authorization: Bearer ...` or Basic credentials:
its identity comes from the key (core.auth.ApiKeyAuthentication), and DRF checks CSRF only for
session logins. The chain it gets keeps everything else in `MIDDLEWARE` (the security headers,
Django's common handling, any middleware added later), so the answers are the same. Measured in
process, the skipped middleware was 50-70 us of a 700 us single-event produce.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

BROWSER_ONLY_MIDDLEWARE = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    }
)
logger = logging.getLogger(__name__)
API_PATHS = ("/api/", "/registry/")
_KEY_SCHEMES = (b"bearer", b"basic")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ApiKeyHandler(WSGIHandler):
    """Django's WSGI handler with `MIDDLEWARE` less BROWSER_ONLY_MIDDLEWARE.

    It also keeps request and response bodies out of DRF's reference cycles. DRF ties the
    request, the view and the response together, and only the cyclic garbage collector frees
    them, which the web workers run less often (core.process): a produce body (up to
    EVENTLINE_MAX_REQUEST_BYTES) and a fetch answer (megabytes at 1,000 events) waited there for
    it, and under load a worker's peak memory grew by 40-140 MB. So once the response is ready the
    request lets go of its body, and a complete response is handed to the server as a list
    holding the only reference to its bytes."""

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        response = super().get_response(request)
        request.__dict__.pop("_body", None)
        request.__dict__.pop("_stream", None)
        request.META.pop("wsgi.input", None)
        return response

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        response = super().__call__(environ, start_response)
        if not isinstance(response, HttpResponse):  # streaming, files: the server walks them as usual
            return response
        body = response.content
        try:
            response.close()  # what the server would call once it has sent the body (request_finished)
        except Exception:  # the answer is complete: a failing clean-up must not turn it into a 500
            logger.exception("Closing a response failed after it was complete.")
        response.content = b""
        return [body]

    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE; this runs once, as the process starts.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = [path for path in full if path not in BROWSER_ONLY_MIDDLEWARE]
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


def carries_api_key(environ: dict[str, Any]) -> bool:
    """An API path with Bearer or Basic credentials (checked, as always, by the view)."""
    if not environ.get("PATH_INFO", "").startswith(API_PATHS):
        return False
    scheme = environ.get("HTTP_AUTHORIZATION", "").encode("latin-1", "replace").partition(b" ")[0]
    return scheme.lower() in _KEY_SCHEMES


def with_api_key_chain(browser: WSGIApp) -> WSGIApp:
    """The WSGI application: API-key requests to ApiKeyHandler, everything else to `browser`."""
    api = ApiKeyHandler()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if carries_api_key(environ):
            return api(environ, start_response)
        return browser(environ, start_response)

    return application
