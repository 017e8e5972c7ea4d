"""Personal data in event reads: the values of the fields the catalog classifies per event type are
masked for callers without the right to see them (`pii:read`, `admin`; see core.auth).

Which fields: the catalog sits above the broker, so the broker asks a provider named in
settings.EVENTLINE["PERSONAL_DATA_PROVIDER"] (a dotted path resolved at run time, as the registry
asks for impact) for `{event type name: [JSON pointer, ...]}`, holding only the types that classify
something. Each process keeps the answer for PERSONAL_DATA_CACHE_S; an edit in this process
forgets it at once (personal_data_forget, which the catalog calls on commit), others see it within
that time.

The fields are JSON pointers into the event's `data` (`/customer/email`); a `*` segment matches
every element of an array and every value of an object (`/items/*/address`). A masked string
becomes "***"; any other value (number, boolean, object, array) becomes null, so a reader sees the
field is there but learns nothing of it, and nulls stay null. An event whose data is not JSON
(`data_base64`) has nothing to point into: the whole of it is masked.

Reads stay cheap: events of types that classify nothing, and every event for callers with the
right, are returned exactly as stored (no parse, no re-encode).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from broker.constants import PERSONAL_DATA_CACHE_S
from core.auth import Principal
from core.jsonutil import dumps, loads

logger = logging.getLogger(__name__)

MASK = "***"

# A stored payload is compact JSON whose first keys are topic, partition, offset, id, source, then
# type (broker.envelope.render_body). No string value before it can hold this text unescaped.
_TYPE_MARK = ',"type":"'

_lock = threading.Lock()
_fields: tuple[float, dict[str, tuple[str, ...]]] | None = None


def personal_data_forget() -> None:
    """Forget this process's field lists: the next read asks the provider again."""
    global _fields
    with _lock:
        _fields = None


def personal_data_fields() -> dict[str, tuple[str, ...]]:
    """Per event type name, the JSON pointers of its personal-data fields (types with none left
    out): this process's copy, at most PERSONAL_DATA_CACHE_S old."""
    global _fields
    now = time.monotonic()
    cached = _fields
    if cached is not None and now - cached[0] < PERSONAL_DATA_CACHE_S:
        return cached[1]
    path = settings.EVENTLINE.get("PERSONAL_DATA_PROVIDER") or ""
    if not path:
        fields: dict[str, tuple[str, ...]] = {}
    else:
        try:
            answer: Mapping[str, Iterable[str]] = import_string(path)()
            fields = {name: tuple(pointers) for name, pointers in answer.items() if pointers}
        except Exception:
            # Failing open would show personal data: keep the last answer, or refuse the read.
            if cached is None:
                raise
            logger.warning("personal data provider %s failed; keeping the last answer", path, exc_info=True)
            fields = cached[1]
    with _lock:
        _fields = (now, fields)
    return fields


def mask_data(data: Any, pointers: Iterable[str]) -> Any:
    """A copy of `data` with the value at every pointer masked; `data` itself is not changed."""
    return _mask_in_place(_copy(data), pointers)


def _mask_in_place(data: Any, pointers: Iterable[str]) -> Any:
    for pointer in pointers:
        parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]
        if parts:
            _mask_at(data, parts)
    return data


def mask_document(document: dict[str, Any], pointers: Sequence[str]) -> dict[str, Any]:
    """An event document (as stored, parsed: nobody else holds it) with its classified data
    masked, in place."""
    if "data" in document:
        document["data"] = _mask_in_place(document["data"], pointers)
    elif "data_base64" in document:
        document["data_base64"] = MASK
    for error in document.get("schema_errors") or ():
        # A validator's reason may quote the value ("'x@y' is not a 'email'").
        if isinstance(error, dict) and _under_any(str(error.get("pointer", "")), pointers):
            error["reason"] = MASK
    return document


def _under_any(error_pointer: str, pointers: Sequence[str]) -> bool:
    """Whether a schema error's pointer (`/data/...`) is at or inside a classified field."""
    if not error_pointer.startswith("/data/"):
        return False
    parts = error_pointer.split("/")[2:]
    for pointer in pointers:
        classified = pointer.split("/")[1:]
        if len(parts) >= len(classified) and all(c in ("*", p) for c, p in zip(classified, parts, strict=False)):
            return True
    return False


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_copy(child) for child in value]
    return value


def _masked(value: Any) -> Any:
    return MASK if isinstance(value, str) else None


def _mask_at(node: Any, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        keys: Iterable[Any] = list(node) if head == "*" else [head] if head in node else []
    elif isinstance(node, list):
        if head == "*":
            keys = range(len(node))
        else:
            keys = [int(head)] if head.isdigit() and int(head) < len(node) else []
    else:
        return
    for key in keys:
        if rest:
            _mask_at(node[key], rest)
        else:
            node[key] = _masked(node[key])


def type_of_payload(payload: str) -> str | None:
    """The event type of a stored payload, read without parsing the rest of it."""
    start = payload.find(_TYPE_MARK)
    if start < 0:
        return None
    start += len(_TYPE_MARK)
    end = payload.find('"', start)
    value = payload[start:end]
    if "\\" in value:  # an escape: let the parser read the string (it may end further on)
        return loads(payload).get("type")
    return value


def mask_payloads(payloads: list[str], principal: Principal) -> list[str]:
    """The stored payloads as `principal` may see them: unchanged for callers with the right or
    when no type classifies anything; otherwise the events of classified types re-encoded with
    their fields masked, every other payload the very same string."""
    if principal.may_see_personal_data or not payloads:
        return payloads
    fields = personal_data_fields()
    if not fields:
        return payloads
    answer = payloads
    for index, payload in enumerate(payloads):
        pointers = fields.get(type_of_payload(payload) or "")
        if pointers:
            if answer is payloads:
                answer = list(payloads)
            answer[index] = dumps(mask_document(loads(payload), pointers)).decode()
    return answer


def hidden_fields(principal: Principal, event_type: str) -> tuple[str, ...]:
    """The pointers masked for `principal` in events of `event_type` (none when it has the right)."""
    if principal.may_see_personal_data:
        return ()
    return personal_data_fields().get(event_type, ())


def pointer_touches(pointer: str, classified: Sequence[str]) -> bool:
    """Whether `pointer` (a filter's JSON pointer into `data`) is at, inside or above one of the
    `classified` pointers: matching on it would tell something of a masked value. A `*` segment on
    either side matches any one segment."""
    parts = pointer.split("/")[1:]
    for other in classified:
        segments = other.split("/")[1:]
        if all(a == b or "*" in (a, b) for a, b in zip(parts, segments, strict=False)):
            return True
    return False


def mask_events(documents: list[dict[str, Any]], principal: Principal) -> list[dict[str, Any]]:
    """Parsed event documents (pages, traces) as `principal` may see them, masked in place."""
    if principal.may_see_personal_data:
        return documents
    fields = personal_data_fields()
    if fields:
        for document in documents:
            pointers = fields.get(document.get("type") or "")
            if pointers:
                mask_document(document, pointers)
    return documents
