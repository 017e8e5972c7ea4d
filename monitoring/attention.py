"""What monitoring tells the home page's "needs attention" panel (catalog.attention asks for it
through settings.EVENTLINE["ATTENTION_PROVIDERS"]): groups in ERR, failed and stuck transactions,
unresolved dead letters and events that failed their schema under validation.mode warn."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Count, Max, Sum
from django.urls import reverse

from broker.models import ContractViolation, DeadLetter, Topic
from catalog.attention import SHOWN_PER_KIND, AttentionItem
from core.auth import Principal
from core.timeutil import now_ms
from monitoring.evaluation import Outcome
from monitoring.models import GroupLagState
from monitoring.traces.selectors import trace_list


def attention_items(*, principal: Principal) -> list[AttentionItem]:
    """A fixed number of queries, whatever is wrong and however much of it."""
    return [
        *_groups_in_error(),
        *_troubled_transactions(principal),
        *_dead_letters(),
        *_schema_violations(),
        *_contract_violations(),
    ]


def _groups_in_error() -> list[AttentionItem]:
    # ERR is the group roll-up of STOP, STALL and REWIND; the reason names the worst partition.
    states = (
        GroupLagState.objects.filter(status="ERR")
        .order_by("-total_lag", "group__name")
        .values_list("group__name", "status_reason", "total_lag")[:SHOWN_PER_KIND]
    )
    return [
        AttentionItem(
            kind="Consumer lag",
            title=f"{name} is in ERR",
            detail=f"{reason} · lag {total_lag:,}",
            url=reverse("monitoring:group-detail", args=[name]),
        )
        for name, reason, total_lag in states
    ]


def _troubled_transactions(principal: Principal) -> list[AttentionItem]:
    at = now_ms()
    items = []
    for outcome, severity in ((Outcome.FAILED, "danger"), (Outcome.STUCK, "warning")):
        recent, _slowest = trace_list(principal=principal, limit=SHOWN_PER_KIND, now_ms=at, outcome=outcome)
        items += [
            AttentionItem(
                kind="Transaction",
                title=f"{summary.outcome.flow or summary.root_type} {outcome.value}",
                detail=f"{summary.outcome.reason} · {summary.correlation_id}",
                url=reverse("traces:detail", args=[summary.correlation_id]),
                severity=severity,
            )
            for summary in recent
        ]
    return items


def _dead_letters() -> list[AttentionItem]:
    per_group = (
        DeadLetter.objects.filter(resolved_ms__isnull=True)
        .values("group")
        .annotate(open=Count("id"), latest=Max("dead_lettered_ms"))
        .order_by("-latest", "group")[:SHOWN_PER_KIND]
    )
    return [
        AttentionItem(
            kind="Dead letters",
            title=f"{row['open']:,} unresolved dead letter{'s' if row['open'] != 1 else ''} in {row['group']}",
            detail="events the group gave up on after its retries; redrive or resolve them",
            url=f"{reverse('monitoring:dead-letters')}?{urlencode({'group': row['group']})}",
        )
        for row in per_group
    ]


def _schema_violations() -> list[AttentionItem]:
    topics = (
        Topic.objects.filter(validation_failures__gt=0)
        .order_by("-validation_failures", "name")
        .values_list("name", "validation_failures")[:SHOWN_PER_KIND]
    )
    return [
        AttentionItem(
            kind="Schema violations",
            title=f"{failures:,} event{'s' if failures != 1 else ''} on {name} failed their schema",
            detail="appended anyway: the topic's validation mode is warn",
            url=reverse("topics:topic-detail", args=[name]),
            severity="warning",
        )
        for name, failures in topics
    ]


def _contract_violations() -> list[AttentionItem]:
    """Native Kafka records that broke their data contract in the last day (broker.indexer)."""
    since = now_ms() - 86_400_000
    per_topic = (
        ContractViolation.objects.filter(last_seen_ms__gte=since)
        .values("topic__name", "kind")
        .annotate(records=Sum("count"), latest=Max("last_seen_ms"))
        .order_by("-records", "topic__name")[:SHOWN_PER_KIND]
    )
    items = []
    for row in per_topic:
        example = (
            ContractViolation.objects.filter(topic__name=row["topic__name"], kind=row["kind"])
            .order_by("-last_seen_ms")
            .values_list("producer__name", "example_reason")
            .first()
        )
        producer, reason = example if example else (None, "")
        items.append(
            AttentionItem(
                kind="Data contract",
                title=f"{row['records']:,} record{'s' if row['records'] != 1 else ''} on {row['topic__name']} broke "
                f"their contract ({ContractViolation.KINDS.get(row['kind'], row['kind'])})",
                detail=f"from {producer or 'an unknown producer'} · {reason}",
                url=reverse("topics:topic-detail", args=[row["topic__name"]]),
                severity="warning",
            )
        )
    return items
