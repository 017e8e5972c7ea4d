"""Scopes an API key may carry and how they match a topic or a consumer group.

`admin` allows everything. `produce:<topic>`, `consume:<topic>` and `describe:<topic>` name one
topic, and a trailing `*` makes the rest a prefix (`produce:orders.*`, `consume:*`). Describing (a
topic's metadata in lists, details, lag, metrics) is implied by producing or consuming the same
names. `group:<group>` names the consumer groups a key may join, commit for, reset, describe and
remove members of (Kafka's group ACLs); a key that names no group may use the groups named after
its own service (`billing`, `billing-*`, `billing.*`, `billing_*`), which is what the demo and the
Python client's examples use. `registry:write` allows registering and deleting schemas and changing
registry config and modes (reading the registry needs only a key). `pii:read` shows the values of
the event fields the catalog classifies as personal data; without it (or `admin`) every event read
answers them masked (broker.masking).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.constants import (
    SCOPE_ACTIONS,
    SCOPE_ADMIN,
    SCOPE_DESCRIBE,
    SCOPE_GROUP,
    SCOPE_PII_READ,
    SCOPE_REGISTRY_WRITE,
    SERVICE_GROUP_SEPARATORS,
)

_SCOPE_RE = re.compile(r"^(?P<action>produce|consume|describe|group):(?P<pattern>[a-zA-Z0-9._-]*\*?)$")

# The scopes whose names also grant an action: describing a topic comes with producing or consuming it.
_GRANTED_BY = {SCOPE_DESCRIBE: (SCOPE_DESCRIBE, *SCOPE_ACTIONS)}


def scope_is_valid(scope: str) -> bool:
    if scope in (SCOPE_ADMIN, SCOPE_REGISTRY_WRITE, SCOPE_PII_READ):
        return True
    match = _SCOPE_RE.match(scope)
    return bool(match and match.group("pattern"))


def invalid_scopes(scopes: Iterable[str]) -> list[str]:
    return [scope for scope in scopes if not scope_is_valid(scope)]


@dataclass(frozen=True)
class NameRule:
    """The names one action is allowed on: every name, or these exact names and prefixes.
    Matching is case-sensitive, as topic and group names are."""

    everything: bool = False
    names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    def matches(self, name: str) -> bool:
        return self.everything or name in self.names or any(name.startswith(prefix) for prefix in self.prefixes)


def name_rule(scopes: Iterable[str], action: str, *, service_name: str | None = None) -> NameRule:
    """Which names `scopes` allow `action` (produce, consume, describe or group) on. For `group`,
    a key naming no group scope gets the groups named after `service_name`."""
    assert action in (*SCOPE_ACTIONS, SCOPE_DESCRIBE, SCOPE_GROUP)
    granting = _GRANTED_BY.get(action, (action,))
    names: set[str] = set()
    prefixes: set[str] = set()
    for scope in scopes:
        if scope == SCOPE_ADMIN:
            return NameRule(everything=True)
        granted_action, _, pattern = scope.partition(":")
        if granted_action not in granting or not pattern:
            continue
        if pattern == "*":
            return NameRule(everything=True)
        if pattern.endswith("*"):
            prefixes.add(pattern[:-1])
        else:
            names.add(pattern)
    if action == SCOPE_GROUP and not names and not prefixes and service_name:
        names.add(service_name)
        prefixes.update(service_name + separator for separator in SERVICE_GROUP_SEPARATORS)
    # A prefix covered by a shorter one adds nothing; fewer prefixes, shorter SQL.
    kept = sorted(prefix for prefix in prefixes if not any(prefix != p and prefix.startswith(p) for p in prefixes))
    return NameRule(names=frozenset(names), prefixes=tuple(kept))


def scope_allows(scopes: Iterable[str], action: str, topic: str = "") -> bool:
    """Whether any of `scopes` allows `action` (produce, consume or describe) on `topic`, or the
    scope-less actions `admin` and `registry:write`. Groups need the service: see name_rule."""
    assert action in SCOPE_ACTIONS or action in (SCOPE_ADMIN, SCOPE_REGISTRY_WRITE, SCOPE_DESCRIBE)
    scopes = list(scopes)
    if SCOPE_ADMIN in scopes or action in scopes:
        return True
    if action in (SCOPE_ADMIN, SCOPE_REGISTRY_WRITE):
        return False
    return name_rule(scopes, action).matches(topic)
