"""From request bodies to prepared events: CloudEvents structured, batch, binary and plain JSON
modes, each event checked field by field. Nothing here touches the database.

Every problem is collected as {"index", "field", "reason"} so a refused batch can name every bad
event at once.
"""

from __future__ import annotations

import base64
import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from broker.constants import CLOUDEVENTS_SPECVERSION, EXTENSION_NAME_PATTERN, RESERVED_EVENT_FIELDS
from core.errors import NUL_REASON, BadRequest, UnsupportedMediaType, too_deep
from core.jsonutil import JSONDecodeError, dumps, loads, max_json_depth, nesting_exceeds, parser_depth_exceeded
from eventline.ids import uuid7

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
    # Set under validation mode "warn" when the data breaks its schema; travels with the event.
    schema_errors: list[dict[str, str]] | None = None
    # The broker made the id up (the event came without one): it cannot be a repeat.
    id_generated: bool = False

    def render_body(self, timestamp_ms: int, append_time_ms: int) -> bytes:
        """Serialise once; the broker prefixes topic/partition/offset when it knows them."""
        document: dict[str, Any] = {
            "id": self.event_id,
            "source": self.source,
            "type": self.type,
            **self.attributes,
            "key": self.key,
            "headers": self.headers,
        }
        if self.has_data:
            if isinstance(self.data, bytes):
                document["data_base64"] = base64.b64encode(self.data).decode("ascii")
            else:
                document["data"] = self.data
        if self.schema_errors:
            document["schema_errors"] = self.schema_errors
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


def _loads_limited(body: bytes, what: str) -> Any:
    """JSON from a produce body: 400 when malformed, 422 when nested deeper than
    EVENTLINE_MAX_JSON_DEPTH (the encoder and the validator recurse along the data)."""
    limit = max_json_depth()
    try:
        document = loads(body)
    except JSONDecodeError as exc:
        if parser_depth_exceeded(exc):
            raise too_deep(limit) from None
        raise BadRequest(f"Malformed JSON{what}: {exc}", code="malformed_json") from exc
    if nesting_exceeds(document, limit, text=body):
        raise too_deep(limit)
    return document


def raw_events_from_request(body: bytes, content_type: str, headers: Mapping[str, str]) -> list[Any]:
    """Split a produce request into raw event objects, by CloudEvents content mode. Raises 400 for
    malformed JSON, 422 for JSON nested too deep and 415 for a body no mode can read."""
    media = media_type_of(content_type)
    ce_headers = {name.lower()[3:]: value for name, value in headers.items() if name.lower().startswith("ce-")}
    if media in (CE_JSON, CE_BATCH) or (media == PLAIN_JSON and not ce_headers):
        document = _loads_limited(body, "")
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
            event["data"] = _loads_limited(body, " data")
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
        if "\x00" in key:
            raise ValueError(f"header keys {NUL_REASON}")
        if header_value is not None and not isinstance(header_value, str):
            raise ValueError(f"header '{key}' must have a string or null value")
        result.append({"key": key, "value": header_value})
    return result


_STRING_LIMITS = {
    "id": _MAX_ID_LENGTH,
    "source": _MAX_SOURCE_LENGTH,
    "type": _MAX_ID_LENGTH,
    "subject": None,
    "datacontenttype": None,
    "dataschema": None,
    "correlationid": _MAX_ID_LENGTH,
    "causationid": _MAX_ID_LENGTH,
    "traceparent": None,
}
_NOT_A_STRING: Any = object()  # an attribute that is not one of the string ones
# The attributes a stored event carries after specversion, in this order.
_ATTRIBUTE_POSITION = {
    name: position
    for position, name in enumerate(
        ("time", "subject", "datacontenttype", "dataschema", "correlationid", "causationid", "traceparent")
    )
}


def prepare_event(
    index: int,
    raw: Any,
    *,
    default_source: str,
    default_type: str,
    partition_count: int,
    generated_id: str | None = None,
) -> tuple[PreparedEvent | None, list[EventError]]:
    """Check one raw event and fill the defaults the issue asks for (id, source, type).

    One pass over the event's fields (this runs for every event of every batch)."""
    if type(raw) is not dict:
        return None, [EventError(index, "", "an event must be a JSON object")]
    errors: list[EventError] = []
    strings: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    timestamp_ms: int | None = None
    key: str | None = None
    partition: int | None = None
    headers: list[dict[str, str | None]] = []
    has_data = False
    data: Any = None
    for name, value in raw.items():
        limit = _STRING_LIMITS.get(name, _NOT_A_STRING)
        if limit is not _NOT_A_STRING:
            if value is None:
                continue
            if type(value) is not str or not value:
                errors.append(EventError(index, name, "must be a non-empty string"))
            elif limit is not None and len(value) > limit:
                errors.append(EventError(index, name, f"must be at most {limit} characters"))
            elif "\x00" in value:
                errors.append(EventError(index, name, NUL_REASON))
            else:
                strings[name] = value
        elif name == "data":
            has_data = True
            data = value
        elif name == "partitionkey" or name == "key":
            if value is None:
                continue
            if type(value) is not str:
                errors.append(EventError(index, name, "must be a string"))
            elif "\x00" in value:
                errors.append(EventError(index, name, NUL_REASON))
            else:
                key = value
        elif name == "partition":
            if value is None:
                continue
            if type(value) is not int:
                errors.append(EventError(index, "partition", "must be an integer"))
            elif not 0 <= value < partition_count:
                errors.append(
                    EventError(
                        index,
                        "partition",
                        f"partition {value} does not exist: the topic has partitions 0..{partition_count - 1}",
                    )
                )
            else:
                partition = value
        elif name == "time":
            if value is None:
                continue
            if type(value) is not str:
                errors.append(EventError(index, "time", "must be an RFC 3339 timestamp string"))
                continue
            try:
                timestamp_ms = parse_time_ms(value)
                strings["time"] = value
            except ValueError as exc:
                errors.append(EventError(index, "time", f"not an RFC 3339 timestamp: {exc}"))
        elif name == "specversion":
            if value is not None and value != CLOUDEVENTS_SPECVERSION:
                errors.append(
                    EventError(index, "specversion", f"unsupported CloudEvents specversion {value!r}; use '1.0'")
                )
        elif name == "headers":
            if value is None:
                continue
            try:
                headers = _headers(value)
            except ValueError as exc:
                errors.append(EventError(index, "headers", str(exc)))
        elif name == "data_base64":
            has_data = True
            try:
                if type(value) is not str:
                    raise ValueError
                data = base64.b64decode(value, validate=True)
            except ValueError:
                errors.append(EventError(index, "data_base64", "must be base64"))
        elif name in RESERVED_EVENT_FIELDS:
            errors.append(EventError(index, name, "is set by the broker and cannot be sent"))
        elif not EXTENSION_NAME_PATTERN.match(name):
            errors.append(
                EventError(index, name, "not a valid CloudEvents attribute name (1-20 lowercase letters and digits)")
            )
        elif value is None:
            continue
        elif type(value) is str and "\x00" in value:
            errors.append(EventError(index, name, NUL_REASON))
        elif type(value) in (str, int, bool):
            extensions[name] = value
        else:
            errors.append(EventError(index, name, "extension attributes must be strings, integers or booleans"))

    if "data" in raw and "data_base64" in raw:
        errors.append(EventError(index, "data_base64", "send either data or data_base64, not both"))
    trace_id: str | None = None
    traceparent = strings.get("traceparent")
    if traceparent is not None:
        trace_id = parse_traceparent(traceparent)
        if trace_id is None:
            errors.append(
                EventError(index, "traceparent", "not a valid W3C traceparent (version-traceid-parentid-flags)")
            )
    if errors:
        return None, errors

    attributes: dict[str, Any] = {"specversion": CLOUDEVENTS_SPECVERSION}
    carried = strings.keys() & _ATTRIBUTE_POSITION
    for name in sorted(carried, key=_ATTRIBUTE_POSITION.__getitem__) if len(carried) > 1 else carried:
        attributes[name] = strings[name]
    if extensions:
        attributes.update(extensions)
    get = strings.get
    event_id = get("id")
    # Positional, in the field order: this runs for every event of every batch.
    return (
        PreparedEvent(
            index,
            event_id or generated_id or uuid7(),
            get("source") or default_source,
            get("type") or default_type,
            key,
            partition,
            get("correlationid"),
            get("causationid"),
            trace_id,
            timestamp_ms,
            get("dataschema"),
            data,
            has_data,
            attributes,
            headers,
            b"",
            None,
            None,
            event_id is None,
        ),
        [],
    )
