"""Topic pages (part of the catalog, which reads the broker): the list with partitions, sizes and
rates; a topic page that browses events by partition and offset, or finds them by key,
correlation id or business key."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from broker import selectors
from broker.business_keys import business_key_find, positions_filter
from broker.constants import ACCESS_DECLARED, ACCESS_EXPLICIT
from broker.masking import mask_events
from broker.models import Event, FlowStat, Partition, Topic
from broker.partitioner import partition_for_key
from catalog.models import EventType
from catalog.selectors import declared_services_of_topic
from core.auth import principal_for_user
from core.jsonutil import loads
from core.timeutil import now_ms

PAGE_SIZE = 50


def _rates(window_ms: int = 60_000) -> dict[int, float]:
    since = now_ms() - window_ms - 60_000
    rows = (
        FlowStat.objects.filter(role=FlowStat.ROLE_PRODUCE, minute_ms__gte=since)
        .values("topic_id")
        .annotate(total=Sum("events"))
    )
    return {row["topic_id"]: row["total"] / ((window_ms + 60_000) / 1000) for row in rows}


@login_required
def topic_list(request: HttpRequest) -> HttpResponse:
    topics = list(selectors.topic_list())
    rates = _rates()
    events = {
        row["topic_id"]: row["retained"]
        for row in Partition.objects.values("topic_id").annotate(retained=Sum("end_offset") - Sum("log_start_offset"))
    }
    rows = [{"topic": topic, "rate": rates.get(topic.id, 0.0), "events": events.get(topic.id, 0)} for topic in topics]
    return render(request, "topics/topic_list.html", {"rows": rows})


@login_required
def topic_detail(request: HttpRequest, name: str) -> HttpResponse:
    topic = selectors.topic_get(name=name)
    partitions = list(Partition.objects.filter(topic=topic).order_by("number"))
    key = request.GET.get("key", "").strip()
    correlation = request.GET.get("correlation", "").strip()
    business_key = request.GET.get("business_key", "").strip()
    try:
        partition = int(request.GET.get("partition", 0))
    except ValueError:
        partition = 0
    partition = min(max(partition, 0), topic.partition_count - 1)
    log = partitions[partition]
    offset_param = request.GET.get("offset", "")
    events: list[dict] = []
    mode = "browse"
    if business_key:
        mode = "business_key"
        matches = business_key_find(business_key, topic_id=topic.id, limit=PAGE_SIZE)
        payloads = (
            Event.objects.filter(positions_filter(matches), topic=topic)
            .order_by("-append_time_ms")
            .values_list("payload", flat=True)[:PAGE_SIZE]
            if matches
            else []
        )
        events = [loads(p) for p in payloads]
    elif correlation:
        mode = "correlation"
        payloads = (
            Event.objects.filter(correlation_id=correlation, topic=topic)
            .order_by("append_time_ms")
            .values_list("payload", flat=True)[:PAGE_SIZE]
        )
        events = [loads(p) for p in payloads]
    elif key:
        mode = "key"
        partition = partition_for_key(key.encode(), topic.partition_count)
        log = partitions[partition]
        payloads = (
            Event.objects.filter(topic=topic, partition=partition, key=key)
            .order_by("-offset")
            .values_list("payload", flat=True)[:PAGE_SIZE]
        )
        events = [loads(p) for p in payloads]
    else:
        if offset_param.isdigit():
            start = max(int(offset_param), log.log_start_offset)
        else:
            start = max(log.end_offset - PAGE_SIZE, log.log_start_offset)  # newest page by default
        _, batch = selectors.partition_read(topic_name=topic.name, partition=partition, offset=start, limit=PAGE_SIZE)
        events = [loads(p) for p in batch.payloads]
        offset_param = str(start)
    events = mask_events(events, principal_for_user(request.user))
    context = {
        "topic": topic,
        "partitions": partitions,
        "partition": partition,
        "log": log,
        "events": events,
        "mode": mode,
        "key": key,
        "correlation": correlation,
        "business_key": business_key,
        "offset": offset_param,
        "prev_offset": max(log.log_start_offset, int(offset_param) - PAGE_SIZE) if offset_param.isdigit() else None,
        "next_offset": int(offset_param) + PAGE_SIZE
        if offset_param.isdigit() and int(offset_param) + PAGE_SIZE < log.end_offset
        else None,
        "event_types": EventType.objects.filter(topics=topic).only("name", "summary"),
        "last_append_ms": Partition.objects.filter(topic=topic).aggregate(last=Max("last_append_ms"))["last"],
        "access": _access(topic),
    }
    return render(request, "topics/topic_detail.html", context)


def _access(topic: Topic) -> dict[str, object]:
    """Who the topic's access policy admits, as the page shows it (broker.access decides)."""
    if topic.access_policy == ACCESS_DECLARED:
        declared = declared_services_of_topic(topic.name)
        return {"policy": topic.access_policy, "producers": declared["produce"], "consumers": declared["consume"]}
    if topic.access_policy == ACCESS_EXPLICIT:
        return {"policy": topic.access_policy, "producers": topic.access_producers, "consumers": topic.access_consumers}
    return {"policy": topic.access_policy}
