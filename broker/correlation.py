"""Where an event's correlation id lives, per event type.

By default it is the CloudEvents `correlationid` attribute. An AsyncAPI document may say otherwise
for a message (`correlationId.location`): `$message.header#/requestId` (an attribute or a header of
that name) or `$message.payload#/reqid` (a JSON pointer into the data). The catalog keeps that
location per event type; the broker sits below it, so it asks the provider named in
settings.EVENTLINE["CORRELATION_LOCATIONS_PROVIDER"] for `{event type name: location}` (only the
types that declare one) and each process keeps the answer for CORRELATION_LOCATIONS_CACHE_S; a
catalog change forgets it on commit (correlation_locations_forget).

The append records the id found there in the event's indexed correlation id (what traces read),
so nothing else changes: the stored event is the one that was sent. Cost on the produce path: one
dict lookup per batch when no type declares a location (the usual case), else one lookup per
event and, for events of a declaring type, a walk of the already-parsed data or headers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from django.conf import settings
from django.utils.module_loading import import_string

from broker.constants import CORRELATION_LOCATIONS_CACHE_S
from broker.envelope import PreparedEvent

HEADER = "$message.header#"
PAYLOAD = "$message.payload#"
DEFAULT_LOCATION = "$message.header#/correlationid"

_lock = threading.Lock()
_locations: tuple[float, dict[str, str]] | None = None


def correlation_locations_forget() -> None:
    """Forget this process's locations: the next append asks the provider again."""
    global _locations
    with _lock:
        _locations = None


def correlation_locations() -> dict[str, str]:
    """Per event type name, where its correlation id lives, for the types that say so and do not
    say the default: this process's copy, at most CORRELATION_LOCATIONS_CACHE_S old."""
    global _locations
    now = time.monotonic()
    cached = _locations
    if cached is not None and now - cached[0] < CORRELATION_LOCATIONS_CACHE_S:
        return cached[1]
    path = settings.EVENTLINE.get("CORRELATION_LOCATIONS_PROVIDER") or ""
    locations: dict[str, str] = {}
    if path:
        answer: Mapping[str, str] = import_string(path)()
        locations = {
            name: location
            for name, location in answer.items()
            if location and location != DEFAULT_LOCATION and location.startswith((HEADER, PAYLOAD))
        }
    with _lock:
        _locations = (now, locations)
    return locations


def correlation_id_at(event: PreparedEvent, location: str) -> str | None:
    """The correlation id at `location` in `event`: a string, number or boolean as text, else None."""
    if location.startswith(PAYLOAD):
        value = _at_pointer(event.data if event.has_data else None, location[len(PAYLOAD) :])
    else:
        parts = _parts(location[len(HEADER) :])
        if not parts:
            return None
        # CloudEvents attribute names are lower case: `requestId` is sent as `requestid`.
        value = event.attributes.get(parts[0], event.attributes.get(parts[0].lower()))
        if value is None:  # Kafka-style headers: the last of a repeated key wins, as in Kafka Streams
            value = next((h.get("value") for h in reversed(event.headers) if h.get("key") == parts[0]), None)
        value = _at_pointer(value, "/" + "/".join(parts[1:])) if len(parts) > 1 else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)) and str(value):
        return str(value)[:255]
    return None


def correlation_ids_locate(events: list[PreparedEvent]) -> None:
    """Set each event's correlation id from where its type says it lives, when it is there."""
    locations = correlation_locations()
    if not locations:
        return
    for event in events:
        location = locations.get(event.type)
        if location:
            found = correlation_id_at(event, location)
            if found is not None:
                event.correlation_id = found


def _parts(pointer: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]] if pointer else []


def _at_pointer(node: object, pointer: str) -> object:
    for part in _parts(pointer):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node
