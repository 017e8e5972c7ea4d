"""Confluent's verbose ``messages`` (registry-api.md §8, reference §11).

One string per incompatible difference, ``{errorType:"<TYPE>", description:"<text>'}``
(the mismatched closing quote is Confluent's), then ``{oldSchemaVersion: v}``,
``{oldSchema: '<text>'}`` (cut at 10 KiB) and ``{validateFields: '<bool>', compatibility: '<LEVEL>'}``.
Descriptions take (reader, writer) = (new, old) for BACKWARD and (old, new) for FORWARD.
"""

from __future__ import annotations

from .difference import Difference
from .levels import CompatibilityLevel, Direction
from .types import DifferenceType

T = DifferenceType

DIFFERENT_SCHEMA_TYPE = "Incompatible because of different schema type"
OLD_SCHEMA_LIMIT = 10240

_KEYWORD_MISSING = "The keyword at path '{path}' in the {0} schema is not present in the {1} schema"
_MORE = "The value at path '{path}' in the {0} schema is more than its value in the {1} schema"
_LESS = "The value at path '{path}' in the {0} schema is less than its value in the {1} schema"
_DIFFERENT_VALUE = "The value at path '{path}' is different between the {0} and {1} schema"
_FEWER_ELEMENTS = "An array or combined type at path '{path}' has fewer elements in the {0} schema than the {1} schema"
_MORE_ELEMENTS = "An array or combined type at path '{path}' has more elements in the {0} schema than the {1} schema"
_DIFFERENT_TYPE = "A type at path '{path}' is different between the {0} schema and the {1} schema"
_OPEN_MODEL = (
    "The {0} schema has an open content model and has a property or item at path '{path}' "
    "which is missing in the {1} schema"
)
_UNOPEN_REQUIRED = (
    "The {0} schema has an unopen content model and has a required property at path '{path}' "
    "which is missing in the {1} schema"
)
_CLOSED_MISSING = (
    "The {0} has a closed content model and is missing a property or item present at path '{path}' in the {1} schema"
)
_REMOVED_NOT_COVERED = (
    "A property or item is missing in the {0} schema but present at path '{path}' in the {1} schema "
    "and is not covered by its partially open content model"
)
_ADDED_NOT_COVERED = (
    "The {0} schema has a property or item at path '{path}' which is missing in the {1} schema "
    "and is not covered by its partially open content model"
)
_ONE_OF_OVERLAP = (
    "The oneOf at path '{path}' in the {0} schema has branches that may both match data valid in the {1} schema"
)

#: Template -> the types rendered with it (Confluent's, plus Eventline's by analogy).
_TEMPLATE_TYPES: tuple[tuple[str, tuple[DifferenceType, ...]], ...] = (
    (
        _KEYWORD_MISSING,
        (
            T.MAXIMUM_ADDED,
            T.MINIMUM_ADDED,
            T.EXCLUSIVE_MAXIMUM_ADDED,
            T.EXCLUSIVE_MINIMUM_ADDED,
            T.MULTIPLE_OF_ADDED,
            T.MAX_LENGTH_ADDED,
            T.MIN_LENGTH_ADDED,
            T.PATTERN_ADDED,
            T.REQUIRED_ATTRIBUTE_ADDED,
            T.REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED,
            T.MAX_PROPERTIES_ADDED,
            T.MIN_PROPERTIES_ADDED,
            T.DEPENDENCY_ARRAY_ADDED,
            T.DEPENDENCY_SCHEMA_ADDED,
            T.MAX_ITEMS_ADDED,
            T.MIN_ITEMS_ADDED,
            T.MAX_CONTAINS_ADDED,
            T.MIN_CONTAINS_ADDED,
            T.UNIQUE_ITEMS_ADDED,
            T.ADDITIONAL_ITEMS_REMOVED,
            T.ADDITIONAL_PROPERTIES_REMOVED,
            T.UNEVALUATED_PROPERTIES_REMOVED,
            T.UNEVALUATED_ITEMS_REMOVED,
            T.FORMAT_ADDED,
            T.EXCLUSIVE_MAXIMUM_FLAG_ADDED,
            T.EXCLUSIVE_MINIMUM_FLAG_ADDED,
            T.REQUIRED_NAME_ADDED,
            T.PROPERTY_NAMES_ADDED,
            T.PATTERN_PROPERTY_ADDED,
            T.DEPENDENT_REQUIRED_ADDED,
            T.DEPENDENT_SCHEMA_ADDED,
            T.CONDITIONAL_ADDED,
            T.CONTAINS_ADDED,
        ),
    ),
    (
        _MORE,
        (
            T.MIN_LENGTH_INCREASED,
            T.MINIMUM_INCREASED,
            T.EXCLUSIVE_MINIMUM_INCREASED,
            T.MIN_PROPERTIES_INCREASED,
            T.MIN_ITEMS_INCREASED,
            T.MIN_CONTAINS_INCREASED,
            T.MULTIPLE_OF_EXPANDED,
        ),
    ),
    (
        _LESS,
        (
            T.MAX_LENGTH_DECREASED,
            T.MAXIMUM_DECREASED,
            T.MAX_ITEMS_DECREASED,
            T.MAX_CONTAINS_DECREASED,
            T.EXCLUSIVE_MAXIMUM_DECREASED,
            T.MAX_PROPERTIES_DECREASED,
        ),
    ),
    (
        _DIFFERENT_VALUE,
        (
            T.PATTERN_CHANGED,
            T.MULTIPLE_OF_CHANGED,
            T.DEPENDENCY_ARRAY_CHANGED,
            T.FORMAT_CHANGED,
            T.DEPENDENT_REQUIRED_CHANGED,
            T.CONDITIONAL_IF_CHANGED,
            T.CONTAINS_EXTENDED_WITH_MAX_CONTAINS,
        ),
    ),
    (
        _FEWER_ELEMENTS,
        (
            T.ADDITIONAL_ITEMS_NARROWED,
            T.ENUM_ARRAY_NARROWED,
            T.SUM_TYPE_NARROWED,
            T.ADDITIONAL_PROPERTIES_NARROWED,
            T.UNEVALUATED_PROPERTIES_NARROWED,
            T.UNEVALUATED_ITEMS_NARROWED,
        ),
    ),
    (
        _MORE_ELEMENTS,
        (
            T.DEPENDENCY_ARRAY_EXTENDED,
            T.PRODUCT_TYPE_EXTENDED,
            T.SUM_TYPE_EXTENDED,
            T.NOT_TYPE_EXTENDED,
            T.DEPENDENT_REQUIRED_EXTENDED,
        ),
    ),
    (
        _DIFFERENT_TYPE,
        (
            T.TYPE_CHANGED,
            T.TYPE_NARROWED,
            T.COMBINED_TYPE_CHANGED,
            T.COMBINED_TYPE_SUBSCHEMAS_CHANGED,
            T.ENUM_ARRAY_CHANGED,
            T.TYPE_REQUIREMENT_ADDED,
        ),
    ),
    (
        _OPEN_MODEL,
        (
            T.REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
            T.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL,
            T.OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
            T.ITEM_ADDED_TO_OPEN_CONTENT_MODEL,
            T.PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
        ),
    ),
    (
        _UNOPEN_REQUIRED,
        (
            T.REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL,
            T.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL,
        ),
    ),
    (
        _CLOSED_MISSING,
        (
            T.PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL,
            T.ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL,
            T.PATTERN_PROPERTY_REMOVED_FROM_UNOPEN_CONTENT_MODEL,
        ),
    ),
    (
        _REMOVED_NOT_COVERED,
        (
            T.PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
            T.ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
        ),
    ),
    (
        _ADDED_NOT_COVERED,
        (
            T.PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
            T.ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
        ),
    ),
    (_ONE_OF_OVERLAP, (T.ONE_OF_BRANCHES_MAY_OVERLAP,)),
)

DESCRIPTION_TEMPLATES: dict[DifferenceType, str] = {
    difference_type: template for template, types in _TEMPLATE_TYPES for difference_type in types
}

#: (reader, writer) names per direction.
_ROLES: dict[Direction, tuple[str, str]] = {
    Direction.BACKWARD: ("new", "old"),
    Direction.FORWARD: ("old", "new"),
}


def describe(difference: Difference, direction: Direction) -> str:
    """Confluent's description text (empty for types Confluent leaves undescribed)."""
    template = DESCRIPTION_TEMPLATES.get(difference.type)
    if template is None:
        return ""
    reader, writer = _ROLES[direction]
    return template.format(reader, writer, path=difference.path)


def difference_message(difference: Difference, direction: Direction) -> str:
    return f'{{errorType:"{difference.type.value}", description:"{describe(difference, direction)}\'}}'


def old_version_message(version: int) -> str:
    return f"{{oldSchemaVersion: {version}}}"


def old_schema_message(schema_text: str) -> str:
    if len(schema_text) > OLD_SCHEMA_LIMIT:
        return f"{{oldSchema: <truncated> '{schema_text[:OLD_SCHEMA_LIMIT]}...'}}"
    return f"{{oldSchema: '{schema_text}'}}"


def settings_message(level: CompatibilityLevel, validate_fields: bool) -> str:
    return f"{{validateFields: '{str(validate_fields).lower()}', compatibility: '{level.value}'}}"
