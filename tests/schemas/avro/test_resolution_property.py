"""The checker against fastavro's schema resolution, over the pair catalogue: where the checker
says a reader can read a writer, every datum written with the writer is read with the reader;
where it refuses, some datum written with the writer fails to read (or the refusal is one of
the documented places where Eventline or Avro's Java implementation is stricter than fastavro)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from schemas.avro import incompatibilities, parse_avro
from tests.schemas.avro.resolution import round_trip, writer_data

PAIRS = json.loads((Path(__file__).parent / "pairs.json").read_text())["pairs"]

# (writer, reader, case id): both directions of every pair.
DIRECTIONS = [
    (entry["old"], entry["new"], f"{entry['id']} [new reads old]") for entry in PAIRS
] + [(entry["new"], entry["old"], f"{entry['id']} [old reads new]") for entry in PAIRS]


def readable(writer: Any, reader: Any) -> bool:
    return not incompatibilities(parse_avro(reader).root, parse_avro(writer).root)


ACCEPTED = [case for case in DIRECTIONS if readable(case[0], case[1])]
REFUSED = [case for case in DIRECTIONS if not readable(case[0], case[1])]

# Refusals fastavro does not share, each on purpose:
STRICTER_THAN_FASTAVRO = {
    # Eventline: the same unscaled number would be read as another value (fastavro reads it).
    "logical/decimal scale changed [new reads old]",
    "logical/decimal scale changed [old reads new]",
    "logical/decimal precision changed [new reads old]",
    "logical/decimal precision changed [old reads new]",
    # Avro's Java SchemaCompatibility (what Confluent runs): a relative alias takes the reader's
    # namespace, so new.Order does not name old.Order; fastavro compares aliases unqualified.
    "alias/alias names another namespace [new reads old]",
}


def test_the_catalogue_has_accepted_and_refused_directions():
    assert len(ACCEPTED) > 150 and len(REFUSED) > 100


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.data())
def test_a_reader_the_checker_accepts_reads_whatever_the_writer_wrote(data):
    writer, reader, case = data.draw(st.sampled_from(ACCEPTED), label="pair")
    value = data.draw(writer_data(writer), label="datum")

    round_trip(writer, reader, value)  # raises if fastavro cannot resolve it


@pytest.mark.parametrize("case", ACCEPTED, ids=[case[2] for case in ACCEPTED])
def test_every_accepted_pair_reads_a_sample_of_writer_data(case):
    writer, reader, _ = case
    try:
        failing = find(writer_data(writer), lambda value: _fails(writer, reader, value), settings=_sample)
    except NoSuchExample:
        return
    pytest.fail(f"the checker accepts this pair but fastavro cannot read {failing!r}")


# Only generation: a datum that fails is proof enough, so nothing is spent shrinking it.
_sample = settings(
    max_examples=25, database=None, suppress_health_check=list(HealthCheck), deadline=None, phases=[Phase.generate]
)
_search = settings(
    max_examples=150, database=None, suppress_health_check=list(HealthCheck), deadline=None, phases=[Phase.generate]
)


def _fails(writer: Any, reader: Any, value: Any) -> bool:
    try:
        round_trip(writer, reader, value)
    except Exception:  # noqa: BLE001 - fastavro raises SchemaResolutionError, ValueError, KeyError... on a failed read
        return True
    return False


@pytest.mark.parametrize("case", REFUSED, ids=[case[2] for case in REFUSED])
def test_a_refusal_is_backed_by_data_the_reader_cannot_read(case):
    writer, reader, case_id = case
    try:
        find(writer_data(writer), lambda value: _fails(writer, reader, value), settings=_search)
    except NoSuchExample:
        assert case_id in STRICTER_THAN_FASTAVRO, "false alarm: fastavro read every datum the checker said it could not"
    else:
        assert case_id not in STRICTER_THAN_FASTAVRO, "fastavro now refuses this too: drop it from the list"
