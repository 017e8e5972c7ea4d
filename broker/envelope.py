"""From request bodies to prepared events: CloudEvents structured, batch, binary and plain JSON
modes, each event checked field by field. Nothing here touches the database.

Every problem is collected as {"index", "field", "reason"} so a refused batch can name every bad
event at once.
"""

from __future__ import annotations

import base64
import datetime
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from broker.constants import CLOUDEVENTS_SPECVERSION, EXTENSION_NAME_PATTERN, RESERVED_EVENT_FIELDS
from core.errors import BadRequest, UnsupportedMediaType
from core.jsonutil import JSONDecodeError, dumps, loads

CE_JSON = "application/cloudevents+json"
CE_BATCH = "application/cloudevents-batch+json"
PLAIN_JSON = "application/json"

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_CORE_STRING_ATTRIBUTES = ("subject", "datacontenttype", "dataschema")
_MAX_ID_LENGTH = 255
_MAX_SOURCE_LENGTH = 500


@dataclass(slots=True)
class PreparedEvent:
    """One event ready to append: its identity, routing, the attributes Eventline indexes, and its
    serialised body (everything reads return except the broker's coordinates)."""

    index: int
    event_id: str
    source: str
    type: str
    key: str | None
    partition: int | None
    correlation_id: str | None
    causation_id: str | None
    trace_id: str | None
    timestamp_ms: int | None
    dataschema: str | None
    data: Any
    has_data: bool
    attributes: dict[str, Any] = field(default_factory=dict)
    headers: list[dict[str, str | None]] = field(default_factory=list)
    body: bytes = b""
    schema_id: int | None = None

    def render_body(self, timestamp_ms: int, append_time_ms: int) -> bytes:
        """Serialise once; the broker prefixes topic/partition/offset when it knows them."""
        document: dict[str, Any] = {"id": self.event_id, "source": self.source, "type": self.type}
        document.update(self.attributes)
        document["key"] = self.key
        document["headers"] = self.headers
        if self.has_data:
            if isinstance(self.data, bytes):
                document["data_base64"] = base64.b64encode(self.data).decode("ascii")
            else:
                document["data"] = self.data
        document["timestamp"] = timestamp_ms
        document["append_time"] = append_time_ms
        self.body = dumps(document)
        return self.body


@dataclass(slots=True)
class EventError:
    index: int
    field: str
    reason: str
    pointer: str | None = None

    def as_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"index": self.index, "field": self.field, "reason": self.reason}
        if self.pointer is not None:
            error["pointer"] = self.pointer
        return error


def media_type_of(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_json_media(media: str) -> bool:
    return media == PLAIN_JSON or media.endswith("+json") or media == "text/json"


def raw_events_from_request(body: bytes, content_type: str, headers: Mapping[str, str]) -> list[Any]:
    """Split a produce request into raw event objects, by CloudEvents content mode. Raises 400 for
    malformed JSON and 415 for a body no mode can read."""
    media = media_type_of(content_type)
    ce_headers = {name.lower()[3:]: value for name, value in headers.items() if name.lower().startswith("ce-")}
    if media in (CE_JSON, CE_BATCH) or (media == PLAIN_JSON and not ce_headers):
        try:
            document = loads(body)
        except JSONDecodeError as exc:
            raise BadRequest(f"Malformed JSON: {exc}", code="malformed_json") from exc
        if media == CE_BATCH:
            if not isinstance(document, list):
                raise BadRequest("A CloudEvents batch must be a JSON array of events.", code="malformed_batch")
            return document
        if media == PLAIN_JSON and isinstance(document, list):
            return document
        return [document]
    if ce_headers:
        return [_binary_mode_event(body, media, ce_headers)]
    raise UnsupportedMediaType(
        f"Cannot read a body of type '{media or '(none)'}': send {CE_JSON}, {CE_BATCH}, {PLAIN_JSON}, "
        "or binary mode with ce-* headers."
    )


def _binary_mode_event(body: bytes, media: str, ce_headers: dict[str, str]) -> dict[str, Any]:
    """Binary content mode: attributes in ce-* headers, the body is the data."""
    event: dict[str, Any] = dict(ce_headers)
    if media:
        event["datacontenttype"] = media
    if body:
        if _is_json_media(media):
            try:
                event["data"] = loads(body)
            except JSONDecodeError as exc:
                raise BadRequest(f"Malformed JSON data: {exc}", code="malformed_json") from exc
        elif media.startswith("text/"):
            event["data"] = body.decode("utf-8", errors="replace")
        else:
            event["data_base64"] = base64.b64encode(body).decode("ascii")
    if "partition" in event:
        try:
            event["partition"] = int(event["partition"])
        except ValueError:
            pass  # reported by prepare_event with the field name
    return event


def parse_traceparent(value: str) -> str | None:
    """The trace id of a W3C traceparent, or None when the header is not valid."""
    match = _TRACEPARENT.match(value)
    if not match:
        return None
    version, trace_id, parent_id, _flags, rest = match.groups()
    if version == "ff" or trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    if version == "00" and rest:
        return None
    return trace_id


def parse_time_ms(value: str) -> int:
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a time zone offset is required (RFC 3339)")
    return int(moment.timestamp() * 1000)


def _headers(value: Any) -> list[dict[str, str | None]]:
    """Ordered headers; keys may repeat. Accepts [{"key","value"}], [[key, value]] or an object."""
    pairs: list[tuple[Any, Any]]
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = []
        for item in value:
            if isinstance(item, dict) and set(item) <= {"key", "value"} and "key" in item:
                pairs.append((item["key"], item.get("value")))
            elif isinstance(item, list) and len(item) == 2:
                pairs.append((item[0], item[1]))
            else:
                raise ValueError('each header must be {"key": ..., "value": ...} or [key, value]')
    else:
        raise ValueError("must be a list of headers or an object")
    result: list[dict[str, str | None]] = []
    for key, header_value in pairs:
        if not isinstance(key, str) or not key:
            raise ValueError("header keys must be non-empty strings")
        if header_value is not None and not isinstance(header_value, str):
            raise ValueError(f"header '{key}' must have a string or null value")
        result.append({"key": key, "value": header_value})
    return result


def prepare_event(
    index: int, raw: Any, *, default_source: str, default_type: str, partition_count: int
) -> tuple[PreparedEvent | None, list[EventError]]:
    """Check one raw event and fill the defaults the issue asks for (id, source, type)."""
    errors: list[EventError] = []

    def bad(name: str, reason: str) -> None:
        errors.append(EventError(index, name, reason))

    if not isinstance(raw, dict):
        return None, [EventError(index, "", "an event must be a JSON object")]

    def string(name: str, max_length: int | None = None) -> str | None:
        value = raw.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            bad(name, "must be a non-empty string")
            return None
        if max_length is not None and len(value) > max_length:
            bad(name, f"must be at most {max_length} characters")
            return None
        return value

    specversion = raw.get("specversion")
    if specversion is not None and specversion != CLOUDEVENTS_SPECVERSION:
        bad("specversion", f"unsupported CloudEvents specversion {specversion!r}; use '1.0'")
    event_id = string("id", _MAX_ID_LENGTH) or str(uuid.uuid4())
    source = string("source", _MAX_SOURCE_LENGTH) or default_source
    event_type = string("type", _MAX_ID_LENGTH) or default_type

    attributes: dict[str, Any] = {"specversion": CLOUDEVENTS_SPECVERSION}
    timestamp_ms: int | None = None
    time_value = raw.get("time")
    if time_value is not None:
        if not isinstance(time_value, str):
            bad("time", "must be an RFC 3339 timestamp string")
        else:
            try:
                timestamp_ms = parse_time_ms(time_value)
                attributes["time"] = time_value
            except ValueError as exc:
                bad("time", f"not an RFC 3339 timestamp: {exc}")
    for name in _CORE_STRING_ATTRIBUTES:
        value = string(name)
        if value is not None:
            attributes[name] = value

    key_value = raw.get("partitionkey", raw.get("key"))
    key_field = "partitionkey" if "partitionkey" in raw else "key"
    key: str | None = None
    if key_value is not None:
        if isinstance(key_value, str):
            key = key_value
        else:
            bad(key_field, "must be a string")

    partition: int | None = None
    partition_value = raw.get("partition")
    if partition_value is not None:
        if isinstance(partition_value, bool) or not isinstance(partition_value, int):
            bad("partition", "must be an integer")
        elif not 0 <= partition_value < partition_count:
            bad(
                "partition",
                f"partition {partition_value} does not exist: the topic has partitions 0..{partition_count - 1}",
            )
        else:
            partition = partition_value

    headers: list[dict[str, str | None]] = []
    if raw.get("headers") is not None:
        try:
            headers = _headers(raw["headers"])
        except ValueError as exc:
            bad("headers", str(exc))

    correlation_id = string("correlationid", _MAX_ID_LENGTH)
    causation_id = string("causationid", _MAX_ID_LENGTH)
    trace_id: str | None = None
    traceparent = string("traceparent")
    if traceparent is not None:
        trace_id = parse_traceparent(traceparent)
        if trace_id is None:
            bad("traceparent", "not a valid W3C traceparent (version-traceid-parentid-flags)")

    handled = {
        "specversion",
        "id",
        "source",
        "type",
        "time",
        "partitionkey",
        "key",
        "partition",
        "headers",
        "data",
        "data_base64",
        *_CORE_STRING_ATTRIBUTES,
    }
    for name, value in raw.items():
        if name in handled:
            continue
        if name in RESERVED_EVENT_FIELDS:
            bad(name, "is set by the broker and cannot be sent")
            continue
        if not EXTENSION_NAME_PATTERN.match(name):
            bad(name, "not a valid CloudEvents attribute name (1-20 lowercase letters and digits)")
            continue
        if value is None:
            continue
        if isinstance(value, bool) or isinstance(value, (str, int)):
            attributes[name] = value
        else:
            bad(name, "extension attributes must be strings, integers or booleans")

    has_data = "data" in raw or "data_base64" in raw
    data: Any = None
    if "data" in raw and "data_base64" in raw:
        bad("data_base64", "send either data or data_base64, not both")
    elif "data_base64" in raw:
        encoded = raw["data_base64"]
        try:
            if not isinstance(encoded, str):
                raise ValueError
            data = base64.b64decode(encoded, validate=True)
        except ValueError:
            bad("data_base64", "must be base64")
    else:
        data = raw.get("data")

    if errors:
        return None, errors
    return (
        PreparedEvent(
            index=index,
            event_id=event_id,
            source=source,
            type=event_type,
            key=key,
            partition=partition,
            correlation_id=correlation_id,
            causation_id=causation_id,
            trace_id=trace_id,
            timestamp_ms=timestamp_ms,
            dataschema=attributes.get("dataschema"),
            data=data,
            has_data=has_data,
            attributes=attributes,
            headers=headers,
        ),
        [],
    )
