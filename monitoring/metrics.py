"""/metrics in Prometheus text format: the request-path instruments of every worker process
(multiprocess mode) plus figures read from the database at scrape time: events per topic, lag and
time lag per group and partition (from the sampler), status per group, validation failures.

A key sees only the series it may describe: those labelled with a group it may use (core.scopes),
else with a topic it may describe. Series with neither label (none today) are shown to every key.
Logged-in people see everything, as the pages show them."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from broker.models import ContractViolation, Partition, Topic
from broker.selectors import indexer_summary
from core.auth import Principal, authenticate_key, credentials_from_header, principal_for_user
from core.constants import SCOPE_DESCRIBE, SCOPE_GROUP
from core.errors import EventlineError
from monitoring.evaluation import PartitionStatus
from monitoring.models import GroupLagState


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        appended = CounterMetricFamily(
            "eventline_topic_appended_events",
            "Events ever appended (the log end offset).",
            labels=["topic", "partition"],
        )
        retained = GaugeMetricFamily(
            "eventline_topic_retained_events",
            "Events between the log start and end offsets.",
            labels=["topic", "partition"],
        )
        size = GaugeMetricFamily(
            "eventline_topic_size_bytes", "Bytes retained per partition.", labels=["topic", "partition"]
        )
        for topic, number, start, end, size_bytes in Partition.objects.values_list(
            "topic__name", "number", "log_start_offset", "end_offset", "size_bytes"
        ).order_by("topic__name", "number"):
            appended.add_metric([topic, str(number)], end)
            retained.add_metric([topic, str(number)], end - start)
            size.add_metric([topic, str(number)], size_bytes)
        failures = CounterMetricFamily(
            "eventline_validation_failures",
            "Events appended flagged as invalid (validation mode warn).",
            labels=["topic"],
        )
        for topic, count in Topic.objects.values_list("name", "validation_failures").order_by("name"):
            failures.add_metric([topic], count)
        lag = GaugeMetricFamily(
            "eventline_group_lag",
            "Offset lag per group and partition (last sampling).",
            labels=["group", "topic", "partition"],
        )
        time_lag = GaugeMetricFamily(
            "eventline_group_time_lag_seconds",
            "Age of the oldest unconsumed event.",
            labels=["group", "topic", "partition"],
        )
        total = GaugeMetricFamily("eventline_group_total_lag", "Total offset lag per group.", labels=["group"])
        status = GaugeMetricFamily(
            "eventline_group_status", "Burrow status per group: 1 OK, 2 WARN, 3 ERR.", labels=["group"]
        )
        for group, state_total, state_status, partitions in GroupLagState.objects.values_list(
            "group__name", "total_lag", "status", "partitions"
        ).order_by("group__name"):
            total.add_metric([group], state_total)
            status.add_metric(
                [group], PartitionStatus[state_status].value if state_status in PartitionStatus.__members__ else 0
            )
            for row in partitions:
                labels = [group, row["topic"], str(row["partition"])]
                if row.get("lag") is not None:
                    lag.add_metric(labels, row["lag"])
                if row.get("time_lag_ms") is not None:
                    time_lag.add_metric(labels, row["time_lag_ms"] / 1000)
        yield from (appended, retained, size, failures, lag, time_lag, total, status)
        yield from _indexer_series()


def _indexer_series() -> Iterator[Metric]:
    """The Kafka indexer's state as it last reported it (broker.indexer; nothing on SQL)."""
    behind = GaugeMetricFamily(
        "eventline_indexer_lag_records", "Records the Kafka indexer has not indexed yet.", labels=["topic"]
    )
    indexed = CounterMetricFamily(
        "eventline_indexer_records", "Records the Kafka indexer indexed since it started.", labels=["indexer"]
    )
    skipped = CounterMetricFamily(
        "eventline_indexer_skipped_records",
        "Records the Kafka indexer could not read (poison) and skipped since it started.",
        labels=["topic"],
    )
    violations = CounterMetricFamily(
        "eventline_contract_violations",
        "Native Kafka records that broke their data contract, per topic and kind (the indexer's checks).",
        labels=["topic", "kind"],
    )
    for topic, kind, count in (
        ContractViolation.objects.values_list("topic__name", "kind")
        .annotate(records=Sum("count"))
        .order_by("topic__name", "kind")
    ):
        violations.add_metric([topic, kind], count)
    yield violations
    summary = indexer_summary()
    if summary is not None:
        for topic, count in summary.lag.items():
            behind.add_metric([topic], count)
        for member, count in summary.indexed_by_member.items():
            indexed.add_metric([member], count)
        for topic, count in summary.skipped_by_topic.items():
            skipped.add_metric([topic], count)
    yield from (behind, indexed, skipped)


class DescribableSeries(Collector):
    """The series of `collector` that `principal` may describe (see the module docstring)."""

    def __init__(self, collector: Collector, principal: Principal) -> None:
        self.collector = collector
        self.groups = principal.rules[SCOPE_GROUP]
        self.topics = principal.rules[SCOPE_DESCRIBE]

    def visible(self, labels: dict[str, str]) -> bool:
        if "group" in labels:
            return self.groups.matches(labels["group"])
        return "topic" not in labels or self.topics.matches(labels["topic"])

    def collect(self) -> Iterator[Metric]:
        for metric in self.collector.collect():
            metric.samples = [sample for sample in metric.samples if self.visible(sample.labels)]
            yield metric


def _principal(request: HttpRequest) -> Principal | None:
    if request.user.is_authenticated:
        return principal_for_user(request.user)
    try:
        credentials = credentials_from_header(request.META.get("HTTP_AUTHORIZATION", "").encode("latin-1"))
        return None if credentials is None else authenticate_key(*credentials)
    except EventlineError:
        return None


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape endpoint: an API key (Bearer or Basic) or a logged-in user."""
    principal = _principal(request)
    if principal is None:
        response = HttpResponse("Authentication required: send an API key.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="eventline"'
        return response
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(DatabaseCollector())
    everything = principal.rules[SCOPE_GROUP].everything and principal.rules[SCOPE_DESCRIBE].everything
    shown: Collector = registry if everything else DescribableSeries(registry, principal)
    return HttpResponse(generate_latest(shown), content_type=CONTENT_TYPE_LATEST)
