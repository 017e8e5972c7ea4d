"""Eventline: ``if``/``then``/``else`` (Confluent does not compare them).

Sound and deliberately simple: with the same ``if`` on both sides, ``then`` and ``else``
are diffed like any subschema (absent = accept anything, so adding one is
``SCHEMA_ADDED``); a changed ``if`` splits instances differently and is reported as
``CONDITIONAL_IF_CHANGED``. Dropping the whole conditional only widens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .difference import Difference
from .jsonvalues import JSON, MISSING, join, same_schema
from .types import DifferenceType

if TYPE_CHECKING:
    from .differ import Differ
    from .nodes import Node

T = DifferenceType

_BRANCHES = ("then", "else")


def _conditional(keywords: dict[str, JSON]) -> dict[str, JSON] | None:
    if "if" not in keywords:
        return None
    return {keyword: keywords[keyword] for keyword in ("if", *_BRANCHES) if keyword in keywords}


def _constrains(keywords: dict[str, JSON]) -> bool:
    return any(keywords.get(branch, True) not in (True, {}) for branch in _BRANCHES)


def compare_conditionals(differ: Differ, path: str, original: Node, update: Node, out: list[Difference]) -> None:
    old, new = _conditional(original.keywords), _conditional(update.keywords)
    if old is None and new is None:
        return
    if old is None:
        assert new is not None
        if _constrains(new):
            out.append(Difference(T.CONDITIONAL_ADDED, join(path, "if"), None, new))
        return
    if new is None:
        if _constrains(old):
            out.append(Difference(T.CONDITIONAL_REMOVED, join(path, "if"), old, None))
        return
    at_if = join(path, "if")
    if not same_schema(old["if"], new["if"]) and not differ.identical(
        at_if, original.child(old["if"]), update.child(new["if"])
    ):
        out.append(Difference(T.CONDITIONAL_IF_CHANGED, at_if, old["if"], new["if"]))
        return
    for branch in _BRANCHES:
        out.extend(
            differ.compare_schemas(
                join(path, branch), original, old.get(branch, MISSING), update, new.get(branch, MISSING)
            )
        )
