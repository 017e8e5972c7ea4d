"""The audit under /api/v1/audit/: admin-scoped keys, and people with the editor or admin role."""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core import selectors
from core.api.serializers import AuditEntrySerializer
from core.auth import ROLE_EDITOR, require_role
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
