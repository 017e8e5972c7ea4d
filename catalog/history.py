"""Who changed what: every catalog write records a CatalogChange in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from catalog.choices import ChangeAction
from catalog.models import CatalogChange
from core.auth import Principal


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in fields:
        value = getattr(instance, name)
        if isinstance(value, models.Model):
            value = str(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        values[name] = value
    return values


def record_change(
    *,
    principal: Principal,
    object_type: str,
    object_id: Any,
    object_name: str,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> CatalogChange | None:
    """Store the fields that differ between `before` and `after`; nothing for a no-op update."""
    before = before or {}
    after = after or {}
    changes = {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }
    if action == ChangeAction.UPDATED and not changes:
        return None
    return CatalogChange.objects.create(
        object_type=object_type,
        object_id=str(object_id),
        object_name=object_name,
        action=action,
        changes=changes,
        user_id=principal.user_id,
        actor=principal.display_name,
    )


def record_change_of(
    *,
    principal: Principal,
    object_type: str,
    instance: Any,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> CatalogChange | None:
    """record_change for a catalog object with a primary key and a name."""
    return record_change(
        principal=principal,
        object_type=object_type,
        object_id=instance.pk,
        object_name=instance.name,
        action=action,
        before=before,
        after=after,
    )
