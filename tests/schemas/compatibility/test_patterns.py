"""Regexes from user-supplied schemas run in linear time (issue 13: regex denial of service).

Python's backtracking `re` took 48 s on the first case here and 68 s on the second on this
machine; RE2 answers in microseconds. The timeout is a liveness bound an order of magnitude
under the backtracking time, not a speed target.
"""

from __future__ import annotations

import pytest

from schemas.compatibility import DifferenceType, diff_schemas
from schemas.compatibility.objects import matching_patterns
from schemas.compatibility.patterns import MAX_PATTERN_LENGTH, linear_regex

NESTED_QUANTIFIER = "^(a+)+$"
MANY_OPTIONAL_GROUPS = "^" + "(.?)" * 36 + "Z"
NAME_THAT_BACKTRACKS = "a" * 30 + "!"


@pytest.mark.timeout(5)
def test_nested_quantifier_pattern_property_is_matched_in_linear_time():
    original = {"type": "object", "properties": {NAME_THAT_BACKTRACKS: {"type": "string"}}}
    update = {
        "type": "object",
        "patternProperties": {NESTED_QUANTIFIER: {"type": "string"}},
        "additionalProperties": False,
    }

    types = {difference.type for difference in diff_schemas(original, update)}

    # The name does not match the pattern, so removing it from a now-closed model breaks readers.
    assert DifferenceType.PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL in types


@pytest.mark.timeout(5)
def test_many_optional_groups_pattern_is_matched_in_linear_time():
    keywords = {"patternProperties": {MANY_OPTIONAL_GROUPS: {}}}

    assert matching_patterns(keywords, "a" * 40) == []
    assert matching_patterns(keywords, "a" * 30 + "Z") == [{}]


def test_patterns_still_search_rather_than_match():
    assert matching_patterns({"patternProperties": {"b": {"type": "string"}}}, "abc") == [{"type": "string"}]
    assert matching_patterns({"patternProperties": {"^b": {"type": "string"}}}, "abc") == []


@pytest.mark.parametrize("pattern", ["(?=a)b", r"(a)\1", "(?<!x)y"])
def test_pattern_needing_backtracking_is_not_run(pattern):
    assert linear_regex(pattern) is None
    assert matching_patterns({"patternProperties": {pattern: {}}}, "ab") == []


def test_pattern_over_the_length_limit_is_not_compiled():
    assert linear_regex("a" * (MAX_PATTERN_LENGTH + 1)) is None
    assert linear_regex("a" * MAX_PATTERN_LENGTH) is not None
