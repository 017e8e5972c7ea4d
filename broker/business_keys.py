"""Business keys: find events by the values people know them by (an order id), without reading the
log.

Which fields: the catalog names them per event type (JSON pointers into `data`, as for personal
data). The broker sits below the catalog, so it asks the provider named in
settings.EVENTLINE["BUSINESS_KEYS_PROVIDER"] (a dotted path resolved at run time) for
`{event type name: [JSON pointer, ...]}`, and each process keeps the answer for
BUSINESS_KEYS_CACHE_S; a catalog edit forgets it on commit (business_keys_forget).

When: not at append. The append path is the hottest code in the app (one COPY or multi-row INSERT
per batch, possibly in the SQLite append writer); parsing every event's data there and writing a
second table would cost every produce. Instead `business_keys_index` (a periodic task, every
BUSINESS_KEY_INDEX_INTERVAL_S) reads each partition from its cursor to the log end once, keeps the
events of types that name keys, and records their values with the event's position and
correlation id. A lookup is then one indexed query on (value, name). An event is findable within
about one interval of its append; a type that names keys later is indexed from then on. On
Kafka the pass reads what the indexer (broker.indexer) has indexed, each record read back from
Kafka. When retention moves a log start, the keys of the events before it go on the next pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.module_loading import import_string

from broker.constants import BUSINESS_KEYS_CACHE_S, BUSINESS_KEYS_INDEX_BATCH, BUSINESS_KEYS_MAX_MATCHES
from broker.models import BusinessKey, BusinessKeyCursor, Event, Partition
from broker.selectors import STORED_EVENT_COLUMNS, event_documents

logger = logging.getLogger(__name__)

_MAX_VALUE_LENGTH = 255
_MIN_SHARE = 500  # positions: below this, a partition's round trip costs more than its reading
_lock = threading.Lock()
_fields: tuple[float, dict[str, tuple[str, ...]]] | None = None


def business_keys_forget() -> None:
    """Forget this process's business-key fields: the next index run asks the provider again."""
    global _fields
    with _lock:
        _fields = None


def business_key_fields() -> dict[str, tuple[str, ...]]:
    """Per event type name, the JSON pointers of its business keys (types with none left out):
    this process's copy, at most BUSINESS_KEYS_CACHE_S old."""
    global _fields
    now = time.monotonic()
    cached = _fields
    if cached is not None and now - cached[0] < BUSINESS_KEYS_CACHE_S:
        return cached[1]
    path = settings.EVENTLINE.get("BUSINESS_KEYS_PROVIDER") or ""
    fields: dict[str, tuple[str, ...]] = {}
    if path:
        answer: Mapping[str, Iterable[str]] = import_string(path)()
        fields = {name: tuple(pointers) for name, pointers in answer.items() if pointers}
    with _lock:
        _fields = (now, fields)
    return fields


def key_name(pointer: str) -> str:
    """What a search calls the field: its last named segment (`/order/id` -> `id`)."""
    segments = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:] if part != "*"]
    return segments[-1] if segments else pointer


def key_values(data: Any, pointer: str) -> Iterator[str]:
    """The scalar values at `pointer` in `data` (a `*` segment matches every element or value),
    as text: strings as they are, numbers and booleans as JSON writes them."""
    parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]
    nodes = [data]
    for part in parts:
        following: list[Any] = []
        for node in nodes:
            if isinstance(node, dict):
                following.extend(node.values() if part == "*" else [node[part]] if part in node else [])
            elif isinstance(node, list):
                if part == "*":
                    following.extend(node)
                elif part.isdigit() and int(part) < len(node):
                    following.append(node[int(part)])
        nodes = following
    for node in nodes:
        if isinstance(node, bool):
            text = "true" if node else "false"
        elif isinstance(node, (str, int, float)):
            text = str(node)
        else:
            continue
        if 0 < len(text) <= _MAX_VALUE_LENGTH:
            yield text


def business_keys_index(*, max_events: int = BUSINESS_KEYS_INDEX_BATCH) -> int:
    """Read every partition from its cursor towards the log end (at most `max_events` positions
    per run in all), record the business-key values of the events whose type names keys, move the
    cursors, and drop entries retention has left behind. Returns the number of values recorded."""
    fields = business_key_fields()
    cursors = {
        (topic_id, partition): next_offset
        for topic_id, partition, next_offset in BusinessKeyCursor.objects.values_list(
            "topic_id", "partition", "next_offset"
        )
    }
    work: list[tuple[int, int, int, int]] = []  # (topic id, partition, from, to) to read or to move
    for topic_id, number, log_start, end in _partitions(cursors):
        cursor = cursors.get((topic_id, number))
        # Retention deleted the events before the log start: their keys go too. Looked for first,
        # so that a pass with nothing to drop takes no write lock.
        stale = BusinessKey.objects.filter(topic_id=topic_id, partition=number, offset__lt=log_start)
        if log_start > 0 and stale.exists():
            stale.delete()
        start = max(cursor if cursor is not None else log_start, log_start)
        if start >= end and cursor == start:
            continue  # nothing new
        work.append((topic_id, number, start, end))
    recorded = 0
    shares = _shares([max(end - start, 0) for *_, start, end in work], max_events)
    for (topic_id, number, start, _), share in zip(work, shares, strict=True):
        until = start + share
        rows = []
        if fields and until > start:
            events = list(
                Event.objects.filter(
                    topic_id=topic_id, partition=number, offset__gte=start, offset__lt=until, type__in=list(fields)
                ).values(*STORED_EVENT_COLUMNS)
            )
            try:
                documents = event_documents(events, strict=True)
            except KafkaException:
                logger.warning("business keys: Kafka did not answer; the pass resumes from its cursors next time")
                break  # the other partitions would wait out the same timeout
            for event, document in zip(events, documents, strict=True):
                offset, event_type, correlation_id = event["offset"], event["type"], event["correlation_id"]
                data = document.get("data")
                for pointer in fields[event_type]:
                    for value in dict.fromkeys(key_values(data, pointer)):
                        rows.append(
                            BusinessKey(
                                topic_id=topic_id,
                                partition=number,
                                offset=offset,
                                event_type=event_type,
                                name=key_name(pointer),
                                value=value,
                                correlation_id=correlation_id,
                            )
                        )
        with transaction.atomic():
            BusinessKey.objects.bulk_create(rows, ignore_conflicts=True)
            BusinessKeyCursor.objects.update_or_create(
                topic_id=topic_id, partition=number, defaults={"next_offset": max(until, start)}
            )
        recorded += len(rows)
    return recorded


def _shares(sizes: list[int], budget: int) -> list[int]:
    """How many positions of `budget` each partition reads, of the `sizes` it has new: what it
    has, up to an equal part of what the smaller ones leave (max-min fair), so that one
    partition's backlog (a bulk load, an estate indexed for the first time) does not hold back
    the keys of all the others. With more partitions than the budget has parts of _MIN_SHARE,
    they are served _MIN_SHARE each from a place that turns with the clock, so that every one
    is reached within a few passes."""
    shares = [0] * len(sizes)
    left = budget
    if len(sizes) * _MIN_SHARE > budget:
        turn = int(time.time()) % len(sizes)
        for index in [*range(turn, len(sizes)), *range(turn)]:
            shares[index] = min(sizes[index], _MIN_SHARE, left)
            left -= shares[index]
        return shares
    for rank, index in enumerate(sorted(range(len(sizes)), key=sizes.__getitem__)):
        shares[index] = min(sizes[index], left // (len(sizes) - rank))
        left -= shares[index]
    return shares


def _partitions(cursors: Mapping[tuple[int, int], int]) -> Iterator[tuple[int, int, int, int]]:
    """(topic id, partition, log start, log end) of every partition. The SQL log keeps them on its
    Partition rows. On Kafka those stay at zero: what can be read is what the indexer
    (broker.indexer) has put into the events table, from its lowest offset to one past its
    highest (two index seeks; retention drops the rows of records Kafka deleted)."""
    partitions = Partition.objects.values_list("topic_id", "number", "log_start_offset", "end_offset").order_by(
        "topic_id", "number"
    )
    if settings.BROKER_BACKEND != "kafka":
        yield from partitions
        return
    for topic_id, number, _, _ in partitions:
        offsets = Event.objects.filter(topic_id=topic_id, partition=number).values_list("offset", flat=True)
        lowest, highest = offsets.order_by("offset").first(), offsets.order_by("-offset").first()
        if lowest is None or highest is None:
            # Nothing indexed yet, or retention dropped it all: then no key may stay below the cursor.
            at = cursors.get((topic_id, number), 0)
            yield topic_id, number, at, at
        else:
            yield topic_id, number, lowest, highest + 1


@dataclass(frozen=True)
class BusinessKeyQuery:
    """What a search box was given: `order_id=42` names the key, `42` alone does not."""

    value: str
    name: str | None = None

    @classmethod
    def parse(cls, text: str) -> BusinessKeyQuery | None:
        text = text.strip()
        name, equals, value = text.partition("=")
        if equals and name.strip() and value.strip():
            return cls(value=value.strip(), name=name.strip())
        return cls(value=text) if text and len(text) <= _MAX_VALUE_LENGTH else None


def business_key_find(
    query: str, *, topic_id: int | None = None, limit: int = BUSINESS_KEYS_MAX_MATCHES
) -> list[BusinessKey]:
    """The indexed events carrying the business key `query` names (`order_id=42`, or `42` under
    any key name), newest first; one indexed query. Empty for text that is no such key."""
    parsed = BusinessKeyQuery.parse(query)
    if parsed is None:
        return []
    matches = BusinessKey.objects.filter(value=parsed.value)
    if parsed.name is not None:
        matches = matches.filter(name=parsed.name)
    if topic_id is not None:
        matches = matches.filter(topic_id=topic_id)
    return list(matches.select_related("topic").order_by("-id")[:limit])


def key_names(matches: Iterable[BusinessKey]) -> list[str]:
    """The distinct `name=value` the matches were found under (more than one: `42` is ambiguous)."""
    return sorted({f"{match.name}={match.value}" for match in matches})


def positions_filter(matches: Iterable[BusinessKey]) -> Q:
    """A filter on broker_event for the matches' positions."""
    condition = Q(pk__in=[])
    for index, match in enumerate(matches):
        position = Q(topic_id=match.topic_id, partition=match.partition, offset=match.offset)
        condition = position if index == 0 else condition | position
    return condition
