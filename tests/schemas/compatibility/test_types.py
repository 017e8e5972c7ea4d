"""The difference-type tables."""

from __future__ import annotations

from schemas.compatibility import CompatibilityPolicy, DifferenceType, is_allowed
from schemas.compatibility.types import (
    CONFLUENT_LENIENT_EXTRA,
    CONFLUENT_STRICT_ALLOWED,
    EVENTLINE_TYPES,
    REJECTED_DEFAULT_TYPES,
)

T = DifferenceType


def test_confluent_tables_have_the_published_sizes() -> None:
    confluent = [t for t in DifferenceType if t not in EVENTLINE_TYPES]
    assert len(confluent) == 132
    assert len(CONFLUENT_STRICT_ALLOWED) == 65
    assert len(CONFLUENT_LENIENT_EXTRA) == 9


def test_lenient_only_relaxes_object_properties() -> None:
    assert all("ITEM" not in t.value for t in CONFLUENT_LENIENT_EXTRA)
    assert is_allowed(T.OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL, CompatibilityPolicy.LENIENT)
    assert not is_allowed(T.OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL, CompatibilityPolicy.STRICT)
    assert not is_allowed(T.ITEM_ADDED_TO_OPEN_CONTENT_MODEL, CompatibilityPolicy.LENIENT)


def test_required_with_default_is_refused_under_both_policies() -> None:
    for difference_type in REJECTED_DEFAULT_TYPES:
        for policy in CompatibilityPolicy:
            assert not is_allowed(difference_type, policy)


def test_every_type_has_a_verdict_and_eventline_types_agree_across_policies() -> None:
    for difference_type, allowed in EVENTLINE_TYPES.items():
        assert is_allowed(difference_type, CompatibilityPolicy.STRICT) is allowed
        assert is_allowed(difference_type, CompatibilityPolicy.LENIENT) is allowed
