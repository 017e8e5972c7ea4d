"""Every pair in cases.py gets Confluent's answer per direction and level, and the breaking
difference types it expects, from the pure checker and through the registry's level loop."""

from __future__ import annotations

import pytest

from schemas.compatibility.checker import SchemaVersion, check_compatibility
from schemas.compatibility.levels import CompatibilityLevel
from schemas.protobuf import parse_protobuf
from schemas.protobuf.compatibility import incompatibilities
from tests.schemas.protobuf.cases import CASES


def test_there_are_at_least_a_hundred_pairs():
    assert len(CASES) >= 100
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "old", "new", "backward", "forward", "types"), CASES, ids=[case[0] for case in CASES])
def test_pair_gets_confluents_answer(name, old, new, backward, forward, types):
    old_parsed, new_parsed = parse_protobuf(old), parse_protobuf(new)

    backward_found = incompatibilities(old_parsed, new_parsed)
    forward_found = incompatibilities(new_parsed, old_parsed)

    assert (not backward_found, not forward_found) == (backward, forward), (backward_found, forward_found)
    assert {change.type.value for change in backward_found + forward_found} == types


@pytest.mark.parametrize(("name", "old", "new", "backward", "forward", "types"), CASES[::7], ids=[case[0] for case in CASES[::7]])
def test_levels_combine_the_directions(name, old, new, backward, forward, types):
    previous = [SchemaVersion(1, old, old, schema_type="PROTOBUF")]
    candidate = SchemaVersion(None, new, new, schema_type="PROTOBUF")

    def answer(level: CompatibilityLevel) -> bool:
        return check_compatibility(candidate, previous, level).is_compatible

    assert answer(CompatibilityLevel.BACKWARD) is backward
    assert answer(CompatibilityLevel.FORWARD) is forward
    assert answer(CompatibilityLevel.FULL) is (backward and forward)
    assert answer(CompatibilityLevel.FULL_TRANSITIVE) is (backward and forward)
    assert answer(CompatibilityLevel.NONE) is True
