"""/metrics in Prometheus text format: the request-path instruments of every worker process
(multiprocess mode) plus figures read from the database at scrape time: events per topic, lag and
time lag per group and partition (from the sampler), status per group, validation failures."""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from broker.models import Partition, Topic
from core.auth import authenticate_key, credentials_from_header
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


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape endpoint: an API key (Bearer or Basic) or a logged-in user."""
    if not request.user.is_authenticated:
        try:
            credentials = credentials_from_header(request.META.get("HTTP_AUTHORIZATION", "").encode("latin-1"))
            if credentials is None:
                raise EventlineError("no credentials")
            authenticate_key(*credentials)
        except EventlineError:
            response = HttpResponse(
                "Authentication required: send an API key.\n", status=401, content_type="text/plain"
            )
            response["WWW-Authenticate"] = 'Bearer realm="eventline"'
            return response
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(DatabaseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
