"""What every request must satisfy before any view reads it: a body of at most
EVENTLINE_MAX_REQUEST_BYTES (Django's DATA_UPLOAD_MAX_MEMORY_SIZE) and a URL without NUL
characters. One middleware, early in both chains (core.handlers), so the API, the registry and the
pages all refuse the same requests, each in its own shape, before anything is parsed.

Django reads a body only as far as CONTENT_LENGTH says and takes a request without one as
empty. Granian hands over a chunked body (HTTP/1.1 `Transfer-Encoding: chunked`, or HTTP/2 without
content-length) that way, decoded, with `wsgi.input_terminated` set: such a body is read here in
bounded pieces, one byte past the limit at most, and handed on as if its length had been declared.
A chunked body that the server did not decode cannot be read safely, and is refused with 411.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from core.errors import BadRequest, EventlineError, LengthRequired, field_error, payload_too_large
from core.jsonutil import dumps

_READ_PIECE = 64 * 1024
_NO_BODY_METHODS = frozenset({"GET", "HEAD"})
_API_PATH = "/api/"
_NATIVE_API_PATH = "/api/v1/"
# The registry answers in Confluent's envelope (schemas.api.errors); core cannot import it, and
# these refusals need only its two fields and content type.
_REGISTRY_PATH = "/registry/"
_REGISTRY_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


def request_limits_middleware(
    get_response: Callable[[HttpRequest], HttpResponseBase],
) -> Callable[[HttpRequest], HttpResponseBase]:
    def middleware(request: HttpRequest) -> HttpResponseBase:
        refusal = _nul_in_url(request) or _repeated_query_parameter(request) or _body_refusal(request)
        if refusal is not None:
            return _render(request, refusal)
        return get_response(request)

    return middleware


def _nul_in_url(request: HttpRequest) -> EventlineError | None:
    # Names travel in paths and query strings; PostgreSQL cannot compare a text with a NUL in it.
    if "\x00" in request.path_info:
        part = "path"
    else:
        query = request.META.get("QUERY_STRING", "")
        if "%00" not in query and "\x00" not in query:
            return None
        part = "query"
    reason = "must not contain a NUL character (%00)"
    return BadRequest(
        f"The URL {part} {reason}.", code="nul_character", details={"errors": [{"field": part, "reason": reason}]}
    )


def _repeated_query_parameter(request: HttpRequest) -> EventlineError | None:
    # No /api/v1/ parameter takes several values: a second one would be silently ignored (Django
    # reads the last), so the client learns it sent something the API does not do.
    if not request.path_info.startswith(_NATIVE_API_PATH) or "&" not in request.META.get("QUERY_STRING", ""):
        return None
    for name, values in request.GET.lists():
        if len(values) > 1:
            return field_error(name, f"is given {len(values)} times; every query parameter takes one value")
    return None


def _body_refusal(request: HttpRequest) -> EventlineError | None:
    limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    meta = request.META
    try:
        declared: int | None = int(meta["CONTENT_LENGTH"])
    except (KeyError, ValueError, TypeError):
        declared = None
    if declared is not None:
        return payload_too_large(limit) if limit is not None and declared > limit else None
    if meta.get("wsgi.input_terminated"):
        if request.method in _NO_BODY_METHODS:
            return None
        body = _read_bounded(meta["wsgi.input"], limit)
        if body is None:
            assert limit is not None
            return payload_too_large(limit)
        meta["CONTENT_LENGTH"] = str(len(body))
        meta["wsgi.input"] = io.BytesIO(body)
        request._stream = LimitedStream(meta["wsgi.input"], len(body))
        return None
    if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        return LengthRequired("A chunked request body needs a server that decodes it; send Content-Length.")
    return None


def _read_bounded(stream: IO[bytes], limit: int | None) -> bytes | None:
    """The whole stream, or None as soon as it holds more than `limit` bytes."""
    pieces: list[bytes] = []
    size = 0
    while True:
        piece = stream.read(_READ_PIECE if limit is None else min(_READ_PIECE, limit + 1 - size))
        if not piece:
            return b"".join(pieces)
        pieces.append(piece)
        size += len(piece)
        if limit is not None and size > limit:
            return None


def _render(request: HttpRequest, error: EventlineError) -> HttpResponse:
    path = request.path_info
    if path.startswith(_API_PATH):
        return HttpResponse(dumps(error.as_envelope()), status=error.status_code, content_type="application/json")
    if path.startswith(_REGISTRY_PATH):
        body = {"error_code": error.status_code, "message": error.message}
        return HttpResponse(dumps(body), status=error.status_code, content_type=_REGISTRY_CONTENT_TYPE)
    return HttpResponse(error.message, status=error.status_code, content_type="text/plain; charset=utf-8")
