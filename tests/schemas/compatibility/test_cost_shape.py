"""The shapes the cost budget depends on: one pass for non-recursive schemas, and a transitive
check that visits every version. The timings themselves live in bench/compatibility.py (timed
tests are unreliable on shared machines)."""

from __future__ import annotations

import json
from typing import Any

from schemas.compatibility import CompatibilityLevel, SchemaVersion, check_compatibility, diff_schemas
from schemas.compatibility.differ import Differ
from schemas.compatibility.nodes import Resolver


def fifty_property_schema(variant: int) -> dict[str, Any]:
    """Mixed property kinds; every property's description differs between variants (worst case)."""
    properties: dict[str, Any] = {}
    for index in range(50):
        description = f"field {index}, revision {variant}"
        kind = index % 5
        if kind == 0:
            schema: dict[str, Any] = {"type": "string", "maxLength": 50}
        elif kind == 1:
            schema = {"type": "integer", "minimum": 0, "maximum": 1000}
        elif kind == 2:
            schema = {"type": ["string", "null"], "format": "date-time"}
        elif kind == 3:
            schema = {"type": "array", "items": {"type": "string"}, "maxItems": 10}
        else:
            schema = {
                "type": "object",
                "properties": {"x": {"type": "number"}, "y": {"enum": ["a", "b"]}},
                "required": ["x"],
            }
        properties[f"field_{index}"] = {**schema, "description": description}
    return {"type": "object", "properties": properties, "required": ["field_0", "field_7"]}


def test_one_diff_of_two_50_property_schemas_takes_one_pass() -> None:
    old, new = fifty_property_schema(1), fifty_property_schema(2)
    differ = Differ()
    assert len(differ.diff(Resolver(old).root, Resolver(new).root)) == 50
    assert differ.passes == 1
    assert len(diff_schemas(old, new)) == 50


def test_full_transitive_check_compares_both_directions_against_all_ten_versions() -> None:
    previous = [SchemaVersion(v, fifty_property_schema(v), json.dumps(fifty_property_schema(v))) for v in range(1, 11)]
    new = SchemaVersion(None, fifty_property_schema(11), json.dumps(fifty_property_schema(11)))
    result = check_compatibility(new, previous, CompatibilityLevel.FULL_TRANSITIVE)
    assert result.is_compatible and len(result.differences) == 20 * 50
