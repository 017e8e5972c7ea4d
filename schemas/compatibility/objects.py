"""Objects (reference §7 and §8): required, properties against content models,
dependencies, additionalProperties, unevaluatedProperties, min/maxProperties; then
Eventline's checks of ``propertyNames`` and ``patternProperties`` schemas.

Content model of an object for one property name (Eventline variant of Confluent's):
the first ``patternProperties`` regex that *finds* the name makes it partially open
(covered by that schema); else an ``additionalProperties`` schema; else ``false`` closes
it; else (absent) an ``unevaluatedProperties`` schema or ``false``; else it is open.
Confluent calls a name matching no pattern *closed* when ``patternProperties`` exists
without ``additionalProperties`` (§10 #6); Eventline calls it open, which is what a
validator does.

Names in ``required`` that no ``properties`` entry declares are compared too
(``REQUIRED_NAME_ADDED``/``_REMOVED``, §10 #5), as is an empty-schema property that is
added *and* required (Confluent counts it compatible, but old data may lack it).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, NamedTuple

from .difference import Difference
from .jsonvalues import JSON, MISSING, Maybe, join, present_or_none, schema_map, string_list
from .patterns import linear_regex
from .rules import (
    ADDITIONAL_PROPERTIES,
    UNEVALUATED_PROPERTIES,
    BoundRule,
    Permit,
    compare_bounds,
    compare_permit,
    permit_state,
)
from .types import DifferenceType

if TYPE_CHECKING:
    from .differ import Differ
    from .nodes import Node

T = DifferenceType

PROPERTY_COUNT_BOUNDS: tuple[BoundRule, ...] = (
    BoundRule(
        "maxProperties",
        T.MAX_PROPERTIES_ADDED,
        T.MAX_PROPERTIES_REMOVED,
        T.MAX_PROPERTIES_INCREASED,
        T.MAX_PROPERTIES_DECREASED,
    ),
    BoundRule(
        "minProperties",
        T.MIN_PROPERTIES_ADDED,
        T.MIN_PROPERTIES_REMOVED,
        T.MIN_PROPERTIES_INCREASED,
        T.MIN_PROPERTIES_DECREASED,
    ),
)


class Model(enum.Enum):
    OPEN = "open"
    PARTIAL = "partially open"
    CLOSED = "closed"


class ContentModel(NamedTuple):
    model: Model
    covering: tuple[JSON, ...] = ()


def matching_patterns(keywords: dict[str, JSON], name: str) -> list[JSON]:
    found = []
    for pattern, schema in schema_map(keywords.get("patternProperties")).items():
        # Linear-time matching (RE2): the patterns come from whoever calls the registry.
        regex = linear_regex(pattern)
        if regex is not None and regex.search(name):
            found.append(schema)
    return found


def content_model(keywords: dict[str, JSON], name: str) -> ContentModel:
    """How an object treats a property ``name`` that ``properties`` does not declare."""
    patterns = matching_patterns(keywords, name)
    if patterns:
        return ContentModel(Model.PARTIAL, tuple(patterns))
    additional = keywords.get("additionalProperties", MISSING)
    if isinstance(additional, dict):
        return ContentModel(Model.PARTIAL, (additional,))
    if additional is False:
        return ContentModel(Model.CLOSED)
    if additional is MISSING:
        unevaluated = keywords.get("unevaluatedProperties", MISSING)
        if isinstance(unevaluated, dict):
            return ContentModel(Model.PARTIAL, (unevaluated,))
        if unevaluated is False:
            return ContentModel(Model.CLOSED)
    return ContentModel(Model.OPEN)


#: Added property, by (original model, required?, has default?); PARTIAL also emits coverage first.
_ADDED_TO_OPEN: dict[tuple[bool, bool], DifferenceType] = {
    (True, True): T.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL,
    (True, False): T.REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
    (False, True): T.OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
    (False, False): T.OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
}
_ADDED_TO_UNOPEN: dict[tuple[bool, bool], DifferenceType] = {
    (True, True): T.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL,
    (True, False): T.REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL,
    (False, True): T.OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL,
    (False, False): T.OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL,
}
#: (added?, covered?) -> coverage difference.
_COVERAGE: dict[tuple[bool, bool], DifferenceType] = {
    (True, True): T.PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    (True, False): T.PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    (False, True): T.PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    (False, False): T.PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
}


class DependencyFamily(NamedTuple):
    keyword: str
    added: DifferenceType
    removed: DifferenceType
    extended: DifferenceType
    narrowed: DifferenceType
    changed: DifferenceType


class SchemaDependencyFamily(NamedTuple):
    keyword: str
    added: DifferenceType
    removed: DifferenceType


#: Spelling of a dependency -> the types and path keyword used to report it.
PROPERTY_DEPENDENCY_FAMILIES: dict[str, DependencyFamily] = {
    "dependencies": DependencyFamily(
        "dependencies",
        T.DEPENDENCY_ARRAY_ADDED,
        T.DEPENDENCY_ARRAY_REMOVED,
        T.DEPENDENCY_ARRAY_EXTENDED,
        T.DEPENDENCY_ARRAY_NARROWED,
        T.DEPENDENCY_ARRAY_CHANGED,
    ),
    "dependentRequired": DependencyFamily(
        "dependentRequired",
        T.DEPENDENT_REQUIRED_ADDED,
        T.DEPENDENT_REQUIRED_REMOVED,
        T.DEPENDENT_REQUIRED_EXTENDED,
        T.DEPENDENT_REQUIRED_NARROWED,
        T.DEPENDENT_REQUIRED_CHANGED,
    ),
}
SCHEMA_DEPENDENCY_FAMILIES: dict[str, SchemaDependencyFamily] = {
    "dependencies": SchemaDependencyFamily("dependencies", T.DEPENDENCY_SCHEMA_ADDED, T.DEPENDENCY_SCHEMA_REMOVED),
    "dependentSchemas": SchemaDependencyFamily(
        "dependentSchemas", T.DEPENDENT_SCHEMA_ADDED, T.DEPENDENT_SCHEMA_REMOVED
    ),
}


def compare_object(differ: Differ, path: str, original: Node, update: Node, out: list[Difference]) -> None:
    old, new = original.keywords, update.keywords
    old_properties, new_properties = schema_map(old.get("properties")), schema_map(new.get("properties"))
    old_required, new_required = set(string_list(old.get("required"))), set(string_list(new.get("required")))
    if old_required != new_required:
        _compare_required(path, original, update, old_properties, new_properties, old_required, new_required, out)
    properties_path = join(path, "properties")
    names = old_properties.keys() | new_properties.keys()
    for name in sorted(names):
        at = properties_path + "/" + name
        if name not in new_properties:
            _property_removed(differ, at, name, original, update, old_properties[name], out)
        elif name not in old_properties:
            _property_added(differ, at, name, original, update, new_properties[name], name in new_required, out)
        else:
            out.extend(differ.compare_schemas(at, original, old_properties[name], update, new_properties[name]))
    if _has_any(_DEPENDENCY_KEYWORDS, old, new):
        _compare_dependencies(differ, path, original, update, out)
    if _has_any(_PERMIT_KEYWORDS, old, new):
        compare_permit(
            differ,
            join(path, "additionalProperties"),
            ADDITIONAL_PROPERTIES,
            original,
            old.get("additionalProperties", MISSING),
            update,
            new.get("additionalProperties", MISSING),
            out,
        )
        compare_permit(
            differ,
            join(path, "unevaluatedProperties"),
            UNEVALUATED_PROPERTIES,
            original,
            old.get("unevaluatedProperties", MISSING),
            update,
            new.get("unevaluatedProperties", MISSING),
            out,
        )
    if _has_any(_COUNT_KEYWORDS, old, new):
        compare_bounds(path, PROPERTY_COUNT_BOUNDS, old, new, out)
    if _has_any(_NAME_KEYWORDS, old, new):
        _compare_property_names(differ, path, original, update, out)
        _compare_pattern_properties(differ, path, original, update, out)


_DEPENDENCY_KEYWORDS = frozenset({"dependencies", "dependentRequired", "dependentSchemas"})
_PERMIT_KEYWORDS = frozenset({"additionalProperties", "unevaluatedProperties"})
_COUNT_KEYWORDS = frozenset({"maxProperties", "minProperties"})
_NAME_KEYWORDS = frozenset({"propertyNames", "patternProperties"})


def _has_any(keywords: frozenset[str], old: dict[str, JSON], new: dict[str, JSON]) -> bool:
    """Cheap skip for keyword groups neither side uses (most objects use few)."""
    return not (keywords.isdisjoint(old) and keywords.isdisjoint(new))


def _compare_required(
    path: str,
    original: Node,
    update: Node,
    old_properties: dict[str, JSON],
    new_properties: dict[str, JSON],
    old_required: set[str],
    new_required: set[str],
    out: list[Difference],
) -> None:
    for name in sorted(old_required ^ new_required):
        at = join(join(path, "required"), name)
        now_required = name in new_required
        if name in old_properties and name in new_properties:
            if not now_required:
                found = T.REQUIRED_ATTRIBUTE_REMOVED
            elif _has_default(new_properties[name]):
                found = T.REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED
            else:
                found = T.REQUIRED_ATTRIBUTE_ADDED
        elif now_required:
            added_property = new_properties.get(name, MISSING)
            if (
                added_property is not MISSING
                and name not in old_properties
                and not (
                    content_model(original.keywords, name).model is Model.OPEN
                    and update.child(added_property).accepts_anything
                )
            ):
                continue  # the content-model type of the added property already says "required"
            found = T.REQUIRED_NAME_ADDED
        elif name not in old_properties:
            found = T.REQUIRED_NAME_REMOVED
        else:
            continue  # the property itself was removed; reported under properties
        out.append(Difference(found, at, not now_required, now_required))


def _has_default(schema: JSON) -> bool:
    return isinstance(schema, dict) and "default" in schema


def _property_added(
    differ: Differ,
    at: str,
    name: str,
    original: Node,
    update: Node,
    schema: JSON,
    required: bool,
    out: list[Difference],
) -> None:
    model = content_model(original.keywords, name)
    new_node = update.child(schema)
    key = (required, _has_default(schema))
    if model.model is Model.OPEN:
        if new_node.accepts_anything:
            found = T.PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL
        else:
            found = _ADDED_TO_OPEN[key]
        out.append(Difference(found, at, None, schema))
        return
    if model.model is Model.PARTIAL:
        inner = differ.compare(at, original.child(model.covering[0]), new_node)
        out.extend(inner)
        out.append(Difference(_COVERAGE[(True, differ.compatible(inner))], at, model.covering[0], schema))
    out.append(Difference(_ADDED_TO_UNOPEN[key], at, None, schema))


def _property_removed(
    differ: Differ, at: str, name: str, original: Node, update: Node, schema: JSON, out: list[Difference]
) -> None:
    model = content_model(update.keywords, name)
    old_node = original.child(schema)
    if model.model is Model.OPEN:
        out.append(Difference(T.PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL, at, schema, None))
    elif model.model is Model.PARTIAL:
        covered = True
        # A name matching several patterns must satisfy all of them in the update.
        for covering in model.covering:
            inner = differ.compare(at, old_node, update.child(covering))
            out.extend(inner)
            covered = covered and differ.compatible(inner)
        out.append(Difference(_COVERAGE[(False, covered)], at, schema, model.covering[0]))
    elif old_node.kind.name == "FALSE":
        out.append(Difference(T.PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL, at, schema, None))
    else:
        out.append(Difference(T.PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL, at, schema, None))


def _property_dependencies(keywords: dict[str, JSON]) -> dict[str, tuple[str, set[str]]]:
    found: dict[str, tuple[str, set[str]]] = {}
    for keyword in ("dependencies", "dependentRequired"):
        for name, value in schema_map(keywords.get(keyword)).items():
            if isinstance(value, list):
                previous = found.get(name, (keyword, set()))[1]
                found[name] = (keyword, previous | set(string_list(value)))
    return found


def _schema_dependencies(keywords: dict[str, JSON]) -> dict[str, tuple[str, list[JSON]]]:
    found: dict[str, tuple[str, list[JSON]]] = {}
    for keyword in ("dependencies", "dependentSchemas"):
        for name, value in schema_map(keywords.get(keyword)).items():
            if isinstance(value, (dict, bool)):
                previous = found.get(name, (keyword, []))[1]
                found[name] = (keyword, [*previous, value])
    return found


def _compare_dependencies(differ: Differ, path: str, original: Node, update: Node, out: list[Difference]) -> None:
    """Property dependencies first, then schema dependencies, names sorted (reference §7).

    ``dependencies`` (every draft) and ``dependentRequired``/``dependentSchemas`` (2019-09+;
    a node of an older draft never sees them) mean the same thing; the spelling used by the
    update (else the original) picks the family of types and the path keyword.
    """
    old_arrays, new_arrays = _property_dependencies(original.keywords), _property_dependencies(update.keywords)
    for name in sorted(old_arrays.keys() | new_arrays.keys()):
        keyword = (new_arrays.get(name) or old_arrays[name])[0]
        family = PROPERTY_DEPENDENCY_FAMILIES[keyword]
        at = join(join(path, keyword), name)
        old_entry, new_entry = old_arrays.get(name), new_arrays.get(name)
        if old_entry is None:
            assert new_entry is not None
            out.append(Difference(family.added, at, None, sorted(new_entry[1])))
            continue
        if new_entry is None:
            out.append(Difference(family.removed, at, sorted(old_entry[1]), None))
            continue
        old_names, new_names = old_entry[1], new_entry[1]
        if old_names == new_names:
            continue
        if new_names > old_names:
            found = family.extended
        elif new_names < old_names:
            found = family.narrowed
        else:
            found = family.changed
        out.append(Difference(found, at, sorted(old_names), sorted(new_names)))
    old_schemas, new_schemas = _schema_dependencies(original.keywords), _schema_dependencies(update.keywords)
    for name in sorted(old_schemas.keys() | new_schemas.keys()):
        keyword = (new_schemas.get(name) or old_schemas[name])[0]
        schema_family = SCHEMA_DEPENDENCY_FAMILIES[keyword]
        at = join(join(path, keyword), name)
        old_schema, new_schema = old_schemas.get(name), new_schemas.get(name)
        if old_schema is None:
            assert new_schema is not None
            out.append(Difference(schema_family.added, at, None, _single(new_schema[1])))
        elif new_schema is None:
            out.append(Difference(schema_family.removed, at, _single(old_schema[1]), None))
        else:
            out.extend(
                differ.compare(at, _dependency_node(original, old_schema[1]), _dependency_node(update, new_schema[1]))
            )


def _single(schemas: list[JSON]) -> JSON:
    return schemas[0] if len(schemas) == 1 else {"allOf": schemas}


def _dependency_node(owner: Node, schemas: list[JSON]) -> Node:
    if len(schemas) == 1:
        return owner.child(schemas[0])
    return owner.resolver.synthetic(owner.doc, {"allOf": schemas})


def _compare_property_names(differ: Differ, path: str, original: Node, update: Node, out: list[Difference]) -> None:
    old: Maybe = original.keywords.get("propertyNames", MISSING)
    new: Maybe = update.keywords.get("propertyNames", MISSING)
    at = join(path, "propertyNames")
    if old is MISSING and new is MISSING:
        return
    if old is MISSING:
        if not update.child(present_or_none(new)).accepts_anything:
            out.append(Difference(T.PROPERTY_NAMES_ADDED, at, None, present_or_none(new)))
    elif new is MISSING:
        if not original.child(old).accepts_anything:
            out.append(Difference(T.PROPERTY_NAMES_REMOVED, at, old, None))
    else:
        out.extend(differ.compare_schemas(at, original, old, update, new))


def _compare_pattern_properties(differ: Differ, path: str, original: Node, update: Node, out: list[Difference]) -> None:
    old_patterns = schema_map(original.keywords.get("patternProperties"))
    new_patterns = schema_map(update.keywords.get("patternProperties"))
    if not old_patterns and not new_patterns:
        return
    update_open = _open_to_unmatched(update.keywords)
    for pattern in sorted(old_patterns.keys() | new_patterns.keys()):
        at = join(join(path, "patternProperties"), pattern)
        if pattern not in old_patterns:
            if not _pattern_added_is_covered(differ, at, pattern, original, update, new_patterns[pattern]):
                out.append(Difference(T.PATTERN_PROPERTY_ADDED, at, None, new_patterns[pattern]))
        elif pattern not in new_patterns:
            found = T.PATTERN_PROPERTY_REMOVED if update_open else T.PATTERN_PROPERTY_REMOVED_FROM_UNOPEN_CONTENT_MODEL
            out.append(Difference(found, at, old_patterns[pattern], None))
        else:
            out.extend(differ.compare_schemas(at, original, old_patterns[pattern], update, new_patterns[pattern]))


def _pattern_added_is_covered(
    differ: Differ, at: str, pattern: str, original: Node, update: Node, schema: JSON
) -> bool:
    """A new ``patternProperties`` entry constrains no old instance when it accepts anything, or
    when the original admitted no undeclared name (``additionalProperties: false``, no patterns)
    and each property it declared that the update keeps and the pattern matches was already
    within the pattern's schema. Properties the update removes are judged as removed (their
    coverage by this pattern is PROPERTY_REMOVED_IS_/NOT_COVERED_...)."""
    pattern_node = update.child(schema)
    if pattern_node.accepts_anything:
        return True
    old = original.keywords
    if old.get("additionalProperties") is not False or schema_map(old.get("patternProperties")):
        return False
    regex = linear_regex(pattern)
    if regex is None:
        return False
    kept = schema_map(update.keywords.get("properties"))
    for name, old_schema in schema_map(old.get("properties")).items():
        if name in kept and regex.search(name):
            if not differ.compatible(differ.compare(at, original.child(old_schema), pattern_node)):
                return False
    return True


def _open_to_unmatched(keywords: dict[str, JSON]) -> bool:
    """Names no pattern matches are unconstrained (the removed pattern's names fall there)."""
    additional = permit_state(keywords.get("additionalProperties", MISSING))
    if additional is not Permit.ANYTHING:
        return False
    if keywords.get("additionalProperties", MISSING) is True:
        return True
    return permit_state(keywords.get("unevaluatedProperties", MISSING)) is Permit.ANYTHING
