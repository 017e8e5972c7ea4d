"""Test helpers that put an Avro pair through fastavro's own schema resolution: data generated for
the writer schema (hypothesis strategies from the registry's node model), written with
`schemaless_writer` and read back with `schemaless_reader(writer_schema, reader_schema)`.

fastavro runs without logical types: the specification resolves on the underlying types, and
fastavro's conversions (a uuid string parsed, a decimal scaled) would fail on data that resolves
fine. Bytes are generated as UTF-8 text, so that a string reader's promotion is tested and not
fastavro's UTF-8 decoder.
"""

from __future__ import annotations

import functools
import io
import json
from typing import Any

import fastavro
from hypothesis import strategies as st

from schemas.avro import Node, parse_avro

MAX_DEPTH = 3


def without_logical_types(raw: Any) -> Any:
    if isinstance(raw, list):
        return [without_logical_types(item) for item in raw]
    if isinstance(raw, dict):
        return {key: without_logical_types(value) for key, value in raw.items() if key not in ("logicalType", "precision", "scale")}
    return raw


def fastavro_schema(raw: Any) -> Any:
    return _parsed(json.dumps(raw))


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> Any:
    return fastavro.parse_schema(without_logical_types(json.loads(text)), _write_hint=False)


def datum(node: Node, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values fastavro writes with `node`, every branch, symbol and size reachable."""
    kind = node.kind
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "int":
        return st.integers(-(2**31), 2**31 - 1)
    if kind == "long":
        return st.integers(-(2**63), 2**63 - 1)
    if kind in ("float", "double"):
        return st.floats(allow_nan=False, width=32 if kind == "float" else 64)
    if kind == "string":
        return st.text(max_size=8)
    if kind == "bytes":
        return st.text(max_size=8).map(str.encode)
    if kind == "fixed":
        return st.binary(min_size=node.size or 0, max_size=node.size or 0)
    if kind == "enum":
        return st.sampled_from(node.symbols)
    if kind == "array":
        assert node.items is not None
        if depth >= MAX_DEPTH:
            return st.just([])
        return st.lists(st.deferred(lambda: datum(node.items, depth + 1)), max_size=3)  # type: ignore[arg-type]
    if kind == "map":
        assert node.values is not None
        if depth >= MAX_DEPTH:
            return st.just({})
        return st.dictionaries(st.text(max_size=4), st.deferred(lambda: datum(node.values, depth + 1)), max_size=3)  # type: ignore[arg-type]
    if kind == "union":
        branches = node.branches
        if depth >= MAX_DEPTH and any(branch.kind == "null" for branch in branches):
            return st.none()
        return st.one_of(*[_branch(branch, depth) for branch in branches])
    assert kind == "record"
    return st.fixed_dictionaries({item.name: st.deferred(lambda t=item.type: datum(t, depth + 1)) for item in node.fields})


def _branch(branch: Node, depth: int) -> st.SearchStrategy[Any]:
    # Named branches go in fastavro's tuple notation, so the branch written is the one drawn.
    if branch.kind in ("record", "enum", "fixed"):
        return datum(branch, depth).map(lambda value: (branch.name, value))
    return datum(branch, depth)


def writer_data(raw: Any) -> st.SearchStrategy[Any]:
    return _writer_data(json.dumps(raw))


@functools.lru_cache(maxsize=1024)
def _writer_data(text: str) -> st.SearchStrategy[Any]:
    return datum(parse_avro(json.loads(text)).root)


def round_trip(writer_raw: Any, reader_raw: Any, value: Any) -> Any:
    """Write `value` with the writer schema and read it with the reader schema; fastavro's errors
    propagate."""
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro_schema(writer_raw), value)
    buffer.seek(0)
    return fastavro.schemaless_reader(buffer, fastavro_schema(writer_raw), fastavro_schema(reader_raw))
