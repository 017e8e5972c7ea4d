"""Registry pages: the subject list, a subject with its versions, a diff between any two versions
(htmx partial) and a compatibility check of a candidate schema (htmx partial)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from schemas import selectors
from schemas.avro.fields import field_rows_of
from schemas.errors import RegistryError
from schemas.naming import normalize_subject
from schemas.protobuf.fields import field_rows_of as protobuf_field_rows_of
from schemas.subject_actions import LEVELS, check_context

_MAX_DEPTH = 4


@login_required
@require_GET
def subject_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    include_deleted = request.GET.get("deleted") == "1"
    rows = selectors.subject_overview(search=search, include_deleted=include_deleted)
    context = {
        "rows": rows,
        "search": search,
        "include_deleted": include_deleted,
        "global_config": selectors.global_config(),
        "global_mode": selectors.global_mode(),
    }
    return render(request, "schemas/subject_list.html", context)


@login_required
@require_GET
def subject_detail(request: HttpRequest, subject: str) -> HttpResponse:
    subject = normalize_subject(subject)
    versions = selectors.all_versions(subject)
    if not versions:
        raise Http404(f"Subject '{subject}' has no versions.")
    live = [row for row in versions if not row.deleted]
    shown = _pick_version(versions, request.GET.get("version"), default=(live or versions)[-1])
    document = selectors.loaded_schema(shown.schema_id)
    config = selectors.effective_config(shown.subject)
    own_config = {}
    try:
        own_config = selectors.subject_config(subject)
    except RegistryError:
        pass
    diff_new = live[-1] if live else versions[-1]
    diff_old = next((row for row in reversed(versions) if row.version < diff_new.version), diff_new)
    context = {
        "subject": subject,
        "versions": list(reversed(versions)),
        "live_count": len(live),
        "shown": shown,
        "schema_pretty": _pretty(document.schema_type, document.parsed),
        "schema_type": document.schema_type,
        "fields": _field_rows(document.schema_type, document.parsed, dict(document.documents)),
        "references": document.references,
        "referenced_by": selectors.version_referenced_by(subject, shown.version, deleted=True),
        "config": config,
        "own_config": own_config,
        "mode": selectors.subject_mode(subject, default_to_global=True),
        "diff_old": diff_old,
        "diff_new": diff_new,
        "levels": LEVELS,
    }
    if len(versions) > 1:
        context.update(_diff_context(selectors.version_diff(subject, diff_old.version, diff_new.version)))
    return render(request, "schemas/subject_detail.html", context)


@dataclass(frozen=True)
class DiffVerdict:
    """How one direction judges a change: the checker's code for it, whether it breaks that
    direction, whether the subject's level checks that direction, and what it means."""

    type: str
    direction: str
    breaks: bool
    breaks_checked: bool
    explanation: str


@dataclass(frozen=True)
class DiffRow:
    """One change as the diff table shows it: where, the old and new values as short JSON, and the
    verdict of each direction. The checker reports a change once per direction (forward reads it
    with the two schemas swapped); the table shows it once."""

    path: str
    old_json: str
    new_json: str
    verdicts: list[DiffVerdict]

    @property
    def breaks_checked(self) -> bool:
        return any(verdict.breaks_checked for verdict in self.verdicts)


def _short_json(value: Any, limit: int = 160) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _diff_context(diff: selectors.VersionDiff) -> dict[str, Any]:
    checked = {"backward"} if diff.level.checks_backward else set()
    if diff.level.checks_forward:
        checked.add("forward")
    rows: dict[tuple[str, str, str], DiffRow] = {}
    for d in diff.differences:
        # Forward compares with the new schema as the original, so its old and new values are swapped.
        old_value, new_value = (d.new_value, d.old_value) if d.direction == "forward" else (d.old_value, d.new_value)
        key = (d.path, _short_json(old_value), _short_json(new_value))
        row = rows.setdefault(key, DiffRow(path=key[0], old_json=key[1], new_json=key[2], verdicts=[]))
        row.verdicts.append(
            DiffVerdict(
                type=d.type.value,
                direction=d.direction,
                breaks=d.breaks,
                breaks_checked=d.breaks and d.direction in checked,
                explanation=d.explanation,
            )
        )
    for row in rows.values():
        row.verdicts.sort(key=lambda verdict: verdict.direction != "backward")  # backward, then forward
    return {"diff": diff, "diff_rows": list(rows.values())}


@login_required
@require_GET
def subject_diff(request: HttpRequest, subject: str) -> HttpResponse:
    subject = normalize_subject(subject)
    try:
        old_version = int(request.GET.get("from", ""))
        new_version = int(request.GET.get("to", ""))
        diff = selectors.version_diff(subject, old_version, new_version)
    except (ValueError, RegistryError) as exc:
        return render(request, "schemas/partials/diff.html", {"error": getattr(exc, "message", "Pick two versions.")})
    return render(request, "schemas/partials/diff.html", {"subject": subject, **_diff_context(diff)})


@login_required
@require_POST
def subject_check(request: HttpRequest, subject: str) -> HttpResponse:
    context = check_context(normalize_subject(subject), request.POST.get("schema", ""))
    return render(request, "schemas/partials/check.html", context)


def _pick_version(versions: list[Any], raw: str | None, *, default: Any) -> Any:
    if not raw:
        return default
    for row in versions:
        if str(row.version) == raw:
            return row
    raise Http404(f"Version {raw} not found.")


def _pretty(schema_type: str, parsed: Any) -> str:
    """The schema as its tab shows it and the candidate form starts from: `.proto` text as stored,
    JSON (Avro, JSON Schema) indented."""
    if schema_type == "PROTOBUF":
        return str(parsed)
    return json.dumps(parsed, indent=2, ensure_ascii=False)


def _field_rows(schema_type: str, parsed: Any, documents: dict[str, Any]) -> list[Any]:
    if schema_type == "AVRO":
        return field_rows_of(parsed, documents)
    if schema_type == "PROTOBUF":
        return protobuf_field_rows_of(parsed, documents)
    return _fields(parsed)


@dataclass(frozen=True)
class FieldRow:
    """One property of the schema as the page lists it."""

    path: str
    name: str
    depth: int
    type: str
    required: bool
    description: str
    constraints: str


_CONSTRAINT_KEYWORDS = (
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "const",
    "enum",
    "default",
)


def _fields(schema: Any, depth: int = 0, prefix: str = "") -> list[FieldRow]:
    """The declared properties, nested objects indented (up to a few levels), for the table view."""
    if not isinstance(schema, dict) or depth >= _MAX_DEPTH:
        return []
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return []
    required = set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
    rows: list[FieldRow] = []
    for name, sub in properties.items():
        path = f"{prefix}/{name}"
        rows.append(
            FieldRow(
                path=path,
                name=name,
                depth=depth,
                type=_type_label(sub),
                required=name in required,
                description=str(sub.get("description", "")) if isinstance(sub, dict) else "",
                constraints=_constraints(sub),
            )
        )
        target = sub
        if isinstance(sub, dict) and isinstance(sub.get("items"), dict):
            target = sub["items"]
        rows.extend(_fields(target, depth + 1, path))
    return rows


def _type_label(schema: Any) -> str:
    if schema is True or schema == {}:
        return "any"
    if schema is False:
        return "nothing"
    if not isinstance(schema, dict):
        return "?"
    if "$ref" in schema:
        return f"→ {schema['$ref']}"
    kind = schema.get("type")
    if isinstance(kind, list):
        label = " | ".join(str(item) for item in kind)
    elif isinstance(kind, str):
        label = kind
    else:
        label = next((keyword for keyword in ("oneOf", "anyOf", "allOf", "enum", "const") if keyword in schema), "any")
    if label == "array" and isinstance(schema.get("items"), dict):
        label = f"array of {_type_label(schema['items'])}"
    return label


def _constraints(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    parts = []
    for keyword in _CONSTRAINT_KEYWORDS:
        if keyword in schema:
            parts.append(f"{keyword}: {json.dumps(schema[keyword], ensure_ascii=False)}")
    return ", ".join(parts)
