"""Schema documents: draft detection, canonical text, meta-schema checks, local reference resolution."""

from __future__ import annotations

import pytest

from schemas.compatibility.drafts import Draft
from schemas.documents import (
    Reference,
    canonical_text,
    check_schema,
    compile_validator,
    draft_of,
    fingerprint,
    json_pointer,
    parse_schema_text,
)
from schemas.errors import InvalidSchema
from tests.schemas.factories import DRAFT_URIS


@pytest.mark.parametrize(
    ("uri", "draft"),
    [
        (DRAFT_URIS["draft-04"], Draft.DRAFT_04),
        ("http://json-schema.org/draft-06/schema", Draft.DRAFT_06),
        ("https://json-schema.org/draft-07/schema#", Draft.DRAFT_07),
        (DRAFT_URIS["2019-09"], Draft.DRAFT_2019_09),
        ("https://json-schema.org/draft/2020-12/schema#", Draft.DRAFT_2020_12),
    ],
)
def test_the_draft_is_read_from_dollar_schema(uri, draft):
    assert draft_of({"$schema": uri}) is draft


def test_a_schema_without_dollar_schema_is_read_as_draft_07_as_in_confluent():
    assert draft_of({"type": "string"}) is Draft.DRAFT_07
    assert draft_of(True) is Draft.DRAFT_07


def test_a_schema_without_dollar_schema_validates_tuple_items_by_draft_07():
    draft, validator = check_schema({"type": "array", "items": [{"type": "string"}], "additionalItems": False})
    assert draft is Draft.DRAFT_07
    assert validator.is_valid(["a"])
    assert not validator.is_valid([1])
    assert not validator.is_valid(["a", "b"])


def test_a_schema_without_dollar_schema_ignores_2020_12_only_keywords_as_draft_07_does():
    _, validator = check_schema({"type": "array", "prefixItems": [{"type": "string"}], "unevaluatedItems": False})
    assert validator.is_valid([1, 2])


@pytest.mark.parametrize(
    "uri", ["http://json-schema.org/draft-03/schema#", "http://example.com/x", "http://json-schema.org/schema#", 7]
)
def test_an_unknown_draft_is_refused_without_fetching_it(uri):
    with pytest.raises(InvalidSchema, match="unknown JSON Schema draft"):
        draft_of({"$schema": uri})


def test_canonical_text_is_compact_and_keeps_key_order_unless_normalised():
    parsed = parse_schema_text('{ "type" : "object",\n  "properties": {"b": {}, "a": {}} }')
    assert canonical_text(parsed) == '{"type":"object","properties":{"b":{},"a":{}}}'
    assert canonical_text(parsed, normalize=True) == '{"properties":{"a":{},"b":{}},"type":"object"}'


def test_large_integers_survive_canonicalisation():
    assert canonical_text(parse_schema_text('{"maximum": 123456789012345678901234567890}')) == (
        '{"maximum":123456789012345678901234567890}'
    )


def test_fingerprints_differ_by_type_text_and_references():
    base = fingerprint("JSON", "{}", [])
    assert base == fingerprint("JSON", "{}", [])
    assert base != fingerprint("AVRO", "{}", [])
    assert base != fingerprint("JSON", '{"type":"string"}', [])
    assert base != fingerprint("JSON", "{}", [Reference("a", "s", 1)])


def test_meta_schema_failures_list_each_problem_with_its_path():
    with pytest.raises(InvalidSchema) as raised:
        check_schema({"type": "strin", "properties": {"a": {"minimum": "x"}}})
    message = raised.value.message
    assert "draft-07 meta-schema" in message
    assert "at /type" in message and "at /properties/a/minimum" in message


def test_an_invalid_regex_is_refused():
    with pytest.raises(InvalidSchema, match="regex"):
        check_schema({"type": "string", "pattern": "(unclosed"})


def test_references_resolve_by_name_relative_uri_and_own_id():
    address = {"$id": "https://example.com/address.json", "type": "object", "required": ["city"]}
    for ref in ("address.json", "https://example.com/address.json"):
        _, validator = check_schema({"properties": {"home": {"$ref": ref}}}, {"address.json": address})
        assert not validator.is_valid({"home": {}})
        assert validator.is_valid({"home": {"city": "x"}})


def test_a_remote_reference_is_never_fetched():
    with pytest.raises(InvalidSchema, match="never fetched"):
        compile_validator({"$ref": "http://127.0.0.1:9/nothing.json"})


def test_json_pointer_escapes_tokens():
    assert json_pointer([]) == ""
    assert json_pointer(["a/b", 0, "c~d"]) == "/a~1b/0/c~0d"
