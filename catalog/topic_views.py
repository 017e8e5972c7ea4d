"""Topic pages (part of the catalog, which reads the broker): the list with partitions, sizes and
rates; a topic page that browses events by partition and offset, or finds them by key,
correlation id or business key, and tails the newest events live."""

from __future__ import annotations

import datetime

from django.contrib.auth.decorators import login_required
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from broker import selectors
from broker.business_keys import business_key_find, key_values, positions_filter
from broker.constants import ACCESS_DECLARED, ACCESS_EXPLICIT
from broker.masking import hidden_fields, mask_events, pointer_touches
from broker.models import Event, FlowStat, Partition, Topic
from broker.partitioner import partition_for_key
from broker.selectors import contract_violations_recent, events_of
from catalog.models import EventType
from catalog.selectors import declared_services_of_topic
from core.auth import principal_for_user
from core.jsonutil import loads
from core.models import Service
from core.timeutil import now_ms

PAGE_SIZE = 50
# A field filter reads this many events of the partition (from the offset asked, or the newest) and
# shows those whose data matches, so one page costs one bounded read, never a scan of the log.
FILTER_SCAN_LIMIT = 1000
# The live tail keeps this many of the newest events on the page, and one poll never reads more
# than this many per partition: a burst between two polls shows its newest events, not all of it.
TAIL_KEEP = 100
TAIL_POLL_MS = 1500


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
    scanned: dict[str, int] | None = None
    refused_types: list[str] = []
    step = PAGE_SIZE
    mode = "browse"
    principal = principal_for_user(request.user)
    if business_key:
        mode = "business_key"
        matches = business_key_find(business_key, topic_id=topic.id, limit=PAGE_SIZE)
        events = (
            events_of(
                Event.objects.filter(positions_filter(matches), topic=topic).order_by("-append_time_ms")[:PAGE_SIZE]
            )
            if matches
            else []
        )
    elif correlation:
        mode = "correlation"
        events = events_of(
            Event.objects.filter(correlation_id=correlation, topic=topic).order_by("append_time_ms")[:PAGE_SIZE]
        )
    elif key:
        mode = "key"
        partition = partition_for_key(key.encode(), topic.partition_count)
        log = partitions[partition]
        events = events_of(
            Event.objects.filter(topic=topic, partition=partition, key=key).order_by("-offset")[:PAGE_SIZE]
        )
    else:
        field, field_value = request.GET.get("field", "").strip(), request.GET.get("value", "").strip()
        filtering = field.startswith("/")
        page = FILTER_SCAN_LIMIT if filtering else PAGE_SIZE
        # An offset given (the paging links, or typed) wins over the time it was first sought from,
        # so the links can carry `at` back to the form without seeking again.
        seek_at = None if offset_param.isdigit() else _parse_instant(request.GET.get("at", ""))
        if seek_at is not None:
            found = selectors.partition_offset_for_time(topic=topic, partition=partition, timestamp_ms=seek_at)
            offset_param = str(log.end_offset if found is None else max(found, log.log_start_offset))
        if offset_param.isdigit():
            start = max(int(offset_param), log.log_start_offset)
        else:
            start = max(log.end_offset - page, log.log_start_offset)  # newest page by default
        _, batch = selectors.partition_read(topic_name=topic.name, partition=partition, offset=start, limit=page)
        # Masked before filtering: a filter on a personal-data field sees "***" as a person without
        # the right does, so matching cannot confirm a value the page would hide.
        events = mask_events([loads(p) for p in batch.payloads], principal)
        offset_param = str(start)
        step = page
        if filtering:
            # Only the events read are filtered: at most FILTER_SCAN_LIMIT from `start`, said on the page.
            scanned = {"first": start, "last": start + len(events) - 1, "count": len(events)}
            refused_types = sorted(
                {
                    e.get("type") or ""
                    for e in events
                    if pointer_touches(field, hidden_fields(principal, e.get("type") or ""))
                }
            )
            events = [
                e
                for e in events
                if (e.get("type") or "") not in refused_types and field_value in key_values(e.get("data"), field)
            ][:PAGE_SIZE]
    if mode != "browse":
        events = mask_events(events, principal)
    offset_number = int(offset_param) if offset_param.isdigit() else None
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
        "prev_offset": max(log.log_start_offset, offset_number - step)
        if offset_number is not None and offset_number > log.log_start_offset
        else None,
        "next_offset": offset_number + step
        if offset_number is not None and offset_number + step < log.end_offset
        else None,
        "event_types": EventType.objects.filter(topics=topic).only("name", "summary"),
        "last_append_ms": Partition.objects.filter(topic=topic).aggregate(last=Max("last_append_ms"))["last"],
        "access": _access(topic),
        "at": request.GET.get("at", ""),
        "field": request.GET.get("field", ""),
        "value": request.GET.get("value", ""),
        "scanned": scanned,
        "refused_types": refused_types,
        "filter_scan_limit": FILTER_SCAN_LIMIT,
        "contract_violations": contract_violations_recent(principal=principal, topic_id=topic.id),
        "tail_cursor": _cursor_text({p.number: p.end_offset for p in partitions}),
        "tail_keep": TAIL_KEEP,
        "tail_poll_ms": TAIL_POLL_MS,
    }
    return render(request, "topics/topic_detail.html", context)


@login_required
def topic_tail(request: HttpRequest, name: str) -> HttpResponse:
    """The live tail's poll: the events appended since `cursor` (per partition, the next offset to
    read, as the page last saw it), newest first and masked as the browser is, as table rows; the
    new cursor comes back in the X-Tail-Cursor header. Without a cursor it starts at the log ends."""
    topic = selectors.topic_get(name=name)
    seen = _parse_cursor(request.GET.get("cursor", ""))
    events: list[dict] = []
    cursor: dict[int, int] = {}
    for row in Partition.objects.filter(topic=topic).order_by("number"):
        start = max(seen.get(row.number, row.end_offset), row.end_offset - TAIL_KEEP, row.log_start_offset)
        cursor[row.number] = start
        if start >= row.end_offset:
            continue
        _, batch = selectors.partition_read(
            topic_name=topic.name, partition=row.number, offset=start, limit=row.end_offset - start
        )
        cursor[row.number] = batch.next_offset
        events.extend(loads(p) for p in batch.payloads)
    events.sort(key=lambda e: (e.get("append_time") or 0, e.get("partition"), e.get("offset")), reverse=True)
    events = mask_events(events[:TAIL_KEEP], principal_for_user(request.user))
    response = render(request, "htmx/topic_tail_rows.html", {"topic": topic, "events": events})
    response["X-Tail-Cursor"] = _cursor_text(cursor)
    response["Cache-Control"] = "no-store"
    return response


def _parse_cursor(text: str) -> dict[int, int]:
    """`0:12,1:5` -> {0: 12, 1: 5}; pieces that are not two whole numbers are ignored."""
    cursor = {}
    for piece in text.split(","):
        partition, _, offset = piece.partition(":")
        if partition.strip().isdigit() and offset.strip().isdigit():
            cursor[int(partition)] = int(offset)
    return cursor


def _cursor_text(cursor: dict[int, int]) -> str:
    return ",".join(f"{partition}:{offset}" for partition, offset in sorted(cursor.items()))


def _access(topic: Topic) -> dict[str, object]:
    """Who the topic's access policy admits, as the page shows it (broker.access decides)."""
    if topic.access_policy == ACCESS_DECLARED:
        declared = declared_services_of_topic(topic.name)
        return {
            "policy": topic.access_policy,
            "producers": [{"name": name, "known": True} for name in declared["produce"]],
            "consumers": [{"name": name, "known": True} for name in declared["consume"]],
        }
    if topic.access_policy == ACCESS_EXPLICIT:
        # The lists are free text in the topic's config: link only the names the catalog knows.
        named = {*topic.access_producers, *topic.access_consumers}
        known = set(Service.objects.filter(name__in=named).values_list("name", flat=True))
        return {
            "policy": topic.access_policy,
            "producers": [{"name": name, "known": name in known} for name in topic.access_producers],
            "consumers": [{"name": name, "known": name in known} for name in topic.access_consumers],
        }
    return {"policy": topic.access_policy}


def _parse_instant(text: str) -> int | None:
    """Epoch ms from the seek box: an ISO 8601 date-time (UTC unless it names an offset) or epoch ms."""
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    try:
        instant = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=datetime.UTC)
    return int(instant.timestamp() * 1000)
