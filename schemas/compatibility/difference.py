"""The unit a diff produces: one difference at one JSON-pointer-like path."""

from __future__ import annotations

from dataclasses import dataclass

from .types import DifferenceType


@dataclass(frozen=True)
class Difference:
    """One change between the original (writer) and the update (reader) schema.

    ``path`` follows Confluent: ``#/`` is the root, segments are joined with ``/``
    (``#/properties/age/maximum``). ``old_value``/``new_value`` hold the keyword's value
    on each side (None when absent), or a short type label for type differences.
    """

    type: DifferenceType
    path: str
    old_value: object = None
    new_value: object = None

    def __str__(self) -> str:
        return f"{self.type.value} {self.path}"
