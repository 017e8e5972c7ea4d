"""Plain-English sentences for differences, for people rather than tools.

A sentence is ``<what changed>`` from ``SENTENCES`` followed by a consequence chosen by
the verdict. Roles are named by direction: in a BACKWARD check the new schema reads
what version N wrote; in a FORWARD check version N reads what the new schema writes.
"""

from __future__ import annotations

import json

from .difference import Difference
from .levels import CompatibilityPolicy, Direction
from .types import STRICT_ALLOWED, DifferenceType, is_allowed

T = DifferenceType

#: Bound families: type-name prefix -> words.
_BOUND_WORDS: dict[str, str] = {
    "MAX_LENGTH": "maximum length",
    "MIN_LENGTH": "minimum length",
    "MAXIMUM": "maximum",
    "MINIMUM": "minimum",
    "EXCLUSIVE_MAXIMUM": "exclusive maximum",
    "EXCLUSIVE_MINIMUM": "exclusive minimum",
    "MAX_PROPERTIES": "maximum number of properties",
    "MIN_PROPERTIES": "minimum number of properties",
    "MAX_ITEMS": "maximum number of items",
    "MIN_ITEMS": "minimum number of items",
    "MAX_CONTAINS": "maximum number of matching items",
    "MIN_CONTAINS": "minimum number of matching items",
}
_BOUND_SENTENCES: dict[str, str] = {
    "ADDED": "{reader} sets a {word} of {new} on {at}; {writer} sets none",
    "REMOVED": "{reader} sets no {word} on {at}; {writer} sets {old}",
    "INCREASED": "{reader} sets the {word} of {at} to {new}; {writer} sets {old}",
    "DECREASED": "{reader} sets the {word} of {at} to {new}; {writer} sets {old}",
}
_PERMIT_WORDS: dict[str, str] = {
    "ADDITIONAL_PROPERTIES": "undeclared properties",
    "UNEVALUATED_PROPERTIES": "unevaluated properties",
    "ADDITIONAL_ITEMS": "items past the tuple",
    "UNEVALUATED_ITEMS": "unevaluated items",
}
_PERMIT_SENTENCES: dict[str, str] = {
    "ADDED": "{reader} accepts {word} in {at}; {writer} refuses them",
    "REMOVED": "{reader} refuses {word} in {at}; {writer} accepts them",
    "EXTENDED": "{reader} accepts any {word} in {at}; {writer} constrains them",
    "NARROWED": "{reader} constrains {word} in {at}; {writer} accepts any",
}
_DEPENDENCY_SENTENCES: dict[str, str] = {
    "ADDED": "{reader} requires {new} whenever {name} is present; {writer} does not",
    "REMOVED": "{reader} no longer requires {old} whenever {name} is present",
    "EXTENDED": "{reader} requires {new} whenever {name} is present; {writer} requires {old}",
    "NARROWED": "{reader} requires {new} whenever {name} is present; {writer} requires {old}",
    "CHANGED": "{reader} requires {new} whenever {name} is present; {writer} requires {old}",
}

SENTENCES: dict[DifferenceType, str] = {
    T.SCHEMA_ADDED: "{reader} constrains {at}, which {writer} leaves unconstrained",
    T.SCHEMA_REMOVED: "{reader} no longer constrains {at}",
    T.TYPE_EXTENDED: "{reader} accepts any number at {at}; {writer} only integers",
    T.TYPE_NARROWED: "{reader} accepts only integers at {at}; {writer} any number",
    T.TYPE_CHANGED: "{at} is {new} in {reader} but {old} in {writer}",
    T.ID_CHANGED: "the $id of {at} changes from {old} to {new}",
    T.TITLE_CHANGED: "the title of {at} changes from {old} to {new}",
    T.DESCRIPTION_CHANGED: "the description of {at} changes",
    T.DEFAULT_CHANGED: "the default of {at} changes from {old} to {new}",
    T.PATTERN_ADDED: "{reader} requires {at} to match {new}; {writer} does not",
    T.PATTERN_REMOVED: "{reader} no longer requires {at} to match {old}",
    T.PATTERN_CHANGED: "{reader} requires {at} to match {new} instead of {old}",
    T.FORMAT_ADDED: "{reader} requires {at} to have the format {new}; {writer} does not",
    T.FORMAT_REMOVED: "{reader} no longer requires {at} to have the format {old}",
    T.FORMAT_CHANGED: "{reader} requires {at} to have the format {new} instead of {old}",
    T.MULTIPLE_OF_ADDED: "{reader} requires {at} to be a multiple of {new}; {writer} does not",
    T.MULTIPLE_OF_REMOVED: "{reader} no longer requires {at} to be a multiple of {old}",
    T.MULTIPLE_OF_EXPANDED: "{reader} requires {at} to be a multiple of {new} instead of {old}",
    T.MULTIPLE_OF_REDUCED: "{reader} requires {at} to be a multiple of {new} instead of {old}",
    T.MULTIPLE_OF_CHANGED: "{reader} requires {at} to be a multiple of {new} instead of {old}",
    T.EXCLUSIVE_MAXIMUM_FLAG_ADDED: "{reader} makes the maximum of {at} exclusive; {writer} includes it",
    T.EXCLUSIVE_MAXIMUM_FLAG_REMOVED: "{reader} makes the maximum of {at} inclusive; {writer} excludes it",
    T.EXCLUSIVE_MINIMUM_FLAG_ADDED: "{reader} makes the minimum of {at} exclusive; {writer} includes it",
    T.EXCLUSIVE_MINIMUM_FLAG_REMOVED: "{reader} makes the minimum of {at} inclusive; {writer} excludes it",
    T.ENUM_ARRAY_EXTENDED: "{reader} accepts {new} at {at}; {writer} accepts {old}",
    T.ENUM_ARRAY_NARROWED: "{reader} accepts only {new} at {at}; {writer} accepts {old}",
    T.ENUM_ARRAY_CHANGED: "{reader} accepts {new} at {at}; {writer} accepts {old}",
    T.REQUIRED_ATTRIBUTE_ADDED: "{reader} makes {name} required; {writer} does not",
    T.REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED: (
        "{reader} makes {name} required; it has a default, but validators do not fill defaults in, "
        "and {writer} does not require it"
    ),
    T.REQUIRED_ATTRIBUTE_REMOVED: "{reader} no longer requires {name}",
    T.REQUIRED_NAME_ADDED: "{reader} lists {name} as required; {writer} does not",
    T.REQUIRED_NAME_REMOVED: "{reader} no longer lists {name} as required",
    T.DEPENDENCY_SCHEMA_ADDED: "{reader} applies an extra schema whenever {name} is present; {writer} does not",
    T.DEPENDENCY_SCHEMA_REMOVED: "{reader} no longer applies a schema whenever {name} is present",
    T.DEPENDENT_SCHEMA_ADDED: "{reader} applies an extra schema whenever {name} is present; {writer} does not",
    T.DEPENDENT_SCHEMA_REMOVED: "{reader} no longer applies a schema whenever {name} is present",
    T.PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL: "{reader} declares {at}, which {writer} accepts with any value",
    T.OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL: (
        "{reader} declares {at}, which {writer} does not declare but accepts with any value"
    ),
    T.REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL: "{reader} adds {at} as a required property; {writer} does not declare it",
    T.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL: (
        "{reader} adds {at} as a required property with a default (validators do not fill defaults in); "
        "{writer} does not declare it"
    ),
    T.PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL: "{reader} declares {at} with a schema that accepts anything",
    T.REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL: "{reader} adds {at} as a required property, which {writer} never writes",
    T.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL: (
        "{reader} adds {at} as a required property with a default (validators do not fill defaults in), "
        "which {writer} never writes"
    ),
    T.OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL: "{reader} adds the optional {at}, which {writer} never writes",
    T.PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL: "{reader} no longer declares {at} but accepts it with any value",
    T.PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL: "{reader} no longer declares {at} and refuses undeclared properties",
    T.PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL: "{reader} no longer lists the forbidden {at}",
    T.PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL: (
        "{reader} declares {at} with a schema that accepts what {writer} allowed there through its patterns "
        "or additional properties"
    ),
    T.PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL: (
        "{reader} declares {at} with a schema narrower than what {writer} allowed there through its patterns "
        "or additional properties"
    ),
    T.PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL: (
        "{reader} no longer declares {at}; its patterns or additional properties accept what {writer} allowed"
    ),
    T.PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL: (
        "{reader} no longer declares {at}; its patterns or additional properties do not accept all "
        "that {writer} allowed"
    ),
    T.RESERVED_PROPERTY_REMOVED: "{reader} no longer reserves {at}",
    T.RESERVED_PROPERTY_CONFLICTS_WITH_PROPERTY: "{at} conflicts with a reserved property",
    T.UNIQUE_ITEMS_ADDED: "{reader} requires the items of {at} to be unique; {writer} does not",
    T.UNIQUE_ITEMS_REMOVED: "{reader} no longer requires the items of {at} to be unique",
    T.ITEM_ADDED_TO_OPEN_CONTENT_MODEL: "{reader} constrains {at}, which {writer} accepts with any value",
    T.ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL: "{reader} declares {at} with a schema that accepts anything",
    T.ITEM_ADDED_TO_CLOSED_CONTENT_MODEL: "{reader} declares {at}, which {writer} never writes",
    T.ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL: "{reader} no longer declares {at} but accepts any value there",
    T.ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL: "{reader} no longer declares {at} and refuses longer arrays",
    T.ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL: "{reader} no longer lists the forbidden {at}",
    T.ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL: (
        "{reader} declares {at} with a schema that accepts what {writer} allowed there"
    ),
    T.ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL: (
        "{reader} declares {at} with a schema narrower than what {writer} allowed there"
    ),
    T.ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL: (
        "{reader} no longer declares {at}; its schema for further items accepts what {writer} allowed"
    ),
    T.ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL: (
        "{reader} no longer declares {at}; its schema for further items does not accept all that {writer} allowed"
    ),
    T.COMBINED_TYPE_EXTENDED: "{at} combines its alternatives with {new} in {reader} and {old} in {writer}",
    T.COMBINED_TYPE_CHANGED: "{at} combines its alternatives with {new} in {reader} and {old} in {writer}",
    T.PRODUCT_TYPE_EXTENDED: "{reader} adds conditions that {at} must all meet",
    T.PRODUCT_TYPE_NARROWED: "{reader} drops conditions that {at} had to meet",
    T.SUM_TYPE_EXTENDED: "{reader} offers more alternatives for {at}",
    T.SUM_TYPE_NARROWED: "{reader} offers fewer alternatives for {at}",
    T.COMBINED_TYPE_SUBSCHEMAS_CHANGED: "alternatives {old} of {at} in {writer} match no alternative in {reader}",
    T.NOT_TYPE_EXTENDED: "{reader} forbids values at {at} that {writer} allows",
    T.NOT_TYPE_NARROWED: "{reader} forbids fewer values at {at}",
    T.TYPE_REQUIREMENT_ADDED: "{reader} requires {at} to be {new}; {writer} also accepts other types",
    T.TYPE_REQUIREMENT_REMOVED: "{reader} accepts any type at {at}, applying its {old} keywords to {old} values only",
    T.PROPERTY_NAMES_ADDED: "{reader} restricts the property names of {at}; {writer} does not",
    T.PROPERTY_NAMES_REMOVED: "{reader} no longer restricts the property names of {at}",
    T.PATTERN_PROPERTY_ADDED: "{reader} constrains properties of {at} named like {name}; {writer} does not",
    T.PATTERN_PROPERTY_REMOVED: "{reader} no longer constrains properties of {at} named like {name}",
    T.PATTERN_PROPERTY_REMOVED_FROM_UNOPEN_CONTENT_MODEL: (
        "{reader} drops the pattern {name} of {at} and does not otherwise accept such properties"
    ),
    T.CONDITIONAL_ADDED: "{reader} adds an if/then/else condition to {at}",
    T.CONDITIONAL_REMOVED: "{reader} drops the if/then/else condition of {at}",
    T.CONDITIONAL_IF_CHANGED: "{reader} changes the 'if' condition of {at}",
    T.CONTAINS_ADDED: "{reader} requires {at} to contain a matching item; {writer} does not",
    T.CONTAINS_REMOVED: "{reader} no longer requires {at} to contain a matching item",
    T.CONTAINS_EXTENDED_WITH_MAX_CONTAINS: (
        "{reader} counts more items of {at} as matching 'contains' while capping how many may match"
    ),
    T.ONE_OF_BRANCHES_MAY_OVERLAP: (
        "data valid under {writer} may match more than one oneOf alternative of {at} in {reader}, "
        "and oneOf accepts exactly one"
    ),
}

for _prefix, _word in _BOUND_WORDS.items():
    for _suffix, _sentence in _BOUND_SENTENCES.items():
        SENTENCES[DifferenceType[f"{_prefix}_{_suffix}"]] = _sentence.replace("{word}", _word)
for _prefix, _word in _PERMIT_WORDS.items():
    for _suffix, _sentence in _PERMIT_SENTENCES.items():
        SENTENCES[DifferenceType[f"{_prefix}_{_suffix}"]] = _sentence.replace("{word}", _word)
for _prefix in ("DEPENDENCY_ARRAY", "DEPENDENT_REQUIRED"):
    for _suffix, _sentence in _DEPENDENCY_SENTENCES.items():
        SENTENCES[DifferenceType[f"{_prefix}_{_suffix}"]] = _sentence

#: How many trailing path segments name the keyword rather than the subschema.
_TWO_SEGMENT_PREFIXES = ("REQUIRED_ATTRIBUTE", "REQUIRED_NAME", "DEPENDENCY_", "DEPENDENT_", "PATTERN_PROPERTY")
_ONE_SEGMENT_PREFIXES = (
    "MAX_",
    "MIN_",
    "PATTERN_",
    "EXCLUSIVE_",
    "MULTIPLE_OF",
    "FORMAT_",
    "ENUM_ARRAY",
    "UNIQUE_ITEMS",
    "ADDITIONAL_",
    "UNEVALUATED_",
    "PROPERTY_NAMES",
    "CONTAINS_",
    "CONDITIONAL_",
    "NOT_TYPE",
)


def _keyword_segments(difference_type: DifferenceType) -> int:
    name = difference_type.value
    if name.startswith(_TWO_SEGMENT_PREFIXES):
        return 2
    if name.startswith(_ONE_SEGMENT_PREFIXES):
        return 1
    return 0


_QUALIFIERS = {
    "not": "inside 'not'",
    "if": "inside 'if'",
    "then": "inside 'then'",
    "else": "inside 'else'",
    "contains": "inside 'contains'",
    "propertyNames": "among property names",
}


def _field(segments: list[str]) -> tuple[str, list[str]]:
    """Dotted field name and qualifiers for a list of path segments."""
    parts: list[str] = []
    qualifiers: list[str] = []
    index = 0
    while index < len(segments):
        segment = segments[index]
        following = segments[index + 1] if index + 1 < len(segments) else None
        if segment == "properties" and following is not None:
            parts.append(("." if parts else "") + following)
            index += 2
        elif segment == "items" and following is not None and following.isdigit():
            parts.append(f"[{following}]")
            index += 2
        elif segment == "items":
            parts.append("[]")
            index += 1
        elif segment in ("additionalItems", "unevaluatedItems"):
            parts.append("[…]")
            index += 1
        elif segment in ("additionalProperties", "unevaluatedProperties"):
            parts.append(".*" if parts else "*")
            index += 1
        elif segment == "patternProperties" and following is not None:
            parts.append(("." if parts else "") + f"/{following}/")
            index += 2
        elif segment in ("allOf", "anyOf", "oneOf") and following is not None and following.isdigit():
            qualifiers.append(f"{segment} alternative {following}")
            index += 2
        elif segment in ("dependencies", "dependentSchemas") and following is not None:
            qualifiers.append(f"when '{following}' is present")
            index += 2
        else:
            if segment in _QUALIFIERS:
                qualifiers.append(_QUALIFIERS[segment])
            index += 1
    return "".join(parts), qualifiers


def _location(path: str, keyword_segments: int) -> tuple[str, str]:
    """(location phrase, quoted name) of a difference path."""
    segments = path[2:].split("/") if path.startswith("#/") and len(path) > 2 else []
    name = ""
    if keyword_segments == 2 and len(segments) >= 2:
        name = segments[-1]
        segments = segments[:-2]
    elif keyword_segments == 1 and segments:
        segments = segments[:-1]
    field, qualifiers = _field(segments)
    phrase = f"field '{field}'" if field else "the event"
    if qualifiers:
        phrase += " (" + ", ".join(qualifiers) + ")"
    if name:
        name = f"'{field}.{name}'" if field and not field.endswith("]") else f"'{name}'"
    return phrase, name


def _show(value: object) -> str:
    if value is None:
        return "nothing"
    try:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def role_names(direction: Direction, old_version: int | None) -> tuple[str, str]:
    """(reader, writer) for a check against ``old_version``."""
    old = f"version {old_version}" if old_version is not None else "the previous version"
    return ("the new schema", old) if direction is Direction.BACKWARD else (old, "the new schema")


def explain(difference: Difference, direction: Direction, old_version: int | None, policy: CompatibilityPolicy) -> str:
    reader, writer = role_names(direction, old_version)
    at, name = _location(difference.path, _keyword_segments(difference.type))
    template = SENTENCES.get(difference.type, "{reader} and {writer} differ at {at}")
    text = template.format(
        reader=reader,
        writer=writer,
        at=at,
        name=name,
        old=_show(difference.old_value),
        new=_show(difference.new_value),
    )
    if not is_allowed(difference.type, policy):
        text += f", so events written with {writer} may be refused by {reader}."
    elif difference.type not in STRICT_ALLOWED:
        text += (
            f". The {policy.value} policy accepts this, although events written with {writer} "
            f"may be refused by {reader}."
        )
    else:
        text += f"; events written with {writer} are still accepted by {reader}."
    return text[0].upper() + text[1:]
