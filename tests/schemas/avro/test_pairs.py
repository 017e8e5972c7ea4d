"""The Avro pair catalogue (`pairs.json`, written by `build_pairs.py` from the specification's
resolution rules) through the registry's checker at BACKWARD, FORWARD and FULL, the sequences at
every level including the _TRANSITIVE ones, and a sample of pairs through the HTTP API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schemas.avro import parse_avro
from schemas.compatibility import CompatibilityLevel, check_compatibility
from schemas.compatibility.checker import SchemaVersion

CATALOGUE = json.loads((Path(__file__).parent / "pairs.json").read_text())
PAIRS = CATALOGUE["pairs"]
SEQUENCES = CATALOGUE["sequences"]
LEVELS = ("backward", "forward", "full")


def version(schema: Any, number: int | None) -> SchemaVersion:
    return SchemaVersion(version=number, schema=schema, schema_text=json.dumps(schema), schema_type="AVRO")


def verdict(old: Any, new: Any, level: str) -> bool:
    return check_compatibility(version(new, None), [version(old, 1)], CompatibilityLevel(level.upper())).is_compatible


def test_the_catalogue_covers_every_rule_the_issue_names_with_at_least_150_pairs():
    assert len(PAIRS) >= 150
    rules = {entry["rule"] for entry in PAIRS}
    assert rules >= {"promotion", "field", "enum", "union", "alias", "recursion", "named", "logical", "fixed", "nested"}
    for entry in PAIRS:
        assert entry["full"] == (entry["backward"] and entry["forward"]), entry["id"]


@pytest.mark.parametrize("entry", PAIRS, ids=[entry["id"] for entry in PAIRS])
def test_every_catalogue_schema_is_valid_avro(entry):
    parse_avro(entry["old"])
    parse_avro(entry["new"])


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("entry", PAIRS, ids=[entry["id"] for entry in PAIRS])
def test_the_checker_gives_the_specifications_answer_at_each_level(entry, level):
    assert verdict(entry["old"], entry["new"], level) is entry[level], entry.get("note", "")


SEQUENCE_LEVELS = ("BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE")


@pytest.mark.parametrize("level", SEQUENCE_LEVELS)
@pytest.mark.parametrize("sequence", SEQUENCES, ids=[sequence["id"] for sequence in SEQUENCES])
def test_the_last_version_of_a_sequence_is_checked_against_the_versions_its_level_names(sequence, level):
    *earlier, last = sequence["versions"]
    previous = [version(schema, number) for number, schema in enumerate(earlier, start=1)]

    result = check_compatibility(version(last, None), previous, CompatibilityLevel(level))

    assert result.is_compatible is sequence[level]


# Through /registry/: one pair per rule, each answer at each level as Confluent's clients see it.
HTTP_SAMPLE = [next(entry for entry in PAIRS if entry["rule"] == rule) for rule in dict.fromkeys(e["rule"] for e in PAIRS)]
HTTP_SAMPLE += [entry for entry in PAIRS if entry["id"] in {"enum/symbol added, old has default", "union/[null,string] -> string"}]


@pytest.mark.django_db
@pytest.mark.parametrize("entry", HTTP_SAMPLE, ids=[entry["id"] for entry in HTTP_SAMPLE])
def test_the_http_compatibility_check_gives_the_same_answers(registry, entry):
    first = registry.post("/subjects/pair-value/versions", {"schema": json.dumps(entry["old"])})
    assert first.status_code == 200, first.content

    for level in LEVELS:
        assert registry.put("/config/pair-value", {"compatibility": level.upper()}).status_code == 200
        answer = registry.post(
            "/compatibility/subjects/pair-value/versions/latest?verbose=true", {"schema": json.dumps(entry["new"])}
        )
        assert answer.status_code == 200, answer.content
        assert answer.json()["is_compatible"] is entry[level], (level, answer.json())
