"""`.proto` text from a FileDescriptorProto: for schemas Confluent's serializers send as a base64
descriptor, so they are stored, shown and compiled as text like the others. Compiling the
rendered text gives back the same descriptor (options set as scalars included; message-valued
custom options are not rendered)."""

from __future__ import annotations

import json

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FieldDescriptor

F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    F.TYPE_DOUBLE: "double", F.TYPE_FLOAT: "float", F.TYPE_INT64: "int64", F.TYPE_UINT64: "uint64",
    F.TYPE_INT32: "int32", F.TYPE_FIXED64: "fixed64", F.TYPE_FIXED32: "fixed32", F.TYPE_BOOL: "bool",
    F.TYPE_STRING: "string", F.TYPE_BYTES: "bytes", F.TYPE_UINT32: "uint32", F.TYPE_SFIXED32: "sfixed32",
    F.TYPE_SFIXED64: "sfixed64", F.TYPE_SINT32: "sint32", F.TYPE_SINT64: "sint64",
}
_MAX_FIELD_NUMBER = 536870911


def render(file: descriptor_pb2.FileDescriptorProto) -> str:
    syntax = file.syntax or "proto2"
    lines = [f'syntax = "{syntax}";']
    if file.package:
        lines.append(f"package {file.package};")
    public = set(file.public_dependency)
    weak = set(file.weak_dependency)
    for index, name in enumerate(file.dependency):
        kind = "public " if index in public else "weak " if index in weak else ""
        lines.append(f"import {kind}{json.dumps(name)};")
    lines += [f"option {text};" for text in _options(file.options)]
    proto3 = syntax == "proto3"
    for message in file.message_type:
        lines += _message(message, "", proto3)
    for enum in file.enum_type:
        lines += _enum(enum, "")
    lines += _extensions(file.extension, "", proto3)
    for service in file.service:
        lines.append(f"service {service.name} {{")
        for method in service.method:
            client = "stream " if method.client_streaming else ""
            server = "stream " if method.server_streaming else ""
            lines.append(
                f"  rpc {method.name}({client}{_type(method.input_type)}) returns ({server}{_type(method.output_type)});"
            )
        lines.append("}")
    return "\n".join(lines) + "\n"


def _message(message: descriptor_pb2.DescriptorProto, indent: str, proto3: bool) -> list[str]:
    inner = indent + "  "
    lines = [f"{indent}message {message.name} {{"]
    lines += [f"{inner}option {text};" for text in _options(message.options)]
    maps = {nested.name: nested for nested in message.nested_type if nested.options.map_entry}
    real_oneofs = {
        index for index, _ in enumerate(message.oneof_decl)
        if not any(item.proto3_optional and item.oneof_index == index for item in message.field)
    }
    written_oneofs: set[int] = set()
    for item in message.field:
        if item.HasField("oneof_index") and item.oneof_index in real_oneofs:
            if item.oneof_index in written_oneofs:
                continue
            written_oneofs.add(item.oneof_index)
            decl = message.oneof_decl[item.oneof_index]
            lines.append(f"{inner}oneof {decl.name} {{")
            lines += [f"{inner}  option {text};" for text in _options(decl.options)]
            for member in message.field:
                if member.HasField("oneof_index") and member.oneof_index == item.oneof_index:
                    lines.append(f"{inner}  {_field(member, maps, proto3, in_oneof=True)}")
            lines.append(f"{inner}}}")
            continue
        lines.append(f"{inner}{_field(item, maps, proto3)}")
    for nested in message.nested_type:
        if nested.name not in maps:
            lines += _message(nested, inner, proto3)
    for enum in message.enum_type:
        lines += _enum(enum, inner)
    lines += _extensions(message.extension, inner, proto3)
    for extension_range in message.extension_range:
        lines.append(f"{inner}extensions {_range(extension_range.start, extension_range.end)};")
    if message.reserved_range:
        lines.append(f"{inner}reserved " + ", ".join(_range(r.start, r.end) for r in message.reserved_range) + ";")
    if message.reserved_name:
        lines.append(f"{inner}reserved " + ", ".join(json.dumps(name) for name in message.reserved_name) + ";")
    lines.append(f"{indent}}}")
    return lines


def _field(
    item: descriptor_pb2.FieldDescriptorProto,
    maps: dict[str, descriptor_pb2.DescriptorProto],
    proto3: bool,
    *,
    in_oneof: bool = False,
) -> str:
    entry = maps.get(item.type_name.rsplit(".", 1)[-1]) if item.type == F.TYPE_MESSAGE else None
    if entry is not None and item.label == F.LABEL_REPEATED:
        key, value = entry.field[0], entry.field[1]
        kind = f"map<{_field_type(key)}, {_field_type(value)}>"
        label = ""
    else:
        kind = _field_type(item)
        label = _label(item, proto3, in_oneof)
    options = _field_options(item)
    return f"{label}{kind} {item.name} = {item.number}{options};"


def _label(item: descriptor_pb2.FieldDescriptorProto, proto3: bool, in_oneof: bool) -> str:
    if item.label == F.LABEL_REPEATED:
        return "repeated "
    if item.label == F.LABEL_REQUIRED:
        return "required "
    if in_oneof:
        return ""
    if proto3:
        return "optional " if item.proto3_optional else ""
    return "optional "


def _field_type(item: descriptor_pb2.FieldDescriptorProto) -> str:
    return _SCALARS.get(item.type) or _type(item.type_name)


def _type(name: str) -> str:
    return name  # fully qualified (leading dot): unambiguous wherever it is printed


def _field_options(item: descriptor_pb2.FieldDescriptorProto) -> str:
    parts: list[str] = []
    if item.HasField("default_value"):
        parts.append(f"default = {_default(item)}")
    if item.HasField("json_name"):
        from schemas.protobuf.schema import default_json_name

        if item.json_name != default_json_name(item.name):
            parts.append(f"json_name = {json.dumps(item.json_name)}")
    parts += _options(item.options)
    return f" [{', '.join(parts)}]" if parts else ""


def _default(item: descriptor_pb2.FieldDescriptorProto) -> str:
    if item.type in (F.TYPE_STRING, F.TYPE_BYTES):
        return json.dumps(item.default_value)
    return item.default_value


def _enum(enum: descriptor_pb2.EnumDescriptorProto, indent: str) -> list[str]:
    inner = indent + "  "
    lines = [f"{indent}enum {enum.name} {{"]
    lines += [f"{inner}option {text};" for text in _options(enum.options)]
    for value in enum.value:
        options = _options(value.options)
        suffix = f" [{', '.join(options)}]" if options else ""
        lines.append(f"{inner}{value.name} = {value.number}{suffix};")
    if enum.reserved_range:
        # Enum reserved ranges are inclusive at both ends.
        lines.append(
            f"{inner}reserved "
            + ", ".join(str(r.start) if r.start == r.end else f"{r.start} to {r.end}" for r in enum.reserved_range)
            + ";"
        )
    if enum.reserved_name:
        lines.append(f"{inner}reserved " + ", ".join(json.dumps(name) for name in enum.reserved_name) + ";")
    lines.append(f"{indent}}}")
    return lines


def _extensions(extensions: list[descriptor_pb2.FieldDescriptorProto], indent: str, proto3: bool) -> list[str]:
    lines: list[str] = []
    for item in extensions:
        lines.append(f"{indent}extend {item.extendee} {{")
        lines.append(f"{indent}  {_field(item, {}, proto3)}")
        lines.append(f"{indent}}}")
    return lines


def _range(start: int, end: int) -> str:
    """Message ranges are half-open in the descriptor."""
    last = end - 1
    if last == start:
        return str(start)
    return f"{start} to {'max' if last >= _MAX_FIELD_NUMBER else last}"


def _options(options: object) -> list[str]:
    """`name = value` for each scalar option set; extensions (custom options) in parentheses."""
    texts: list[str] = []
    for descriptor, value in options.ListFields():  # type: ignore[attr-defined]
        name = f"({descriptor.full_name})" if descriptor.is_extension else descriptor.name
        if descriptor.is_repeated or descriptor.type == FieldDescriptor.TYPE_MESSAGE:
            continue
        texts.append(f"{name} = {_value(descriptor, value)}")
    return texts


def _value(descriptor: FieldDescriptor, value: object) -> str:
    if descriptor.type == FieldDescriptor.TYPE_ENUM:
        return descriptor.enum_type.values_by_number[value].name  # type: ignore[index]
    if descriptor.type == FieldDescriptor.TYPE_BOOL:
        return "true" if value else "false"
    if descriptor.type in (FieldDescriptor.TYPE_STRING,):
        return json.dumps(value)
    if descriptor.type == FieldDescriptor.TYPE_BYTES:
        return json.dumps(value.decode("latin-1"))  # type: ignore[attr-defined]
    return str(value)
