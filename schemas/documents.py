"""JSON Schema documents as the registry handles them: parse, canonicalise, fingerprint, check
against the draft's meta-schema, and compile into a validator with registry references resolved
locally. Pure: no database, no network (a `$ref` that names nothing supplied fails, it is never
fetched).

The draft comes from `$schema`; a schema without one is read as draft-07, as Confluent's registry
reads it (its everit parser defaults to draft-07), so tuple `items: [...]` and `additionalItems`
keep their meaning. Validation, the meta-schema check and the compatibility checker all use that
one draft.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag, urljoin

import jsonschema
import jsonschema_rs

from schemas.compatibility.drafts import DEFAULT_DRAFT, Draft
from schemas.compatibility.refs import EXTERNAL_BASE, ROOT_BASE, DocumentSet, UnresolvedReference
from schemas.errors import InvalidSchema

#: `$schema` URIs of the five supported drafts (http or https, with or without the empty fragment).
_DRAFT_URIS: tuple[tuple[re.Pattern[str], Draft], ...] = (
    (re.compile(r"^https?://json-schema\.org/draft-04/schema#?$"), Draft.DRAFT_04),
    (re.compile(r"^https?://json-schema\.org/draft-06/schema#?$"), Draft.DRAFT_06),
    (re.compile(r"^https?://json-schema\.org/draft-07/schema#?$"), Draft.DRAFT_07),
    (re.compile(r"^https?://json-schema\.org/draft/2019-09/schema#?$"), Draft.DRAFT_2019_09),
    (re.compile(r"^https?://json-schema\.org/draft/2020-12/schema#?$"), Draft.DRAFT_2020_12),
)
DRAFT_NAMES = {
    Draft.DRAFT_04: "draft-04",
    Draft.DRAFT_06: "draft-06",
    Draft.DRAFT_07: "draft-07",
    Draft.DRAFT_2019_09: "2019-09",
    Draft.DRAFT_2020_12: "2020-12",
}
SUPPORTED_DRAFTS_TEXT = "draft-04, draft-06, draft-07, 2019-09 and 2020-12"
_MAX_ISSUES_IN_MESSAGE = 5


@dataclass(frozen=True)
class Reference:
    """A registry reference: `$ref`s naming `name` resolve to `subject` version `version`."""

    name: str
    subject: str
    version: int

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "subject": self.subject, "version": self.version}


def parse_schema_text(text: str) -> Any:
    """The JSON value of a schema string; InvalidSchema (42201) naming the parse error."""
    if not text or not text.strip():
        raise InvalidSchema("Empty schema")
    try:
        # The stdlib parser keeps integers of any size and the key order, both part of the text.
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidSchema(f"Invalid schema: not valid JSON ({exc})") from None


def draft_of(schema: Any) -> Draft:
    """The draft named by `$schema`; InvalidSchema for a `$schema` that names none of the five."""
    if not isinstance(schema, dict):
        if isinstance(schema, bool):
            return DEFAULT_DRAFT
        raise InvalidSchema(f"Invalid schema: a JSON Schema is an object or a boolean, not {_json_kind(schema)}")
    uri = schema.get("$schema")
    if uri is None:
        return DEFAULT_DRAFT
    if isinstance(uri, str):
        for pattern, draft in _DRAFT_URIS:
            if pattern.match(uri):
                return draft
    raise InvalidSchema(
        f"Invalid schema: unknown JSON Schema draft in $schema {json.dumps(uri)}; "
        f"supported drafts are {SUPPORTED_DRAFTS_TEXT}"
    )


def canonical_text(schema: Any, *, normalize: bool = False) -> str:
    """The stored form: compact JSON in the key order given (Confluent's canonical string), or
    with keys sorted when normalising. Whitespace-only differences therefore share an id."""
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False, sort_keys=normalize)


def fingerprint(schema_type: str, text: str, references: Sequence[Reference]) -> str:
    """What makes two registrations the same schema id: type, canonical text and references."""
    material = json.dumps([schema_type, text, [[r.name, r.subject, r.version] for r in references]])
    return hashlib.sha256(material.encode()).hexdigest()


def reference_uri(name: str) -> str:
    """Where a reference named `name` lives for `$ref` resolution (the compatibility checker's rule)."""
    return urljoin(EXTERNAL_BASE, name)


class _LocalRetriever:
    """Serves referenced documents to jsonschema-rs by URI, the way the compatibility checker
    finds them (exact URI, a document's own `$id`, or the reference name as last segment), and
    refuses everything else: nothing is ever fetched."""

    def __init__(self, references: Mapping[str, Any]) -> None:
        self.by_uri: dict[str, Any] = {}
        self.by_name: dict[str, Any] = {}
        for name, document in references.items():
            self.by_uri.setdefault(reference_uri(name), document)
            self.by_name.setdefault(name, document)
            own_id = document.get("$id") or document.get("id") if isinstance(document, dict) else None
            if isinstance(own_id, str) and own_id:
                self.by_uri.setdefault(urldefrag(urljoin(reference_uri(name), own_id))[0], document)

    def __call__(self, uri: str) -> Any:
        uri = urldefrag(uri)[0]
        if uri in self.by_uri:
            return self.by_uri[uri]
        for name, document in self.by_name.items():
            if uri.endswith("/" + name) or uri.rsplit("/", 1)[-1] == name:
                return document
        raise LookupError(f"'{uri}' is not among this schema's references (remote references are never fetched)")


def compile_validator(schema: Any, references: Mapping[str, Any] | None = None) -> jsonschema_rs.Validator:
    """A compiled validator for `schema`, its references served locally. jsonschema-rs checks
    the schema against its draft's meta-schema while compiling.

    Formats are asserted in every draft: the compatibility checker treats adding `format` as a
    breaking change, so the validator must enforce what the checker protects.
    """
    try:
        return _compile(schema, references)
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        raise InvalidSchema(f"Invalid schema: {_first_line(str(exc))}") from None


#: `pattern`, `patternProperties` and `format: regex` run on Rust's `regex` engine, which matches in
#: linear time: jsonschema-rs's default engine backtracks for lookaround and backreferences, and
#: patterns come from whoever may register. A pattern it cannot run is refused at registration.
_LINEAR_PATTERNS = jsonschema_rs.RegexOptions()


#: jsonschema-rs validator per draft: `validator_for` would read a schema without `$schema` as
#: 2020-12, so the class is picked from the registry's own reading of the draft.
_VALIDATOR_CLASSES: dict[Draft, type[jsonschema_rs.Validator]] = {
    Draft.DRAFT_04: jsonschema_rs.Draft4Validator,
    Draft.DRAFT_06: jsonschema_rs.Draft6Validator,
    Draft.DRAFT_07: jsonschema_rs.Draft7Validator,
    Draft.DRAFT_2019_09: jsonschema_rs.Draft201909Validator,
    Draft.DRAFT_2020_12: jsonschema_rs.Draft202012Validator,
}


def _compile(schema: Any, references: Mapping[str, Any] | None) -> jsonschema_rs.Validator:
    validator_class = _VALIDATOR_CLASSES[draft_of(schema)]
    return validator_class(
        schema,
        validate_formats=True,
        retriever=_LocalRetriever(references or {}),
        base_uri=ROOT_BASE,
        pattern_options=_LINEAR_PATTERNS,
    )


def check_schema(schema: Any, references: Mapping[str, Any] | None = None) -> tuple[Draft, jsonschema_rs.Validator]:
    """Check a schema as registration does: known draft, valid against the draft's meta-schema,
    every `$ref` resolvable among itself and its references (referenced documents were checked
    when they were registered), compilable. Returns the draft and the compiled validator; raises
    InvalidSchema (42201) naming the first problems found."""
    draft = draft_of(schema)
    try:
        validator = _compile(schema, references)
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        # jsonschema-rs stops at the first problem; say every meta-schema problem, with its path.
        _check_meta_schema(schema, draft)
        _check_references(schema, references)
        raise InvalidSchema(f"Invalid schema: {_first_line(str(exc))}") from None
    # The compatibility checker resolves `$ref`s itself: it must find every target too.
    _check_references(schema, references)
    return draft, validator


def _check_references(schema: Any, references: Mapping[str, Any] | None) -> None:
    try:
        DocumentSet(schema, references).check_references()
    except UnresolvedReference as exc:
        raise InvalidSchema(
            f"Invalid schema: unresolved reference: {exc} names nothing in the schema or its references "
            "(remote references are never fetched)"
        ) from None


def _check_meta_schema(schema: Any, draft: Draft) -> None:
    if isinstance(schema, bool):
        return
    # The `jsonschema` library carries all five meta-schemas and lists every error with its path;
    # registration is not a hot path, so its speed does not matter here.
    meta_validator = _META_VALIDATORS[draft]
    issues: list[str] = []
    for error in meta_validator.iter_errors(schema):
        issue = f"at {json_pointer(list(error.absolute_path)) or '(root)'}: {_first_line(error.message)}"
        # 2019-09+ meta-schemas reach one keyword through several vocabularies: same error again.
        if issue not in issues:
            issues.append(issue)
        if len(issues) >= _MAX_ISSUES_IN_MESSAGE:
            break
    if issues:
        raise InvalidSchema(
            f"Invalid schema: it does not conform to the JSON Schema {DRAFT_NAMES[draft]} meta-schema: "
            + "; ".join(issues)
        )


_META_VALIDATORS: dict[Draft, Any] = {
    draft: cls(cls.META_SCHEMA)
    for draft, cls in (
        (Draft.DRAFT_04, jsonschema.Draft4Validator),
        (Draft.DRAFT_06, jsonschema.Draft6Validator),
        (Draft.DRAFT_07, jsonschema.Draft7Validator),
        (Draft.DRAFT_2019_09, jsonschema.Draft201909Validator),
        (Draft.DRAFT_2020_12, jsonschema.Draft202012Validator),
    )
}


def json_pointer(path: Sequence[str | int]) -> str:
    """RFC 6901 pointer for a path of keys and indexes ("" for the root)."""
    return "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in path)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def check_nesting(schema: Any, references: Mapping[str, Any] | None = None) -> None:
    """InvalidSchema (42201) when `schema` nests more than EVENTLINE_MAX_JSON_DEPTH arrays and
    objects, reading each `$ref` as the subschema it names (a link in a chain of references
    counts one level): the compatibility checker and the validator recurse that deep. A
    reference back into its own path is recursion, which the data bounds, and counts once."""
    from core.jsonutil import max_json_depth

    limit = max_json_depth()
    if _nests_deeper(schema, _reference_targets(schema, references), limit):
        raise InvalidSchema(
            f"Invalid schema: nested more than {limit} levels deep, counting each $ref as the subschema it "
            "names (EVENTLINE_MAX_JSON_DEPTH)"
        )


def _reference_targets(schema: Any, references: Mapping[str, Any] | None) -> dict[int, list[Any]]:
    """id of each subschema holding a `$ref` -> what it resolves to (unresolvable ones are left
    to check_schema to name)."""
    if not isinstance(schema, dict):
        return {}
    documents = DocumentSet(schema, references)
    targets: dict[int, list[Any]] = {}
    for document in (documents.root, *documents.externals):
        try:
            document.base_of(document.raw)  # indexes the document, listing its references
        except ValueError:  # an $id urljoin cannot read: check_schema refuses it
            continue
        for holder, ref in document.references:
            try:
                targets.setdefault(id(holder), []).append(documents.resolve(ref, document, holder)[1])
            except (UnresolvedReference, ValueError):
                continue
    return targets


def _nests_deeper(root: Any, targets: Mapping[int, list[Any]], limit: int) -> bool:
    """Depth-first without recursion, each node's height worked out once (shared subschemas are
    common); a child already on the path is a cycle and adds nothing."""

    def children(node: Any) -> Iterator[Any]:
        values = node.values() if isinstance(node, dict) else node
        yield from (child for child in values if isinstance(child, (dict, list)))
        yield from targets.get(id(node), ())

    if not isinstance(root, (dict, list)):
        return False
    heights: dict[int, int] = {}
    on_path = {id(root)}
    path: list[tuple[Any, Iterator[Any]]] = [(root, children(root))]
    deepest_below = [0]
    while path:
        node, pending = path[-1]
        for child in pending:
            key = id(child)
            if key in on_path:
                continue
            known = heights.get(key)
            if known is not None:
                if len(path) + known > limit:
                    return True
                deepest_below[-1] = max(deepest_below[-1], known)
                continue
            if len(path) >= limit:
                return True
            on_path.add(key)
            path.append((child, children(child)))
            deepest_below.append(0)
            break
        else:
            path.pop()
            on_path.discard(id(node))
            height = deepest_below.pop() + 1
            heights[id(node)] = height
            if deepest_below:
                deepest_below[-1] = max(deepest_below[-1], height)
    return False
