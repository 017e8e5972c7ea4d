"""Protobuf compatibility pairs with the expected answer per direction, from Confluent's
documented Protobuf rules (schema evolution for Protobuf; its diff's difference types).

Each case: (id, old, new, backward, forward, types). `backward`: the new schema reads what the
old one wrote (diff old -> new); `forward`: the old one reads what the new one writes (diff new ->
old); FULL is both; `types` are the breaking difference types expected in either direction.
A body without `syntax` is proto3 in package `p`.
"""

from __future__ import annotations

import itertools

P3 = 'syntax = "proto3";\npackage p;\n'
P2 = 'syntax = "proto2";\npackage p;\n'

# The groups Confluent lets a scalar field move within (issue 15, Protobuf's "updating" rules).
SCALAR_GROUPS = (
    ("int32", "uint32", "int64", "uint64", "bool"),
    ("sint32", "sint64"),
    ("fixed32", "sfixed32"),
    ("fixed64", "sfixed64"),
    ("string", "bytes"),
    ("float",),
    ("double",),
)
SCALARS = [kind for group in SCALAR_GROUPS for kind in group]


def _group(kind: str) -> int:
    return next(index for index, group in enumerate(SCALAR_GROUPS) if kind in group)


def _scalar_cases() -> list[tuple]:
    cases = []
    for old, new in itertools.permutations(SCALARS, 2):
        same = _group(old) == _group(new)
        body_old = P3 + f"message M {{ {old} f = 1; }}"
        body_new = P3 + f"message M {{ {new} f = 1; }}"
        types = set() if same else {"FIELD_SCALAR_KIND_CHANGED"}
        cases.append((f"scalar-{old}-to-{new}", body_old, body_new, same, same, types))
    return cases


def m(body: str, head: str = P3) -> str:
    return head + body


STRUCTURAL = [
    # fields
    ("field-added", m("message M { int32 a = 1; }"), m("message M { int32 a = 1; string b = 2; }"), True, True, set()),
    ("field-removed", m("message M { int32 a = 1; string b = 2; }"), m("message M { int32 a = 1; }"), True, True, set()),
    ("field-removed-and-reserved", m("message M { int32 a = 1; string b = 2; }"),
     m('message M { int32 a = 1; reserved 2; reserved "b"; }'), True, True, set()),
    ("field-renamed", m("message M { int32 a = 1; }"), m("message M { int32 renamed = 1; }"), True, True, set()),
    ("field-renumbered", m("message M { int32 a = 1; }"), m("message M { int32 a = 2; }"), True, True, set()),
    ("number-reused-other-kind", m("message M { int32 a = 1; }"), m("message M { string a = 1; }"), False, False,
     {"FIELD_SCALAR_KIND_CHANGED"}),
    ("number-reused-after-reserve", m("message M { int32 a = 1; reserved 2; }"),
     m("message M { int32 a = 1; string b = 2; }"), True, True, set()),
    ("reserved-range-grown", m("message M { int32 a = 1; reserved 5 to 9; }"),
     m("message M { int32 a = 1; reserved 5 to 20; }"), True, True, set()),
    ("scalar-to-message", m("message M { int32 a = 1; } message N { int32 x = 1; }"),
     m("message M { N a = 1; } message N { int32 x = 1; }"), False, False, {"FIELD_KIND_CHANGED"}),
    ("message-to-scalar", m("message M { N a = 1; } message N { int32 x = 1; }"),
     m("message M { int64 a = 1; } message N { int32 x = 1; }"), False, False, {"FIELD_KIND_CHANGED"}),
    ("enum-to-int32", m("message M { E a = 1; } enum E { Z = 0; }"),
     m("message M { int32 a = 1; } enum E { Z = 0; }"), True, True, set()),
    ("enum-to-string", m("message M { E a = 1; } enum E { Z = 0; }"),
     m("message M { string a = 1; } enum E { Z = 0; }"), False, False, {"FIELD_SCALAR_KIND_CHANGED"}),
    ("enum-to-other-enum", m("message M { E a = 1; } enum E { Z = 0; } enum F { Y = 0; }"),
     m("message M { F a = 1; } enum E { Z = 0; } enum F { Y = 0; }"), True, True, set()),
    # labels
    ("implicit-to-optional", m("message M { int32 a = 1; }"), m("message M { optional int32 a = 1; }"), True, True, set()),
    ("implicit-to-repeated", m("message M { int32 a = 1; }"), m("message M { repeated int32 a = 1; }"), True, True, set()),
    ("optional-to-repeated-number", m("message M { optional int32 a = 1; }"),
     m("message M { repeated int32 a = 1; }"), False, False, {"FIELD_NUMERIC_LABEL_CHANGED"}),
    ("optional-to-repeated-string", m("message M { optional string a = 1; }"),
     m("message M { repeated string a = 1; }"), False, False, {"FIELD_STRING_OR_BYTES_LABEL_CHANGED"}),
    ("proto2-optional-to-repeated", m("message M { optional int64 a = 1; }", P2),
     m("message M { repeated int64 a = 1; }", P2), False, False, {"FIELD_NUMERIC_LABEL_CHANGED"}),
    ("repeated-message-to-map", m("message M { repeated N a = 1; } message N { string key = 1; int32 value = 2; }"),
     m("message M { map<string, int32> a = 1; } message N { string key = 1; int32 value = 2; }"), False, False,
     {"FIELD_KIND_CHANGED"}),
    ("map-value-widened", m("message M { map<string, int32> a = 1; }"), m("message M { map<string, int64> a = 1; }"),
     True, True, set()),
    ("map-value-kind-changed", m("message M { map<string, int32> a = 1; }"),
     m("message M { map<string, string> a = 1; }"), False, False, {"FIELD_SCALAR_KIND_CHANGED"}),
    ("map-key-changed", m("message M { map<string, int32> a = 1; }"), m("message M { map<int64, int32> a = 1; }"),
     False, False, {"FIELD_SCALAR_KIND_CHANGED"}),
    ("map-added", m("message M { int32 a = 1; }"), m("message M { int32 a = 1; map<string, string> b = 2; }"),
     True, True, set()),
    ("map-removed", m("message M { int32 a = 1; map<string, string> b = 2; }"), m("message M { int32 a = 1; }"),
     True, True, set()),
    # proto2 required
    ("required-added", m("message M { optional int32 a = 1; }", P2),
     m("message M { optional int32 a = 1; required int32 b = 2; }", P2), False, False,
     {"REQUIRED_FIELD_ADDED", "REQUIRED_FIELD_REMOVED"}),
    ("required-removed", m("message M { optional int32 a = 1; required int32 b = 2; }", P2),
     m("message M { optional int32 a = 1; }", P2), False, False, {"REQUIRED_FIELD_ADDED", "REQUIRED_FIELD_REMOVED"}),
    ("optional-added-proto2", m("message M { optional int32 a = 1; }", P2),
     m("message M { optional int32 a = 1; optional string b = 2; }", P2), True, True, set()),
    ("proto2-default-changed", m('message M { optional string a = 1 [default = "x"]; }', P2),
     m('message M { optional string a = 1 [default = "y"]; }', P2), True, True, set()),
    # oneof
    ("oneof-added-with-new-fields", m("message M { int32 a = 1; }"),
     m("message M { int32 a = 1; oneof o { string b = 2; int32 c = 3; } }"), True, True, set()),
    ("oneof-removed-completely", m("message M { int32 a = 1; oneof o { string b = 2; int32 c = 3; } }"),
     m("message M { int32 a = 1; }"), True, True, set()),
    ("oneof-field-added", m("message M { oneof o { string b = 2; } }"), m("message M { oneof o { string b = 2; int32 c = 3; } }"),
     True, False, {"ONEOF_FIELD_REMOVED"}),
    ("oneof-field-removed", m("message M { oneof o { string b = 2; int32 c = 3; } }"), m("message M { oneof o { string b = 2; } }"),
     False, True, {"ONEOF_FIELD_REMOVED"}),
    ("one-field-moved-into-new-oneof", m("message M { int32 a = 1; }"), m("message M { oneof o { int32 a = 1; } }"),
     True, True, set()),
    ("two-fields-moved-into-new-oneof", m("message M { int32 a = 1; int32 b = 2; }"),
     m("message M { oneof o { int32 a = 1; int32 b = 2; } }"), False, True, {"MULTIPLE_FIELDS_MOVED_TO_ONEOF"}),
    ("field-moved-into-existing-oneof", m("message M { int32 a = 1; oneof o { string b = 2; } }"),
     m("message M { oneof o { string b = 2; int32 a = 1; } }"), False, True, {"FIELD_MOVED_TO_EXISTING_ONEOF"}),
    ("oneof-renamed", m("message M { oneof o { string b = 2; int32 c = 3; } }"),
     m("message M { oneof renamed { string b = 2; int32 c = 3; } }"), True, True, set()),
    ("oneof-merged", m("message M { oneof o { string b = 2; } oneof q { int32 c = 3; } }"),
     m("message M { oneof o { string b = 2; int32 c = 3; } }"), False, True, {"FIELD_MOVED_TO_EXISTING_ONEOF"}),
    ("oneof-member-kind-changed", m("message M { oneof o { string b = 2; } }"), m("message M { oneof o { int32 b = 2; } }"),
     False, False, {"FIELD_SCALAR_KIND_CHANGED"}),
    ("optional-to-oneof-proto3", m("message M { optional int32 a = 1; }"), m("message M { oneof o { int32 a = 1; } }"),
     False, False, {"FIELD_NUMERIC_LABEL_CHANGED"}),
    # messages
    ("message-added", m("message M { int32 a = 1; }"), m("message M { int32 a = 1; } message N { int32 b = 1; }"),
     True, False, {"MESSAGE_REMOVED"}),
    ("message-removed", m("message M { int32 a = 1; } message N { int32 b = 1; }"), m("message M { int32 a = 1; }"),
     False, True, {"MESSAGE_REMOVED"}),
    ("message-reordered", m("message M { int32 a = 1; } message N { int32 b = 1; }"),
     m("message N { int32 b = 1; } message M { int32 a = 1; }"), True, True, set()),
    ("message-renamed", m("message M { int32 a = 1; }"), m("message Renamed { int32 a = 1; }"), False, False, {"MESSAGE_REMOVED"}),
    ("nested-message-added", m("message M { int32 a = 1; }"), m("message M { int32 a = 1; message Inner { int32 x = 1; } }"),
     True, False, {"MESSAGE_REMOVED"}),
    ("nested-field-kind-changed", m("message M { Inner i = 1; message Inner { int32 x = 1; } }"),
     m("message M { Inner i = 1; message Inner { string x = 1; } }"), False, False, {"FIELD_SCALAR_KIND_CHANGED"}),
    ("named-type-changed", m("message M { A f = 1; } message A { int32 x = 1; } message B { int32 x = 1; }"),
     m("message M { B f = 1; } message A { int32 x = 1; } message B { int32 x = 1; }"), False, False, {"FIELD_NAMED_TYPE_CHANGED"}),
    ("nested-type-hoisted", m("message M { Inner i = 1; message Inner { int32 x = 1; } } message Inner { int32 x = 1; }"),
     m("message M { .p.Inner i = 1; message Inner { int32 x = 1; } } message Inner { int32 x = 1; }"), False, False,
     {"FIELD_NAMED_TYPE_CHANGED"}),
    ("recursive-message-field-added", m("message M { M next = 1; }"), m("message M { M next = 1; int32 a = 2; }"),
     True, True, set()),
    # package, syntax
    ("package-changed", m("message M { int32 a = 1; }"), 'syntax = "proto3";\npackage q;\nmessage M { int32 a = 1; }',
     False, False, {"PACKAGE_CHANGED"}),
    ("package-added", 'syntax = "proto3";\nmessage M { int32 a = 1; }', m("message M { int32 a = 1; }"), False, False,
     {"PACKAGE_CHANGED"}),
    ("proto2-to-proto3", m("message M { optional int32 a = 1; }", P2), m("message M { int32 a = 1; }"), True, True, set()),
    ("options-and-comments", m("message M { int32 a = 1; }"),
     m('option java_package = "com.p"; // c\nmessage M { /* x */ int32 a = 1 [deprecated = true]; }'), True, True, set()),
    # enums
    ("enum-added", m("message M { int32 a = 1; }"), m("message M { int32 a = 1; } enum E { Z = 0; }"), True, True, set()),
    ("enum-removed", m("message M { int32 a = 1; } enum E { Z = 0; }"), m("message M { int32 a = 1; }"), True, True, set()),
    ("enum-const-added", m("enum E { Z = 0; } message M { E e = 1; }"), m("enum E { Z = 0; A = 1; } message M { E e = 1; }"),
     True, True, set()),
    ("enum-const-removed", m("enum E { Z = 0; A = 1; } message M { E e = 1; }"), m("enum E { Z = 0; } message M { E e = 1; }"),
     True, True, set()),
    ("enum-const-renamed", m("enum E { Z = 0; A = 1; } message M { E e = 1; }"),
     m("enum E { Z = 0; B = 1; } message M { E e = 1; }"), True, True, set()),
    ("enum-reserved", m("enum E { Z = 0; A = 1; } message M { E e = 1; }"),
     m('enum E { Z = 0; reserved 1; reserved "A"; } message M { E e = 1; }'), True, True, set()),
    # well-known types
    ("timestamp-added", m("message M { int32 a = 1; }"),
     'syntax = "proto3";\npackage p;\nimport "google/protobuf/timestamp.proto";\n'
     "message M { int32 a = 1; google.protobuf.Timestamp at = 2; }", True, True, set()),
    ("timestamp-to-duration", 'syntax = "proto3";\npackage p;\nimport "google/protobuf/timestamp.proto";\n'
     'import "google/protobuf/duration.proto";\nmessage M { google.protobuf.Timestamp at = 1; }',
     'syntax = "proto3";\npackage p;\nimport "google/protobuf/timestamp.proto";\n'
     'import "google/protobuf/duration.proto";\nmessage M { google.protobuf.Duration at = 1; }', False, False,
     {"FIELD_NAMED_TYPE_CHANGED"}),
    ("wrapper-to-scalar", 'syntax = "proto3";\npackage p;\nimport "google/protobuf/wrappers.proto";\n'
     "message M { google.protobuf.Int32Value a = 1; }", m("message M { int32 a = 1; }"), False, False,
     {"FIELD_KIND_CHANGED"}),
]

CASES = _scalar_cases() + STRUCTURAL
