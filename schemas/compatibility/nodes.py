"""How a raw JSON schema is modelled before diffing.

Like Confluent's parser, a subschema becomes one *node* of a kind (string, number,
object, array, enum, combined, not, empty, false...). Keywords of several kinds side by
side (``type`` with ``enum``, ``type`` with ``allOf``...) become a *synthetic* ``allOf``
of one part per kind, whose parts are views of the same JSON object. ``type: [a, b]``
becomes an ``anyOf`` of one part per type. ``const: c`` is modelled as ``enum: [c]``.
A ``$ref`` is followed (transparently unless 2019-09+ keywords sit beside it, in which
case the target becomes the first part of a synthetic ``allOf``). A node sees only the
keywords its document's draft knows (``drafts.KEYWORD_DRAFTS``).

Nodes are built lazily and cached per JSON object, so a schema used in several
comparisons (the new version checked against ten old ones) is modelled once.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from .drafts import known_keywords
from .jsonvalues import JSON, json_key
from .patterns import accepts_every_string
from .refs import Document, DocumentSet


class Kind(enum.Enum):
    __hash__ = object.__hash__

    EMPTY = "any"
    FALSE = "nothing"
    BOOLEAN = "boolean"
    NULL = "null"
    STRING = "string"
    NUMBER = "number"
    OBJECT = "object"
    ARRAY = "array"
    ENUM = "enum"
    COMBINED = "combined"
    NOT = "not"


STRING_KEYWORDS = frozenset({"maxLength", "minLength", "pattern", "format"})
NUMBER_KEYWORDS = frozenset({"maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum", "multipleOf"})
OBJECT_KEYWORDS = frozenset(
    {
        "properties",
        "required",
        "additionalProperties",
        "patternProperties",
        "dependencies",
        "dependentRequired",
        "dependentSchemas",
        "minProperties",
        "maxProperties",
        "propertyNames",
        "unevaluatedProperties",
    }
)
ARRAY_KEYWORDS = frozenset(
    {
        "items",
        "prefixItems",
        "additionalItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "unevaluatedItems",
    }
)

#: Keyword families that make a type-less schema "sniffed" as that kind (in this order).
_SNIFFED_KINDS: tuple[tuple[Kind, frozenset[str]], ...] = (
    (Kind.STRING, STRING_KEYWORDS),
    (Kind.NUMBER, NUMBER_KEYWORDS),
    (Kind.OBJECT, OBJECT_KEYWORDS),
    (Kind.ARRAY, ARRAY_KEYWORDS),
)

#: ``type`` name -> (kind, integer flag).
_TYPE_NAMES: dict[str, tuple[Kind, bool]] = {
    "string": (Kind.STRING, False),
    "integer": (Kind.NUMBER, True),
    "number": (Kind.NUMBER, False),
    "object": (Kind.OBJECT, False),
    "array": (Kind.ARRAY, False),
    "boolean": (Kind.BOOLEAN, False),
    "null": (Kind.NULL, False),
}

COMBINATORS = ("allOf", "anyOf", "oneOf")

#: Keywords that constrain instances; a ``$ref`` with none of these beside it is transparent.
ASSERTION_KEYWORDS = (
    STRING_KEYWORDS
    | NUMBER_KEYWORDS
    | OBJECT_KEYWORDS
    | ARRAY_KEYWORDS
    | frozenset({"type", "enum", "const", "allOf", "anyOf", "oneOf", "not", "if", "then", "else"})
)

_REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
#: Keywords that need more than the one-``type`` fast path.
_COMPOUND_KEYWORDS = frozenset({"enum", "const", "not", *COMBINATORS, *_REF_KEYWORDS})
#: Keywords that say something about a schema without constraining what it accepts.
_NOTES = frozenset({"$schema", "$id", "id", "$comment", "title", "description", "default", "examples"})
_NOT_AND_NOTES = _NOTES | {"not"}


def _constrains_nothing(schema: JSON) -> bool:
    """`true`, `{}` or a schema of notes only: it accepts every instance."""
    return schema is True or (isinstance(schema, dict) and set(schema) <= _NOTES)


class Node:
    """One modelled subschema; ``raw`` is the JSON object its keywords are read from."""

    __slots__ = (
        "kind",
        "raw",
        "keywords",
        "doc",
        "resolver",
        "top",
        "integer",
        "requires_type",
        "criterion",
        "enum_keyword",
        "enum_values",
        "_specs",
        "_branches",
    )

    def __init__(
        self,
        kind: Kind,
        raw: JSON,
        doc: Document,
        resolver: Resolver,
        *,
        integer: bool = False,
        requires_type: bool = True,
        criterion: str = "",
        enum_keyword: str = "",
        enum_values: tuple[JSON, ...] = (),
        specs: tuple[tuple[str, Node | tuple[Document, JSON]], ...] = (),
    ) -> None:
        self.kind = kind
        self.raw = raw
        #: The JSON object holding this node's keywords (empty for boolean schemas).
        self.keywords: dict[str, JSON] = raw if isinstance(raw, dict) else {}
        self.doc = doc
        self.resolver = resolver
        self.top = False
        self.integer = integer
        self.requires_type = requires_type
        self.criterion = criterion
        self.enum_keyword = enum_keyword
        self.enum_values = enum_values
        self._specs = specs
        self._branches: list[tuple[str, Node]] | None = None

    def child(self, raw: JSON) -> Node:
        """The node of a subschema written inside this node's JSON object."""
        return self.resolver.node(self.doc, raw)

    def branches(self) -> list[tuple[str, Node]]:
        """Combined nodes: (path segment, branch) pairs, duplicates already removed."""
        if self._branches is None:
            self._branches = [
                (segment, spec if isinstance(spec, Node) else self.resolver.node(spec[0], spec[1]))
                for segment, spec in self._specs
            ]
        return self._branches

    @property
    def label(self) -> str:
        """Short name of what the node accepts, used as old/new value of type differences."""
        if self.kind is Kind.NUMBER:
            return "integer" if self.integer else "number"
        if self.kind is Kind.COMBINED:
            return self.criterion
        return str(self.kind.value)

    @property
    def has_conditional(self) -> bool:
        return "if" in self.keywords

    @property
    def accepts_anything(self) -> bool:
        """``{}``, ``true`` or annotations only (Confluent's EmptySchema/TrueSchema)."""
        return self.kind is Kind.EMPTY and not self.has_conditional

    def __repr__(self) -> str:
        return f"Node({self.label}, top={self.top})"


class Resolver:
    """Builds and caches the nodes of one side (schema plus its references)."""

    def __init__(self, root: JSON, references: Mapping[str, JSON] | None = None) -> None:
        self.documents = DocumentSet(root, references)
        self.documents.check_references()
        self._cache: dict[int, Node] = {}
        self._following: set[int] = set()
        self._keep_alive: list[JSON] = []

    @property
    def root(self) -> Node:
        return self.node(self.documents.root, self.documents.root.raw)

    def node(self, doc: Document, raw: JSON) -> Node:
        key = id(raw)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        built = self._build(doc, raw)
        self._cache[key] = built
        return built

    def _follow(self, holder: JSON, doc: Document, target: JSON) -> Node:
        """The node a pure ``$ref`` stands for; a chain of refs that loops constrains nothing."""
        if id(holder) in self._following:
            return self._plain(Kind.EMPTY, True, doc)
        self._following.add(id(holder))
        try:
            return self.node(doc, target)
        finally:
            self._following.discard(id(holder))

    def synthetic(self, doc: Document, raw: JSON) -> Node:
        """Node of a JSON object made up by a comparator (kept alive so its id stays unique)."""
        self._keep_alive.append(raw)
        return self.node(doc, raw)

    def _plain(self, kind: Kind, raw: JSON, doc: Document) -> Node:
        node = Node(kind, raw, doc, self)
        node.top = True
        return node

    def _build(self, doc: Document, raw: JSON) -> Node:
        if raw is False:
            return self._plain(Kind.FALSE, raw, doc)
        if not isinstance(raw, dict) or not raw:
            return self._plain(Kind.EMPTY, raw, doc)
        # Nodes read only the keywords the document's draft knows; `raw` stays the identity
        # that $ref resolution and the node cache key on.
        keywords = known_keywords(raw, doc.draft)
        pattern = keywords.get("pattern")
        if isinstance(pattern, str) and accepts_every_string(pattern):
            # `a*` searched matches every string: the keyword constrains nothing.
            keywords = {keyword: value for keyword, value in keywords.items() if keyword != "pattern"}
        if "not" in keywords and set(keywords) <= _NOT_AND_NOTES and _constrains_nothing(keywords["not"]):
            # `{"not": {}}` accepts nothing, exactly as `false` does.
            return self._plain(Kind.FALSE, False, doc)
        if _COMPOUND_KEYWORDS.isdisjoint(keywords):
            type_name = keywords.get("type")
            if isinstance(type_name, str) and type_name in _TYPE_NAMES:
                simple = self._typed(type_name, keywords, doc)
                simple.top = True
                return simple
        parts: list[Node | tuple[Document, JSON]] = []
        for ref_keyword in _REF_KEYWORDS:
            ref = keywords.get(ref_keyword)
            if isinstance(ref, str):
                target_doc, target = self.documents.resolve(ref, doc, raw)
                if doc.draft.ref_overrides_siblings or ASSERTION_KEYWORDS.isdisjoint(keywords):
                    return self._follow(raw, target_doc, target)
                parts.append((target_doc, target))
                break
        parts.extend(self._parts(doc, keywords))
        if not parts:
            return self._plain(Kind.EMPTY, keywords, doc)
        if len(parts) == 1 and isinstance(parts[0], Node):
            parts[0].top = True
            return parts[0]
        node = Node(
            Kind.COMBINED,
            keywords,
            doc,
            self,
            criterion="allOf",
            specs=tuple((f"allOf/{index}", part) for index, part in enumerate(parts)),
        )
        node.top = True
        return node

    def _parts(self, doc: Document, raw: dict[str, JSON]) -> list[Node | tuple[Document, JSON]]:
        parts: list[Node | tuple[Document, JSON]] = []
        enum_values = raw.get("enum")
        if isinstance(enum_values, list):
            parts.append(Node(Kind.ENUM, raw, doc, self, enum_keyword="enum", enum_values=tuple(enum_values)))
        for criterion in COMBINATORS:
            branches = raw.get(criterion)
            if isinstance(branches, list) and branches:
                parts.append(
                    Node(
                        Kind.COMBINED,
                        raw,
                        doc,
                        self,
                        criterion=criterion,
                        specs=_dedup_branches(criterion, branches, doc),
                    )
                )
        if "not" in raw:
            parts.append(Node(Kind.NOT, raw, doc, self))
        if "const" in raw:
            parts.append(Node(Kind.ENUM, raw, doc, self, enum_keyword="const", enum_values=(raw["const"],)))
        type_value = raw.get("type")
        if isinstance(type_value, str) and type_value in _TYPE_NAMES:
            parts.append(self._typed(type_value, raw, doc))
        elif isinstance(type_value, list):
            names = list(dict.fromkeys(name for name in type_value if isinstance(name, str) and name in _TYPE_NAMES))
            if names:
                parts.append(
                    Node(
                        Kind.COMBINED,
                        raw,
                        doc,
                        self,
                        criterion="anyOf",
                        specs=tuple((f"anyOf/{i}", self._typed(name, raw, doc)) for i, name in enumerate(names)),
                    )
                )
        else:
            for kind, keywords in _SNIFFED_KINDS:
                if not keywords.isdisjoint(raw):
                    parts.append(Node(kind, raw, doc, self, requires_type=False))
        return parts

    def _typed(self, type_name: str, raw: JSON, doc: Document) -> Node:
        kind, integer = _TYPE_NAMES[type_name]
        return Node(kind, raw, doc, self, integer=integer)


def _dedup_branches(
    criterion: str, branches: list[JSON], doc: Document
) -> tuple[tuple[str, Node | tuple[Document, JSON]], ...]:
    """Keep the first of structurally equal branches; the segment keeps its JSON index."""
    if len(branches) == 1:
        return ((f"{criterion}/0", (doc, branches[0])),)
    seen: set[object] = set()
    specs: list[tuple[str, Node | tuple[Document, JSON]]] = []
    for index, branch in enumerate(branches):
        key = json_key(branch)
        if key in seen:
            continue
        seen.add(key)
        specs.append((f"{criterion}/{index}", (doc, branch)))
    return tuple(specs)
