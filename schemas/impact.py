"""Who an incompatible schema change would break. The registry sits below the catalog and
lineage, so it asks a provider named in settings (resolved at run time) instead of importing them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

_NAMED_IN_MESSAGE = 20


def affected_consumers(subject: str) -> list[dict[str, Any]]:
    """Who an incompatible change under `subject` would break, and who is downstream of them: the
    impact provider named by settings.EVENTLINE["IMPACT_PROVIDER"] (a dotted path resolved at run
    time, so the registry never imports the apps above it) answers with one dict per affected
    consumer (breaks, service, owner_team, event_type, depth, flow, produces...). Empty when no
    provider is set; when it fails the registry answers as it would without it."""
    path = settings.EVENTLINE.get("IMPACT_PROVIDER") or ""
    if not path:
        return []
    try:
        provider = import_string(path)
        with transaction.atomic():  # a savepoint: a failed query in the provider must not poison ours
            return list(provider(subject))
    except Exception:  # noqa: BLE001 - whatever the provider does wrong, the registry still answers
        logger.warning("impact provider %s failed for subject %r", path, subject, exc_info=True)
        return []


def split_affected(affected: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(who would break, who is downstream of them). A provider that does not say `breaks`
    counts only the consumers of the changed type itself (depth 1) as breaking."""
    breaking = [row for row in affected if row.get("breaks", row.get("depth", 1) == 1)]
    return breaking, [row for row in affected if row not in breaking]


def affected_sentence(breaking: Sequence[dict[str, Any]], downstream: Sequence[dict[str, Any]] = ()) -> str:
    """What a refusal says after its sentences, each service once, in the provider's order:
    'Would break: inventory (Warehouse Team), analytics (Data Team). Downstream, not counted as
    broken: payments (Payments Team).' Empty when no one reads the subject."""
    if not breaking:
        return ""
    shown = f"Would break: {_services(breaking)}."
    names = {row.get("service") for row in breaking}
    further = [row for row in downstream if row.get("service") not in names]
    if further:
        shown += f" Downstream, not counted as broken: {_services(further)}."
    return shown


def _services(rows: Sequence[dict[str, Any]]) -> str:
    names = list(dict.fromkeys(f"{row.get('service')} ({row.get('owner_team') or 'no owner team'})" for row in rows))
    shown = ", ".join(names[:_NAMED_IN_MESSAGE])
    if len(names) > _NAMED_IN_MESSAGE:
        shown += f" and {len(names) - _NAMED_IN_MESSAGE} more"
    return shown
