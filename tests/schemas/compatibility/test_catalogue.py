"""Runs the hand-written catalogue in ``cases/*.json``.

Each case: ``{description, original_schema, update_schema, changes, compatible,
compatible_lenient}`` plus optional ``forward_compatible`` (verdict of the swapped pair
under STRICT), ``changes_lenient`` (when a LENIENT run emits a different list) and
``original_references``/``update_references``. ``changes`` is the exact STRICT emission
order; ``compatible`` is BACKWARD with original = old schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schemas.compatibility import CompatibilityPolicy, Difference, diff_schemas, is_allowed
from schemas.documents import check_schema

CASES_DIR = Path(__file__).parent / "cases"
REQUIRED_KEYS = {"description", "original_schema", "update_schema", "changes", "compatible", "compatible_lenient"}


def _load_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.json")):
        for index, case in enumerate(json.loads(path.read_text())):
            cases.append((f"{path.stem}[{index}] {case['description']}", case))
    return cases


CASES = _load_cases()


def _diff(case: dict[str, Any], policy: CompatibilityPolicy, *, swapped: bool = False) -> list[Difference]:
    original, update = case["original_schema"], case["update_schema"]
    original_refs, update_refs = case.get("original_references"), case.get("update_references")
    if swapped:
        original, update, original_refs, update_refs = update, original, update_refs, original_refs
    return diff_schemas(
        original, update, original_references=original_refs, update_references=update_refs, policy=policy
    )


def _compatible(differences: list[Difference], policy: CompatibilityPolicy) -> bool:
    return all(is_allowed(difference.type, policy) for difference in differences)


def test_catalogue_has_at_least_150_cases_in_the_documented_shape() -> None:
    assert len(CASES) >= 150
    for name, case in CASES:
        assert REQUIRED_KEYS <= case.keys(), name


@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _case in CASES])
def test_case_schemas_register_under_their_own_draft(name: str, case: dict[str, Any]) -> None:
    """A case means something only if both schemas pass the registry's check for their draft
    (meta-schema, references, compilation): a 2019-09 keyword in a draft-07 schema is no keyword."""
    for side in ("original", "update"):
        check_schema(case[f"{side}_schema"], case.get(f"{side}_references"))


@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _case in CASES])
def test_case_emits_exactly_the_listed_changes_under_strict(name: str, case: dict[str, Any]) -> None:
    differences = _diff(case, CompatibilityPolicy.STRICT)
    assert [str(difference) for difference in differences] == case["changes"]
    assert _compatible(differences, CompatibilityPolicy.STRICT) is case["compatible"]


@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _case in CASES])
def test_case_verdict_under_a_real_lenient_run(name: str, case: dict[str, Any]) -> None:
    differences = _diff(case, CompatibilityPolicy.LENIENT)
    if "changes_lenient" in case:
        assert [str(difference) for difference in differences] == case["changes_lenient"]
    assert _compatible(differences, CompatibilityPolicy.LENIENT) is case["compatible_lenient"]


FORWARD_CASES = [(name, case) for name, case in CASES if "forward_compatible" in case]


@pytest.mark.parametrize(("name", "case"), FORWARD_CASES, ids=[name for name, _case in FORWARD_CASES])
def test_forward_verdict_is_the_swapped_case(name: str, case: dict[str, Any]) -> None:
    differences = _diff(case, CompatibilityPolicy.STRICT, swapped=True)
    assert _compatible(differences, CompatibilityPolicy.STRICT) is case["forward_compatible"]
