"""Compatibility levels and policies, as configured per subject.

A level says which direction(s) to check and against which versions; a policy says
which difference types are tolerated (see ``types.py``). Both parse case-insensitively
because the registry accepts ``"backward"`` as readily as ``"BACKWARD"``.
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class _LevelTraits(NamedTuple):
    backward: bool
    forward: bool
    transitive: bool


class CompatibilityLevel(enum.Enum):
    """Confluent's compatibility levels.

    BACKWARD: the new schema (reader) reads what the latest version wrote.
    FORWARD: the latest version (reader) reads what the new schema writes.
    FULL: both. The ``_TRANSITIVE`` variants check every live version, newest first.
    """

    NONE = "NONE"
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"

    @classmethod
    def parse(cls, text: str) -> CompatibilityLevel:
        """Return the level named by ``text`` (case-insensitive); ValueError if unknown."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"Unknown compatibility level: {text!r}") from None

    @property
    def _traits(self) -> _LevelTraits:
        return _LEVEL_TRAITS[self]

    def is_transitive(self) -> bool:
        return self._traits.transitive

    @property
    def checks_backward(self) -> bool:
        return self._traits.backward

    @property
    def checks_forward(self) -> bool:
        return self._traits.forward


_LEVEL_TRAITS: dict[CompatibilityLevel, _LevelTraits] = {
    CompatibilityLevel.NONE: _LevelTraits(backward=False, forward=False, transitive=False),
    CompatibilityLevel.BACKWARD: _LevelTraits(backward=True, forward=False, transitive=False),
    CompatibilityLevel.BACKWARD_TRANSITIVE: _LevelTraits(backward=True, forward=False, transitive=True),
    CompatibilityLevel.FORWARD: _LevelTraits(backward=False, forward=True, transitive=False),
    CompatibilityLevel.FORWARD_TRANSITIVE: _LevelTraits(backward=False, forward=True, transitive=True),
    CompatibilityLevel.FULL: _LevelTraits(backward=True, forward=True, transitive=False),
    CompatibilityLevel.FULL_TRANSITIVE: _LevelTraits(backward=True, forward=True, transitive=True),
}


class CompatibilityPolicy(enum.Enum):
    """Config key ``compatibilityPolicy``: which difference types count as compatible.

    STRICT (default) follows Confluent's strict set; LENIENT additionally tolerates
    object-property changes against open/closed content models (knowingly unsound: an
    optional property added to an open model may reject old data).
    """

    STRICT = "STRICT"
    LENIENT = "LENIENT"

    @classmethod
    def parse(cls, text: str) -> CompatibilityPolicy:
        """Return the policy named by ``text`` (case-insensitive); ValueError if unknown."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"Unknown compatibility policy: {text!r}") from None


class Direction(enum.Enum):
    """Which way one diff runs: BACKWARD = old writes, new reads; FORWARD = the reverse."""

    BACKWARD = "backward"
    FORWARD = "forward"
