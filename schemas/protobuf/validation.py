"""Event data checked against a Protobuf schema in Protobuf's JSON mapping (what
`google.protobuf.json_format.ParseDict` accepts), with the JSON pointer of every failure rather
than the first only. The event's message is the schema's first message, as for Confluent's
serializers (message index 0).

The mapping: fields by their JSON name or proto name; null for any field means "not set";
64-bit integers as numbers or decimal strings; floats as numbers or "NaN"/"Infinity"; bytes as
base64; enums by value name or number; maps as objects; and the well-known types in their own
JSON forms (Timestamp as RFC 3339, Duration as "1.5s", wrappers as the wrapped value, Struct,
Value, ListValue, Any with "@type", FieldMask as "a.b,c").
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from typing import Any

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from schemas.protobuf.schema import ParsedProto

_MAX_ISSUES = 100
FD = FieldDescriptor
_RANGES = {
    FD.TYPE_INT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FD.TYPE_UINT32: (0, 2**32 - 1),
    FD.TYPE_FIXED32: (0, 2**32 - 1),
    FD.TYPE_INT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FD.TYPE_UINT64: (0, 2**64 - 1),
    FD.TYPE_FIXED64: (0, 2**64 - 1),
}
_TYPE_NAMES = {
    FD.TYPE_INT32: "int32",
    FD.TYPE_SINT32: "sint32",
    FD.TYPE_SFIXED32: "sfixed32",
    FD.TYPE_UINT32: "uint32",
    FD.TYPE_FIXED32: "fixed32",
    FD.TYPE_INT64: "int64",
    FD.TYPE_SINT64: "sint64",
    FD.TYPE_SFIXED64: "sfixed64",
    FD.TYPE_UINT64: "uint64",
    FD.TYPE_FIXED64: "fixed64",
}
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")
_WRAPPERS = {
    "google.protobuf.DoubleValue": FD.TYPE_DOUBLE,
    "google.protobuf.FloatValue": FD.TYPE_FLOAT,
    "google.protobuf.Int64Value": FD.TYPE_INT64,
    "google.protobuf.UInt64Value": FD.TYPE_UINT64,
    "google.protobuf.Int32Value": FD.TYPE_INT32,
    "google.protobuf.UInt32Value": FD.TYPE_UINT32,
    "google.protobuf.BoolValue": FD.TYPE_BOOL,
    "google.protobuf.StringValue": FD.TYPE_STRING,
    "google.protobuf.BytesValue": FD.TYPE_BYTES,
}


def first_message(parsed: ParsedProto) -> Descriptor:
    """The schema's first message, in a pool of its own built from its files."""
    pool = descriptor_pool.DescriptorPool()
    for file in parsed.files:
        pool.AddSerializedFile(file.SerializeToString())
    if not parsed.file.message_type:
        raise LookupError("the schema declares no message")
    package = f"{parsed.file.package}." if parsed.file.package else ""
    return pool.FindMessageTypeByName(package + parsed.file.message_type[0].name)


class ProtobufEventValidator:
    """Event data (JSON) against the first message of a Protobuf schema."""

    __slots__ = ("_message", "_valid", "schema_id")

    def __init__(self, schema_id: int, parsed: ParsedProto) -> None:
        self.schema_id = schema_id
        self._message = first_message(parsed)
        self._valid = compile_check(self._message)

    def validate(self, instance: Any) -> list[Any]:
        if self._valid(instance):
            return []
        from schemas.validation import ValidationIssue

        return [
            ValidationIssue(pointer=pointer, reason=reason)
            for pointer, reason in protobuf_json_issues(self._message, instance)
        ]

    def is_valid(self, instance: Any) -> bool:
        return self._valid(instance)


Check = Callable[[Any], bool]


def compile_check(message: Descriptor) -> Check:
    """A yes/no check of event data against `message` with the rules of `protobuf_json_issues`,
    built once per schema as closures: the common forms (numbers as numbers, enum names, nested
    objects) are checked inline and the rarer ones (decimal strings, "NaN", base64, well-known
    types) by the same helpers the detailed walk uses, so both always agree. Callers run the
    detailed walk, which names every failing pointer, only when this says no."""
    return _compiled_message(message, {})


def _compiled_message(message: Descriptor, done: dict[str, Check]) -> Check:
    found = done.get(message.full_name)
    if found is not None:
        return found
    if message.full_name.startswith("google.protobuf.") and _well_known(message, None) is not None:
        check: Check = lambda datum: _well_known(message, datum) == ""  # noqa: E731
        done[message.full_name] = check
        return check
    holder: list[Check] = []
    done[message.full_name] = lambda datum: holder[0](datum)  # messages may recur
    # key (proto or JSON name) -> (field name, check of a non-null value, non-synthetic oneof, null allowed)
    by_key: dict[str, tuple[str, Check, str | None, bool]] = {}
    for item in message.fields:
        oneof = item.containing_oneof
        entry = (
            item.name,
            _compiled_field(item, done),
            oneof.name if oneof is not None and not is_synthetic_oneof_member(item) else None,
            not (_is_value(item.message_type) and (item.is_repeated or is_map_field(item))),
        )
        by_key[item.name] = entry
        by_key[item.json_name] = entry
    required = [(item.name, item.json_name) for item in message.fields if item.is_required]

    def check_message(datum: Any) -> bool:
        if type(datum) is not dict:
            return False
        present: set[str] = set()
        oneofs: set[str] = set()
        for key, value in datum.items():
            entry = by_key.get(key)
            if entry is None:
                return False
            name, check, oneof, null_allowed = entry
            if name in present:
                return False
            present.add(name)
            if value is None:
                if null_allowed:
                    continue
                return False
            if oneof is not None:
                if oneof in oneofs:
                    return False
                oneofs.add(oneof)
            if not check(value):
                return False
        return all(name in present for name, _ in required)

    holder.append(check_message)
    done[message.full_name] = check_message
    return check_message


def _is_value(message: Descriptor | None) -> bool:
    return message is not None and message.full_name == "google.protobuf.Value"


def is_map_field(item: FieldDescriptor) -> bool:
    """A `map<K, V>` field (protoc's repeated entry message)."""
    return item.message_type is not None and item.message_type.GetOptions().map_entry


def _compiled_field(item: FieldDescriptor, done: dict[str, Check]) -> Check:
    if is_map_field(item):
        key_field, value_field = item.message_type.fields_by_name["key"], item.message_type.fields_by_name["value"]
        plain_keys = key_field.type not in _RANGES and key_field.type != FD.TYPE_BOOL
        element = _compiled_single(value_field, done)
        return lambda value: (
            type(value) is dict
            and all(
                (plain_keys or _map_key(key_field, key) == "") and element_value is not None and element(element_value)
                for key, element_value in value.items()
            )
        )
    single = _compiled_single(item, done)
    if item.is_repeated:
        return lambda value: type(value) is list and all(element is not None and single(element) for element in value)
    return single


def _compiled_single(item: FieldDescriptor, done: dict[str, Check]) -> Check:
    if item.message_type is not None:
        return _compiled_message(item.message_type, done)
    kind = item.type
    if kind in _RANGES:
        low, high = _RANGES[kind]
        return lambda value: (low <= value <= high) if type(value) is int else _integer(kind, value) == ""
    if kind == FD.TYPE_DOUBLE:
        return lambda value: type(value) is float or type(value) is int or _floating(kind, value) == ""
    if kind == FD.TYPE_BOOL:
        return lambda value: type(value) is bool
    if kind == FD.TYPE_STRING:
        return lambda value: isinstance(value, str)
    if kind == FD.TYPE_ENUM:
        names = frozenset(item.enum_type.values_by_name)
        return lambda value: (type(value) is str and value in names) or _scalar(item, value) == ""
    return lambda value: _scalar(item, value) == ""


def protobuf_json_issues(message: Descriptor, datum: Any) -> list[tuple[str, str]]:
    """(pointer, reason) for every way `datum` breaks `message`'s JSON mapping (empty: valid)."""
    issues: list[tuple[str, str]] = []
    _message(message, datum, "", issues)
    return issues[:_MAX_ISSUES]


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _message(message: Descriptor, datum: Any, pointer: str, issues: list[tuple[str, str]]) -> None:
    if len(issues) >= _MAX_ISSUES:
        return
    special = _well_known(message, datum)
    if special is not None:
        if special:
            issues.append((pointer, special))
        return
    if not isinstance(datum, dict):
        issues.append((pointer, f"must be an object (message {message.full_name})"))
        return
    by_key = {}
    for item in message.fields:
        by_key[item.name] = item
        by_key[item.json_name] = item
    oneofs_set: dict[str, str] = {}
    present: set[str] = set()
    for key, value in datum.items():
        item = by_key.get(key)
        where = f"{pointer}/{_escape(str(key))}"
        if item is None:
            issues.append((where, f"is not a field of {message.full_name}"))
            continue
        if item.name in present:
            issues.append((where, f"sets field {item.name} twice (by its proto name and its JSON name)"))
            continue
        present.add(item.name)
        if value is None and (item.message_type is None or item.message_type.full_name != "google.protobuf.Value"):
            continue  # null means "not set" (a Value field holds null itself)
        oneof = item.containing_oneof
        if oneof is not None and not is_synthetic_oneof_member(item):
            if oneof.name in oneofs_set:
                issues.append((where, f"oneof {oneof.name} already has {oneofs_set[oneof.name]} set"))
            oneofs_set[oneof.name] = item.name
        _field(item, value, where, issues)
    for item in message.fields:
        if item.is_required and item.name not in present:
            issues.append(
                (f"{pointer}/{_escape(item.json_name)}", f"is required (required {item.name} of {message.full_name})")
            )


def is_synthetic_oneof_member(item: FieldDescriptor) -> bool:
    """A proto3 `optional` field, which protoc puts alone in a oneof of its own (`_name`): not a
    oneof anyone wrote."""
    oneof = item.containing_oneof
    return oneof is not None and len(oneof.fields) == 1 and oneof.name == f"_{item.name}" and item.has_presence


def _field(item: FieldDescriptor, value: Any, pointer: str, issues: list[tuple[str, str]]) -> None:
    entry = item.message_type
    if is_map_field(item):
        if not isinstance(value, dict):
            issues.append((pointer, "must be an object (a map)"))
            return
        key_field, value_field = entry.fields_by_name["key"], entry.fields_by_name["value"]
        for key, element in value.items():
            where = f"{pointer}/{_escape(str(key))}"
            reason = _map_key(key_field, key)
            if reason:
                issues.append((where, reason))
            if element is None:
                issues.append((where, "must not be null (a map value)"))
            else:
                _single(value_field, element, where, issues)
        return
    if item.is_repeated:
        if not isinstance(value, list):
            issues.append((pointer, "must be an array (a repeated field)"))
            return
        for index, element in enumerate(value):
            if element is None:
                issues.append((f"{pointer}/{index}", "must not be null (a repeated element)"))
            else:
                _single(item, element, f"{pointer}/{index}", issues)
        return
    _single(item, value, pointer, issues)


def _single(item: FieldDescriptor, value: Any, pointer: str, issues: list[tuple[str, str]]) -> None:
    if item.message_type is not None:
        _message(item.message_type, value, pointer, issues)
        return
    reason = _scalar(item, value)
    if reason:
        issues.append((pointer, reason))


def _map_key(key_field: FieldDescriptor, key: str) -> str:
    if key_field.type == FD.TYPE_BOOL:
        return "" if key in ("true", "false") else "must be a map key 'true' or 'false'"
    if key_field.type in _RANGES:
        return _integer(key_field.type, key, map_key=True)
    return ""


def _scalar(item: FieldDescriptor, value: Any) -> str:
    kind = item.type
    if kind in _RANGES:
        return _integer(kind, value)
    if kind in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return _floating(kind, value)
    if kind == FD.TYPE_BOOL:
        return "" if type(value) is bool else "must be a boolean"
    if kind == FD.TYPE_STRING:
        return "" if isinstance(value, str) else "must be a string"
    if kind == FD.TYPE_BYTES:
        return _bytes(value)
    if kind == FD.TYPE_ENUM:
        enum = item.enum_type
        if isinstance(value, str):
            return (
                ""
                if value in enum.values_by_name
                else f"must be one of {', '.join(enum.values_by_name)} (enum {enum.full_name})"
            )
        if type(value) is int:
            closed = getattr(enum, "is_closed", False)
            if closed and value not in enum.values_by_number:
                return f"is not a number of enum {enum.full_name}"
            return "" if -(2**31) <= value < 2**31 else "is out of the int32 range of an enum"
        return f"must be the name or number of a value of enum {enum.full_name}"
    return ""


def _integer(kind: int, value: Any, *, map_key: bool = False) -> str:
    name = _TYPE_NAMES[kind]
    number: int | None = None
    if type(value) is int:
        number = value
    elif isinstance(value, float) and not map_key and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        number = int(value)
    if number is None:
        return f"must be a {name} (a whole number, or a decimal string)"
    low, high = _RANGES[kind]
    if not low <= number <= high:
        return f"is out of the {name} range [{low}, {high}]"
    return ""


def _floating(kind: int, value: Any) -> str:
    name = "float" if kind == FD.TYPE_FLOAT else "double"
    if isinstance(value, str):
        if value in ("NaN", "Infinity", "-Infinity"):
            return ""
        try:
            value = float(value)
        except ValueError:
            return f'must be a {name} (a number, or "NaN", "Infinity", "-Infinity")'
    if type(value) is bool or not isinstance(value, (int, float)):
        return f'must be a {name} (a number, or "NaN", "Infinity", "-Infinity")'
    if kind == FD.TYPE_FLOAT and math.isfinite(value) and abs(value) > 3.4028234663852886e38:
        return "is out of the float range"
    return ""


def _bytes(value: Any) -> str:
    if not isinstance(value, str):
        return "must be a base64 string (bytes)"
    text = value.replace("-", "+").replace("_", "/")
    try:
        base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return "must be a base64 string (bytes)"
    return ""


def _well_known(message: Descriptor, datum: Any) -> str | None:
    """The reason a well-known type's JSON form is broken ("" when valid); None for other messages."""
    name = message.full_name
    if name == "google.protobuf.Timestamp":
        return (
            ""
            if isinstance(datum, str) and _TIMESTAMP.match(datum)
            else "must be an RFC 3339 timestamp string (Timestamp)"
        )
    if name == "google.protobuf.Duration":
        return (
            ""
            if isinstance(datum, str) and _DURATION.match(datum)
            else 'must be a duration string such as "1.5s" (Duration)'
        )
    if name in _WRAPPERS:
        wrapped = message.fields_by_name["value"]
        return _scalar(wrapped, datum)
    if name == "google.protobuf.Struct":
        return "" if isinstance(datum, dict) else "must be an object (Struct)"
    if name == "google.protobuf.ListValue":
        return "" if isinstance(datum, list) else "must be an array (ListValue)"
    if name == "google.protobuf.Value":
        return ""
    if name == "google.protobuf.FieldMask":
        return "" if isinstance(datum, str) else "must be a string of comma-separated paths (FieldMask)"
    if name == "google.protobuf.Any":
        return (
            ""
            if isinstance(datum, dict) and isinstance(datum.get("@type"), str)
            else 'must be an object with "@type" (Any)'
        )
    if name == "google.protobuf.Empty":
        return "" if datum == {} else "must be an empty object (Empty)"
    return None
