"""Protobuf schemas as the registry handles them: `.proto` text (proto2 or proto3) compiled by
protoc (grpcio-tools ships it as a Python extension, with the well-known types' `.proto` files)
into FileDescriptorProtos, and the identity that deduplicates ids.

Pure: no Django, no database. Nothing is fetched: imports resolve to the request's references
(name = import path), then to the well-known types bundled with grpcio-tools. Confluent's
serializers send a base64 FileDescriptorProto instead of text; that is accepted too and rendered
back to `.proto` text (printer.py) so it is stored and compared like any other.

The identity is the deterministic serialization of the file's descriptor without its name,
source info (comments, positions) and default json names: formatting and comments never make a
new id, anything protoc sees does.
"""

from __future__ import annotations

import ast
import base64
import binascii
import functools
import os
import re
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import grpc_tools
from google.protobuf import descriptor_pb2
from google.protobuf.message import DecodeError
from grpc_tools import _protoc_compiler

ROOT_FILE = "schema.proto"
WELL_KNOWN_ROOT = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
_BASE64 = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}\s*$")
# protoc's Python front end is not documented as re-entrant; registrations are rare, so one at a time.
_compile_lock = threading.Lock()


class ProtobufSchemaError(ValueError):
    """The text is not a valid Protobuf schema (with its references); the message says why."""


@dataclass(frozen=True)
class ParsedProto:
    """A compiled schema: its file, the files it imports (by import path, transitively, well-known
    types included) in dependency order, and its identity."""

    file: descriptor_pb2.FileDescriptorProto
    text: str = ""  # the `.proto` text compiled (rendered when a descriptor was given)
    dependencies: tuple[descriptor_pb2.FileDescriptorProto, ...] = field(default=())
    identity: str = ""

    @property
    def files(self) -> tuple[descriptor_pb2.FileDescriptorProto, ...]:
        return (*self.dependencies, self.file)

    def serialized(self) -> str:
        """Base64 of the file descriptor: what Confluent answers for `format=serialized`."""
        return base64.standard_b64encode(self.file.SerializeToString(deterministic=True)).decode("ascii")


def is_serialized(text: str) -> bool:
    """A base64 FileDescriptorProto rather than `.proto` text (no `.proto` text is base64: it
    needs braces or semicolons)."""
    return bool(_BASE64.match(text)) and "{" not in text and ";" not in text


def decode_serialized(text: str) -> descriptor_pb2.FileDescriptorProto:
    try:
        raw = base64.standard_b64decode("".join(text.split()))
        return descriptor_pb2.FileDescriptorProto.FromString(raw)
    except (binascii.Error, DecodeError, ValueError) as exc:
        raise ProtobufSchemaError(f"Invalid Protobuf schema: not .proto text nor a base64 FileDescriptorProto ({exc})") from None


def source_text(text: str) -> str:
    """`.proto` text for a schema given as text or as a base64 FileDescriptorProto (text that
    only looks like base64 and does not decode is left to protoc to name what is wrong)."""
    if is_serialized(text):
        from schemas.protobuf.printer import render

        try:
            return render(decode_serialized(text))
        except ProtobufSchemaError:
            return text
    return text


def parse_protobuf(text: str, references: Mapping[str, str] | None = None) -> ParsedProto:
    """Compile `text` with the referenced schemas' texts (import path -> text) available to
    `import`; ProtobufSchemaError naming protoc's first errors (file:line:column)."""
    return _compiled(source_text(text), tuple(sorted((references or {}).items())))


@functools.lru_cache(maxsize=256)
def _compiled(text: str, references: tuple[tuple[str, str], ...]) -> ParsedProto:
    with tempfile.TemporaryDirectory(prefix="eventline-proto-") as root:
        for name, body in references:
            _write(root, name, source_text(body))
        _write(root, ROOT_FILE, text)
        try:
            with _compile_lock:
                generated = _protoc_compiler.get_protos(ROOT_FILE.encode(), [root.encode(), WELL_KNOWN_ROOT.encode()])
        except _protoc_compiler.ProtocErrors as exc:
            errors = [_error_text(error, root) for error in exc.errors()]
            raise ProtobufSchemaError("Invalid Protobuf schema: " + "; ".join(errors[:5])) from None
    files = [_descriptor_of(code) for _, code in generated]
    main = files[-1]
    return ParsedProto(file=main, text=text, dependencies=tuple(files[:-1]), identity=identity_of(main))


def _error_text(error: object, root: str) -> str:
    """`file:line:column: message`, counted from 1 as editors do (protoc's are from 0)."""
    name = getattr(error, "filename", b"")
    name = (name.decode() if isinstance(name, bytes) else str(name)).replace(root + os.sep, "")
    message = getattr(error, "message", b"")
    message = message.decode() if isinstance(message, bytes) else str(message)
    line, column = int(getattr(error, "line", -1)), int(getattr(error, "column", -1))
    return f"{name}:{line + 1}:{column + 1}: {message}" if line >= 0 else f"{name}: {message}"


def _write(root: str, name: str, text: str) -> None:
    path = os.path.normpath(os.path.join(root, name))
    if not path.startswith(root + os.sep) or not name.endswith(".proto"):
        raise ProtobufSchemaError(f"Invalid Protobuf schema: reference name {name!r} is not a relative .proto path")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _descriptor_of(code: bytes) -> descriptor_pb2.FileDescriptorProto:
    """The FileDescriptorProto protoc embedded in the Python module it generated (the argument of
    `AddSerializedFile`), read as a literal, never executed."""
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "AddSerializedFile":
            return descriptor_pb2.FileDescriptorProto.FromString(ast.literal_eval(node.args[0]))
    raise ProtobufSchemaError("Invalid Protobuf schema: protoc produced no descriptor")


def identity_of(file: descriptor_pb2.FileDescriptorProto) -> str:
    """What decides that two registrations are the same schema (see the module's docstring)."""
    copy = descriptor_pb2.FileDescriptorProto()
    copy.CopyFrom(file)
    copy.ClearField("name")
    copy.ClearField("source_code_info")
    for message in _all_messages(copy.message_type):
        for item in (*message.field, *message.extension):
            if item.json_name == default_json_name(item.name):
                item.ClearField("json_name")
    for item in copy.extension:
        item.ClearField("json_name")
    return base64.standard_b64encode(copy.SerializeToString(deterministic=True)).decode("ascii")


def _all_messages(messages):  # type: ignore[no-untyped-def]
    for message in messages:
        yield message
        yield from _all_messages(message.nested_type)


def scalar_type_name(type_number: int) -> str:
    """`int64`, `sfixed32`, `bytes`...: a field type's name as `.proto` writes it."""
    return descriptor_pb2.FieldDescriptorProto.Type.Name(type_number).removeprefix("TYPE_").lower()


def default_json_name(name: str) -> str:
    """protoc's json_name: lowerCamelCase of the field name (underscores dropped, next letter up)."""
    out: list[str] = []
    upper = False
    for char in name:
        if char == "_":
            upper = True
        elif upper:
            out.append(char.upper())
            upper = False
        else:
            out.append(char)
    return "".join(out)
