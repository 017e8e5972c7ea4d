"""The 'Differences from Confluent' list in docs/registry-json-schema.md: each example is a real
difference, and Eventline's verdict is the one the page states."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from schemas.compatibility import CompatibilityPolicy, diff_schemas, is_allowed

PAGE = Path(__file__).resolve().parents[3] / "docs" / "registry-json-schema.md"
LINE = re.compile(
    r"^\d+\. `(?P<old>.+?)` → `(?P<new>.+?)`: Eventline \*\*(?P<ours>compatible|incompatible)\*\*, "
    r"Confluent (?P<theirs>compatible|incompatible)\. "
)


def _examples() -> list[tuple[str, re.Match[str]]]:
    section = PAGE.read_text().split("## Differences from Confluent", 1)[1]
    found = [(line[:60], match) for line in section.splitlines() if (match := LINE.match(line))]
    return found


EXAMPLES = _examples()


def test_the_page_lists_every_difference_in_the_parsed_shape() -> None:
    section = PAGE.read_text().split("## Differences from Confluent", 1)[1]
    numbered = [line for line in section.splitlines() if re.match(r"^\d+\. ", line)]
    assert len(EXAMPLES) == len(numbered) >= 15


@pytest.mark.parametrize(("name", "example"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_each_listed_example_gets_the_stated_eventline_verdict_unlike_confluent(
    name: str, example: re.Match[str]
) -> None:
    old, new = json.loads(example["old"]), json.loads(example["new"])
    differences = diff_schemas(old, new)
    compatible = all(is_allowed(difference.type, CompatibilityPolicy.STRICT) for difference in differences)
    assert ("compatible" if compatible else "incompatible") == example["ours"], differences
    assert example["ours"] != example["theirs"]
