"""The produce path's yes/no Avro check (closures compiled once per schema) gives the answer of
the detailed walk that names every failing pointer, on data that is valid, wrong at the top or
wrong deep inside, for every schema of the pair catalogue: a fast path that let through what
the walk refuses, or refused what it lets through, would fail here."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from schemas.avro import avro_json_issues, parse_avro
from schemas.avro.schema import Node
from schemas.avro.validation import compile_check

PAIRS = json.loads((Path(__file__).parent / "pairs.json").read_text())["pairs"]
SCHEMAS = [entry[side] for entry in PAIRS for side in ("old", "new")]
# Every kind at once, so kinds the catalogue rarely holds (fixed, bytes, maps) are drawn often.
ALL_KINDS = {"type": "record", "name": "All", "fields": [
    {"name": "b", "type": "bytes"}, {"name": "f", "type": {"type": "fixed", "name": "F", "size": 2}},
    {"name": "m", "type": {"type": "map", "values": "float"}}, {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}},
    {"name": "u", "type": ["int", "string", "F"]}, {"name": "d", "type": "double", "default": 0.5},
    {"name": "a", "type": {"type": "array", "items": ["null", "long"]}}, {"name": "n", "type": "null"},
    {"name": "t", "type": "boolean"},
]}  # fmt: skip

ANY_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True),
    st.text(max_size=5), st.just("\u0100"), st.just({}), st.just([]), st.just({"x": 1}),
)  # fmt: skip


def mostly(valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`valid` nineteen times in twenty."""
    return st.integers(0, 19).flatmap(lambda n: other if n == 0 else valid)


def datum(node: Node, depth: int = 0) -> st.SearchStrategy[Any]:
    """Avro's JSON encoding of `node`, with a one-in-twenty chance at every level of a value of
    another shape, so most data is wrong in one place at most (where a lax check would show)."""
    if depth >= 4:
        return ANY_LEAF
    return mostly(_shaped(node, depth), ANY_LEAF)


def _shaped(node: Node, depth: int) -> st.SearchStrategy[Any]:
    kind = node.kind
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("int", "long"):
        bound = 2**31 if kind == "int" else 2**63
        return mostly(
            st.sampled_from([-bound, bound - 1]) | st.integers(min_value=-bound, max_value=bound - 1),
            st.sampled_from([-bound - 1, bound]),
        )
    if kind in ("float", "double"):
        return mostly(
            st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
            st.sampled_from([math.nan, math.inf, -math.inf]),
        )
    if kind == "string":
        return st.text(max_size=8)
    if kind in ("bytes", "fixed"):
        size = node.size or 0
        exact = st.text(alphabet=st.characters(max_codepoint=255), min_size=size, max_size=size if node.size else 6)
        wrong_size = st.text(alphabet=st.characters(max_codepoint=255), min_size=size + 1, max_size=size + 1)
        return mostly(exact, wrong_size if node.size else st.sampled_from(["\u0100", "a\u20ac"]))
    if kind == "enum":
        return mostly(st.sampled_from(node.symbols), st.text(max_size=3))
    if kind == "array":
        return st.lists(datum(node.items, depth + 1), max_size=3) if node.items else st.just([])
    if kind == "map":
        return (
            st.dictionaries(st.text(max_size=3), datum(node.values, depth + 1), max_size=3)
            if node.values
            else st.just({})
        )
    if kind == "record":
        fields = {item.name: datum(item.type, depth + 1) for item in node.fields}
        optional = {"unexpected": st.just(1)}
        some_fields = st.fixed_dictionaries({}, optional={**fields, **optional})
        return mostly(st.fixed_dictionaries(fields), some_fields)
    if kind == "union":
        branches = [
            st.none()
            if branch.kind == "null"
            else st.builds(lambda value, name=branch.branch_name(): {name: value}, datum(branch, depth + 1))
            for branch in node.branches
        ]
        return mostly(st.one_of(*branches), st.none() | st.just({"nope": 1}))
    return ANY_LEAF


@settings(
    max_examples=600, deadline=None, suppress_health_check=list(HealthCheck), database=None, phases=[Phase.generate]
)
@given(st.data())
def test_the_fast_check_agrees_with_the_detailed_walk(data):
    schema = data.draw(st.sampled_from(SCHEMAS) | st.just(ALL_KINDS), label="schema")
    root = parse_avro(schema).root
    value = data.draw(datum(root), label="datum")

    assert compile_check(root)(value) == (avro_json_issues(root, value) == [])


def test_both_answers_are_exercised_on_a_recursive_schema():
    root = parse_avro(
        {
            "type": "record",
            "name": "Node",
            "fields": [{"name": "value", "type": "int"}, {"name": "next", "type": ["null", "Node"], "default": None}],
        }
    ).root
    check = compile_check(root)

    assert check({"value": 1, "next": {"Node": {"value": 2, "next": None}}})
    assert not check({"value": 1, "next": {"Node": {"value": "two"}}})
    assert avro_json_issues(root, {"value": 1, "next": {"Node": {"value": "two"}}}) == [
        ("/next/Node/value", "must be an Avro int (an integer from -2147483648 to 2147483647)")
    ]
