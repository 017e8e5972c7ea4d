"""The audit under /api/v1/audit/ (admin-scoped keys, and people with the editor or admin role),
and API keys under /api/v1/keys (admin keys, and people with the admin role)."""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import selectors, services
from core.api.serializers import (
    ApiKeyCreateSerializer,
    ApiKeyRotateSerializer,
    ApiKeySerializer,
    AuditEntrySerializer,
    NewApiKeySerializer,
)
from core.auth import ROLE_ADMIN, ROLE_EDITOR, require_role
from core.filtersets import AuditEntryFilterSet


class AuditEntryListView(ListAPIView):
    serializer_class = AuditEntrySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEntryFilterSet

    def get_queryset(self) -> Any:
        return selectors.audit_entry_list()

    @extend_schema(
        summary="The audit: who changed what, when, before and after (admin key, or editor session)",
        description=(
            "Entries are newest first and never change. `before` and `after` hold the object's state "
            "(null where it did not or no longer exists). Needs an API key with the `admin` scope, or a "
            "logged-in person with the editor or admin role."
        ),
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require_role(request, ROLE_EDITOR)
        return super().get(request, *args, **kwargs)


class ApiKeyListView(APIView):
    """API keys: list and create (admin key, or a person with the admin role)."""

    @extend_schema(
        parameters=[OpenApiParameter("service", str, description="only this service's keys")],
        responses=ApiKeySerializer(many=True),
        summary="API keys with their state, expiry and last use (never their secrets)",
    )
    def get(self, request: Request) -> Response:
        require_role(request, ROLE_ADMIN)
        keys = selectors.api_key_list(service_name=request.query_params.get("service") or None)
        return Response(ApiKeySerializer(keys, many=True).data)

    @extend_schema(
        request=ApiKeyCreateSerializer,
        responses={201: NewApiKeySerializer},
        summary="Create an API key; the answer carries its plaintext, shown once",
    )
    def post(self, request: Request) -> Response:
        actor = require_role(request, ROLE_ADMIN)
        body = ApiKeyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key, plaintext = services.api_key_create(
            service_name=body.validated_data["service"],
            scopes=body.validated_data["scopes"],
            label=body.validated_data["label"],
            expires_at=body.validated_data["expires_at"],
            actor=actor,
        )
        return Response({**ApiKeySerializer(key).data, "key": plaintext}, status=201)


class ApiKeyRotateView(APIView):
    @extend_schema(
        request=ApiKeyRotateSerializer,
        responses={201: NewApiKeySerializer},
        summary="Replace a key; the old one keeps working for the grace period",
    )
    def post(self, request: Request, key_id: str) -> Response:
        actor = require_role(request, ROLE_ADMIN)
        body = ApiKeyRotateSerializer(data=request.data if isinstance(request.data, dict) else {})
        body.is_valid(raise_exception=True)
        key, plaintext = services.api_key_rotate(
            key_id=key_id, grace_seconds=body.validated_data["grace_seconds"], actor=actor
        )
        return Response({**ApiKeySerializer(key).data, "key": plaintext}, status=201)


class ApiKeyRevokeView(APIView):
    @extend_schema(request=None, responses=ApiKeySerializer, summary="Revoke a key at once")
    def post(self, request: Request, key_id: str) -> Response:
        actor = require_role(request, ROLE_ADMIN)
        key = services.api_key_revoke(key_id=key_id, actor=actor)
        return Response(ApiKeySerializer(key).data)
