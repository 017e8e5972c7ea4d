"""Schema registry benchmarks, each beside a baseline from the same run:

* `GET /registry/schemas/ids/{id}` with 1,000 schemas registered, beside the same server's
  `/healthz` rate (both under wrk);
* registering a 50-property schema checked FULL_TRANSITIVE against 10 versions over HTTP,
  beside the pure checker's time for the same check in-process;
* validating a ~1 KB event against a 30-property schema with the broker's validator
  (jsonschema-rs), beside the `jsonschema` library on the same event (fastjsonschema printed too);
* Avro and Protobuf beside JSON Schema in the same run: ids of 1,000 schemas of each, a
  registration FULL_TRANSITIVE against 10 versions of each, and the same event validated in Avro's
  JSON encoding and in Protobuf's JSON mapping.

    python -m bench.registry --db sqlite|postgres [--quick]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import tempfile
import threading
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import Database, Figure, Http, Report, Server, django_setup, percentile, wrk_available, wrk_get

SCHEMA_COUNT = 1000


# ---------------------------------------------------------------------------------------------
# Load generation


def python_get_rate(server: Server, token: str, paths: list[str], connections: int, seconds: int) -> float:
    counts = [0] * connections
    stop = time.monotonic() + seconds

    def loop(n: int) -> None:
        http = Http(server.url, token)
        i = n
        while time.monotonic() < stop:
            status, _ = http.request("GET", paths[i % len(paths)])
            assert status == 200
            counts[n] += 1
            i += connections

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


def get_rate(server: Server, token: str, paths: list[str], connections: int, seconds: int) -> float:
    if wrk_available():
        key_id, _, secret = token.partition(".")
        basic = "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()
        result = wrk_get(
            server.url, paths, basic, connections, seconds, accept="application/vnd.schemaregistry.v1+json"
        )
        assert result["non2xx"] == 0 and result["errors"] == 0, result
        return result["rps"]
    return python_get_rate(server, token, paths, connections, seconds)


# ---------------------------------------------------------------------------------------------
# Schemas


def event_schema(index: int, properties: int, *, description: str = "") -> dict:
    """An object schema with `properties` typed properties; `description` varies between versions."""
    props: dict[str, dict] = {}
    for n in range(properties):
        kind = n % 6
        if kind == 0:
            prop: dict = {"type": "string", "maxLength": 200}
        elif kind == 1:
            prop = {"type": "integer", "minimum": 0}
        elif kind == 2:
            prop = {"type": "number"}
        elif kind == 3:
            prop = {"type": "boolean"}
        elif kind == 4:
            prop = {"type": "string", "enum": ["new", "paid", "shipped", "cancelled"]}
        else:
            prop = {
                "type": "object",
                "properties": {"id": {"type": "string"}, "count": {"type": "integer"}},
                "required": ["id"],
                "additionalProperties": False,
            }
        if description:
            prop["description"] = f"{description} field {n}"
        props[f"field_{n:02d}"] = prop
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": f"Event{index}",
        "type": "object",
        "properties": props,
        "required": [f"field_{n:02d}" for n in range(0, properties, 3)],
        "additionalProperties": False,
    }


def event_instance(properties: int) -> dict:
    event: dict = {}
    for n in range(properties):
        kind = n % 6
        key = f"field_{n:02d}"
        if kind == 0:
            event[key] = f"value {n} " + "x" * 64
        elif kind == 1:
            event[key] = 1000 + n
        elif kind == 2:
            event[key] = 3.25 * n
        elif kind == 3:
            event[key] = n % 2 == 0
        elif kind == 4:
            event[key] = "paid"
        else:
            event[key] = {"id": f"item-{n}-abcdef", "count": n}
    return event


def avro_event_schema(index: int, fields: int, *, note: str = "") -> dict:
    """The Avro record `event_instance` fits in Avro's JSON encoding, field for field as
    `event_schema`: the required properties have no default, the others one. Docs do not change
    an Avro schema's id, so versions differ by the default of a last field, `note`."""
    out: list[dict] = []
    for n in range(fields):
        kind = n % 6
        if kind == 0:
            field: dict = {"type": "string", "default": ""}
        elif kind == 1:
            field = {"type": "long", "default": 0}
        elif kind == 2:
            field = {"type": "double", "default": 0.0}
        elif kind == 3:
            field = {"type": "boolean", "default": False}
        elif kind == 4:
            symbols = ["new", "paid", "shipped", "cancelled"]
            field = {"type": {"type": "enum", "name": "Status", "symbols": symbols} if n == 4 else "Status"}
            field["default"] = "new"
        else:
            item = {
                "type": "record",
                "name": "Item",
                "fields": [{"name": "id", "type": "string"}, {"name": "count", "type": "long", "default": 0}],
            }
            field = {"type": item if n == 5 else "Item", "default": {"id": ""}}
        if n % 3 == 0:
            field.pop("default")
        out.append({"name": f"field_{n:02d}", **field})
    out.append({"name": "note", "type": "string", "default": note})
    return {"type": "record", "name": f"Event{index}", "namespace": "bench", "fields": out}


def proto_event_schema(index: int, fields: int, *, note: int = 0) -> str:
    """The Protobuf message `event_instance` fits in Protobuf's JSON mapping, field for field as
    `event_schema` (the enum's values are the JSON Schema enum's strings). Comments do not change a
    Protobuf schema's id, so versions differ by a last field, `note_{note}`, whose number moves
    (a field removed and one added: compatible both ways, as in Confluent)."""
    lines = ['syntax = "proto3";', "package bench;", "", f"message Event{index} {{"]
    for n in range(fields):
        kind = ("string", "int64", "double", "bool", "Status", "Item")[n % 6]
        lines.append(f"  {kind} field_{n:02d} = {n + 1};")
    lines.append(f"  string note_{note} = {1000 + note};")
    lines += [
        "  enum Status { new = 0; paid = 1; shipped = 2; cancelled = 3; }",
        "  message Item { string id = 1; int64 count = 2; }",
        "}",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Figures


def bench_get_by_id(report: Report, server: Server, token: str, quick: bool) -> None:
    from schemas.services import ConfigUpdate, config_update, schema_version_register

    config_update(subject=None, update=ConfigUpdate(compatibility="NONE"))
    began = time.perf_counter()
    for index in range(SCHEMA_COUNT):
        schema_version_register(
            subject=f"bench-{index % 100}-value", schema=json.dumps(event_schema(index, 8)), schema_type="JSON"
        )
    print(f"  (registered {SCHEMA_COUNT:,} schemas in {time.perf_counter() - began:.1f} s)")
    other_paths: dict[str, list[str]] = {}
    for label, schema_type, text_of in (
        ("Avro", "AVRO", lambda index: json.dumps(avro_event_schema(index, 8))),
        ("Protobuf", "PROTOBUF", lambda index: proto_event_schema(index, 8)),
    ):
        began = time.perf_counter()
        ids = [
            schema_version_register(
                subject=f"bench-{schema_type.lower()}-{index % 100}-value",
                schema=text_of(index),
                schema_type=schema_type,
            ).schema_id
            for index in range(SCHEMA_COUNT)
        ]
        other_paths[label] = [f"/registry/schemas/ids/{n}" for n in ids]
        print(f"  (registered {SCHEMA_COUNT:,} {label} schemas in {time.perf_counter() - began:.1f} s)")
    seconds = 4 if quick else 10
    connections = 16
    paths = [f"/registry/schemas/ids/{n}" for n in range(1, SCHEMA_COUNT + 1)]
    warm = paths[:50] + [path for found in other_paths.values() for path in found[:50]]
    get_rate(server, token, warm, connections, 1)  # warm both workers
    baseline = get_rate(server, token, ["/healthz"], connections, seconds)
    rate = get_rate(server, token, paths, connections, seconds)
    report.add(
        Figure(
            f"GET /registry/schemas/ids/{{id}}, {SCHEMA_COUNT:,} schemas (requests/s)",
            rate,
            "req/s",
            "/healthz on the same server",
            baseline,
            ">= 3,000 req/s",
            rate >= 3000,
        )
    )
    for label, found in other_paths.items():
        other_rate = get_rate(server, token, found, connections, seconds)
        report.add(
            Figure(
                f"GET /registry/schemas/ids/{{id}}, {SCHEMA_COUNT:,} {label} schemas (requests/s)",
                other_rate,
                "req/s",
                "JSON Schema ids, same run",
                rate,
                ">= 3,000 req/s",
                other_rate >= 3000,
            )
        )


def bench_register_full_transitive(report: Report, server: Server, token: str, quick: bool) -> float:
    from schemas.compatibility import CompatibilityLevel, SchemaVersion, check_compatibility
    from schemas.services import ConfigUpdate, config_update, schema_version_register

    subject = "bench-full-value"
    versions = [event_schema(0, 50, description=f"v{n}") for n in range(1, 11)]
    config_update(subject=subject, update=ConfigUpdate(compatibility="NONE"))
    for schema in versions:
        schema_version_register(subject=subject, schema=json.dumps(schema), schema_type="JSON")
    config_update(subject=subject, update=ConfigUpdate(compatibility="FULL_TRANSITIVE"))

    # Baseline: the pure checker on the same schemas, parsed once.
    previous = [SchemaVersion(n + 1, schema, json.dumps(schema)) for n, schema in enumerate(versions)]
    runs = 30 if quick else 100
    checker_ms = []
    for run in range(runs):
        candidate = event_schema(0, 50, description=f"candidate {run}")
        new = SchemaVersion(None, candidate, json.dumps(candidate))
        began = time.perf_counter()
        result = check_compatibility(new, previous, CompatibilityLevel.FULL_TRANSITIVE)
        checker_ms.append((time.perf_counter() - began) * 1000)
        assert result.is_compatible, result.messages[:2]

    http = Http(server.url, token)
    register_ms = []
    for run in range(runs):
        candidate = event_schema(0, 50, description=f"candidate {run}")
        body = json.dumps({"schemaType": "JSON", "schema": json.dumps(candidate)}).encode()
        began = time.perf_counter()
        status, raw = http.request(
            "POST", f"/registry/subjects/{subject}/versions", body, "application/vnd.schemaregistry.v1+json"
        )
        register_ms.append((time.perf_counter() - began) * 1000)
        assert status == 200, raw[:300]
        version = json.loads(raw)["version"]
        # Back to exactly 10 live versions for the next run (soft-deleted ones are not checked).
        http.json("DELETE", f"/registry/subjects/{subject}/versions/{version}")
    median = statistics.median(register_ms)
    report.add(
        Figure(
            "Register, FULL_TRANSITIVE vs 10 versions, 50 properties (p50 ms)",
            median,
            "ms",
            "pure checker in-process, same check, p50",
            statistics.median(checker_ms),
            "< 20 ms",
            median < 20,
        )
    )
    print(f"  (register p95 {percentile(register_ms, 95):.1f} ms; checker p95 {percentile(checker_ms, 95):.1f} ms)")
    return median


def bench_register_format(
    report: Report, server: Server, token: str, quick: bool, json_schema_ms: float, schema_type: str
) -> None:
    """The same registration with a 50-field Avro record or Protobuf message, beside JSON
    Schema's p50 from this run."""
    from schemas.compatibility import CompatibilityLevel, SchemaVersion, check_compatibility
    from schemas.services import ConfigUpdate, config_update, schema_version_register

    label = "Avro" if schema_type == "AVRO" else "Protobuf"

    def schema_text(variant: int) -> str:
        if schema_type == "AVRO":
            return json.dumps(avro_event_schema(0, 50, note=f"v{variant}"))
        return proto_event_schema(0, 50, note=variant)

    def parsed(text: str):  # the checker's input: Avro's JSON value, Protobuf's text
        return json.loads(text) if schema_type == "AVRO" else text

    subject = f"bench-{schema_type.lower()}-full-value"
    versions = [schema_text(n) for n in range(1, 11)]
    config_update(subject=subject, update=ConfigUpdate(compatibility="NONE"))
    for text in versions:
        schema_version_register(subject=subject, schema=text, schema_type=schema_type)
    config_update(subject=subject, update=ConfigUpdate(compatibility="FULL_TRANSITIVE"))
    previous = [SchemaVersion(n + 1, parsed(text), text, schema_type=schema_type) for n, text in enumerate(versions)]
    runs = 30 if quick else 100
    checker_ms = []
    for run in range(runs):
        text = schema_text(100 + run)
        new = SchemaVersion(None, parsed(text), text, schema_type=schema_type)
        began = time.perf_counter()
        result = check_compatibility(new, previous, CompatibilityLevel.FULL_TRANSITIVE)
        checker_ms.append((time.perf_counter() - began) * 1000)
        assert result.is_compatible, result.messages[:2]
    http = Http(server.url, token)
    register_ms = []
    for run in range(runs):
        text = schema_text(100 + run)
        # No schemaType means Avro, as in Confluent.
        body = json.dumps({"schema": text} if schema_type == "AVRO" else {"schema": text, "schemaType": schema_type})
        began = time.perf_counter()
        status, raw = http.request(
            "POST", f"/registry/subjects/{subject}/versions", body.encode(), "application/vnd.schemaregistry.v1+json"
        )
        register_ms.append((time.perf_counter() - began) * 1000)
        assert status == 200, raw[:300]
        http.json("DELETE", f"/registry/subjects/{subject}/versions/{json.loads(raw)['version']}")
    median = statistics.median(register_ms)
    report.add(
        Figure(
            f"Register {label}, FULL_TRANSITIVE vs 10 versions, 50 fields (p50 ms)",
            median,
            "ms",
            "JSON Schema, 50 properties, same run, p50",
            json_schema_ms,
            "< 20 ms",
            median < 20,
        )
    )
    print(
        f"  ({label} register p95 {percentile(register_ms, 95):.1f} ms; {label} checker p50 "
        f"{statistics.median(checker_ms):.2f} ms, p95 {percentile(checker_ms, 95):.2f} ms)"
    )


def per_call_us(function: Callable[[], object], number: int) -> float:
    """Microseconds per call, the best of five timed runs of `number` calls."""
    return min(timeit.repeat(function, number=number, repeat=5)) / number * 1e6


def validator_and_event(subject: str, text: str, schema_type: str) -> tuple[Any, dict, int]:
    """The broker's validator for `text` registered under `subject`, the 30-field event it must
    accept, and that event's size in compact JSON."""
    from schemas.services import schema_version_register
    from schemas.validation import resolve_subject, validator_for

    schema_version_register(subject=subject, schema=text, schema_type=schema_type)
    resolved = resolve_subject(subject)
    assert resolved is not None
    validator = validator_for(resolved.schema_id)
    event = event_instance(30)
    assert validator.validate(event) == [], validator.validate(event)[:3]
    return validator, event, len(json.dumps(event, separators=(",", ":")))


def bench_validation(report: Report, quick: bool) -> float:
    import fastjsonschema
    import jsonschema

    schema = event_schema(0, 30)
    validator, event, size = validator_and_event("bench-validate-value", json.dumps(schema), "JSON")
    number = 20_000 if quick else 100_000
    ours = per_call_us(lambda: validator.validate(event), number)
    reference = jsonschema.validators.validator_for(schema)(schema)
    assert reference.is_valid(event)
    baseline = per_call_us(lambda: reference.is_valid(event), max(number // 50, 200))
    fast = fastjsonschema.compile(schema)
    fast_us = per_call_us(lambda: fast(event), number)
    report.add(
        Figure(
            f"Validate a {size:,}-byte event, 30-property schema (us/event)",
            ours,
            "us",
            "jsonschema library, same event",
            baseline,
            "< 10 us",
            ours < 10,
        )
    )
    print(f"  (fastjsonschema on the same event: {fast_us:.2f} us; drafts 4, 6 and 7 only)")
    return ours


def bench_validation_avro(report: Report, quick: bool, json_schema_us: float) -> None:
    """The same event in Avro's JSON encoding against the same fields as an Avro record, with the
    broker's Avro validator, beside the JSON Schema validator's figure from this run."""
    import fastavro.validation

    schema = avro_event_schema(0, 30)
    validator, event, size = validator_and_event("bench-validate-avro-value", json.dumps(schema), "AVRO")
    number = 20_000 if quick else 100_000
    ours = per_call_us(lambda: validator.validate(event), number)
    parsed = fastavro.parse_schema(schema)
    fastavro_us = per_call_us(lambda: fastavro.validation.validate(event, parsed), number // 10)
    report.add(
        Figure(
            f"Validate a {size:,}-byte event, 30-field Avro record (us/event)",
            ours,
            "us",
            "JSON Schema validator, same event, same run",
            json_schema_us,
            "< 10 us",
            ours < 10,
        )
    )
    print(f"  (fastavro.validation.validate on the same datum: {fastavro_us:.2f} us)")


def bench_validation_protobuf(report: Report, quick: bool, json_schema_us: float) -> None:
    """The same event in Protobuf's JSON mapping against the same fields as a Protobuf message,
    with the broker's Protobuf validator, beside the JSON Schema validator's figure from this run
    (and protobuf's own json_format.ParseDict on the same event, printed)."""
    from google.protobuf import json_format, message_factory

    from schemas.protobuf import parse_protobuf
    from schemas.protobuf.validation import first_message

    text = proto_event_schema(0, 30)
    validator, event, size = validator_and_event("bench-validate-protobuf-value", text, "PROTOBUF")
    number = 20_000 if quick else 100_000
    ours = per_call_us(lambda: validator.validate(event), number)
    message_class = message_factory.GetMessageClass(first_message(parse_protobuf(text)))
    parse_us = per_call_us(lambda: json_format.ParseDict(event, message_class()), number // 10)
    report.add(
        Figure(
            f"Validate a {size:,}-byte event, 30-field Protobuf message (us/event)",
            ours,
            "us",
            "JSON Schema validator, same event, same run",
            json_schema_us,
            "< 10 us",
            ours < 10,
        )
    )
    print(f"  (protobuf json_format.ParseDict on the same event: {parse_us:.2f} us)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", choices=["ids", "register", "validate"])
    args = parser.parse_args()
    sections = args.only or ["ids", "register", "validate"]
    with Database.fresh(args.db) as database, tempfile.TemporaryDirectory() as var:
        var_dir = Path(var)
        django_setup(database, var_dir)
        from core.services import api_key_create

        token = api_key_create(service_name="bench", scopes=["admin"])[1]
        report = Report(f"Schema registry on {database.label}")
        print(
            f"\n== {report.title} ({'quick' if args.quick else 'full'}; load from {'wrk' if wrk_available() else 'Python threads'}) ==",
            flush=True,
        )
        server = Server(database, var_dir)
        try:
            if "ids" in sections:
                bench_get_by_id(report, server, token, args.quick)
            if "register" in sections:
                json_schema_ms = bench_register_full_transitive(report, server, token, args.quick)
                for schema_type in ("AVRO", "PROTOBUF"):
                    bench_register_format(report, server, token, args.quick, json_schema_ms, schema_type)
            if "validate" in sections:
                json_schema_us = bench_validation(report, args.quick)
                bench_validation_avro(report, args.quick, json_schema_us)
                bench_validation_protobuf(report, args.quick, json_schema_us)
        finally:
            server.stop()
        Path(var_dir / "report.json").write_text(json.dumps([f.__dict__ for f in report.figures]))


if __name__ == "__main__":
    main()
