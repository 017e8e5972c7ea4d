"""JSON Schema draft detection, and which keywords each draft knows.

A schema is read by its own draft, as the registry's validator (jsonschema-rs) reads it:
keywords beside ``$ref`` apply from 2019-09 on; a keyword a draft does not know (``const``
in draft-04, ``prefixItems`` or ``dependentRequired`` in draft-07, ``additionalItems`` in
2020-12...) has no effect there, so the checker does not compare it. ``dependencies`` keeps
working in 2019-09 and 2020-12, as it does in jsonschema-rs. ``definitions`` and ``$defs``
are only places ``$ref`` points into, read in every draft.
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


#: Assertion keywords that exist in some drafts only: keyword -> (first draft, last draft).
#: Any keyword not listed means the same thing in every draft.
KEYWORD_DRAFTS: dict[str, tuple[Draft, Draft]] = {
    "const": (Draft.DRAFT_06, Draft.DRAFT_2020_12),
    "contains": (Draft.DRAFT_06, Draft.DRAFT_2020_12),
    "propertyNames": (Draft.DRAFT_06, Draft.DRAFT_2020_12),
    "if": (Draft.DRAFT_07, Draft.DRAFT_2020_12),
    "then": (Draft.DRAFT_07, Draft.DRAFT_2020_12),
    "else": (Draft.DRAFT_07, Draft.DRAFT_2020_12),
    "dependentRequired": (Draft.DRAFT_2019_09, Draft.DRAFT_2020_12),
    "dependentSchemas": (Draft.DRAFT_2019_09, Draft.DRAFT_2020_12),
    "unevaluatedProperties": (Draft.DRAFT_2019_09, Draft.DRAFT_2020_12),
    "unevaluatedItems": (Draft.DRAFT_2019_09, Draft.DRAFT_2020_12),
    "minContains": (Draft.DRAFT_2019_09, Draft.DRAFT_2020_12),
    "maxContains": (Draft.DRAFT_2019_09, Draft.DRAFT_2020_12),
    "$recursiveRef": (Draft.DRAFT_2019_09, Draft.DRAFT_2019_09),
    "prefixItems": (Draft.DRAFT_2020_12, Draft.DRAFT_2020_12),
    "$dynamicRef": (Draft.DRAFT_2020_12, Draft.DRAFT_2020_12),
    # 2020-12 replaced it with prefixItems + items.
    "additionalItems": (Draft.DRAFT_04, Draft.DRAFT_2019_09),
}
_EVERY_DRAFT = (Draft.DRAFT_04, Draft.DRAFT_2020_12)
_UNKNOWN_KEYWORDS: dict[Draft, frozenset[str]] = {
    draft: frozenset(keyword for keyword, (first, last) in KEYWORD_DRAFTS.items() if not first <= draft <= last)
    for draft in Draft
}


def known_keywords(schema: dict[str, JSON], draft: Draft) -> dict[str, JSON]:
    """``schema`` without the keywords ``draft`` does not know (``schema`` itself when it has none)."""
    unknown = _UNKNOWN_KEYWORDS[draft]
    if unknown.isdisjoint(schema):
        return schema
    return {keyword: value for keyword, value in schema.items() if keyword not in unknown}


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
