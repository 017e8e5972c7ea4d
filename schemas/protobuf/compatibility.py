"""Protobuf compatibility as Confluent's registry judges it: the differences between an original
(old for BACKWARD, new for FORWARD) and an update, each a type from Confluent's Protobuf diff with
a path such as `#/Order/3` (message names, oneof names, field numbers) and a verdict.

Messages and enums are matched by name within their scope, fields by number across the message
(oneof members included), so a renamed oneof or a field moved in or out of one is judged by what
it does to the wire. Scalar kinds change freely within the groups whose encodings read each
other; enums count as varints. A field whose message type keeps its name is compared through the
type when that type comes from another file (an import), as a change there changes this schema.

Pure: descriptors in, differences out.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from google.protobuf import descriptor_pb2

from schemas.protobuf.schema import ParsedProto, scalar_type_name

F = descriptor_pb2.FieldDescriptorProto


class ProtobufDifference(enum.Enum):
    PACKAGE_CHANGED = "PACKAGE_CHANGED"
    MESSAGE_ADDED = "MESSAGE_ADDED"
    MESSAGE_REMOVED = "MESSAGE_REMOVED"
    MESSAGE_MOVED = "MESSAGE_MOVED"
    ENUM_ADDED = "ENUM_ADDED"
    ENUM_REMOVED = "ENUM_REMOVED"
    ENUM_CONST_ADDED = "ENUM_CONST_ADDED"
    ENUM_CONST_CHANGED = "ENUM_CONST_CHANGED"
    ENUM_CONST_REMOVED = "ENUM_CONST_REMOVED"
    FIELD_ADDED = "FIELD_ADDED"
    FIELD_REMOVED = "FIELD_REMOVED"
    FIELD_NAME_CHANGED = "FIELD_NAME_CHANGED"
    FIELD_KIND_CHANGED = "FIELD_KIND_CHANGED"
    FIELD_SCALAR_KIND_CHANGED = "FIELD_SCALAR_KIND_CHANGED"
    FIELD_NAMED_TYPE_CHANGED = "FIELD_NAMED_TYPE_CHANGED"
    FIELD_NUMERIC_LABEL_CHANGED = "FIELD_NUMERIC_LABEL_CHANGED"
    FIELD_STRING_OR_BYTES_LABEL_CHANGED = "FIELD_STRING_OR_BYTES_LABEL_CHANGED"
    REQUIRED_FIELD_ADDED = "REQUIRED_FIELD_ADDED"
    REQUIRED_FIELD_REMOVED = "REQUIRED_FIELD_REMOVED"
    ONEOF_ADDED = "ONEOF_ADDED"
    ONEOF_REMOVED = "ONEOF_REMOVED"
    ONEOF_FIELD_ADDED = "ONEOF_FIELD_ADDED"
    ONEOF_FIELD_REMOVED = "ONEOF_FIELD_REMOVED"
    ONEOF_FIELD_MOVED_TO_TOP_LEVEL = "ONEOF_FIELD_MOVED_TO_TOP_LEVEL"
    MULTIPLE_FIELDS_MOVED_TO_ONEOF = "MULTIPLE_FIELDS_MOVED_TO_ONEOF"
    FIELD_MOVED_TO_EXISTING_ONEOF = "FIELD_MOVED_TO_EXISTING_ONEOF"


D = ProtobufDifference
#: Confluent's compatible changes; every other difference breaks the level's direction.
COMPATIBLE = frozenset(
    {
        D.MESSAGE_ADDED,
        D.MESSAGE_MOVED,
        D.ENUM_ADDED,
        D.ENUM_REMOVED,
        D.ENUM_CONST_ADDED,
        D.ENUM_CONST_CHANGED,
        D.ENUM_CONST_REMOVED,
        D.FIELD_ADDED,
        D.FIELD_REMOVED,
        D.FIELD_NAME_CHANGED,
        D.ONEOF_ADDED,
        D.ONEOF_REMOVED,
        D.ONEOF_FIELD_ADDED,
        D.ONEOF_FIELD_MOVED_TO_TOP_LEVEL,
    }
)

#: Sentences per type; `{update}`/`{original}` name the schemas ("new"/"old" by direction).
DESCRIPTIONS = {
    D.PACKAGE_CHANGED: "The package at '{path}' in the {update} schema does not match the package in the {original} schema",
    D.MESSAGE_REMOVED: "The {update} schema is missing a message type at path '{path}' in the {original} schema",
    D.FIELD_KIND_CHANGED: "The type of a field at path '{path}' in the {update} schema does not match the {original} schema",
    D.FIELD_SCALAR_KIND_CHANGED: "The kind of a SCALAR field at path '{path}' in the {update} schema does not match its kind in the {original} schema",
    D.FIELD_NAMED_TYPE_CHANGED: "The type of a MESSAGE field at path '{path}' in the {update} schema does not match its type in the {original} schema",
    D.FIELD_NUMERIC_LABEL_CHANGED: "The label of a numeric field at path '{path}' in the {update} schema does not match its label in the {original} schema",
    D.FIELD_STRING_OR_BYTES_LABEL_CHANGED: "The label of a string or bytes field at path '{path}' in the {update} schema does not match its label in the {original} schema",
    D.REQUIRED_FIELD_ADDED: "A required field at path '{path}' in the {update} schema is missing in the {original} schema",
    D.REQUIRED_FIELD_REMOVED: "The {update} schema is missing a required field at path '{path}' in the {original} schema",
    D.ONEOF_FIELD_REMOVED: "The {update} schema is missing a oneof field at path '{path}' in the {original} schema",
    D.MULTIPLE_FIELDS_MOVED_TO_ONEOF: "Multiple fields in the oneof at path '{path}' in the {update} schema are outside a oneof in the {original} schema",
    D.FIELD_MOVED_TO_EXISTING_ONEOF: "A field in the oneof at path '{path}' in the {update} schema was moved into it from outside the oneof or from another oneof in the {original} schema",
}


@dataclass(frozen=True)
class Change:
    type: ProtobufDifference
    path: str
    # What the change was, for people (`int64` -> `string`); not part of its identity.
    old: str | None = field(default=None, compare=False)
    new: str | None = field(default=None, compare=False)

    @property
    def breaks(self) -> bool:
        return self.type not in COMPATIBLE

    def description(self, *, update: str, original: str) -> str:
        template = DESCRIPTIONS.get(self.type, "{type} at path '{path}'")
        return template.format(path=self.path, update=update, original=original, type=self.type.value)


class _Side:
    """One schema's types by full name (its imports' included) and which file holds each."""

    def __init__(self, parsed: ParsedProto) -> None:
        self.parsed = parsed
        self.package = parsed.file.package
        self.types: dict[str, tuple[object, descriptor_pb2.FileDescriptorProto]] = {}
        for file in parsed.files:
            prefix = f".{file.package}" if file.package else ""
            self._collect(file, prefix, file.message_type, file.enum_type)

    def _collect(self, file, prefix, messages, enums) -> None:  # type: ignore[no-untyped-def]
        for item in enums:
            self.types[f"{prefix}.{item.name}"] = (item, file)
        for message in messages:
            name = f"{prefix}.{message.name}"
            self.types[name] = (message, file)
            self._collect(file, name, message.nested_type, message.enum_type)

    def lookup(self, type_name: str) -> tuple[object, descriptor_pb2.FileDescriptorProto] | None:
        return self.types.get(type_name)

    def is_local(self, type_name: str) -> bool:
        found = self.types.get(type_name)
        return found is not None and found[1] is self.parsed.file


def differences(original: ParsedProto, update: ParsedProto) -> list[Change]:
    """Every difference from `original` to `update` (Confluent's order: package, then types)."""
    diff = _Diff(_Side(original), _Side(update))
    if original.file.package != update.file.package:
        diff.add(D.PACKAGE_CHANGED, "#/")
    diff.types(
        original.file.message_type, original.file.enum_type, update.file.message_type, update.file.enum_type, "#"
    )
    return diff.found


def incompatibilities(original: ParsedProto, update: ParsedProto) -> list[Change]:
    return [change for change in differences(original, update) if change.breaks]


class _Diff:
    def __init__(self, original: _Side, update: _Side) -> None:
        self.original = original
        self.update = update
        self.found: list[Change] = []
        self._visiting: set[tuple[str, str]] = set()

    def add(self, kind: ProtobufDifference, path: str, old: str | None = None, new: str | None = None) -> None:
        self.found.append(Change(kind, path, old, new))

    def types(self, old_messages, old_enums, new_messages, new_enums, path: str) -> None:  # type: ignore[no-untyped-def]
        old_by_name = {message.name: (index, message) for index, message in enumerate(old_messages)}
        new_by_name = {message.name: (index, message) for index, message in enumerate(new_messages)}
        for name in sorted(old_by_name.keys() | new_by_name.keys()):
            where = f"{path}/{name}"
            old, new = old_by_name.get(name), new_by_name.get(name)
            if new is None:
                if old is not None and not old[1].options.map_entry:
                    self.add(D.MESSAGE_REMOVED, where)
            elif old is None:
                if not new[1].options.map_entry:
                    self.add(D.MESSAGE_ADDED, where)
            else:
                self.message(old[1], new[1], where)
                if old[0] != new[0]:
                    self.add(D.MESSAGE_MOVED, where)
        old_enums_by_name = {item.name: item for item in old_enums}
        new_enums_by_name = {item.name: item for item in new_enums}
        for name in sorted(old_enums_by_name.keys() | new_enums_by_name.keys()):
            where = f"{path}/{name}"
            old_enum, new_enum = old_enums_by_name.get(name), new_enums_by_name.get(name)
            if new_enum is None:
                self.add(D.ENUM_REMOVED, where)
            elif old_enum is None:
                self.add(D.ENUM_ADDED, where)
            else:
                self.enum(old_enum, new_enum, where)

    def enum(self, old, new, path: str) -> None:  # type: ignore[no-untyped-def]
        old_values = {value.number: value.name for value in old.value}
        new_values = {value.number: value.name for value in new.value}
        for number in sorted(old_values.keys() | new_values.keys()):
            where = f"{path}/{number}"
            if number not in new_values:
                self.add(D.ENUM_CONST_REMOVED, where)
            elif number not in old_values:
                self.add(D.ENUM_CONST_ADDED, where)
            elif old_values[number] != new_values[number]:
                self.add(D.ENUM_CONST_CHANGED, where, old_values[number], new_values[number])

    def message(self, old: descriptor_pb2.DescriptorProto, new: descriptor_pb2.DescriptorProto, path: str) -> None:
        old_fields, old_oneof_of, old_oneofs = _fields(old)
        new_fields, new_oneof_of, new_oneofs = _fields(new)
        deleted_oneofs = {
            name
            for name, numbers in old_oneofs.items()
            if name not in new_oneofs and not any(number in new_fields for number in numbers)
        }
        # Fields that could be set together before but are now in one oneof: old data may hold
        # two of them, which the new schema cannot represent.
        for name, numbers in new_oneofs.items():
            origins: set[str] = set()
            moved_from_top = 0
            for number in numbers:
                if number in old_oneof_of:
                    origins.add("oneof:" + old_oneof_of[number])
                elif number in old_fields:
                    origins.add(f"field:{number}")
                    moved_from_top += 1
            if len(origins) > 1:
                kind = D.MULTIPLE_FIELDS_MOVED_TO_ONEOF if moved_from_top > 1 else D.FIELD_MOVED_TO_EXISTING_ONEOF
                self.add(kind, f"{path}/{name}")
        for name in sorted(old_oneofs.keys() | new_oneofs.keys()):
            if name not in new_oneofs:
                self.add(D.ONEOF_REMOVED, f"{path}/{name}")
            elif name not in old_oneofs:
                self.add(D.ONEOF_ADDED, f"{path}/{name}")
        for number in sorted(old_fields.keys() | new_fields.keys()):
            old_field, new_field = old_fields.get(number), new_fields.get(number)
            old_oneof, new_oneof = old_oneof_of.get(number), new_oneof_of.get(number)
            if new_field is None:
                if old_oneof is not None:
                    if old_oneof not in deleted_oneofs:
                        self.add(D.ONEOF_FIELD_REMOVED, f"{path}/{old_oneof}/{number}")
                else:
                    required = old_field.label == F.LABEL_REQUIRED  # type: ignore[union-attr]
                    self.add(D.REQUIRED_FIELD_REMOVED if required else D.FIELD_REMOVED, f"{path}/{number}")
            elif old_field is None:
                if new_oneof is not None:
                    self.add(D.ONEOF_FIELD_ADDED, f"{path}/{new_oneof}/{number}")
                else:
                    required = new_field.label == F.LABEL_REQUIRED
                    self.add(D.REQUIRED_FIELD_ADDED if required else D.FIELD_ADDED, f"{path}/{number}")
            else:
                if old_oneof is not None and new_oneof is None:
                    self.add(D.ONEOF_FIELD_MOVED_TO_TOP_LEVEL, f"{path}/{number}")
                where = f"{path}/{new_oneof}/{number}" if new_oneof is not None else f"{path}/{number}"
                self.field(old_field, new_field, old_oneof is not None, new_oneof is not None, where)
        self.types(old.nested_type, old.enum_type, new.nested_type, new.enum_type, path)

    def field(self, old, new, old_in_oneof: bool, new_in_oneof: bool, path: str) -> None:  # type: ignore[no-untyped-def]
        if old.name != new.name:
            self.add(D.FIELD_NAME_CHANGED, path, old.name, new.name)
        self.labels_and_types(
            _label(old, self.original, old_in_oneof), _label(new, self.update, new_in_oneof), old, new, path
        )

    def labels_and_types(self, old_label, new_label, old, new, path: str) -> None:  # type: ignore[no-untyped-def]
        old_kind, new_kind = _kind(old, self.original), _kind(new, self.update)
        if old_kind != new_kind:
            self.add(D.FIELD_KIND_CHANGED, path, _type_name(old), _type_name(new))
        elif old_kind == "SCALAR":
            old_group, new_group = _scalar_group(old), _scalar_group(new)
            if old_group != new_group:
                self.add(D.FIELD_SCALAR_KIND_CHANGED, path, _type_name(old), _type_name(new))
            elif old_label is not None and new_label is not None and old_label != new_label:
                if old_group == "STRING_OR_BYTES":
                    self.add(D.FIELD_STRING_OR_BYTES_LABEL_CHANGED, path, old_label, new_label)
                else:
                    self.add(D.FIELD_NUMERIC_LABEL_CHANGED, path, old_label, new_label)
        elif old_kind == "MESSAGE":
            self.named_types(old.type_name, new.type_name, path)
        elif old_kind == "MAP":
            old_entry = self.original.lookup(old.type_name)[0]  # type: ignore[index]
            new_entry = self.update.lookup(new.type_name)[0]  # type: ignore[index]
            for index in (0, 1):  # key, then value
                self.labels_and_types(None, None, old_entry.field[index], new_entry.field[index], path)  # type: ignore[attr-defined]

    def named_types(self, old_name: str, new_name: str, path: str) -> None:
        old_local = _local(old_name, self.original)
        new_local = _local(new_name, self.update)
        if old_local != new_local:
            self.add(D.FIELD_NAMED_TYPE_CHANGED, path, old_local, new_local)
            return
        if self.original.is_local(old_name) and self.update.is_local(new_name):
            return  # compared where the type is declared
        old_found, new_found = self.original.lookup(old_name), self.update.lookup(new_name)
        if old_found is None or new_found is None or old_found[0] == new_found[0]:
            return
        key = (old_name, new_name)
        if key in self._visiting:
            return  # a recursive type: its fields are being compared already
        self._visiting.add(key)
        inner = _Diff(self.original, self.update)
        inner._visiting = self._visiting
        inner.message(old_found[0], new_found[0], f"#/{old_local}")  # type: ignore[arg-type]
        self._visiting.discard(key)
        self.found.extend(inner.found)
        if any(change.breaks for change in inner.found):
            self.add(D.FIELD_NAMED_TYPE_CHANGED, path)


def _type_name(item: F) -> str:
    """`int64`, `string`, or a message or enum's name as written (`.shop.Address` -> `shop.Address`)."""
    if item.type_name:
        return item.type_name.lstrip(".")
    return scalar_type_name(item.type)


def _fields(message: descriptor_pb2.DescriptorProto) -> tuple[dict[int, F], dict[int, str], dict[str, list[int]]]:
    """Fields by number; the real oneof (not proto3 `optional`'s synthetic one) of each member;
    each real oneof's member numbers."""
    synthetic = {item.oneof_index for item in message.field if item.proto3_optional}
    by_number = {item.number: item for item in message.field}
    oneof_of: dict[int, str] = {}
    oneofs: dict[str, list[int]] = {}
    for index, decl in enumerate(message.oneof_decl):
        if index not in synthetic:
            oneofs[decl.name] = []
    for item in message.field:
        if item.HasField("oneof_index") and item.oneof_index not in synthetic:
            name = message.oneof_decl[item.oneof_index].name
            oneof_of[item.number] = name
            oneofs[name].append(item.number)
    return by_number, oneof_of, oneofs


def _label(item: F, side: _Side, in_oneof: bool) -> str | None:
    """The label as written: None for a proto3 field without one and for a map."""
    if _kind(item, side) == "MAP":
        return None
    if in_oneof:
        return "ONE_OF"
    if item.label == F.LABEL_REPEATED:
        return "REPEATED"
    if item.label == F.LABEL_REQUIRED:
        return "REQUIRED"
    file_syntax = side.parsed.file.syntax or "proto2"
    if file_syntax == "proto3" and not item.proto3_optional:
        return None
    return "OPTIONAL"


def _kind(item: F, side: _Side) -> str:
    if item.type in (F.TYPE_MESSAGE, F.TYPE_GROUP):
        found = side.lookup(item.type_name)
        if found is not None and getattr(found[0], "options", None) is not None and found[0].options.map_entry:  # type: ignore[attr-defined]
            return "MAP" if item.label == F.LABEL_REPEATED else "MESSAGE"
        return "MESSAGE"
    return "SCALAR"


_GROUPS = {
    F.TYPE_INT32: "GENERAL_NUMBER",
    F.TYPE_INT64: "GENERAL_NUMBER",
    F.TYPE_UINT32: "GENERAL_NUMBER",
    F.TYPE_UINT64: "GENERAL_NUMBER",
    F.TYPE_BOOL: "GENERAL_NUMBER",
    F.TYPE_ENUM: "GENERAL_NUMBER",
    F.TYPE_SINT32: "SIGNED_NUMBER",
    F.TYPE_SINT64: "SIGNED_NUMBER",
    F.TYPE_STRING: "STRING_OR_BYTES",
    F.TYPE_BYTES: "STRING_OR_BYTES",
    F.TYPE_FIXED32: "FIXED32",
    F.TYPE_SFIXED32: "FIXED32",
    F.TYPE_FIXED64: "FIXED64",
    F.TYPE_SFIXED64: "FIXED64",
    F.TYPE_FLOAT: "FLOAT",
    F.TYPE_DOUBLE: "DOUBLE",
}


def _scalar_group(item: F) -> str:
    return _GROUPS[item.type]


def _local(type_name: str, side: _Side) -> str:
    """A type's name without its file's package: `Order.Line` for `.acme.Order.Line`."""
    found = side.lookup(type_name)
    package = found[1].package if found is not None else ""
    name = type_name.lstrip(".")
    return name[len(package) + 1 :] if package and name.startswith(package + ".") else name


def describe(changes: Iterable[Change]) -> list[str]:
    return [f"{change.type.value} at {change.path}" for change in changes]
