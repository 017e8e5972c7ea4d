"""Project-level endpoints: health, and the answers for addresses that lead nowhere."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from core.errors import NotFound


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
