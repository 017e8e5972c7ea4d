"""Catalog REST API under /api/v1/catalog/. Reads need any key or login; writes need the editor
role or an admin-scoped key."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors, services
from catalog.api import serializers as s
from catalog.choices import FlowRole
from catalog.filtersets import EventTypeFilterSet
from catalog.models import Domain, Team
from core.auth import ROLE_EDITOR, principal_of, require_role
from core.errors import NotFound, ValidationFailed, field_error
from core.pagination import LimitOffsetPagination
from core.parsers import FastJSONParser


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise field_error("body", "must be a JSON object")
    return dict(request.data)


def _page(request: Request, view: APIView, queryset: Any, serializer: type) -> Response:
    paginator = LimitOffsetPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


def _get(model: type, name: str, label: str) -> Any:
    instance = model.objects.filter(name=name).first()
    if instance is None:
        raise NotFound(f"{label} '{name}' does not exist.", code=f"{label.lower().replace(' ', '_')}_not_found")
    return instance


class DomainListView(APIView):
    pagination_class = LimitOffsetPagination

    @extend_schema(responses=s.DomainSerializer(many=True), summary="List domains")
    def get(self, request: Request) -> Response:
        principal_of(request)
        return _page(request, self, selectors.domain_list(), s.DomainSerializer)

    @extend_schema(
        request=s.DomainWriteSerializer, responses={201: s.DomainSerializer}, summary="Create a domain (editor)"
    )
    def post(self, request: Request) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        data = _body(request)
        domain = services.domain_create(
            principal=principal, name=data.get("name"), description=data.get("description", "")
        )
        return Response(s.DomainSerializer(domain).data, status=201)


class DomainDetailView(APIView):
    @extend_schema(responses=s.DomainSerializer, summary="A domain")
    def get(self, request: Request, name: str) -> Response:
        principal_of(request)
        return Response(s.DomainSerializer(_get(Domain, name, "Domain")).data)

    @extend_schema(request=s.DomainWriteSerializer, responses=s.DomainSerializer, summary="Change a domain (editor)")
    def patch(self, request: Request, name: str) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        domain = services.domain_update(principal=principal, domain=_get(Domain, name, "Domain"), **_body(request))
        return Response(s.DomainSerializer(domain).data)

    @extend_schema(responses={204: None}, summary="Delete an empty domain (editor)")
    def delete(self, request: Request, name: str) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        services.domain_delete(principal=principal, domain=_get(Domain, name, "Domain"))
        return Response(status=204)


class TeamListView(APIView):
    pagination_class = LimitOffsetPagination

    @extend_schema(responses=s.TeamSerializer(many=True), summary="List teams")
    def get(self, request: Request) -> Response:
        principal_of(request)
        return _page(request, self, selectors.team_list(), s.TeamSerializer)

    @extend_schema(request=s.TeamWriteSerializer, responses={201: s.TeamSerializer}, summary="Create a team (editor)")
    def post(self, request: Request) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        data = _body(request)
        team = services.team_create(
            principal=principal,
            name=data.get("name"),
            description=data.get("description", ""),
            contact=data.get("contact", ""),
            members=data.get("members"),
        )
        return Response(s.TeamSerializer(team).data, status=201)


class TeamDetailView(APIView):
    @extend_schema(responses=s.TeamSerializer, summary="A team")
    def get(self, request: Request, name: str) -> Response:
        principal_of(request)
        return Response(s.TeamSerializer(_get(Team, name, "Team")).data)

    @extend_schema(request=s.TeamWriteSerializer, responses=s.TeamSerializer, summary="Change a team (editor)")
    def patch(self, request: Request, name: str) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        team = services.team_update(principal=principal, team=_get(Team, name, "Team"), **_body(request))
        return Response(s.TeamSerializer(team).data)

    @extend_schema(responses={204: None}, summary="Delete a team that owns no event types (editor)")
    def delete(self, request: Request, name: str) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        services.team_delete(principal=principal, team=_get(Team, name, "Team"))
        return Response(status=204)


class ServiceListView(APIView):
    pagination_class = LimitOffsetPagination

    @extend_schema(
        parameters=[OpenApiParameter("documented", bool, description="only services with a catalog entry")],
        responses=s.ServiceSerializer(many=True),
        summary="List services",
    )
    def get(self, request: Request) -> Response:
        principal_of(request)
        documented = request.query_params.get("documented") in ("1", "true", "yes")
        return _page(request, self, selectors.service_list(documented_only=documented), s.ServiceSerializer)

    @extend_schema(
        request=s.ServiceWriteSerializer, responses={201: s.ServiceSerializer}, summary="Document a service (editor)"
    )
    def post(self, request: Request) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        data = _body(request)
        name = data.pop("name", None)
        services.service_document(principal=principal, name=name, create=True, **data)
        return Response(s.ServiceSerializer(selectors.service_get(name=name)).data, status=201)


class ServiceDetailView(APIView):
    @extend_schema(responses=s.ServiceSerializer, summary="A service")
    def get(self, request: Request, name: str) -> Response:
        principal_of(request)
        return Response(s.ServiceSerializer(selectors.service_get(name=name)).data)

    @extend_schema(
        request=s.ServiceWriteSerializer, responses=s.ServiceSerializer, summary="Change a service's entry (editor)"
    )
    def patch(self, request: Request, name: str) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        data = _body(request)
        data.pop("name", None)
        services.service_document(principal=principal, name=name, **data)
        return Response(s.ServiceSerializer(selectors.service_get(name=name)).data)


class EventTypeListView(APIView):
    pagination_class = LimitOffsetPagination

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", str, description="words to find in names, summaries, business meaning, tags and schema field names"
            ),
            OpenApiParameter("domain", str),
            OpenApiParameter("owner", str, description="owner team"),
            OpenApiParameter("tag", str),
            OpenApiParameter("lifecycle", str),
            OpenApiParameter("no_consumers", bool),
            OpenApiParameter("undocumented", bool),
            OpenApiParameter("sort", str, description="name, -name, updated, domain, owner, lifecycle"),
        ],
        responses=s.EventTypeSerializer(many=True),
        summary="List and search event types",
    )
    def get(self, request: Request) -> Response:
        principal_of(request)
        filters = EventTypeFilterSet(request.query_params, queryset=selectors.event_type_list())
        if not filters.is_valid():
            errors = [{"field": field, "reason": " ".join(reasons)} for field, reasons in filters.errors.items()]
            raise ValidationFailed(
                "; ".join(f"{e['field']}: {e['reason']}" for e in errors), details={"errors": errors}
            )
        return _page(request, self, filters.qs, s.EventTypeSerializer)

    @extend_schema(
        request=s.EventTypeWriteSerializer,
        responses={201: s.EventTypeSerializer},
        summary="Document an event type (editor)",
    )
    def post(self, request: Request) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        data = _body(request)
        flows = {role: data.pop(f"{role}s", None) for role in FlowRole.values}
        event_type = services.event_type_create(principal=principal, data=data)
        for role, entries in flows.items():
            if entries is not None:
                services.declared_flows_set(principal=principal, event_type=event_type, role=role, services=entries)
        return Response(s.EventTypeSerializer(selectors.event_type_get(name=event_type.name)).data, status=201)


class EventTypeDetailView(APIView):
    @extend_schema(responses=s.EventTypeSerializer, summary="An event type with its declared producers and consumers")
    def get(self, request: Request, name: str) -> Response:
        principal_of(request)
        return Response(s.EventTypeSerializer(selectors.event_type_get(name=name)).data)

    @extend_schema(
        request=s.EventTypeWriteSerializer, responses=s.EventTypeSerializer, summary="Change an event type (editor)"
    )
    def patch(self, request: Request, name: str) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        data = _body(request)
        flows = {role: data.pop(f"{role}s", None) for role in FlowRole.values}
        event_type = services.event_type_update(
            principal=principal, event_type=selectors.event_type_get(name=name), data=data
        )
        for role, entries in flows.items():
            if entries is not None:
                services.declared_flows_set(principal=principal, event_type=event_type, role=role, services=entries)
        return Response(s.EventTypeSerializer(selectors.event_type_get(name=event_type.name)).data)

    @extend_schema(responses={204: None}, summary="Delete an event type (editor)")
    def delete(self, request: Request, name: str) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        services.event_type_delete(principal=principal, event_type=selectors.event_type_get(name=name))
        return Response(status=204)


class ChangeListView(APIView):
    pagination_class = LimitOffsetPagination

    @extend_schema(
        parameters=[OpenApiParameter("object_type", str), OpenApiParameter("object", str, description="object name")],
        responses=s.ChangeSerializer(many=True),
        summary="History of catalog changes",
    )
    def get(self, request: Request) -> Response:
        principal_of(request)
        changes = services.recent_changes(
            object_type=request.query_params.get("object_type") or None,
            object_name=request.query_params.get("object") or None,
            limit=10_000,
        )
        return _page(request, self, changes, s.ChangeSerializer)


class InboxView(APIView):
    @extend_schema(
        responses=inline_serializer("Inbox", {"items": s.InboxItemSerializer(many=True)}),
        summary="Undocumented topics, subjects, services and flows, and consumer groups no service claims",
    )
    def get(self, request: Request) -> Response:
        principal = principal_of(request)
        items = selectors.governance_inbox(principal=principal)
        return Response({"items": s.InboxItemSerializer(items, many=True).data})

    @extend_schema(request=s.DismissSerializer, responses={204: None}, summary="Dismiss an inbox item (editor)")
    def post(self, request: Request) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        data = _body(request)
        services.inbox_dismiss(
            principal=principal,
            kind=data.get("kind", ""),
            name=str(data.get("name", "")),
            reason=str(data.get("reason", "")),
        )
        return Response(status=204)


class ServiceAsyncAPIView(APIView):
    @extend_schema(responses={200: dict}, summary="The service's AsyncAPI 3.0 document")
    def get(self, request: Request, name: str) -> Response:
        from catalog.asyncapi.export import public_url, service_asyncapi_document

        principal_of(request)
        return Response(
            service_asyncapi_document(service=selectors.service_get(name=name), public_url=public_url(request))
        )


def _asyncapi_upload(request: Request) -> tuple[Any, dict[str, bytes] | None, dict[str, str] | None]:
    """(one document, or a bundle's files by path, and the channels pointed at existing topics)."""
    import json

    from catalog.asyncapi.bundle import unzip, upload_files

    media = (request.content_type or "").split(";")[0].strip().lower()
    topics: Any = None
    if media in ("application/zip", "application/x-zip-compressed"):
        return None, unzip(request.body), _topics(request.query_params.get("topics"))
    if media == "multipart/form-data":
        # A browser sends a file's base name only: a field named as a path (`messages/user.yaml`)
        # says where the file sits, so relative references between folders resolve.
        files = upload_files(
            {
                (name if name.endswith((".yaml", ".yml", ".json")) else upload.name): upload.read()
                for name, uploads in request.FILES.lists()
                for upload in uploads
            }
        )
        return None, files, _topics(request.data.get("topics"))
    if media == "application/json":
        body = request.data
        if isinstance(body, dict) and "asyncapi" not in body and "document" in body:
            topics = body.get("topics")
            document = body["document"]
            return (json.dumps(document) if isinstance(document, dict) else document), None, _topics(topics)
        return body, None, _topics(request.query_params.get("topics"))
    return request.body, None, _topics(request.query_params.get("topics"))


def _topics(value: Any) -> dict[str, str] | None:
    import json

    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValidationFailed("`topics` maps channel keys to existing topic names.", code="invalid_asyncapi")
    return value


class AsyncAPIImportView(APIView):
    # YAML and zip bodies are read raw; multipart carries a bundle's files.
    parser_classes = [FastJSONParser, MultiPartParser]

    @extend_schema(
        parameters=[OpenApiParameter("dry_run", bool, description="true (default): only say what would change")],
        request={"application/json": dict, "application/yaml": str},
        responses={200: dict, 422: dict},
        summary="Import an AsyncAPI 3.0 or 2.x document or bundle (editor)",
        description=(
            "One JSON or YAML document; a zip (application/zip) or several files (multipart/form-data) "
            'with relative $refs between them; or JSON {"document": ..., "topics": {channel: topic}} '
            "to point channels at existing topics (multipart: a `topics` field holding that JSON). "
            "The answer lists per item create, update, unchanged or skipped and why."
        ),
    )
    def post(self, request: Request) -> Response:
        from catalog.asyncapi.importer import asyncapi_import

        principal = require_role(request, ROLE_EDITOR)
        dry_run = request.query_params.get("dry_run", "true").lower() not in ("false", "0", "no")
        raw, files, topics = _asyncapi_upload(request)
        plan = asyncapi_import(principal=principal, raw=raw, files=files, topics=topics, dry_run=dry_run)
        if plan.errors:
            return Response(
                {
                    "error": {
                        "code": "invalid_asyncapi",
                        "message": f"{len(plan.errors)} problem(s); nothing was changed.",
                        "details": plan.as_dict(),
                    }
                },
                status=422,
            )
        return Response(plan.as_dict())


class BusinessFlowListView(APIView):
    pagination_class = LimitOffsetPagination

    @extend_schema(responses=s.BusinessFlowSerializer(many=True), summary="List business flows")
    def get(self, request: Request) -> Response:
        principal_of(request)
        return _page(request, self, selectors.business_flow_list(), s.BusinessFlowSerializer)

    @extend_schema(
        request=s.BusinessFlowWriteSerializer,
        responses={201: s.BusinessFlowSerializer},
        summary="Define a business flow (editor)",
    )
    def post(self, request: Request) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        flow = services.business_flow_create(principal=principal, data=_body(request))
        return Response(s.BusinessFlowSerializer(selectors.business_flow_get(name=flow.name)).data, status=201)


class BusinessFlowDetailView(APIView):
    @extend_schema(responses=s.BusinessFlowSerializer, summary="A business flow")
    def get(self, request: Request, name: str) -> Response:
        principal_of(request)
        return Response(s.BusinessFlowSerializer(selectors.business_flow_get(name=name)).data)

    @extend_schema(
        request=s.BusinessFlowWriteSerializer,
        responses=s.BusinessFlowSerializer,
        summary="Change a business flow; terminals, when given, replace the old ones (editor)",
    )
    def patch(self, request: Request, name: str) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        flow = services.business_flow_update(
            principal=principal, flow=selectors.business_flow_get(name=name), data=_body(request)
        )
        return Response(s.BusinessFlowSerializer(selectors.business_flow_get(name=flow.name)).data)

    @extend_schema(responses={204: None}, summary="Delete a business flow: its traces then have no outcome (editor)")
    def delete(self, request: Request, name: str) -> Response:
        principal = require_role(request, ROLE_EDITOR)
        services.business_flow_delete(principal=principal, flow=selectors.business_flow_get(name=name))
        return Response(status=204)


class CatalogFolderExportView(APIView):
    @extend_schema(
        responses={(200, "application/zip"): bytes},
        summary="The whole catalog as a zip of the docs-as-code folder (editor)",
        description="Markdown with YAML front matter per team, domain, service, event type and business flow, "
        "each event type's latest schema as .json, .avsc or .proto, and each service's AsyncAPI document.",
    )
    def get(self, request: Request) -> HttpResponse:
        from catalog.asyncapi.export import public_url
        from catalog.folder.files import archive_write
        from catalog.folder.sync import catalog_export

        require_role(request, ROLE_EDITOR)
        archive = archive_write(catalog_export(public_url=public_url(request)))
        response = HttpResponse(archive, content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="catalog.zip"'
        return response


class CatalogFolderImportView(APIView):
    # The zip is read raw from the body.
    parser_classes: list[Any] = []

    @extend_schema(
        parameters=[
            OpenApiParameter("dry_run", bool, description="true: only say what would change"),
            OpenApiParameter("prune", bool, description="true: delete what the archive does not hold"),
        ],
        request={"application/zip": bytes},
        responses={200: dict, 422: dict},
        summary="Import a docs-as-code folder as a zip (editor)",
        description="Checks the folder first (references, names, schemas parse and are compatible); "
        "changes nothing unless every check passes. Changes are audited under the caller.",
    )
    def post(self, request: Request) -> Response:
        from catalog.folder.files import archive_read
        from catalog.folder.sync import FolderImportFailed, catalog_folder_import

        principal = require_role(request, ROLE_EDITOR)
        files = archive_read(request.body)
        try:
            report = catalog_folder_import(
                principal=principal,
                files=files,
                prune=_flag(request, "prune"),
                dry_run=_flag(request, "dry_run"),
            )
        except FolderImportFailed as failed:
            report = failed.report
        if not report.ok:
            return Response(
                {
                    "error": {
                        "code": "invalid_catalog_folder",
                        "message": f"{len(report.problems)} problem(s); nothing was changed.",
                        "details": report.as_dict(),
                    }
                },
                status=422,
            )
        return Response(report.as_dict())


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() in ("true", "1", "yes")
