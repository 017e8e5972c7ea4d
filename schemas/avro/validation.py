"""Event data checked against an Avro schema in Avro's JSON encoding, with the JSON pointer of
each failure (the produce API takes JSON; events stay JSON in the log).

Avro's JSON encoding: null, booleans, numbers and strings as JSON; bytes and fixed as strings of
code points 0-255; records as objects (a field with a default may be left out; fields the schema
does not name are refused, as a reader would silently drop them); enums as their symbol; a union
value as null or as `{"<branch name>": value}`, the branch named by its type (`string`, `long`)
or the full name of a named type.
"""

from __future__ import annotations

import math
from typing import Any

from schemas.avro.schema import Node

_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)
_MAX_ISSUES = 100


def avro_json_issues(node: Node, datum: Any) -> list[tuple[str, str]]:
    """(pointer, reason) for every way `datum` breaks `node` (empty: valid)."""
    issues: list[tuple[str, str]] = []
    _check(node, datum, "", issues)
    return issues[:_MAX_ISSUES]


def _check(node: Node, datum: Any, pointer: str, issues: list[tuple[str, str]]) -> None:
    if len(issues) >= _MAX_ISSUES:
        return
    kind = node.kind
    if kind == "null":
        if datum is not None:
            issues.append((pointer, "must be null"))
    elif kind == "boolean":
        if type(datum) is not bool:
            issues.append((pointer, "must be a boolean"))
    elif kind in ("int", "long"):
        low, high = _INT_RANGE if kind == "int" else _LONG_RANGE
        if type(datum) is not int or not low <= datum <= high:
            issues.append((pointer, f"must be an Avro {kind} (an integer from {low} to {high})"))
    elif kind in ("float", "double"):
        if type(datum) not in (int, float) or (type(datum) is float and not math.isfinite(datum)):
            issues.append((pointer, f"must be a number (Avro {kind})"))
    elif kind == "string":
        if type(datum) is not str:
            issues.append((pointer, "must be a string"))
    elif kind in ("bytes", "fixed"):
        if type(datum) is not str or any(ord(char) > 255 for char in datum):
            issues.append((pointer, f"must be a string of code points 0-255 (Avro {kind} in JSON)"))
        elif kind == "fixed" and len(datum) != node.size:
            issues.append((pointer, f"must be exactly {node.size} bytes (fixed {node.name})"))
    elif kind == "enum":
        if datum not in node.symbols or type(datum) is not str:
            issues.append((pointer, f"must be one of the symbols of {node.name}: {', '.join(node.symbols)}"))
    elif kind == "array":
        if type(datum) is not list:
            issues.append((pointer, "must be an array"))
        elif node.items is not None:
            for index, item in enumerate(datum):
                _check(node.items, item, f"{pointer}/{index}", issues)
    elif kind == "map":
        if type(datum) is not dict:
            issues.append((pointer, "must be an object (Avro map)"))
        elif node.values is not None:
            for key, value in datum.items():
                _check(node.values, value, f"{pointer}/{_escape(key)}", issues)
    elif kind == "record":
        _record(node, datum, pointer, issues)
    elif kind == "union":
        _union(node, datum, pointer, issues)


def _record(node: Node, datum: Any, pointer: str, issues: list[tuple[str, str]]) -> None:
    if type(datum) is not dict:
        issues.append((pointer, f"must be an object (record {node.name})"))
        return
    names = set()
    for item in node.fields:
        names.add(item.name)
        if item.name in datum:
            _check(item.type, datum[item.name], f"{pointer}/{_escape(item.name)}", issues)
        elif not item.has_default:
            issues.append((f"{pointer}/{_escape(item.name)}", f"is required (field of {node.name} without a default)"))
    for extra in sorted(set(datum) - names):
        issues.append((f"{pointer}/{_escape(extra)}", f"is not a field of {node.name}"))


def _union(node: Node, datum: Any, pointer: str, issues: list[tuple[str, str]]) -> None:
    names = [branch.branch_name() for branch in node.branches]
    if datum is None:
        if "null" not in names:
            issues.append((pointer, f"must not be null: the union has no null branch ({', '.join(names)})"))
        return
    if type(datum) is not dict or len(datum) != 1:
        issues.append((pointer, 'must be null or {"<branch>": value} naming one branch of ' + ", ".join(names)))
        return
    (name, value), = datum.items()
    for branch in node.branches:
        if branch.branch_name() == name:
            _check(branch, value, f"{pointer}/{_escape(name)}", issues)
            return
    issues.append((pointer, f"names no branch of the union: {name!r} is not one of {', '.join(names)}"))


def _escape(token: str) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")
