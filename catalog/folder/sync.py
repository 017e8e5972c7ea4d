"""Export the catalog as a folder, check a folder against the server, import it.

Every write goes through the catalog's and the registry's services with the caller's principal,
so an import is attributed and audited as the same edits made in the UI would be. The import
compares each entry with the server first and calls a service only for what differs: importing
the same folder twice changes nothing and records nothing the second time. What the folder does
not hold is deleted only with `prune`; registry subjects are never deleted by an import."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.contrib.auth import get_user_model
from django.db import transaction

from broker.models import Topic
from catalog import services
from catalog.asyncapi.export import service_asyncapi_document
from catalog.choices import FlowRole
from catalog.folder import layout
from catalog.folder.layout import KINDS, CatalogFolder, normalized
from catalog.models import BusinessFlow, Domain, EventType, ServiceProfile, Team
from core.auth import Principal
from core.errors import EventlineError
from core.models import Service
from schemas.change_check import SchemaChangeReport, schema_change_check
from schemas.errors import RegistryError
from schemas.selectors import loaded_schema
from schemas.validation import resolve_subject

# The order creations and updates run in (each kind names only kinds before it); deletions run
# in the reverse order.
APPLY_ORDER = ("team", "domain", "service", "event_type", "business_flow")
_FLOW_ROLES = {"producers": FlowRole.PRODUCER, "consumers": FlowRole.CONSUMER}


# -- the server's side -------------------------------------------------------------------------


def catalog_state() -> CatalogFolder:
    """The catalog as the folder would describe it, with each event type's latest schema."""
    state = CatalogFolder()
    entities = state.entities
    for team in Team.objects.prefetch_related("members"):
        entities["team"][team.name] = normalized(
            "team",
            {
                "description": team.description,
                "contact": team.contact,
                "members": [user.get_username() for user in team.members.all()],
            },
        )
    for domain in Domain.objects.all():
        entities["domain"][domain.name] = normalized("domain", {"description": domain.description})
    for profile in ServiceProfile.objects.select_related("service", "owner_team", "domain"):
        if profile.asyncapi.get("document"):
            state.asyncapi[profile.service.name] = profile.asyncapi
        entities["service"][profile.service.name] = normalized(
            "service",
            {
                "description": profile.service.description,
                "owner_team": profile.owner_team.name if profile.owner_team else None,
                "domain": profile.domain.name if profile.domain else None,
                "summary": profile.summary,
                "repository_url": profile.repository_url,
            },
        )
    event_types = EventType.objects.select_related("domain", "owner_team").prefetch_related(
        "tags", "topics", "declared_flows__service"
    )
    for event_type in event_types:
        flows = {
            key: [
                {"service": flow.service.name, "note": flow.note}
                for flow in event_type.declared_flows.all()
                if flow.role == role
            ]
            for key, role in _FLOW_ROLES.items()
        }
        entities["event_type"][event_type.name] = normalized(
            "event_type",
            {
                "domain": event_type.domain.name,
                "owner_team": event_type.owner_team.name,
                "summary": event_type.summary,
                "business_meaning": event_type.business_meaning,
                "lifecycle": event_type.lifecycle,
                "deprecation_note": event_type.deprecation_note,
                "sunset_date": event_type.sunset_date,
                "tags": [tag.name for tag in event_type.tags.all()],
                "topics": [topic.name for topic in event_type.topics.all()],
                "subject": event_type.subject,
                "personal_data_fields": event_type.personal_data_fields,
                "business_key_fields": event_type.business_key_fields,
                "correlation_id_location": event_type.correlation_id_location,
                "example": event_type.example,
                **flows,
            },
        )
        resolved = resolve_subject(event_type.subject) if event_type.subject else None
        if resolved is not None:
            document = loaded_schema(resolved.schema_id)
            entities["event_type"][event_type.name]["schema_references"] = [
                {"name": ref.name, "subject": ref.subject, "version": ref.version} for ref in document.references
            ]
            state.schemas[event_type.name] = layout.SchemaFile(
                path=layout.schema_path(event_type.name, document.schema_type),
                schema_type=document.schema_type,
                text=document.text,
            )
    for flow in BusinessFlow.objects.select_related("start_event_type").prefetch_related("terminals__event_type"):
        entities["business_flow"][flow.name] = normalized(
            "business_flow",
            {
                "description": flow.description,
                "start_event_type": flow.start_event_type.name,
                "stuck_after_seconds": flow.stuck_after_seconds,
                "terminals": {terminal.event_type.name: terminal.ending for terminal in flow.terminals.all()},
            },
        )
    return state


def catalog_export(*, public_url: str = "") -> dict[str, str]:
    """The whole catalog as files by relative path: Markdown per entry, the latest schema of each
    event type in its own format, and each documented service's AsyncAPI 3.0 document."""
    state = catalog_state()
    files: dict[str, str] = {}
    for kind in KINDS:
        for name, values in state.entities[kind].items():
            files[layout.entity_path(kind, name)] = layout.markdown(kind, name, values)
    for schema in state.schemas.values():
        files[schema.path] = schema.text
    for service in Service.objects.filter(profile__isnull=False).select_related("profile"):
        document = service_asyncapi_document(service=service, public_url=public_url)
        files[layout.asyncapi_path(service.name)] = layout.yaml_text(document)
    return files


# -- comparing a folder with the server --------------------------------------------------------


@dataclass
class FolderReport:
    """What a folder would change (per entry: create, update with the fields, delete) and what
    stops it: problems with the files or references, and schemas that do not parse or break."""

    changes: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    schemas: list[SchemaChangeReport] = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and all(report.ok for report in self.schemas)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "applied": self.applied,
            "changes": self.changes,
            "problems": self.problems,
            "warnings": self.warnings,
            "schemas": [report.as_dict() for report in self.schemas],
        }

    def as_text(self) -> str:
        lines = []
        for problem in self.problems:
            lines.append(f"ERROR {problem['file']}: {problem['reason']}")
        for warning in self.warnings:
            lines.append(f"warning {warning['file']}: {warning['reason']}")
        for change in self.changes:
            fields = f" ({', '.join(change['fields'])})" if change.get("fields") else ""
            lines.append(f"{change['action']} {change['kind']} {change['name']}{fields}")
        for report in self.schemas:
            if report.action != "unchanged":
                lines.extend(report.as_text())
        verdict = "ok" if self.ok else "FAILED"
        count = len(self.changes) + sum(report.action in ("create", "new version") for report in self.schemas)
        counted = f"{count} change(s)" if count else "no changes"
        lines.append(f"{verdict}: {counted}, {len(self.problems)} problem(s)")
        return "\n".join(lines)


def _path(folder: CatalogFolder, kind: str, name: str) -> str:
    return folder.paths.get((kind, name)) or layout.entity_path(kind, name)


def catalog_folder_check(*, files: Mapping[str, str], prune: bool = False) -> tuple[FolderReport, CatalogFolder]:
    """Validate a folder against the server without changing anything: files readable, names
    unique, owners and every other reference known, every schema parsing and compatible with its
    subject at the subject's level (with the differences and the consumers who would break)."""
    folder = layout.read_folder(files)
    current = catalog_state()
    report = FolderReport(problems=list(folder.problems))
    _check_unique(folder, report)
    _check_references(folder, current, report, prune=prune)
    _drop_unknown_members(folder, report)
    for kind in APPLY_ORDER:
        wanted, have = folder.entities[kind], current.entities[kind]
        for name, values in wanted.items():
            if name not in have:
                report.changes.append({"kind": kind, "name": name, "action": "create"})
            elif values != have[name]:
                fields = sorted(key for key in values if values[key] != have[name].get(key))
                report.changes.append({"kind": kind, "name": name, "action": "update", "fields": fields})
    for kind in reversed(APPLY_ORDER):
        missing = sorted(set(current.entities[kind]) - set(folder.entities[kind]))
        if prune:
            report.changes += [{"kind": kind, "name": name, "action": "delete"} for name in missing]
        elif missing:
            report.warnings += [
                {
                    "file": layout.entity_path(kind, name),
                    "reason": "not in the folder; kept (import with prune deletes it)",
                }
                for name in missing
            ]
    _check_published(folder, current, report)
    known_topics = set(Topic.objects.values_list("name", flat=True))
    for topic in sorted(
        {t for values in folder.entities["event_type"].values() for t in values["topics"]} - known_topics
    ):
        report.changes.append({"kind": "topic", "name": topic, "action": "create"})
    for name, schema in folder.schemas.items():
        subject = folder.entities["event_type"][name]["subject"]
        if not subject:
            report.problems.append({"file": schema.path, "reason": "a schema file needs a subject in its index.md"})
            continue
        checked = schema_change_check(
            subject=subject,
            text=schema.text,
            schema_type=schema.schema_type,
            file=schema.path,
            references=folder.entities["event_type"][name]["schema_references"] or None,
        )
        report.schemas.append(checked)
    return report, folder


def _check_published(folder: CatalogFolder, current: CatalogFolder, report: FolderReport) -> None:
    """Each service's asyncapi.yaml that a team published (not one Eventline generated): readable,
    beside its service, and kept as the service's document when it differs from the one kept now.
    Leaves `folder.asyncapi` holding the fragments to keep."""
    from catalog.asyncapi.export import GENERATED
    from catalog.asyncapi.importer import fragment_identity, published_fragment

    texts, folder.asyncapi = folder.asyncapi, {}
    for name, text in sorted(texts.items()):
        path = layout.asyncapi_path(name)
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            report.problems.append({"file": path, "reason": f"not YAML or JSON: {str(exc).splitlines()[0]}"})
            continue
        if isinstance(document, dict) and document.get(GENERATED):
            continue
        read = published_fragment(document) if isinstance(document, dict) else None
        if read is None:
            report.problems.append({"file": path, "reason": "not a valid AsyncAPI 2.x or 3.0 document"})
            continue
        if name not in folder.entities["service"]:
            report.problems.append({"file": path, "reason": f"no {layout.entity_path('service', name)} beside it"})
            continue
        if fragment_identity(read[0]) != fragment_identity(current.asyncapi.get(name, {})):
            folder.asyncapi[name] = read
            report.changes.append({"kind": "asyncapi", "name": name, "action": "update"})


def _check_unique(folder: CatalogFolder, report: FolderReport) -> None:
    # Names differing only in case are distinct here but collide on macOS and Windows checkouts.
    for kind in KINDS:
        seen: dict[str, str] = {}
        for name in folder.entities[kind]:
            other = seen.setdefault(name.casefold(), name)
            if other != name:
                report.problems.append(
                    {
                        "file": _path(folder, kind, name),
                        "reason": f"{kind} {name!r} differs from {other!r} only in case",
                    }
                )


def _check_references(folder: CatalogFolder, current: CatalogFolder, report: FolderReport, *, prune: bool) -> None:
    """Every owner team, domain and event type named must exist after the import: in the folder,
    or on the server unless prune is about to delete it."""

    def known(kind: str) -> set[str]:
        names = set(folder.entities[kind])
        return names if prune else names | set(current.entities[kind])

    teams, domains, event_types = known("team"), known("domain"), known("event_type")

    def require(kind: str, name: str, key: str, value: Any, universe: set[str], label: str, optional: bool) -> None:
        if value in (None, "") and optional:
            return
        if value not in universe:
            report.problems.append({"file": _path(folder, kind, name), "reason": f"{key}: unknown {label} {value!r}"})

    for name, values in folder.entities["service"].items():
        require("service", name, "owner_team", values["owner_team"], teams, "team", True)
        require("service", name, "domain", values["domain"], domains, "domain", True)
    for name, values in folder.entities["event_type"].items():
        require("event_type", name, "owner_team", values["owner_team"], teams, "team", False)
        require("event_type", name, "domain", values["domain"], domains, "domain", False)
    for name, values in folder.entities["business_flow"].items():
        require("business_flow", name, "start_event_type", values["start_event_type"], event_types, "event type", False)
        terminals = values["terminals"] if isinstance(values["terminals"], dict) else {}
        for terminal in terminals:
            require("business_flow", name, "terminals", terminal, event_types, "event type", False)


def _drop_unknown_members(folder: CatalogFolder, report: FolderReport) -> None:
    """Team members are people with logins here; a member without one is reported and left out,
    so the team itself still imports (and a second import sees no change)."""
    named = {
        member for values in folder.entities["team"].values() for member in values["members"] if isinstance(member, str)
    }
    users = set(get_user_model().objects.filter(username__in=named).values_list("username", flat=True))
    for name, values in folder.entities["team"].items():
        unknown = [member for member in values["members"] if member not in users]
        if unknown:
            report.warnings.append(
                {"file": _path(folder, "team", name), "reason": f"no user(s) {', '.join(map(str, unknown))}; left out"}
            )
            values["members"] = [member for member in values["members"] if member in users]


# -- applying ----------------------------------------------------------------------------------


class FolderImportFailed(Exception):
    """An entry the services refused: nothing of the import was kept."""

    def __init__(self, report: FolderReport, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        report.problems.append({"file": file, "reason": reason})
        self.report = report


def catalog_folder_import(
    *, principal: Principal, files: Mapping[str, str], prune: bool = False, dry_run: bool = False
) -> FolderReport:
    """Check the folder, then (unless dry_run, and only when the check passes) apply it in one
    transaction. Raises FolderImportFailed if a service refuses an entry: nothing is kept."""
    report, folder = catalog_folder_check(files=files, prune=prune)
    if dry_run or not report.ok:
        return report
    with transaction.atomic():
        _apply(principal, report, folder)
    report.applied = True
    return report


def _apply(principal: Principal, report: FolderReport, folder: CatalogFolder) -> None:
    from broker.services.topics import topic_create
    from schemas.services import schema_version_register

    by_kind: dict[str, list[dict[str, Any]]] = {kind: [] for kind in (*KINDS, "topic", "asyncapi")}
    for change in report.changes:
        by_kind[change["kind"]].append(change)

    def attempt(kind: str, name: str, write: Any) -> None:
        try:
            with transaction.atomic():
                write()
        except (EventlineError, RegistryError) as exc:
            raise FolderImportFailed(report, _path(folder, kind, name), getattr(exc, "message", str(exc))) from exc

    for change in by_kind["topic"]:
        attempt(
            "topic", change["name"], lambda name=change["name"]: topic_create(name=name, partitions=1, actor=principal)
        )
    for kind in APPLY_ORDER[:3]:
        for change in by_kind[kind]:
            if change["action"] != "delete":
                values = folder.entities[kind][change["name"]]
                attempt(kind, change["name"], lambda k=kind, c=change, v=values: _WRITERS[k](principal, c, v))
    name_of = {schema.path: name for name, schema in folder.schemas.items()}
    for schema_report in report.schemas:
        if schema_report.action in ("create", "new version"):
            schema = next(s for s in folder.schemas.values() if s.path == schema_report.file)
            attempt(
                "event_type",
                schema_report.file,
                lambda r=schema_report, s=schema, n=name_of[schema_report.file]: schema_version_register(
                    subject=r.subject,
                    schema=s.text,
                    schema_type=s.schema_type,
                    references=folder.entities["event_type"][n]["schema_references"] or None,
                    actor=principal,
                ),
            )
    for kind in APPLY_ORDER[3:]:
        for change in by_kind[kind]:
            if change["action"] != "delete":
                values = folder.entities[kind][change["name"]]
                attempt(kind, change["name"], lambda k=kind, c=change, v=values: _WRITERS[k](principal, c, v))
    for change in by_kind["asyncapi"]:
        attempt("service", change["name"], lambda n=change["name"]: _keep_published(principal, n, folder.asyncapi[n]))
    for kind in reversed(APPLY_ORDER):
        for change in by_kind[kind]:
            if change["action"] == "delete":
                attempt(kind, change["name"], lambda k=kind, n=change["name"]: _delete(principal, k, n))


def _keep_published(principal: Principal, name: str, read: tuple[dict[str, Any], list[Any]]) -> None:
    """Keep a service's published AsyncAPI document as an import would (the fragment, and each
    message as published), so its export gives that document back; the entries themselves come
    from the folder's Markdown, already applied."""
    from catalog.asyncapi.importer import messages_keep
    from core.choices import AuditAction
    from core.services import audit_record

    fragment, messages = read
    before = ServiceProfile.objects.filter(service__name=name).values_list("asyncapi", flat=True).first()
    ServiceProfile.objects.filter(service__name=name).update(asyncapi=fragment)
    messages_keep(messages)
    audit_record(
        principal=principal,
        action=AuditAction.ASYNCAPI_IMPORTED,
        target_type="service",
        target=name,
        before={"messages": (before or {}).get("messages")} if before else None,
        after={"source": layout.asyncapi_path(name), "messages": fragment["messages"]},
    )


def _write_team(principal: Principal, change: dict[str, Any], values: dict[str, Any]) -> None:
    fields = {"description": values["description"], "contact": values["contact"], "members": values["members"]}
    if change["action"] == "create":
        services.team_create(principal=principal, name=change["name"], **fields)
    else:
        services.team_update(principal=principal, team=Team.objects.get(name=change["name"]), **fields)


def _write_domain(principal: Principal, change: dict[str, Any], values: dict[str, Any]) -> None:
    if change["action"] == "create":
        services.domain_create(principal=principal, name=change["name"], description=values["description"])
    else:
        domain = Domain.objects.get(name=change["name"])
        services.domain_update(principal=principal, domain=domain, description=values["description"])


def _write_service(principal: Principal, change: dict[str, Any], values: dict[str, Any]) -> None:
    services.service_document(
        principal=principal,
        name=change["name"],
        create=change["action"] == "create",
        **{key: values[key] for key in ("description", "owner_team", "domain", "summary", "repository_url")},
    )


# schema_references belong to the schema file's registration, not to the event type.
_EVENT_TYPE_KEYS = tuple(key for key in layout.FIELDS["event_type"] if key not in (*_FLOW_ROLES, "schema_references"))


def _write_event_type(principal: Principal, change: dict[str, Any], values: dict[str, Any]) -> None:
    data = {key: values[key] for key in _EVENT_TYPE_KEYS if change["action"] == "create" or key in change["fields"]}
    if "business_meaning" in change.get("fields", ()) or change["action"] == "create":
        data["business_meaning"] = values["business_meaning"]
    if change["action"] == "create":
        event_type = services.event_type_create(principal=principal, data={"name": change["name"], **data})
    else:
        event_type = EventType.objects.get(name=change["name"])
        if data:
            event_type = services.event_type_update(principal=principal, event_type=event_type, data=data)
    for key, role in _FLOW_ROLES.items():
        if change["action"] == "create" and not values[key]:
            continue
        if change["action"] == "create" or key in change["fields"]:
            services.declared_flows_set(principal=principal, event_type=event_type, role=role, services=values[key])


def _write_business_flow(principal: Principal, change: dict[str, Any], values: dict[str, Any]) -> None:
    data = {
        "description": values["description"],
        "start_event_type": values["start_event_type"],
        "stuck_after_seconds": values["stuck_after_seconds"],
        "terminals": values["terminals"],
    }
    if change["action"] == "create":
        services.business_flow_create(principal=principal, data={"name": change["name"], **data})
    else:
        flow = BusinessFlow.objects.get(name=change["name"])
        services.business_flow_update(principal=principal, flow=flow, data=data)


_WRITERS = {
    "team": _write_team,
    "domain": _write_domain,
    "service": _write_service,
    "event_type": _write_event_type,
    "business_flow": _write_business_flow,
}


def _delete(principal: Principal, kind: str, name: str) -> None:
    if kind == "team":
        services.team_delete(principal=principal, team=Team.objects.get(name=name))
    elif kind == "domain":
        services.domain_delete(principal=principal, domain=Domain.objects.get(name=name))
    elif kind == "service":
        services.service_undocument(principal=principal, service=Service.objects.get(name=name))
    elif kind == "event_type":
        services.event_type_delete(principal=principal, event_type=EventType.objects.get(name=name))
    else:
        services.business_flow_delete(principal=principal, flow=BusinessFlow.objects.get(name=name))
