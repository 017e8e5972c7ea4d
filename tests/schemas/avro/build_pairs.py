"""Writes `pairs.json`: Avro old/new schema pairs with the answer the Avro specification's
resolution rules give at BACKWARD (new reads what old wrote), FORWARD (old reads what new
wrote) and FULL (both). Run `python -m tests.schemas.avro.build_pairs` after editing.

The answers come from the specification, written here as small tables per rule (which
primitive a reader may read, which enum symbols a reader knows, which union branches a reader
has), never from the registry's checker. Where Eventline is deliberately stricter than the
specification (a decimal's scale or precision), the pair says so in `note`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
# The specification's promotions: writer -> the readers that may read it.
PROMOTES_TO = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}
SAMPLE_DEFAULT = {
    "null": None, "boolean": False, "int": 0, "long": 0, "float": 0.0, "double": 0.0, "bytes": "", "string": "",
}


def reads(reader: str, writer: str) -> bool:
    return reader == writer or reader in PROMOTES_TO.get(writer, set())


def record(fields: list[dict[str, Any]], name: str = "Event", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "test", "fields": fields, **extra}


def one(name: str, kind: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, **extra}


PAIRS: list[dict[str, Any]] = []


def pair(rule: str, name: str, old: Any, new: Any, backward: bool, forward: bool, note: str = "") -> None:
    entry = {"id": f"{rule}/{name}", "rule": rule, "old": old, "new": new,
             "backward": backward, "forward": forward, "full": backward and forward}
    if note:
        entry["note"] = note
    PAIRS.append(entry)


def promotions() -> None:
    # Every primitive against every other, as a field type: 56 pairs.
    for old in PRIMITIVES:
        for new in PRIMITIVES:
            if old != new:
                pair("promotion", f"{old}->{new}", record([one("value", old)]), record([one("value", new)]),
                     backward=reads(new, old), forward=reads(old, new))
    # Promotions inside arrays, maps and unions.
    for old, new in [("int", "long"), ("long", "double"), ("float", "double"), ("string", "bytes"), ("long", "int")]:
        ok_b, ok_f = reads(new, old), reads(old, new)
        pair("promotion", f"array<{old}>->array<{new}>", record([one("v", {"type": "array", "items": old})]),
             record([one("v", {"type": "array", "items": new})]), ok_b, ok_f)
        pair("promotion", f"map<{old}>->map<{new}>", record([one("v", {"type": "map", "values": old})]),
             record([one("v", {"type": "map", "values": new})]), ok_b, ok_f)
        pair("promotion", f"[null,{old}]->[null,{new}]", record([one("v", ["null", old], default=None)]),
             record([one("v", ["null", new], default=None)]), ok_b, ok_f)
    # A top-level primitive schema.
    pair("promotion", "top-level int->long", "int", "long", True, False)
    pair("promotion", "top-level string->bytes", "string", "bytes", True, True)
    pair("promotion", "top-level double->float", "double", "float", False, True)


def fields_added_and_removed() -> None:
    base = [one("id", "long")]
    for kind in ["int", "long", "string", "boolean", "double", "bytes"]:
        default = SAMPLE_DEFAULT[kind]
        # Added without a default: the new reader has nothing to fill it from; the old reader skips it.
        pair("field", f"add {kind} without default", record(base), record([*base, one("extra", kind)]), False, True)
        # Added with a default: both ways.
        pair("field", f"add {kind} with default", record(base),
             record([*base, one("extra", kind, default=default)]), True, True)
        # Removed: the new reader skips it; the old reader needs its default.
        pair("field", f"remove {kind} without default", record([*base, one("extra", kind)]), record(base), True, False)
        pair("field", f"remove {kind} with default", record([*base, one("extra", kind, default=default)]),
             record(base), True, True)
    pair("field", "add optional [null,string] default null", record(base),
         record([*base, one("note", ["null", "string"], default=None)]), True, True)
    pair("field", "add array with default []", record(base),
         record([*base, one("tags", {"type": "array", "items": "string"}, default=[])]), True, True)
    pair("field", "add map with default {}", record(base),
         record([*base, one("attrs", {"type": "map", "values": "long"}, default={})]), True, True)
    pair("field", "add enum with default symbol", record(base),
         record([*base, one("state", {"type": "enum", "name": "State", "symbols": ["A", "B"]}, default="A")]),
         True, True)
    pair("field", "add record field with default", record(base),
         record([*base, one("meta", record([one("source", "string")], name="Meta"), default={"source": ""})]),
         True, True)
    pair("field", "default removed from a kept field", record([*base, one("x", "int", default=0)]),
         record([*base, one("x", "int")]), True, True)
    pair("field", "rename without alias", record([*base, one("amount", "int")]),
         record([*base, one("total", "int")]), False, False)
    pair("field", "rename without alias, new has default", record([*base, one("amount", "int")]),
         record([*base, one("total", "int", default=0)]), True, False)
    pair("field", "fields reordered", record([one("a", "int"), one("b", "string")]),
         record([one("b", "string"), one("a", "int")]), True, True)
    pair("field", "every field replaced, all with defaults", record([one("a", "int", default=1)]),
         record([one("b", "string", default="")]), True, True)


def enums() -> None:
    def enum_field(symbols: list[str], default: str | None = None) -> dict[str, Any]:
        kind: dict[str, Any] = {"type": "enum", "name": "Status", "symbols": symbols}
        if default is not None:
            kind["default"] = default
        return record([one("status", kind)])

    abc, ab = ["A", "B", "C"], ["A", "B"]
    # Symbol added: a reader without it cannot read it unless its enum has a default.
    pair("enum", "symbol added, no defaults", enum_field(ab), enum_field(abc), True, False)
    pair("enum", "symbol added, old has default", enum_field(ab, "A"), enum_field(abc), True, True)
    pair("enum", "symbol added, new has default", enum_field(ab), enum_field(abc, "A"), True, False)
    pair("enum", "symbol added, both have defaults", enum_field(ab, "A"), enum_field(abc, "A"), True, True)
    pair("enum", "symbol removed, no defaults", enum_field(abc), enum_field(ab), False, True)
    pair("enum", "symbol removed, new has default", enum_field(abc), enum_field(ab, "A"), True, True)
    pair("enum", "symbol removed, old has default", enum_field(abc, "A"), enum_field(ab), False, True)
    pair("enum", "symbols reordered", enum_field(["A", "B", "C"]), enum_field(["C", "A", "B"]), True, True)
    pair("enum", "symbol replaced, no defaults", enum_field(["A", "B"]), enum_field(["A", "C"]), False, False)
    pair("enum", "symbol replaced, both defaults", enum_field(["A", "B"], "A"), enum_field(["A", "C"], "A"), True, True)
    pair("enum", "default added", enum_field(ab), enum_field(ab, "B"), True, True)
    pair("enum", "enum renamed", record([one("s", {"type": "enum", "name": "Status", "symbols": ab})]),
         record([one("s", {"type": "enum", "name": "State", "symbols": ab})]), False, False)
    pair("enum", "enum renamed with alias", record([one("s", {"type": "enum", "name": "Status", "symbols": ab})]),
         record([one("s", {"type": "enum", "name": "State", "aliases": ["Status"], "symbols": ab})]), True, False)
    pair("enum", "enum to string", enum_field(ab), record([one("status", "string")]), False, False)
    pair("enum", "top-level symbol added", {"type": "enum", "name": "E", "symbols": ab},
         {"type": "enum", "name": "E", "symbols": abc}, True, False)


def unions() -> None:
    def f(kind: Any, **extra: Any) -> dict[str, Any]:
        return record([one("v", kind, **extra)])

    # Widened: a writer's value always finds a branch in the wider reader; the narrower one misses.
    pair("union", "string -> [null,string]", f("string"), f(["null", "string"], default=None), True, False)
    pair("union", "[null,string] -> string", f(["null", "string"], default=None), f("string"), False, True)
    pair("union", "[null,string] -> [null,string,int]", f(["null", "string"], default=None),
         f(["null", "string", "int"], default=None), True, False)
    pair("union", "[null,string,int] -> [null,string]", f(["null", "string", "int"], default=None),
         f(["null", "string"], default=None), False, True)
    pair("union", "[null,int] -> [null,long] (promotion)", f(["null", "int"], default=None),
         f(["null", "long"], default=None), True, False)
    pair("union", "int -> [null,long]", f("int"), f(["null", "long"], default=None), True, False)
    pair("union", "[int,string] -> [string,int] (reordered)", f(["int", "string"]), f(["string", "int"]), True, True)
    pair("union", "[null,int] -> [null,string]", f(["null", "int"], default=None),
         f(["null", "string"], default=None), False, False)
    pair("union", "[int,string] -> long", f(["int", "string"]), f("long"), False, False)
    pair("union", "[int,long] -> long", f(["int", "long"]), f("long"), True, True)
    pair("union", "int -> [string,bytes]", f("int"), f(["string", "bytes"]), False, False)
    pair("union", "string -> [bytes,int] (via promotion)", f("string"), f(["int", "bytes"]), True, False)
    rec_a = {"type": "record", "name": "A", "fields": [one("x", "int")]}
    rec_b = {"type": "record", "name": "B", "fields": [one("y", "string")]}
    pair("union", "record -> union of records", f(rec_a), f([rec_a, rec_b]), True, False)
    pair("union", "union of records -> one record", f([rec_a, rec_b]), f(rec_a), False, True)
    pair("union", "top-level [null,string] -> [null,string,long]", ["null", "string"], ["null", "string", "long"],
         True, False)


def aliases() -> None:
    pair("alias", "field renamed, new aliases old name", record([one("id", "long"), one("amount", "int")]),
         record([one("id", "long"), one("total", "int", aliases=["amount"])]), True, False)
    pair("alias", "field renamed, alias and default", record([one("id", "long"), one("amount", "int")]),
         record([one("id", "long"), one("total", "int", aliases=["amount"], default=0)]), True, False,
         note="old reads new: new never writes 'amount' and old has no default for it; only a reader's aliases count")
    pair("alias", "field renamed, old has default", record([one("id", "long"), one("amount", "int", default=0)]),
         record([one("id", "long"), one("total", "int", aliases=["amount"])]), True, True)
    pair("alias", "record renamed without alias", record([one("id", "long")], name="Order"),
         record([one("id", "long")], name="Purchase"), False, False)
    pair("alias", "record renamed, new aliases old", record([one("id", "long")], name="Order"),
         record([one("id", "long")], name="Purchase", aliases=["Order"]), True, False)
    pair("alias", "record renamed, both alias each other", record([one("id", "long")], name="Order", aliases=["Purchase"]),
         record([one("id", "long")], name="Purchase", aliases=["Order"]), True, True)
    pair("alias", "namespace changed, same name", {**record([one("id", "long")]), "namespace": "a"},
         {**record([one("id", "long")]), "namespace": "b"}, True, True,
         note="the specification matches records by unqualified name")
    pair("alias", "alias is a full name", {**record([one("id", "long")], name="Order"), "namespace": "old"},
         {**record([one("id", "long")], name="Purchase", aliases=["old.Order"]), "namespace": "new"}, True, False)
    pair("alias", "alias names another namespace", {**record([one("id", "long")], name="Order"), "namespace": "old"},
         {**record([one("id", "long")], name="Purchase", aliases=["Order"]), "namespace": "new"}, False, False,
         note="a relative alias takes the reader's namespace: new.Order is not old.Order")
    pair("alias", "fixed renamed with alias", record([one("h", {"type": "fixed", "name": "Md5", "size": 16})]),
         record([one("h", {"type": "fixed", "name": "Hash", "aliases": ["test.Md5"], "size": 16})]), True, False)


def recursion_and_named() -> None:
    node = {"type": "record", "name": "Node", "fields": [one("value", "int"), one("next", ["null", "Node"], default=None)]}
    node_long = {"type": "record", "name": "Node", "fields": [one("value", "long"), one("next", ["null", "Node"], default=None)]}
    node_label = {"type": "record", "name": "Node", "fields": [
        one("value", "int"), one("next", ["null", "Node"], default=None), one("label", "string", default="")]}
    node_label_required = {"type": "record", "name": "Node", "fields": [
        one("value", "int"), one("next", ["null", "Node"], default=None), one("label", "string")]}
    pair("recursion", "linked list unchanged, reformatted", node, json.loads(json.dumps(node)), True, True)
    pair("recursion", "linked list value int->long", node, node_long, True, False)
    pair("recursion", "linked list field added with default", node, node_label, True, True)
    pair("recursion", "linked list field added without default", node, node_label_required, False, True)
    tree = {"type": "record", "name": "Tree", "fields": [
        one("value", "string"), one("children", {"type": "array", "items": "Tree"}, default=[])]}
    tree_map = {"type": "record", "name": "Tree", "fields": [
        one("value", "string"), one("children", {"type": "array", "items": "Tree"}, default=[]),
        one("attrs", {"type": "map", "values": "Tree"}, default={})]}
    tree_bytes = {"type": "record", "name": "Tree", "fields": [
        one("value", "bytes"), one("children", {"type": "array", "items": "Tree"}, default=[])]}
    tree_int = {"type": "record", "name": "Tree", "fields": [
        one("value", "int"), one("children", {"type": "array", "items": "Tree"}, default=[])]}
    pair("recursion", "tree gains a map of subtrees with default", tree, tree_map, True, True)
    pair("recursion", "tree value string->bytes", tree, tree_bytes, True, True)
    pair("recursion", "tree value string->int", tree, tree_int, False, False)
    mutual_a = {"type": "record", "name": "A", "fields": [one("b", ["null", {"type": "record", "name": "B", "fields": [
        one("n", "int"), one("a", ["null", "A"], default=None)]}], default=None)]}
    mutual_a2 = {"type": "record", "name": "A", "fields": [one("b", ["null", {"type": "record", "name": "B", "fields": [
        one("n", "long"), one("a", ["null", "A"], default=None)]}], default=None)]}
    pair("recursion", "mutual recursion, inner int->long", mutual_a, mutual_a2, True, False)
    # A named type reused by name in a second field.
    money = {"type": "record", "name": "Money", "fields": [one("cents", "long"), one("currency", "string")]}
    money2 = {"type": "record", "name": "Money", "fields": [one("cents", "long"), one("currency", "string"),
                                                            one("rounded", "boolean", default=False)]}
    money3 = {"type": "record", "name": "Money", "fields": [one("cents", "int"), one("currency", "string")]}
    pair("named", "reused type gains a field with default", record([one("price", money), one("tax", "test.Money")]),
         record([one("price", money2), one("tax", "test.Money")]), True, True)
    pair("named", "reused type narrows long->int", record([one("price", money), one("tax", "Money")]),
         record([one("price", money3), one("tax", "Money")]), False, True)
    pair("named", "inline type replaced by other-named type",
         record([one("price", money)]), record([one("price", {**money, "name": "Amount"})]), False, False)


def logical_types() -> None:
    def f(kind: Any) -> dict[str, Any]:
        return record([one("v", kind)])

    ts_ms = {"type": "long", "logicalType": "timestamp-millis"}
    ts_us = {"type": "long", "logicalType": "timestamp-micros"}
    date = {"type": "int", "logicalType": "date"}
    uuid = {"type": "string", "logicalType": "uuid"}
    pair("logical", "long -> timestamp-millis", f("long"), f(ts_ms), True, True)
    pair("logical", "timestamp-millis -> timestamp-micros", f(ts_ms), f(ts_us), True, True,
         note="the specification resolves on the underlying type; the values change meaning")
    pair("logical", "date -> long", f(date), f("long"), True, False)
    pair("logical", "date -> timestamp-millis (int->long)", f(date), f(ts_ms), True, False)
    pair("logical", "string -> uuid", f("string"), f(uuid), True, True)
    pair("logical", "uuid -> bytes", f(uuid), f("bytes"), True, True)
    pair("logical", "time-millis -> string", f({"type": "int", "logicalType": "time-millis"}), f("string"), False, False)
    dec = {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}
    pair("logical", "decimal unchanged", f(dec), f(dict(dec)), True, True)
    pair("logical", "decimal scale changed", f(dec), f({**dec, "scale": 3}), False, False,
         note="Eventline is stricter than the specification: the same unscaled number would be read as another value")
    pair("logical", "decimal precision changed", f(dec), f({**dec, "precision": 12}), False, False,
         note="Eventline is stricter than the specification, as for the scale")
    pair("logical", "bytes -> decimal", f("bytes"), f(dec), True, True)
    dec_fixed = {"type": "fixed", "name": "Dec", "size": 8, "logicalType": "decimal", "precision": 10, "scale": 2}
    pair("logical", "decimal bytes -> decimal fixed", f(dec), f(dec_fixed), False, False)
    pair("logical", "duration fixed 12 unchanged",
         f({"type": "fixed", "name": "Dur", "size": 12, "logicalType": "duration"}),
         f({"type": "fixed", "name": "Dur", "size": 12, "logicalType": "duration"}), True, True)


def fixed_sizes() -> None:
    def f(size: int, name: str = "Hash") -> dict[str, Any]:
        return record([one("h", {"type": "fixed", "name": name, "size": size})])

    pair("fixed", "same size", f(16), f(16), True, True)
    pair("fixed", "size grows", f(16), f(32), False, False)
    pair("fixed", "size shrinks", f(16), f(8), False, False)
    pair("fixed", "renamed, same size", f(16), f(16, "Digest"), False, False)
    pair("fixed", "fixed -> bytes", f(16), record([one("h", "bytes")]), False, False)
    pair("fixed", "[null,fixed16] -> [null,fixed16,fixed32]",
         record([one("h", ["null", {"type": "fixed", "name": "H16", "size": 16}], default=None)]),
         record([one("h", ["null", {"type": "fixed", "name": "H16", "size": 16},
                           {"type": "fixed", "name": "H32", "size": 32}], default=None)]), True, False)


def nested_records() -> None:
    def order(address_fields: list[dict[str, Any]], line_fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        line = {"type": "record", "name": "Line", "fields": line_fields or [one("sku", "string"), one("qty", "int")]}
        address = {"type": "record", "name": "Address", "fields": address_fields}
        customer = {"type": "record", "name": "Customer", "fields": [one("name", "string"), one("address", address)]}
        return record([one("id", "long"), one("customer", customer), one("lines", {"type": "array", "items": line})],
                      name="Order")

    street = [one("street", "string"), one("city", "string")]
    pair("nested", "deep field added with default", order(street),
         order([*street, one("zip", "string", default="")]), True, True)
    pair("nested", "deep field added without default", order(street), order([*street, one("zip", "string")]),
         False, True)
    pair("nested", "deep field removed without default", order(street), order([one("street", "string")]), True, False)
    pair("nested", "deep field type narrowed string->int", order(street),
         order([one("street", "string"), one("city", "int")]), False, False)
    pair("nested", "array item field qty int->long", order(street),
         order(street, [one("sku", "string"), one("qty", "long")]), True, False)
    pair("nested", "array item field added with default", order(street),
         order(street, [one("sku", "string"), one("qty", "int"), one("note", ["null", "string"], default=None)]),
         True, True)
    pair("nested", "array item gains a required field", order(street),
         order(street, [one("sku", "string"), one("qty", "int"), one("price", "long")]), False, True)
    inner = {"type": "record", "name": "Inner", "fields": [one("x", "int")]}
    pair("nested", "map of records, value field int->double", record([one("m", {"type": "map", "values": inner})]),
         record([one("m", {"type": "map", "values": {**inner, "fields": [one("x", "double")]}})]), True, False)
    pair("nested", "record field becomes array", record([one("m", inner)]),
         record([one("m", {"type": "array", "items": inner})]), False, False)
    pair("nested", "array -> map", record([one("m", {"type": "array", "items": "int"})]),
         record([one("m", {"type": "map", "values": "int"})]), False, False)


SEQUENCES: list[dict[str, Any]] = []


def sequences() -> None:
    a = record([one("id", "long")])
    ab_default = record([one("id", "long"), one("b", "string", default="")])
    ab_required = record([one("id", "long"), one("b", "string")])
    # Each neighbouring step is fine at BACKWARD, but the last version cannot read the first.
    SEQUENCES.append({"id": "required field arrives in two steps", "versions": [a, ab_default, ab_required],
                      "BACKWARD": True, "BACKWARD_TRANSITIVE": False, "FORWARD": True, "FORWARD_TRANSITIVE": True,
                      "FULL": True, "FULL_TRANSITIVE": False})
    c_required = record([one("id", "long"), one("c", "int")])
    SEQUENCES.append({"id": "required field leaves in two steps", "versions": [c_required, record([one("id", "long"),
                      one("c", "int", default=0)]), a],
                      "BACKWARD": True, "BACKWARD_TRANSITIVE": True, "FORWARD": True, "FORWARD_TRANSITIVE": False,
                      "FULL": True, "FULL_TRANSITIVE": False})
    e2 = record([one("s", {"type": "enum", "name": "S", "symbols": ["A", "B"], "default": "A"})])
    e3 = record([one("s", {"type": "enum", "name": "S", "symbols": ["A", "B", "C"]})])
    e1 = record([one("s", {"type": "enum", "name": "S", "symbols": ["A"]})])
    SEQUENCES.append({"id": "enum grows while the middle version has a default", "versions": [e1, e2, e3],
                      "BACKWARD": True, "BACKWARD_TRANSITIVE": True, "FORWARD": True, "FORWARD_TRANSITIVE": False,
                      "FULL": True, "FULL_TRANSITIVE": False})
    p1, p2, p3 = (record([one("v", kind)]) for kind in ("int", "long", "double"))
    SEQUENCES.append({"id": "int, long, double", "versions": [p1, p2, p3],
                      "BACKWARD": True, "BACKWARD_TRANSITIVE": True, "FORWARD": False, "FORWARD_TRANSITIVE": False,
                      "FULL": False, "FULL_TRANSITIVE": False})
    u1 = record([one("v", "string")])
    u2 = record([one("v", ["null", "string"], default=None)])
    u3 = record([one("v", ["null", "string"], default=None), one("w", "int", default=0)])
    SEQUENCES.append({"id": "optional then another optional", "versions": [u1, u2, u3],
                      "BACKWARD": True, "BACKWARD_TRANSITIVE": True, "FORWARD": True, "FORWARD_TRANSITIVE": False,
                      "FULL": True, "FULL_TRANSITIVE": False})


def main() -> None:
    for build in (promotions, fields_added_and_removed, enums, unions, aliases, recursion_and_named, logical_types,
                  fixed_sizes, nested_records, sequences):
        build()
    ids = [entry["id"] for entry in PAIRS]
    assert len(ids) == len(set(ids)), "pair ids must be unique"
    target = Path(__file__).with_name("pairs.json")
    target.write_text(json.dumps({"pairs": PAIRS, "sequences": SEQUENCES}, indent=1) + "\n")
    print(f"{len(PAIRS)} pairs, {len(SEQUENCES)} sequences -> {target}")


if __name__ == "__main__":
    main()
