"""The checker's false alarms made visible (issue 15): for every fixture pair the checker calls
incompatible (BACKWARD, and FORWARD where the case gives its verdict), a generous search looks for
an event that shows it, accepted by one schema and refused by the other with the registry's own
validators. A pair with none is a suspected false alarm; the known ones are listed in
``known_false_alarms.json`` with why, so a new one fails here and so does one that is fixed but
still listed. Listed means "no event found", not "proved compatible": most entries are keywords
neither generator reaches (dependencies, dependentRequired/dependentSchemas, patternProperties
names), the rest are candidate false alarms (pattern widened, oneOf/anyOf swaps, enum -> type).
Marked slow: about 6 s (22 pairs fall through to hypothesis, which only generates: it took over
2 minutes while it also shrank what it found).

The search: the registry's own generator with its run-time budget, then
hypothesis-jsonschema drawing from the accepting schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample, Unsatisfiable
from hypothesis_jsonschema import from_schema

from schemas.compatibility.checker import SchemaVersion
from schemas.compatibility.levels import Direction
from schemas.examples import _validator, counterexample

CASES_DIR = Path(__file__).parent / "cases"
KNOWN = Path(__file__).parent / "known_false_alarms.json"
SEARCH = settings(
    max_examples=20,
    derandomize=True,
    phases=[Phase.generate],  # an event found is proof enough: nothing is spent shrinking it
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def _incompatible_pairs() -> list[tuple[str, dict[str, Any], Direction]]:
    pairs = []
    for path in sorted(CASES_DIR.glob("*.json")):
        for index, case in enumerate(json.loads(path.read_text())):
            for direction, key in ((Direction.BACKWARD, "compatible"), (Direction.FORWARD, "forward_compatible")):
                if case.get(key) is False:
                    pairs.append((f"{path.stem}[{index}] {direction.value}", case, direction))
    return pairs


def _versions(case: dict[str, Any]) -> tuple[SchemaVersion, SchemaVersion]:
    old, new = case["original_schema"], case["update_schema"]
    return (
        SchemaVersion(1, old, json.dumps(old), case.get("original_references") or {}),
        SchemaVersion(None, new, json.dumps(new), case.get("update_references") or {}),
    )


def _hypothesis_finds(old: SchemaVersion, new: SchemaVersion, direction: Direction) -> bool:
    accepting, refusing = (old, new) if direction is Direction.BACKWARD else (new, old)
    accepts, refuses = _validator(accepting), _validator(refusing)
    try:
        find(
            from_schema(accepting.schema),
            lambda event: accepts.is_valid(event) and not refuses.is_valid(event),
            settings=SEARCH,
        )
    except (NoSuchExample, Unsatisfiable):
        return False
    except Exception:  # noqa: BLE001 - a schema hypothesis-jsonschema cannot draw from is not searched
        return False
    return True


@pytest.mark.slow
def test_every_incompatible_fixture_pair_has_an_example_or_is_a_known_false_alarm() -> None:
    flagged: dict[str, str] = {}
    for name, case, direction in _incompatible_pairs():
        old, new = _versions(case)
        if counterexample(old, new, direction, budget_ms=50) is not None:
            continue
        if not _hypothesis_finds(old, new, direction):
            flagged[name] = case["description"]
    known = json.loads(KNOWN.read_text())
    new_alarms = {name: flagged[name] for name in flagged.keys() - known.keys()}
    fixed = sorted(known.keys() - flagged.keys())
    assert not new_alarms, f"called incompatible, yet no event shows it (a false alarm?): {new_alarms}"
    assert not fixed, f"listed as false alarms but an example now exists: remove them from {KNOWN.name}: {fixed}"
