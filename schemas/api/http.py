"""The plumbing every registry endpoint shares: method dispatch, authentication, body and query
parsing, and rendering in Confluent's content types and error envelope.

The registry is served by plain Django views rather than DRF: its error envelope, content types
and status codes are Confluent's, not the native API's, and `GET /schemas/ids/{id}` is read on
every deserialisation by every consumer, so it is kept to authentication and one indexed read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from core.auth import Principal, authenticate_key, credentials_from_header, principal_for_user
from core.constants import SCOPE_REGISTRY_WRITE
from core.errors import NUL_REASON, Unauthorized
from core.jsonutil import (
    JSONDecodeError,
    dotted,
    dumps,
    loads,
    max_json_depth,
    nesting_exceeds,
    nul_location,
    parser_depth_exceeded,
)
from schemas import constants as c
from schemas.api.errors import COMMON_HEADERS, error_response, http_error
from schemas.api.negotiation import request_body_type_is_accepted, response_content_type
from schemas.errors import RegistryError
from schemas.usage import registry_use_note

logger = logging.getLogger(__name__)

Handler = Callable[..., HttpResponse]


@dataclass(frozen=True)
class Route:
    handler: Handler
    write: bool = False


def json_response(request: HttpRequest, data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(dumps(data), status=status, content_type=response_content_type(request), headers=COMMON_HEADERS)


def text_response(request: HttpRequest, text: str) -> HttpResponse:
    """The raw schema endpoints answer with the schema text itself, unescaped."""
    return HttpResponse(text.encode(), content_type=response_content_type(request), headers=COMMON_HEADERS)


def endpoint(**routes: Route) -> Callable[..., HttpResponse]:
    """A view serving `routes` by HTTP method (GET=Route(handler), PUT=Route(handler, write=True)...)."""

    @csrf_exempt  # API keys are not ambient credentials; session writes are checked below.
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        route = routes.get(request.method or "")
        try:
            if route is None:
                raise http_error(405, "Method Not Allowed")
            principal = _authorize(request, write=route.write)
            request.registry_principal = principal  # type: ignore[attr-defined]
            response = route.handler(request, **kwargs)
            registry_use_note(request, principal, kwargs, response)
            return response
        except RegistryError as error:
            return error_response(request, error)
        except DatabaseError:
            logger.exception("registry store error on %s %s", request.method, request.path)
            return error_response(
                request, RegistryError(c.STORE_ERROR, "Error in the backend data store while serving the request")
            )

    return view


def _authorize(request: HttpRequest, *, write: bool) -> Principal:
    """An API key (Bearer or Basic), else the logged-in user; writes need `registry:write`."""
    try:
        credentials = credentials_from_header(request.headers.get("Authorization", "").encode("latin-1", "replace"))
        if credentials is not None:
            principal = authenticate_key(*credentials)
        else:
            user = getattr(request, "user", None)
            if user is None or not user.is_authenticated:
                raise RegistryError(c.UNAUTHORIZED, "Unauthorized: send an API key (HTTP Basic: key id and secret)")
            principal = principal_for_user(user)
            if write:
                _enforce_csrf(request)
    except Unauthorized as exc:
        raise RegistryError(c.UNAUTHORIZED, f"Unauthorized: {exc.message}") from None
    if write and not principal.allows(SCOPE_REGISTRY_WRITE):
        raise RegistryError(
            c.FORBIDDEN,
            f"User is denied operation on the schema registry: missing scope '{SCOPE_REGISTRY_WRITE}'",
        )
    return principal


def caller(request: HttpRequest) -> Principal:
    """Who is calling (set by `endpoint` once authorised): the actor the audit records for writes."""
    principal: Principal = request.registry_principal  # type: ignore[attr-defined]
    return principal


def _enforce_csrf(request: HttpRequest) -> None:
    # Same check DRF's SessionAuthentication makes: a browser session must not be usable cross-site.
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason is not None:
        raise RegistryError(c.FORBIDDEN, "CSRF check failed for a session-authenticated write")


def read_body(request: HttpRequest) -> dict[str, Any]:
    """The JSON object of a request body; unknown fields are the caller's to ignore."""
    if not request_body_type_is_accepted(request):
        raise http_error(415, "Unsupported Media Type")
    raw = request.body
    if not raw.strip():
        return {}
    limit = max_json_depth()
    too_deep = RegistryError(
        422, f"Unprocessable request body: nested more than {limit} levels deep (EVENTLINE_MAX_JSON_DEPTH)"
    )
    try:
        body = loads(raw)
    except JSONDecodeError as exc:
        if parser_depth_exceeded(exc):
            raise too_deep from None
        raise RegistryError(400, f"Malformed JSON request body: {exc}") from None
    if not isinstance(body, dict):
        raise RegistryError(422, "Unrecognized request body: expected a JSON object")
    if nesting_exceeds(body, limit, text=raw):
        raise too_deep
    # Subjects and names are looked up in the database, which cannot compare a text holding a NUL.
    where = nul_location(body) if b"\\u0000" in raw else None
    if where is not None:
        raise RegistryError(422, f"Unprocessable request body: {dotted(where)} {NUL_REASON}")
    return body


def flag(request: HttpRequest, name: str) -> bool:
    """A boolean query parameter: `true` in any case is true, anything else false (as Jersey reads it)."""
    return request.GET.get(name, "").strip().lower() == "true"


def int_param(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise RegistryError(400, f"Query parameter '{name}' must be an integer") from None
