"""The home page's "needs attention" panel: what is wrong now, each item linking to the page that
explains it. The catalog sits below lineage and monitoring, which know most of what goes wrong, so it
asks the providers named in settings.EVENTLINE["ATTENTION_PROVIDERS"] (dotted paths resolved at run
time, as the registry asks for impact) instead of importing them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from core.auth import Principal

logger = logging.getLogger(__name__)

# Items each provider shows at most per kind; the page each links to lists them all.
SHOWN_PER_KIND = 5


@dataclass(frozen=True)
class AttentionItem:
    """One thing that is wrong now: what kind of problem, a short title, a line of detail, the page
    that explains it, and how bad it is ("danger" breaks something now, "warning" will)."""

    kind: str
    title: str
    detail: str
    url: str
    severity: str = "danger"


class AttentionProvider(Protocol):
    def __call__(self, *, principal: Principal) -> list[AttentionItem]: ...


def attention_items(*, principal: Principal) -> list[AttentionItem]:
    """Every provider's items, most severe first, in provider order. A provider that fails is
    logged and left out: the home page still answers."""
    items: list[AttentionItem] = []
    for path in settings.EVENTLINE.get("ATTENTION_PROVIDERS", ()):
        try:
            provider: AttentionProvider = import_string(path)
            with transaction.atomic():  # a savepoint: a failed query in one provider must not poison ours
                items.extend(provider(principal=principal))
        except Exception:  # noqa: BLE001 - whatever one provider does wrong, the page still answers
            logger.warning("attention provider %s failed", path, exc_info=True)
    return sorted(items, key=lambda item: item.severity != "danger")
