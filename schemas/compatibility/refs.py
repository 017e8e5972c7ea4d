"""``$ref`` resolution without any network access.

Each side of a diff is a ``DocumentSet``: the schema itself plus the documents its
registry references name (``references: {name: parsed schema}``). A ``$ref`` is resolved
against the base URI of the subschema holding it (``$id`` changes the base), then looked
up among the documents' resources (root ``$id``s, embedded ``$id``s, reference names),
then its fragment is read as a JSON pointer or a plain-name anchor. Anything else raises
``UnresolvedReference``; nothing is ever fetched.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote, urldefrag, urljoin

from .drafts import Draft, detect_draft
from .jsonvalues import JSON

#: Bases for documents without ``$id``: never fetched, only used to join relative refs.
EXTERNAL_BASE = "https://eventline.invalid/schemas/"
ROOT_BASE = EXTERNAL_BASE + "__root__.json"

#: Keywords whose value is one subschema, a map of subschemas, or a list of subschemas.
_SCHEMA_VALUE_KEYWORDS = (
    "additionalProperties",
    "unevaluatedProperties",
    "items",
    "additionalItems",
    "unevaluatedItems",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
)
_SCHEMA_MAP_KEYWORDS = (
    "properties",
    "patternProperties",
    "definitions",
    "$defs",
    "dependentSchemas",
    "dependencies",
)
_SCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf", "items", "prefixItems")
#: keyword -> what its value holds, for the index walk ("items" may be a schema or a list).
_KEYWORD_ROLES: dict[str, str] = {
    **{keyword: "child" for keyword in _SCHEMA_VALUE_KEYWORDS},
    **{keyword: "map" for keyword in _SCHEMA_MAP_KEYWORDS},
    **{keyword: "list" for keyword in ("allOf", "anyOf", "oneOf", "prefixItems")},
    "$anchor": "anchor",
    "$dynamicAnchor": "anchor",
    "$ref": "ref",
    "$dynamicRef": "ref",
    "$recursiveRef": "ref",
}


class UnresolvedReference(Exception):
    """A ``$ref`` that names nothing in the schema or in the references supplied with it."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"Unresolved $ref '{ref}'")
        self.ref = ref


class Document:
    """One parsed schema document: its draft, base URI and (lazily) its ``$id``/anchor index."""

    def __init__(self, raw: JSON, name: str | None, default_draft: Draft | None = None) -> None:
        self.raw = raw
        self.name = name
        self.draft = detect_draft(raw) if default_draft is None else detect_draft(raw, default_draft)
        fallback = ROOT_BASE if name is None else urljoin(EXTERNAL_BASE, name)
        own_id = _own_id(raw, self.draft)
        self.base = urldefrag(urljoin(fallback, own_id))[0] if own_id else fallback
        self.aliases = {self.base, urldefrag(fallback)[0]}
        self._bases: dict[int, str] | None = None
        self._resources: dict[str, JSON] = {}
        self._anchors: dict[str, JSON] = {}
        #: Every (holder, ref) written in this document, found by the index walk.
        self.references: list[tuple[dict[str, JSON], str]] = []

    def base_of(self, raw: JSON) -> str:
        """Base URI in force inside ``raw`` (a subschema of this document)."""
        return self._index().get(id(raw), self.base)

    def resource(self, uri: str) -> JSON | None:
        self._index()
        if uri in self.aliases:
            return self.raw
        return self._resources.get(uri)

    def anchor(self, uri_with_fragment: str) -> JSON | None:
        self._index()
        return self._anchors.get(uri_with_fragment)

    def _index(self) -> dict[int, str]:
        if self._bases is not None:
            return self._bases
        bases: dict[int, str] = {}
        id_keywords = ("$id", "id") if self.draft is Draft.DRAFT_04 else ("$id",)
        stack: list[tuple[dict[str, JSON], str]] = [(self.raw, self.base)] if isinstance(self.raw, dict) else []
        while stack:
            raw, base = stack.pop()
            for id_keyword in id_keywords:
                own_id = raw.get(id_keyword)
                if isinstance(own_id, str) and own_id:
                    if own_id.startswith("#"):
                        self._anchors[base + own_id] = raw
                    else:
                        base = urldefrag(urljoin(base, own_id))[0]
                        self._resources[base] = raw
                    break
            bases[id(raw)] = base
            for keyword, value in raw.items():
                role = _KEYWORD_ROLES.get(keyword)
                if role is None:
                    continue
                if role == "child":
                    if isinstance(value, dict):
                        stack.append((value, base))
                    elif isinstance(value, list) and keyword in _SCHEMA_LIST_KEYWORDS:
                        stack.extend((child, base) for child in value if isinstance(child, dict))
                elif role == "map":
                    if isinstance(value, dict):
                        stack.extend((child, base) for child in value.values() if isinstance(child, dict))
                elif role == "list":
                    if isinstance(value, list):
                        stack.extend((child, base) for child in value if isinstance(child, dict))
                elif role == "anchor":
                    if isinstance(value, str):
                        self._anchors[base + "#" + value] = raw
                elif isinstance(value, str):
                    self.references.append((raw, value))
        self._bases = bases
        return bases


def _own_id(raw: JSON, draft: Draft) -> str | None:
    if not isinstance(raw, dict):
        return None
    value = raw.get("$id")
    if value is None and draft is Draft.DRAFT_04:
        value = raw.get("id")
    return value if isinstance(value, str) and value else None


class DocumentSet:
    """The schema on one side of a diff plus the referenced documents supplied with it."""

    def __init__(self, root: JSON, references: Mapping[str, JSON] | None = None) -> None:
        self.root = Document(root, None)
        self.externals = [
            Document(schema, name, default_draft=self.root.draft) for name, schema in (references or {}).items()
        ]

    def check_references(self) -> None:
        """Resolve every reference written anywhere, so a bad one fails even if the diff never reaches it."""
        for doc in (self.root, *self.externals):
            doc.base_of(doc.raw)
            for holder, ref in doc.references:
                self.resolve(ref, doc, holder)

    def resolve(self, ref: str, doc: Document, holder: JSON) -> tuple[Document, JSON]:
        """Resolve ``ref`` written inside ``holder`` (a subschema of ``doc``)."""
        absolute = urljoin(doc.base_of(holder), ref)
        uri, fragment = urldefrag(absolute)
        found = self._find_resource(uri, ref.split("#", 1)[0], doc)
        if found is None:
            raise UnresolvedReference(ref)
        target_doc, resource = found
        target = _resolve_fragment(target_doc, resource, uri, fragment)
        if target is None:
            raise UnresolvedReference(ref)
        return target_doc, target

    def _find_resource(self, uri: str, written: str, current: Document) -> tuple[Document, JSON] | None:
        for candidate in (current, self.root, *self.externals):
            resource = candidate.resource(uri)
            if resource is not None:
                return candidate, resource
        if not written:
            return None
        last_segment = uri.rsplit("/", 1)[-1]
        for external in self.externals:
            if external.name in (written, last_segment):
                return external, external.raw
        return None


def _resolve_fragment(doc: Document, resource: JSON, uri: str, fragment: str) -> JSON | None:
    if not fragment:
        return resource
    if not fragment.startswith("/"):
        return doc.anchor(uri + "#" + fragment)
    target: JSON = resource
    for token in unquote(fragment).split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and token in target:
            target = target[token]
        elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
            target = target[int(token)]
        else:
            return None
    return target
