"""The produce path's yes/no Protobuf check (closures compiled once per schema) gives the answer
of the detailed walk that names every failing pointer, on data in Protobuf's JSON mapping that is
valid, wrong at the top or wrong deep inside: every scalar kind, enums, nested and recursive
messages, repeated fields, maps with integer, bool and string keys, oneofs, proto3 `optional`,
proto2 `required` and the well-known types, and the schemas of the compatibility cases."""

from __future__ import annotations

import math
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from schemas.protobuf import parse_protobuf
from schemas.protobuf.validation import compile_check, first_message, protobuf_json_issues
from tests.schemas.avro.test_validation_fast_path import ANY_LEAF, mostly
from tests.schemas.protobuf.cases import CASES

FD = FieldDescriptor
ALL_KINDS = """
syntax = "proto3";
package t;
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/any.proto";
import "google/protobuf/empty.proto";

message All {
  int32 i32 = 1; uint32 u32 = 2; sint64 s64 = 3; fixed64 f64 = 4; sfixed32 sf32 = 5;
  double d = 6; float f = 7; bool b = 8; string s = 9; bytes raw = 10;
  Color color = 11; repeated int64 many = 12; map<int32, Inner> by_number = 13;
  map<bool, string> flags = 14; map<string, double> scores = 15;
  oneof choice { string left = 16; Inner right = 17; }
  optional string maybe = 18; All next = 19; string order_id = 28;
  map<string, google.protobuf.Value> props = 29;
  google.protobuf.Timestamp at = 20; google.protobuf.Duration took = 21;
  google.protobuf.Int64Value wrapped = 22; google.protobuf.Struct extra = 23;
  google.protobuf.Value anything = 24; repeated google.protobuf.Value values = 25;
  google.protobuf.Any packed = 26; google.protobuf.Empty nothing = 27;
  enum Color { RED = 0; GREEN = 1; }
  message Inner { string name = 1; uint64 count = 2; }
}
"""
LEGACY = """
syntax = "proto2";
message Legacy {
  required string id = 1;
  optional Kind kind = 2;
  repeated Legacy children = 3;
  enum Kind { CARD = 1; BANK = 2; }
}
"""
RANGES = {
    FD.TYPE_INT32: 2**31, FD.TYPE_SINT32: 2**31, FD.TYPE_SFIXED32: 2**31, FD.TYPE_INT64: 2**63,
    FD.TYPE_SINT64: 2**63, FD.TYPE_SFIXED64: 2**63,
}  # fmt: skip
UNSIGNED = {FD.TYPE_UINT32: 2**32, FD.TYPE_FIXED32: 2**32, FD.TYPE_UINT64: 2**64, FD.TYPE_FIXED64: 2**64}
WELL_KNOWN = {
    "google.protobuf.Timestamp": (st.just("2026-12-07T10:00:00Z"), st.just("yesterday")),
    "google.protobuf.Duration": (st.just("1.5s"), st.just("90 minutes")),
    "google.protobuf.Int64Value": (st.just("42") | st.just(42), st.just("forty-two")),
    "google.protobuf.Struct": (st.just({"a": [1, None]}), st.just([])),
    "google.protobuf.Value": (ANY_LEAF, st.nothing()),
    "google.protobuf.Any": (st.just({"@type": "type.googleapis.com/t.All"}), st.just({"value": 1})),
    "google.protobuf.Empty": (st.just({}), st.just({"x": 1})),
}
SCHEMAS = [ALL_KINDS, LEGACY] + sorted({case[1] for case in CASES})[:80]


def datum(message: Descriptor, depth: int = 0) -> st.SearchStrategy[Any]:
    if message.full_name in WELL_KNOWN:
        valid, wrong = WELL_KNOWN[message.full_name]
        return mostly(valid, wrong | ANY_LEAF)
    if depth >= 2:
        return mostly(st.just({}), ANY_LEAF) if not any(f.is_required for f in message.fields) else ANY_LEAF
    fields: dict[str, st.SearchStrategy[Any]] = {}
    required: dict[str, st.SearchStrategy[Any]] = {}
    for item in message.fields:
        key = item.json_name if item.number % 2 else item.name  # both names are accepted
        (required if item.is_required else fields)[key] = mostly(field_value(item, depth), st.none())
    shaped = st.fixed_dictionaries(required, optional=fields)
    twice = [{item.name: None, item.json_name: None} for item in message.fields if item.name != item.json_name]
    wrong = st.fixed_dictionaries({"unknownField": st.just(1)}) | st.sampled_from(twice or [[]])
    return mostly(shaped, wrong | ANY_LEAF)


def field_value(item: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if item.message_type is not None and item.message_type.GetOptions().map_entry:
        key_field, value_field = item.message_type.fields_by_name["key"], item.message_type.fields_by_name["value"]
        if key_field.type == FD.TYPE_BOOL:
            keys = mostly(st.sampled_from(["true", "false"]), st.just("yes"))
        elif key_field.type in RANGES or key_field.type in UNSIGNED:
            keys = mostly(st.integers(0, 1000).map(str), st.just("x") | st.just("1.5"))
        else:
            keys = st.text(max_size=3)
        return st.dictionaries(keys, mostly(single(value_field, depth), st.none()), max_size=3)
    if item.is_repeated:
        return st.lists(mostly(single(item, depth), st.none()), max_size=3)
    return single(item, depth)


def single(item: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if item.message_type is not None:
        return datum(item.message_type, depth + 1)
    kind = item.type
    if kind in RANGES or kind in UNSIGNED:
        low, high = (-RANGES[kind], RANGES[kind] - 1) if kind in RANGES else (0, UNSIGNED[kind] - 1)
        valid = st.integers(low, high) | st.sampled_from([low, high, str(high), f"{low}", 3.0])
        return mostly(valid, st.sampled_from([low - 1, high + 1, "12a", 1.5, True]))
    if kind in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        valid = (
            st.floats(allow_nan=False, width=32)
            | st.integers(-(2**40), 2**40)
            | st.sampled_from(["NaN", "-Infinity", "2.5"])
        )
        return mostly(valid, st.sampled_from([True, "fast", 1e39 if kind == FD.TYPE_FLOAT else None, math.inf]))
    if kind == FD.TYPE_BOOL:
        return mostly(st.booleans(), st.sampled_from([0, "true"]))
    if kind == FD.TYPE_STRING:
        return mostly(st.text(max_size=5), st.sampled_from([1, b"x", None]))
    if kind == FD.TYPE_BYTES:
        return mostly(st.sampled_from(["", "aGk=", "aGk", "a-_w"]), st.sampled_from(["***", 5]))
    if kind == FD.TYPE_ENUM:
        names = [value.name for value in item.enum_type.values]
        numbers = [value.number for value in item.enum_type.values]
        return mostly(st.sampled_from(names + numbers), st.sampled_from(["PURPLE", 7, 2**40, 1.0]))
    return ANY_LEAF


@settings(
    max_examples=800, deadline=None, suppress_health_check=list(HealthCheck), database=None, phases=[Phase.generate]
)
@given(st.data())
def test_the_fast_check_agrees_with_the_detailed_walk(data):
    # Half the draws on ALL_KINDS, where most of the rules are.
    text = data.draw(
        st.sampled_from(SCHEMAS[2:]) | st.just(LEGACY) | st.just(ALL_KINDS) | st.just(ALL_KINDS), label="schema"
    )
    message = first_message(parse_protobuf(text))
    value = data.draw(datum(message), label="datum")

    assert compile_check(message)(value) == (protobuf_json_issues(message, value) == [])


def test_both_answers_on_a_recursive_message_with_required_fields():
    message = first_message(parse_protobuf(LEGACY))
    check = compile_check(message)

    assert check({"id": "a", "children": [{"id": "b", "kind": "BANK"}]})
    assert not check({"id": "a", "children": [{"kind": "BANK"}]})
    assert protobuf_json_issues(message, {"id": "a", "children": [{"kind": "BANK"}]}) == [
        ("/children/0/id", "is required (required id of Legacy)")
    ]


@pytest.mark.parametrize(
    "value",
    [
        {"order_id": None, "orderId": None},  # one field set twice, by both its names
        {"left": "a", "right": {"name": "b"}},  # two members of one oneof
        {"left": "a", "right": None},  # null is "not set": one member only
        {"values": None},  # a repeated Value cannot be null itself
        {"anything": None, "props": {"a": None}},  # a Value can
        {"byNumber": {"7": {"count": "18446744073709551615"}}, "flags": {"true": "x"}},
        {"byNumber": {"7.5": {}}},
        {"many": ["1", 2, 3.0]},
        {"many": [1.5]},
        {"f": 3.5e38},
        {"f": "Infinity", "d": "-Infinity"},
    ],
)
def test_the_fast_check_agrees_on_the_rules_data_rarely_hits(value):
    message = first_message(parse_protobuf(ALL_KINDS))

    assert compile_check(message)(value) == (protobuf_json_issues(message, value) == [])
