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
from collections.abc import Callable
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


Check = Callable[[Any], bool]


def compile_check(node: Node) -> Check:
    """A yes/no check of `datum` against `node` with the same rules as `avro_json_issues`, built
    once per schema as closures, so the common case (a valid event) costs no pointer strings and
    no dispatch on the kind. Callers run `avro_json_issues` only when it says no."""
    return _compiled(node, {})


def _compiled(node: Node, done: dict[int, Check]) -> Check:
    found = done.get(id(node))
    if found is not None:
        return found
    if node.kind in ("record", "array", "map", "union"):
        # Named types may recur: register a forwarder before compiling the children.
        holder: list[Check] = []
        done[id(node)] = lambda datum: holder[0](datum)
        holder.append(_compiled_composite(node, done))
        done[id(node)] = holder[0]
        return holder[0]
    check = _compiled_leaf(node)
    done[id(node)] = check
    return check


def _compiled_leaf(node: Node) -> Check:
    kind = node.kind
    if kind == "null":
        return lambda datum: datum is None
    if kind == "boolean":
        return lambda datum: datum is True or datum is False
    if kind in ("int", "long"):
        low, high = _INT_RANGE if kind == "int" else _LONG_RANGE
        return lambda datum: type(datum) is int and low <= datum <= high
    if kind in ("float", "double"):
        isfinite = math.isfinite
        return lambda datum: type(datum) is int or (type(datum) is float and isfinite(datum))
    if kind == "string":
        return lambda datum: type(datum) is str
    if kind in ("bytes", "fixed"):
        size = node.size if kind == "fixed" else None
        return lambda datum: (
            type(datum) is str
            and (not datum or datum.isascii() or max(datum) <= "\xff")
            and (size is None or len(datum) == size)
        )
    if kind == "enum":
        symbols = frozenset(node.symbols)
        return lambda datum: type(datum) is str and datum in symbols
    return lambda datum: True  # a kind the detailed walk does not check either


def _compiled_composite(node: Node, done: dict[int, Check]) -> Check:
    kind = node.kind
    if kind == "array":
        if node.items is None:
            return lambda datum: type(datum) is list
        item = _compiled(node.items, done)
        return lambda datum: type(datum) is list and all(map(item, datum))
    if kind == "map":
        if node.values is None:
            return lambda datum: type(datum) is dict
        value = _compiled(node.values, done)
        return lambda datum: type(datum) is dict and all(map(value, datum.values()))
    if kind == "record":
        fields = [(item.name, _compiled(item.type, done), item.has_default) for item in node.fields]
        names = frozenset(name for name, _, _ in fields)

        def record(datum: Any) -> bool:
            if type(datum) is not dict or not names.issuperset(datum):
                return False
            for name, check, has_default in fields:
                if name in datum:
                    if not check(datum[name]):
                        return False
                elif not has_default:
                    return False
            return True

        return record
    branches = {branch.branch_name(): _compiled(branch, done) for branch in node.branches}
    nullable = "null" in branches

    def union(datum: Any) -> bool:
        if datum is None:
            return nullable
        if type(datum) is not dict or len(datum) != 1:
            return False
        ((name, value),) = datum.items()
        check = branches.get(name)
        return check is not None and check(value)

    return union


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
    ((name, value),) = datum.items()
    for branch in node.branches:
        if branch.branch_name() == name:
            _check(branch, value, f"{pointer}/{_escape(name)}", issues)
            return
    issues.append((pointer, f"names no branch of the union: {name!r} is not one of {', '.join(names)}"))


def _escape(token: str) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")
