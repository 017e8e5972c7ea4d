"""JSON Schema draft detection.

Only a few decisions depend on the draft: whether keywords beside ``$ref`` apply
(draft-04..07 ignore them, 2019-09+ apply them) and which ``jsonschema`` validator a
caller should use. Array-form ``items``, ``definitions`` and ``dependencies`` are read in
every draft, so draft-07 spellings keep working in schemas that declare nothing.
"""

from __future__ import annotations

import enum

from .jsonvalues import JSON


class Draft(enum.IntEnum):
    DRAFT_04 = 4
    DRAFT_06 = 6
    DRAFT_07 = 7
    DRAFT_2019_09 = 2019
    DRAFT_2020_12 = 2020

    @property
    def ref_overrides_siblings(self) -> bool:
        """Before 2019-09, keywords next to ``$ref`` are ignored."""
        return self <= Draft.DRAFT_07


#: Substring of a ``$schema`` URI -> draft (first match wins).
_SCHEMA_URI_MARKERS: tuple[tuple[str, Draft], ...] = (
    ("draft-04", Draft.DRAFT_04),
    ("draft-06", Draft.DRAFT_06),
    ("draft-07", Draft.DRAFT_07),
    ("2019-09", Draft.DRAFT_2019_09),
    ("2020-12", Draft.DRAFT_2020_12),
)

#: A schema without ``$schema`` is draft-07, as in Confluent (its everit parser's default).
DEFAULT_DRAFT = Draft.DRAFT_07


def detect_draft(schema: JSON, default: Draft = DEFAULT_DRAFT) -> Draft:
    """The draft named by the root ``$schema``, else ``default`` (draft-07)."""
    if isinstance(schema, dict):
        uri = schema.get("$schema")
        if isinstance(uri, str):
            for marker, draft in _SCHEMA_URI_MARKERS:
                if marker in uri:
                    return draft
    return default
