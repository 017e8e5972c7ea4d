"""The search every format shares: try candidate events, in the order the format proposes them,
until one is accepted by one schema and refused by the other, or the time budget runs out.

Candidates come in targets, one per breaking difference (its rule and path), then a general one;
the first target's candidates are tried first, so an example shows the first rule it can.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol


class EventValidator(Protocol):
    """What the registry's validators share (schemas.validation, schemas.formats, schemas.protobuf)."""

    def is_valid(self, instance: Any) -> bool: ...

    def validate(self, instance: Any) -> list[Any]: ...


@dataclass(frozen=True)
class Target:
    """Candidates meant to show one difference (`rule` None: the general search)."""

    rule: str | None
    path: str | None
    candidates: Iterable[Any]


@dataclass(frozen=True)
class Found:
    event: Any
    rule: str | None
    path: str | None
    reason: str


class Deadline:
    def __init__(self, budget_ms: float) -> None:
        self.ends = time.perf_counter() + budget_ms / 1000

    def passed(self) -> bool:
        return time.perf_counter() >= self.ends


def first_refused(
    targets: Iterable[Target], accepting: EventValidator, refusing: EventValidator, deadline: Deadline
) -> Found | None:
    """The first candidate `accepting` accepts and `refusing` refuses, or None by the deadline.
    A candidate that raises in a generator or a validator is skipped, never fatal: an example is
    an extra, and the answer it decorates must not fail because of it."""
    seen: set[str] = set()
    for target in targets:
        for event in _guarded(target.candidates, deadline):
            try:
                key = json.dumps(event, sort_keys=True)
            except (TypeError, ValueError):
                continue
            if key in seen:
                continue
            seen.add(key)
            try:
                if not accepting.is_valid(event) or refusing.is_valid(event):
                    continue
                issues = refusing.validate(event)
            except Exception:  # noqa: BLE001, S112 - a validator's failure on a made-up event is not the caller's
                continue
            reason = f"{issues[0].pointer or '/'}: {issues[0].reason}" if issues else ""
            return Found(event, target.rule, target.path, reason)
        if deadline.passed():
            return None
    return None


def _guarded(candidates: Iterable[Any], deadline: Deadline) -> Iterator[Any]:
    iterator = iter(candidates)
    while not deadline.passed():
        try:
            yield next(iterator)
        except StopIteration:
            return
        except (RecursionError, ValueError, TypeError, KeyError, IndexError, AttributeError):
            return
