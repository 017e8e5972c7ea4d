"""An example event that demonstrates a refusal: accepted by one schema, refused by the other.

Set on a failing ``CompatibilityResult`` by the registry (``schemas.examples``), which searches for
it within a time budget; the checker itself never searches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

#: The 409's example line is cut past this many characters of event JSON.
EXAMPLE_LINE_LIMIT = 300


@dataclass(frozen=True)
class Example:
    """``event`` (JSON; Avro's JSON encoding, Protobuf's JSON mapping) is accepted by
    ``accepted_by`` and refused by ``refused_by`` ("version 3", "the new schema").

    ``rule``/``path`` name the difference it demonstrates (None when the event was found by the
    general search and its refusal matches no reported difference); ``reason`` is the refusing
    validator's first complaint, with its JSON pointer.
    """

    event: object
    direction: str
    accepted_by: str
    refused_by: str
    rule: str | None = None
    path: str | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "event": self.event,
            "direction": self.direction,
            "accepted_by": self.accepted_by,
            "refused_by": self.refused_by,
            "rule": self.rule,
            "path": self.path,
            "reason": self.reason,
        }

    @property
    def event_json(self) -> str:
        return json.dumps(self.event, ensure_ascii=False, separators=(", ", ": "))

    def line(self) -> str:
        """One short line for the 409: ``Example: {...} is accepted by version 2 and refused by
        the new schema.``"""
        text = self.event_json
        if len(text) > EXAMPLE_LINE_LIMIT:
            text = text[: EXAMPLE_LINE_LIMIT - 1] + "…"
        return f"Example: {text} is accepted by {self.accepted_by} and refused by {self.refused_by}."
