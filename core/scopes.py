"""Scopes an API key may carry and how they match a topic.

`admin` allows everything; `produce:<topic>` / `consume:<topic>` name one topic, and a trailing `*`
makes the rest a prefix (`produce:orders.*`, `consume:*`). `registry:write` allows registering and
deleting schemas and changing registry config and modes (reading the registry needs only a key).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.constants import SCOPE_ACTIONS, SCOPE_ADMIN, SCOPE_REGISTRY_WRITE

_SCOPE_RE = re.compile(r"^(?P<action>produce|consume):(?P<pattern>[a-zA-Z0-9._-]*\*?)$")


def scope_is_valid(scope: str) -> bool:
    if scope in (SCOPE_ADMIN, SCOPE_REGISTRY_WRITE):
        return True
    match = _SCOPE_RE.match(scope)
    return bool(match and match.group("pattern"))


def invalid_scopes(scopes: Iterable[str]) -> list[str]:
    return [scope for scope in scopes if not scope_is_valid(scope)]


def scope_allows(scopes: Iterable[str], action: str, topic: str = "") -> bool:
    """Whether any of `scopes` allows `action` (produce or consume) on `topic`."""
    assert action in SCOPE_ACTIONS or action in (SCOPE_ADMIN, SCOPE_REGISTRY_WRITE)
    for scope in scopes:
        if scope == SCOPE_ADMIN or scope == action:
            return True
        if action in (SCOPE_ADMIN, SCOPE_REGISTRY_WRITE):
            continue
        granted_action, _, pattern = scope.partition(":")
        if granted_action != action:
            continue
        if pattern.endswith("*"):
            if topic.startswith(pattern[:-1]):
                return True
        elif pattern == topic:
            return True
    return False
