"""What lineage tells the home page's "needs attention" panel (catalog.attention asks for it through
settings.EVENTLINE["ATTENTION_PROVIDERS"]): flows the catalog and the broker disagree about."""

from __future__ import annotations

from django.urls import reverse

from catalog.attention import SHOWN_PER_KIND, AttentionItem
from core.auth import Principal
from lineage import constants as c
from lineage.selectors import lineage_drift


def drift_items(*, principal: Principal) -> list[AttentionItem]:  # noqa: ARG001 - drift names no data
    """Observed flows nobody declared (the catalog is wrong now), then declared flows not seen in
    the governance window (the catalog may be out of date); the drift page lists them all."""
    found = lineage_drift(window=c.GOVERNANCE_WINDOW)
    url = reverse("lineage:drift")
    window = c.WINDOW_LABELS[c.GOVERNANCE_WINDOW]
    return [
        *(
            AttentionItem(
                kind="Drift",
                title=f"{item.sentence}, undeclared",
                detail=f"observed on {', '.join(item.topics) or 'the broker'} but not declared in the catalog",
                url=url,
                severity="warning",
            )
            for item in found.undeclared[:SHOWN_PER_KIND]
        ),
        *(
            AttentionItem(
                kind="Drift",
                title=f"{item.sentence}, not observed",
                detail=f"declared in the catalog but not seen in the {window}",
                url=url,
                severity="warning",
            )
            for item in found.unobserved[:SHOWN_PER_KIND]
        ),
    ]
