"""Who changed what: every catalog write records a CatalogChange (the catalog's own history, as a
diff) and an audit entry (the whole before and after) in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models, transaction

from broker.services.produce import produce_targets_forget
from catalog.choices import ChangeAction
from catalog.models import CatalogChange
from core.auth import Principal
from core.choices import AuditAction
from core.services import audit_record

_AUDIT_ACTIONS = {
    ChangeAction.CREATED: AuditAction.CATALOG_CREATED,
    ChangeAction.UPDATED: AuditAction.CATALOG_UPDATED,
    ChangeAction.DELETED: AuditAction.CATALOG_DELETED,
}


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
    """Store the fields that differ between `before` and `after`, and audit the change; nothing
    for a no-op update."""
    audited_before, audited_after = before, after
    before = before or {}
    after = after or {}
    changes = {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }
    if action == ChangeAction.UPDATED and not changes:
        return None
    # A topic whose access policy is `declared` admits what the catalog declares: once this edit
    # commits, this process reads it again (other processes within TOPIC_METADATA_CACHE_S).
    transaction.on_commit(produce_targets_forget)
    audit_record(
        principal=principal,
        action=_AUDIT_ACTIONS[ChangeAction(action)],
        target_type=object_type,
        target=object_name,
        before=audited_before,
        after=audited_after,
    )
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
