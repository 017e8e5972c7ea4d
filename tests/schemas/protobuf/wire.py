"""The Protobuf wire as an oracle: writer messages with representative values in every field,
serialized with the writer's schema and parsed with the reader's by the protobuf runtime, and
what it means for the reader to misread them.

The reader misreads a writer message when
- parsing raises DecodeError, or the parsed message lacks a proto2 `required` field (Python's
  runtime parses it; Java's and C++'s refuse it);
- a field number the reader declares reads as other values than the writer set. Both messages
  are compared in a canonical form by field number: each field a list of values (a singular
  field is a list of one, so a repeated reader reading one optional value reads it, and one
  reading a list keeps only the last), strings as their UTF-8 bytes, bools as 0/1, enums as
  numbers, messages as nested forms, maps as their entries {1: [key], 2: [value]} in no order.
  A list that is empty or one zero is left out: presence is not a value. Scalars of different
  Python types (bytes and int, int and float) differ. A number the reader does not declare is
  dropped, not misread: that is what removing a field is (Confluent's FIELD_REMOVED). One it
  declares but keeps as an unknown field (another wire type) reads as empty, so it is misread;
- the writer chose a member of a oneof, and the reader's real oneof holding that member (or,
  when the reader does not declare it, holding another member of the writer's oneof) reports
  another choice or none: which member is set is a value too.

Fields the writer left unset are not compared: a proto2 default is not on the wire.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from google.protobuf import descriptor_pb2, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, OneofDescriptor
from google.protobuf.message import DecodeError, Message

from schemas.protobuf.schema import ParsedProto
from schemas.protobuf.validation import first_message

FD = FieldDescriptor
SAMPLES = 6  # the longest list of representatives below: every value is written at least once
MAX_DEPTH = 3  # nested (and recursive) messages are filled this deep

_UNDECLARED_ENUM_NUMBER = 77
_INT32 = [-1, 2**31 - 1, -(2**31), 1, 300, 0]
_INT64 = [-1, 2**63 - 1, -(2**63), 2**31, 1, 0]
_UINT32 = [2**32 - 1, 2**31, 1, 300, 0]
_UINT64 = [2**64 - 1, 2**63, 2**32, 1, 0]
_REPRESENTATIVES: dict[int, list[Any]] = {
    FD.TYPE_INT32: _INT32, FD.TYPE_SINT32: _INT32, FD.TYPE_SFIXED32: _INT32,
    FD.TYPE_INT64: _INT64, FD.TYPE_SINT64: _INT64, FD.TYPE_SFIXED64: _INT64,
    FD.TYPE_UINT32: _UINT32, FD.TYPE_FIXED32: _UINT32,
    FD.TYPE_UINT64: _UINT64, FD.TYPE_FIXED64: _UINT64,
    FD.TYPE_BOOL: [True, False],
    FD.TYPE_FLOAT: [1.5, -2.25, math.inf, -math.inf, math.nan, 3.0e38],
    FD.TYPE_DOUBLE: [1e308, -2.5, math.inf, math.nan, 5e-324, 0.1],
    FD.TYPE_STRING: ["é漢🙂", "plain", "\x00nul", ""],
    FD.TYPE_BYTES: [b"\xff\xfe\x00", b"caf\xc3\xa9", b"\x08\x01", b""],
}  # fmt: skip


def message_class(parsed: ParsedProto) -> type[Message]:
    """The class of the schema's first message (Confluent's default message index 0)."""
    return message_factory.GetMessageClass(first_message(parsed))


def writer_samples(message_type: type[Message]) -> list[Message]:
    """SAMPLES messages with every field set: sample i writes each scalar's i-th representative,
    lists as [v(i), v(i+1), v(i)] (a duplicate, so a map reading a list loses one), two map
    entries, nested messages filled in turn, and the (i mod n)-th member of each oneof."""
    samples = []
    for index in range(SAMPLES):
        sample = message_type()
        _fill(sample, index, 0)
        samples.append(sample)
    return samples


def first_misread(writer_type: type[Message], reader_type: type[Message]) -> str | None:
    """How the reader misreads the first writer sample it misreads, or None if it reads all."""
    for sample in writer_samples(writer_type):
        found = misread(sample, reader_type)
        if found is not None:
            return found
    return None


def misread(written: Message, reader_type: type[Message]) -> str | None:
    """How the reader misreads `written` (see the module docstring), or None if it reads it."""
    data = written.SerializeToString()
    try:
        read = reader_type.FromString(data)
    except DecodeError as exc:
        return f"DecodeError: {exc}"
    if not read.IsInitialized():
        return f"missing required fields: {read.FindInitializationErrors()}"
    found = _message_differs(written.DESCRIPTOR, _canonical(written), read.DESCRIPTOR, _canonical(read), "#")
    return found or _choice_differs(written, read, "#")


# Writing.


def _fill(message: Message, index: int, depth: int) -> None:
    descriptor = message.DESCRIPTOR
    for field in descriptor.fields:
        if _real_oneof(field) is None:
            _set(message, field, index, depth)
    for oneof in descriptor.oneofs:
        if not _is_synthetic(oneof):
            _set(message, oneof.fields[index % len(oneof.fields)], index, depth)
    if depth:
        message.SetInParent()  # an empty nested message is still written


def _set(message: Message, field: FieldDescriptor, index: int, depth: int) -> None:
    if _is_map(field):
        key_field, value_field = field.message_type.fields_by_number[1], field.message_type.fields_by_number[2]
        entries = getattr(message, field.name)
        for offset in (0, 1):
            key = _scalar(key_field, index + offset)
            if value_field.message_type is not None:
                if depth + 1 < MAX_DEPTH:
                    _fill(entries[key], index + offset, depth + 1)
            else:
                entries[key] = _scalar(value_field, index + offset)
    elif field.is_repeated:
        items = getattr(message, field.name)
        for offset in (0, 1, 0):
            if field.message_type is not None:
                if depth + 1 < MAX_DEPTH:
                    _fill(items.add(), index + offset, depth + 1)
            else:
                items.append(_scalar(field, index + offset))
    elif field.message_type is not None:
        if depth + 1 < MAX_DEPTH:
            _fill(getattr(message, field.name), index, depth + 1)
    else:
        setattr(message, field.name, _scalar(field, index))


def _scalar(field: FieldDescriptor, index: int) -> Any:
    if field.type == FD.TYPE_ENUM:
        values = [value.number for value in field.enum_type.values]
        if not field.enum_type.is_closed:
            values.append(_UNDECLARED_ENUM_NUMBER)  # an open enum holds any number, e.g. a newer schema's
    else:
        values = _REPRESENTATIVES[field.type]
    return values[index % len(values)]


# Reading: canonical values by field number.


def _canonical(message: Message) -> dict[int, list[Any]]:
    """{number: its values as a list}: a singular field is a list of one, a map the list of its
    entries as {1: [key], 2: [value]}; a number whose list is empty or one zero is left out, so
    an unset field, an implicit zero, a present zero and [0] all read alike (presence is not a
    value)."""
    canonical = {}
    for field, value in message.ListFields():
        if _is_map(field):
            key_field, value_field = field.message_type.fields_by_number[1], field.message_type.fields_by_number[2]
            items = [_entry(_single(key_field, key), _single(value_field, item)) for key, item in value.items()]
        elif field.is_repeated:
            items = [_single(field, item) for item in value]
        else:
            items = [_single(field, value)]
        if items and items != [_ZERO.get(type(items[0]))]:
            canonical[field.number] = items
    return canonical


def _entry(key: Any, value: Any) -> dict[int, list[Any]]:
    return {number: [item] for number, item in ((1, key), (2, value)) if item != _ZERO.get(type(item))}


_ZERO: dict[type, Any] = {int: 0, float: 0.0, bytes: b"", dict: {}}


def _single(field: FieldDescriptor, value: Any) -> Any:
    if field.message_type is not None:
        return _canonical(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bool):
        return int(value)
    return value


def _message_differs(
    writer: Descriptor, written: dict[int, list[Any]], reader: Descriptor, read: dict[int, list[Any]], path: str
) -> str | None:
    for number in sorted(written.keys() | read.keys()):
        reader_field = reader.fields_by_number.get(number)
        if reader_field is None:
            continue  # dropped: the reader does not declare it
        writer_field = writer.fields_by_number[number]
        wrote, got = written.get(number, []), read.get(number, [])
        if not _same(writer_field, wrote, reader_field, got, f"{path}/{number}"):
            return f"{path}/{number}: wrote {wrote!r}, read {got!r}"
    return None


def _same(writer: FieldDescriptor, wrote: list[Any], reader: FieldDescriptor, got: list[Any], path: str) -> bool:
    # A message whose fields the reader all drops reads as an empty one, which is left out.
    if not got and len(wrote) == 1 and reader.message_type is not None:
        got = [{}]
    if len(wrote) != len(got):
        return False
    if not (_is_map(writer) or _is_map(reader)):
        return all(_same_one(writer, one, reader, other, path) for one, other in zip(wrote, got, strict=True))
    unmatched = list(got)  # map entries: a multiset, in no particular order
    for one in wrote:
        match = next(
            (index for index, other in enumerate(unmatched) if _same_one(writer, one, reader, other, path)), None
        )
        if match is None:
            return False
        del unmatched[match]
    return True


def _same_one(writer: FieldDescriptor, wrote: Any, reader: FieldDescriptor, got: Any, path: str) -> bool:
    if writer.message_type is not None and reader.message_type is not None:
        return _message_differs(writer.message_type, wrote, reader.message_type, got, path) is None
    if isinstance(wrote, float) and math.isnan(wrote):
        return isinstance(got, float) and math.isnan(got)
    return type(wrote) is type(got) and wrote == got


def _choice_differs(written: Message, read: Message, path: str) -> str | None:
    declared = read.DESCRIPTOR.fields_by_number
    for oneof in written.DESCRIPTOR.oneofs:
        chosen = written.WhichOneof(oneof.name)
        if chosen is None or _is_synthetic(oneof):
            continue
        number = written.DESCRIPTOR.fields_by_name[chosen].number
        reader_field = declared.get(number)
        if reader_field is not None:
            reader_oneof = _real_oneof(reader_field)
            if reader_oneof is not None and read.WhichOneof(reader_oneof.name) != reader_field.name:
                return f"{path}/{oneof.name}: wrote the choice {number}, read {read.WhichOneof(reader_oneof.name)!r}"
            continue
        for member in oneof.fields:
            holder = declared.get(member.number)
            if holder is not None and _real_oneof(holder) is not None:
                return f"{path}/{oneof.name}: wrote the choice {number}, which the reader's oneof lacks"
    for field, value in written.ListFields():
        reader_field = read.DESCRIPTOR.fields_by_number.get(field.number)
        if field.message_type is None or field.is_repeated or reader_field is None:
            continue
        if reader_field.message_type is not None and not reader_field.is_repeated:
            found = _choice_differs(value, getattr(read, reader_field.name), f"{path}/{field.number}")
            if found:
                return found
    return None


# Descriptors.


def _is_map(field: FieldDescriptor) -> bool:
    return field.is_repeated and field.message_type is not None and field.message_type.GetOptions().map_entry


def _real_oneof(field: FieldDescriptor) -> OneofDescriptor | None:
    oneof = field.containing_oneof
    return None if oneof is None or _is_synthetic(oneof) else oneof


def _is_synthetic(oneof: OneofDescriptor) -> bool:
    """proto3 `optional`'s oneof of one (presence, not a choice)."""
    return oneof.name in _synthetic_oneofs(oneof.containing_type)


@functools.cache
def _synthetic_oneofs(message: Descriptor) -> frozenset[str]:
    proto = descriptor_pb2.DescriptorProto()
    message.CopyToProto(proto)
    return frozenset(proto.oneof_decl[field.oneof_index].name for field in proto.field if field.proto3_optional)
