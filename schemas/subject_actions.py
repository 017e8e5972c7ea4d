"""What editors do from a subject page: register a new version (after the same live check the
page shows: the structured changes and who would break), change the subject's compatibility level,
soft-delete a version and delete a soft-deleted one for good. Each calls one registry service with
the person's principal (the service audits); viewers get 403."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.auth import principal_for_user
from core.ui import role_required
from schemas import selectors
from schemas.compatibility.levels import CompatibilityLevel
from schemas.errors import IncompatibleSchema, RegistryError
from schemas.impact import affected_consumers, split_affected
from schemas.naming import normalize_subject, parse_level
from schemas.services import ConfigUpdate, config_update, schema_version_delete, schema_version_register

LEVELS = [level.value for level in CompatibilityLevel]


def subject_schema_type(subject: str) -> str:
    """A candidate typed on the subject page is in the format of the subject's latest version
    (JSON Schema for a new subject): the form has no format picker, and Confluent refuses a
    change of format at every level but NONE anyway."""
    versions = selectors.all_versions(subject)
    return selectors.loaded_schema(versions[-1].schema_id).schema_type if versions else "JSON"


def check_context(subject: str, text: str) -> dict[str, Any]:
    """The verbose check of a candidate as registration would run it: compatible or not, the
    breaking and allowed changes, and (when it breaks) the consumers who would break."""
    context: dict[str, Any] = {"subject": subject, "submitted": bool(text.strip())}
    if not text.strip():
        return context
    try:
        result = selectors.compatibility_check(
            subject=subject, schema=text, schema_type=subject_schema_type(subject), references=None, normalize=False, version=None
        )
    except RegistryError as exc:
        context["error"] = exc.message
        return context
    context["result"] = result
    context["breaking"] = [d for d in result.differences if d.breaks]
    context["allowed"] = [d for d in result.differences if not d.breaks]
    context["example"] = result.example
    context["level"] = selectors.effective_config(selectors.subject_get(subject)).level.value
    if not result.is_compatible:
        context["affected"], context["downstream"] = split_affected(affected_consumers(subject))
    return context


def _to_subject(request: HttpRequest, subject: str, message: str, version: int | None = None) -> HttpResponse:
    messages.success(request, message)
    target = reverse("schemas:subject-detail", args=[subject])
    if version is not None:
        target += f"?version={version}"
    elif not selectors.all_versions(subject):
        target = reverse("schemas:subject-list")
    return HttpResponse(status=204, headers={"HX-Redirect": target})


@role_required("editor")
@require_POST
def subject_register(request: HttpRequest, subject: str) -> HttpResponse:
    """Register the candidate. Refused (409) with the same check the page showed, so the person
    sees what breaks and who would; nothing is registered then."""
    subject = normalize_subject(subject)
    text = request.POST.get("schema", "")
    try:
        registered = schema_version_register(
            subject=subject, schema=text, schema_type=subject_schema_type(subject), actor=principal_for_user(request.user)
        )
    except IncompatibleSchema:
        context = {**check_context(subject, text), "refused": True}
        return render(request, "schemas/partials/check.html", context, status=409)
    except RegistryError as exc:
        return render(request, "schemas/partials/check.html", {"subject": subject, "error": exc.message}, status=422)
    if not registered.created:
        return _to_subject(
            request, subject, f"Already registered as version {registered.version}: nothing new.", registered.version
        )
    return _to_subject(
        request,
        subject,
        f"Registered version {registered.version} (schema id {registered.schema_id}).",
        registered.version,
    )


@role_required("editor")
@require_POST
def subject_compatibility(request: HttpRequest, subject: str) -> HttpResponse:
    subject = normalize_subject(subject)
    raw = request.POST.get("level", "")
    try:
        level = parse_level(raw).value
        config_update(subject=subject, update=ConfigUpdate(compatibility=level), actor=principal_for_user(request.user))
    except RegistryError as exc:
        context = {"subject": subject, "levels": LEVELS, "current": raw, "error": exc.message}
        return render(request, "schemas/partials/compatibility_form.html", context, status=422)
    return _to_subject(request, subject, f"Compatibility of {subject} set to {level}.")


@role_required("editor")
@require_POST
def subject_version_remove(request: HttpRequest, subject: str, version: int) -> HttpResponse:
    """Soft delete (the version stays readable and counted for numbering), or with `permanent`
    remove a soft-deleted version, as Confluent's two-step delete."""
    subject = normalize_subject(subject)
    permanent = request.POST.get("permanent") == "1"
    try:
        schema_version_delete(
            subject=subject, version=version, permanent=permanent, actor=principal_for_user(request.user)
        )
    except RegistryError as exc:
        return render(request, "schemas/partials/version_error.html", {"error": exc.message}, status=422)
    if permanent:
        return _to_subject(request, subject, f"Version {version} deleted permanently.")
    return _to_subject(request, subject, f"Version {version} soft-deleted.", version)
