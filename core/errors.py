"""Typed domain errors and the one DRF exception handler that renders them.

Domain code raises these; the API renders `{"error": {"code", "message", "details"}}`. The schema
registry renders Confluent's own envelope instead (see schemas/api/errors.py).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response


class EventlineError(Exception):
    """Base of every error the API turns into its error envelope."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "bad_request"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code

    def as_envelope(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(EventlineError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "bad_request"


class Unauthorized(EventlineError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "unauthorized"


class Forbidden(EventlineError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"


class NotFound(EventlineError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class Conflict(EventlineError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class PayloadTooLarge(EventlineError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"


class LengthRequired(EventlineError):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    code = "length_required"


class UnsupportedMediaType(EventlineError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"


class Unavailable(EventlineError):
    """The same request may succeed if sent again. Nothing was done, except under the code
    `append_outcome_unknown` (the append writer went away after taking the request), where the
    events may have been appended: sent again with the same ids they come back as duplicates (the
    Python client's Producer retries 5xx answers with its ids unchanged, so a retry never
    duplicates)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "unavailable"


class NotImplementedOnBackend(EventlineError):
    """The feature is not available on the log backend this deployment runs (BROKER_BACKEND)."""

    status_code = status.HTTP_501_NOT_IMPLEMENTED
    code = "not_implemented"


class ValidationFailed(EventlineError):
    """Input that parsed but breaks a rule: 422, with the offending fields in `details`."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "invalid"


def payload_too_large(limit: int) -> PayloadTooLarge:
    """The one answer to a body over EVENTLINE_MAX_REQUEST_BYTES, wherever it is found."""
    return PayloadTooLarge(
        f"The request body is larger than the {limit} bytes the server accepts (EVENTLINE_MAX_REQUEST_BYTES).",
        details={"max_bytes": limit},
    )


def field_error(field: str, reason: str) -> ValidationFailed:
    """A 422 about one field, in the shape every other 422 uses."""
    return ValidationFailed(f"{field}: {reason}", details={"errors": [{"field": field, "reason": reason}]})


NUL_REASON = "must not contain a NUL character (\\u0000)"


def too_deep(limit: int) -> ValidationFailed:
    """The one answer to a document nested deeper than EVENTLINE_MAX_JSON_DEPTH."""
    reason = f"arrays and objects nest more than {limit} levels deep"
    return ValidationFailed(
        f"The JSON body's {reason}, the most this server accepts (EVENTLINE_MAX_JSON_DEPTH).",
        code="too_deep",
        details={"max_depth": limit, "errors": [{"field": "body", "reason": reason}]},
    )


def nul_refused(field: str) -> ValidationFailed:
    error = field_error(field, NUL_REASON)
    error.code = "nul_character"
    return error


def _flatten_drf_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested error dicts become a flat list of {"field", "reason"} with dotted paths."""
    if isinstance(detail, dict):
        errors: list[dict[str, str]] = []
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                name = prefix or "body"
            errors.extend(_flatten_drf_errors(value, name))
        return errors
    if isinstance(detail, list):
        errors = []
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                errors.extend(_flatten_drf_errors(value, f"{prefix}[{index}]" if prefix else str(index)))
            else:
                errors.append({"field": prefix or "body", "reason": str(value)})
        return errors
    return [{"field": prefix or "body", "reason": str(detail)}]


_DRF_CODES = {
    drf_exceptions.ParseError: ("malformed_request", status.HTTP_400_BAD_REQUEST),
    drf_exceptions.NotAuthenticated: ("unauthorized", status.HTTP_401_UNAUTHORIZED),
    drf_exceptions.AuthenticationFailed: ("unauthorized", status.HTTP_401_UNAUTHORIZED),
    drf_exceptions.PermissionDenied: ("forbidden", status.HTTP_403_FORBIDDEN),
    drf_exceptions.NotFound: ("not_found", status.HTTP_404_NOT_FOUND),
    drf_exceptions.MethodNotAllowed: ("method_not_allowed", status.HTTP_405_METHOD_NOT_ALLOWED),
    drf_exceptions.NotAcceptable: ("not_acceptable", status.HTTP_406_NOT_ACCEPTABLE),
    drf_exceptions.UnsupportedMediaType: ("unsupported_media_type", status.HTTP_415_UNSUPPORTED_MEDIA_TYPE),
    drf_exceptions.Throttled: ("throttled", status.HTTP_429_TOO_MANY_REQUESTS),
}


def error_response(error: EventlineError) -> Response:
    response = Response(error.as_envelope(), status=error.status_code)
    if isinstance(error, Unauthorized):
        response["WWW-Authenticate"] = 'Bearer realm="eventline", Basic realm="eventline"'
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error leaves the API in one envelope."""
    if isinstance(exc, EventlineError):
        return error_response(exc)
    if isinstance(exc, RequestDataTooBig):
        return error_response(payload_too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
    if isinstance(exc, Http404):
        return error_response(NotFound(str(exc) or "Not found."))
    if isinstance(exc, DjangoPermissionDenied):
        return error_response(Forbidden(str(exc) or "Permission denied."))
    if isinstance(exc, drf_exceptions.ValidationError):
        errors = _flatten_drf_errors(exc.detail)
        message = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
        return error_response(ValidationFailed(message or "Invalid input.", details={"errors": errors}))
    for drf_class, (code, http_status) in _DRF_CODES.items():
        if isinstance(exc, drf_class):
            assert isinstance(exc, drf_exceptions.APIException)
            error = EventlineError(str(exc.detail), code=code)
            error.status_code = http_status
            return error_response(Unauthorized(str(exc.detail)) if http_status == 401 else error)
    if isinstance(exc, drf_exceptions.APIException):
        error = EventlineError(str(exc.detail), code=exc.default_code)
        error.status_code = exc.status_code
        return error_response(error)
    return None
