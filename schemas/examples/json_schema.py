"""Candidate events for a JSON Schema pair, targeted by each difference's path.

A small generator of its own (no hypothesis at run time): values meant to satisfy a schema
(bounds, enum and const members, required properties, tuple items, common formats), and a pool
of values both schemas mention. A target puts the accepting schema's values for the subschema at
the difference's path (and then every pooled value) at the matching place in the instance, in
seeds that the accepting schema's generator made; then the general search does the same at every
place an instance may have.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from schemas.examples.search import Target

_MAX_DEPTH = 6
_FORMATS = {
    "email": "someone@example.com",
    "idn-email": "someone@example.com",
    "date": "2024-01-31",
    "date-time": "2024-01-31T12:00:00Z",
    "time": "12:00:00Z",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "uri": "https://example.com/a",
    "iri": "https://example.com/a",
    "uri-reference": "/a",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "duration": "P1D",
    "regex": "^a$",
    "json-pointer": "/a",
}
#: Values of every JSON type, tried everywhere after the schemas' own.
_PLAIN: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    0.5,
    1000000,
    "",
    "a",
    "text",
    "a" * 300,
    [],
    {},
    [None],
    {"extra": 1},
)
_OBJECT_KEYWORDS = (
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "minProperties",
    "maxProperties",
    "propertyNames",
    "dependencies",
    "dependentRequired",
    "dependentSchemas",
)
_ARRAY_KEYWORDS = ("items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains")
_STRING_KEYWORDS = ("minLength", "maxLength", "pattern", "format")
_NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


class Generator:
    """Values meant to satisfy a schema, a few per schema (not guaranteed: the validators judge)."""

    def __init__(self, root: Any, documents: dict[str, Any] | None = None) -> None:
        self.root = root
        self.documents = documents or {}

    def values(self, schema: Any, depth: int = 0) -> list[Any]:
        if depth > _MAX_DEPTH:
            return []
        if schema is True or schema == {}:
            return [None, "text", 1, {}, []]
        if not isinstance(schema, dict):
            return []
        if isinstance(schema.get("$ref"), str):
            target = self.resolve(schema["$ref"])
            return self.values(target, depth + 1) if target is not None else []
        if "const" in schema:
            return [schema["const"]]
        if isinstance(schema.get("enum"), list):
            return list(schema["enum"])
        out: list[Any] = []
        for keyword in ("anyOf", "oneOf"):
            for branch in schema.get(keyword) or []:
                out += self.values(branch, depth + 1)
        if isinstance(schema.get("allOf"), list):
            out += self._all_of(schema, depth)
        for kind in _types(schema):
            out += self._of_type(kind, schema, depth)
        return out

    def _all_of(self, schema: dict[str, Any], depth: int) -> list[Any]:
        merged: dict[str, Any] = {}
        values: list[Any] = []
        for branch in [schema, *schema["allOf"]]:
            found = self.values(
                {k: v for k, v in branch.items() if k != "allOf"} if branch is schema else branch, depth + 1
            )
            values += found
            for value in found:
                if isinstance(value, dict):
                    merged.update(value)
                    break
        return [merged, *values] if merged else values

    def _of_type(self, kind: str, schema: dict[str, Any], depth: int) -> list[Any]:
        if kind == "null":
            return [None]
        if kind == "boolean":
            return [True, False]
        if kind in ("integer", "number"):
            return _numbers(schema, integer=kind == "integer")
        if kind == "string":
            return _strings(schema)
        if kind == "array":
            return self._arrays(schema, depth)
        if kind == "object":
            return self._objects(schema, depth)
        return []

    def _objects(self, schema: dict[str, Any], depth: int) -> list[Any]:
        properties: dict[str, Any] = schema["properties"] if isinstance(schema.get("properties"), dict) else {}
        required = [name for name in schema.get("required") or [] if isinstance(name, str)]
        first = {name: (self.values(properties.get(name, True), depth + 1) or [None])[0] for name in required}
        every = {**first, **{name: (self.values(sub, depth + 1) or [None])[0] for name, sub in properties.items()}}
        out = [first, every]
        for name, sub in properties.items():  # each property's other values, one at a time
            for value in self.values(sub, depth + 1)[1:4]:
                out.append({**first, name: value})
        return out

    def _arrays(self, schema: dict[str, Any], depth: int) -> list[Any]:
        items = schema.get("prefixItems") if isinstance(schema.get("prefixItems"), list) else schema.get("items")
        low: int = schema["minItems"] if isinstance(schema.get("minItems"), int) else 0
        if isinstance(items, list):
            tuple_value = [(self.values(sub, depth + 1) or [None])[0] for sub in items]
            return [tuple_value[:n] for n in range(max(low, 0), len(tuple_value) + 1)]
        values = self.values(items if items is not None else True, depth + 1) or [None]
        out = [[value] * max(low, 1) for value in values[:4]]
        return ([[]] if low == 0 else []) + out

    def resolve(self, ref: str) -> Any:
        document, _, fragment = ref.partition("#")
        base = self.documents.get(document, self.root) if document else self.root
        return at_pointer(base, fragment)


def at_pointer(document: Any, fragment: str) -> Any:
    node = document
    for token in [t for t in fragment.split("/") if t]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node


def _types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [kind for kind in declared if isinstance(kind, str)]
    inferred = []
    if any(keyword in schema for keyword in _OBJECT_KEYWORDS):
        inferred.append("object")
    if any(keyword in schema for keyword in _ARRAY_KEYWORDS):
        inferred.append("array")
    if any(keyword in schema for keyword in _STRING_KEYWORDS):
        inferred.append("string")
    if any(keyword in schema for keyword in _NUMBER_KEYWORDS):
        inferred.append("number")
    return inferred


def _numbers(schema: dict[str, Any], *, integer: bool) -> list[Any]:
    bounds: list[float] = [
        schema[k]
        for k in _NUMBER_KEYWORDS[:4]
        if isinstance(schema.get(k), (int, float)) and not isinstance(schema[k], bool)
    ]
    step = schema.get("multipleOf") if isinstance(schema.get("multipleOf"), (int, float)) else None
    raw = [0, 1, -1, 7, 0.5, 1000000]
    for bound in bounds:
        raw += [bound, bound - 1, bound + 1, bound - 0.5, bound + 0.5]
    if step:
        raw += [step, step * 2, -step]
    out = []
    for value in raw:
        if integer:
            if value != int(value):
                continue
            value = int(value)
        out.append(value)
    return out


def _strings(schema: dict[str, Any]) -> list[Any]:
    out = []
    if isinstance(schema.get("format"), str) and schema["format"] in _FORMATS:
        out.append(_FORMATS[schema["format"]])
    for keyword in ("minLength", "maxLength"):
        length = schema.get(keyword)
        if isinstance(length, int) and 0 <= length < 10000:
            out += ["a" * length, "a" * (length + 1), "a" * max(length - 1, 0)]
    return out + ["text", "a", "", "A1-_ é", "not an email"]


# ---------------------------------------------------------------------------------------------
# Places in an instance and the targets of a pair


def location(path: str) -> tuple[list[str | int], str]:
    """(the instance place a difference path points at, the schema pointer of the subschema
    there). `#/properties/address/properties/zip/maxLength` -> (["address", "zip"],
    "/properties/address/properties/zip")."""
    segments = [t.replace("~1", "/").replace("~0", "~") for t in path.removeprefix("#").split("/") if t]
    place: list[str | int] = []
    schema: list[str] = []
    index = 0
    while index < len(segments):
        segment = segments[index]
        after = segments[index + 1] if index + 1 < len(segments) else None
        if segment in ("properties", "required") and after is not None:
            place.append(after)
            schema += ["properties", after]
            index += 2
            continue
        if segment in ("additionalProperties", "unevaluatedProperties"):
            place.append("extra")
        elif segment in ("items", "prefixItems"):
            if after is not None and after.isdigit():
                place.append(int(after))
                schema += [segment, after]
                index += 2
                continue
            place.append(0)
        elif segment == "contains":
            place.append(0)
        elif segment in ("allOf", "anyOf", "oneOf", "dependencies", "dependentSchemas") and after is not None:
            schema += [segment, after]
            index += 2
            continue
        elif segment not in ("not", "if", "then", "else"):
            break
        schema.append(segment)
        index += 1
    return place, "/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in schema) if schema else ""


def targets(
    accepting: Any, refusing: Any, differences: list[tuple[str, str]], documents: dict[str, Any] | None = None
) -> list[Target]:
    """One target per difference (type, path), then the general search."""
    generator = Generator(accepting, documents)
    seeds = generator.values(accepting) or [None]
    pool = _pool(accepting, refusing, generator, Generator(refusing, documents))
    found = [Target(rule, path, _targeted(seeds, generator, accepting, path, pool)) for rule, path in differences]
    return [*found, Target(None, None, _general(seeds, pool, accepting, refusing))]


def _targeted(seeds: list[Any], generator: Generator, accepting: Any, path: str, pool: list[Any]) -> Iterator[Any]:
    place, pointer = location(path)
    subschema = at_pointer(accepting, pointer)
    own = generator.values(subschema) if subschema is not None else []
    yield from seeds
    for values in (own, pool):
        for seed in seeds:
            for value in values:
                yield put(seed, place, value)
            if place:
                yield remove(seed, place)


def _general(seeds: list[Any], pool: list[Any], accepting: Any, refusing: Any) -> Iterator[Any]:
    names = sorted(_names(accepting) | _names(refusing) | {"extra"})
    for seed in seeds:
        for place in _places(seed, names):
            yield remove(seed, place)
            for value in pool:
                yield put(seed, place, value)
    yield from pool


def _pool(accepting: Any, refusing: Any, *generators: Generator) -> list[Any]:
    values: list[Any] = []
    for generator, schema in zip(generators, (accepting, refusing), strict=True):
        for sub in _subschemas(schema):
            values += generator.values(sub)[:8]
    return values + list(_PLAIN)


def _subschemas(schema: Any, depth: int = 0) -> Iterator[Any]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(schema, dict):
        yield schema
        for key, value in schema.items():
            if key in ("enum", "const", "default", "examples", "required"):
                continue
            if isinstance(value, dict) and key in (
                "properties",
                "patternProperties",
                "definitions",
                "$defs",
                "dependencies",
                "dependentSchemas",
            ):
                for sub in value.values():
                    yield from _subschemas(sub, depth + 1)
            else:
                yield from _subschemas(value, depth + 1)
    elif isinstance(schema, list):
        for item in schema:
            yield from _subschemas(item, depth + 1)


def _names(schema: Any) -> set[str]:
    names: set[str] = set()
    for sub in _subschemas(schema):
        if isinstance(sub.get("properties"), dict):
            names |= set(sub["properties"])
        names |= (
            {name for name in sub.get("required") or [] if isinstance(name, str)}
            if isinstance(sub.get("required"), list)
            else set()
        )
    return names


def _places(
    instance: Any, names: list[str], prefix: tuple[str | int, ...] = (), depth: int = 0
) -> Iterator[list[str | int]]:
    if depth == 0:
        yield []
    if depth > _MAX_DEPTH:
        return
    if isinstance(instance, dict):
        for name in sorted(set(instance) | set(names)):
            yield [*prefix, name]
            if name in instance:
                yield from _places(instance[name], names, (*prefix, name), depth + 1)
    elif isinstance(instance, list):
        for index in range(len(instance) + 1):
            yield [*prefix, index]
            if index < len(instance):
                yield from _places(instance[index], names, (*prefix, index), depth + 1)


def put(instance: Any, place: list[str | int], value: Any) -> Any:
    """A copy of `instance` with `value` at `place`, making the objects and arrays on the way."""
    if not place:
        return copy.deepcopy(value)
    root = copy.deepcopy(instance)
    head, *rest = place
    if isinstance(head, int):
        items = root if isinstance(root, list) else []
        inner = items[head] if head < len(items) else None
        new = put(inner, rest, value)
        return [*items[:head], new, *items[head + 1 :]] if head < len(items) else [*items, new]
    obj = root if isinstance(root, dict) else {}
    obj[head] = put(obj.get(head), rest, value)
    return obj


def remove(instance: Any, place: list[str | int]) -> Any:
    """A copy of `instance` without what is at `place` (unchanged if nothing is there)."""
    root = copy.deepcopy(instance)
    node = root
    for token in place[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and isinstance(token, int) and token < len(node):
            node = node[token]
        else:
            return root
    last = place[-1] if place else None
    if isinstance(node, dict) and last in node:
        del node[last]
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        del node[last]
    return root
