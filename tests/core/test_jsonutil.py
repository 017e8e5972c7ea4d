"""The checks every JSON document from outside goes through: how deep it nests, and where a
NUL character hides in it."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from core.jsonutil import dotted, dumps, nesting_exceeds, nul_location

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(alphabet='[]{}"\\ab'),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


@given(json_values, st.integers(min_value=0, max_value=8))
def test_nesting_exceeds_the_limit_exactly_when_arrays_and_objects_nest_deeper_than_it(value, limit):
    text = dumps(value)
    assert nesting_exceeds(value, limit) is (depth(value) > limit)
    assert nesting_exceeds(value, limit, text=text) is (depth(value) > limit)


def test_a_document_at_the_limit_passes_and_one_level_more_does_not():
    at_limit = [[[{"a": 1}]]]
    assert depth(at_limit) == 4
    assert not nesting_exceeds(at_limit, 4)
    assert nesting_exceeds([at_limit], 4)
    assert nesting_exceeds({"data": at_limit}, 4)


def test_yaml_aliases_that_share_nodes_are_walked_once_per_level_and_a_cycle_is_too_deep():
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + level)}: &{chr(98 + level)} [{', '.join([f'*{chr(97 + level)}'] * 10)}]\n" for level in range(9)
    )
    document = yaml.safe_load(laughs)  # 10^10 leaves if expanded
    assert not nesting_exceeds(document, 64, shared=True)
    assert nesting_exceeds(document, 9, shared=True)
    cycle = yaml.safe_load("&loop [*loop]")
    assert nesting_exceeds(cycle, 64, shared=True)


def test_nul_location_names_the_key_or_string_that_holds_a_nul_character():
    assert nul_location({"offsets": [{"topic": "orders", "metadata": "a\x00"}]}) == ["offsets", 0, "metadata"]
    assert dotted(["offsets", 0, "metadata"]) == "offsets[0].metadata"
    assert nul_location({"a\x00b": 1}) == ["a\x00b"]
    assert nul_location("x\x00") == [] and dotted([]) == "body"
    assert nul_location({"data": ["fine", {"nested": "fine"}]}) is None
