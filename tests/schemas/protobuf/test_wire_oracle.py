"""The checker against the protobuf runtime over the pair catalogue (cases.py), both directions of
every pair: where the checker says a reader reads a writer, the reader misreads no writer sample
(wire.py says what misreading is) beyond the losses Confluent's rules accept; where it refuses,
some writer sample is misread, or the refusal is one of the known places where Confluent's rules
are stricter than the wire. Either list changing, both ways, fails the test."""

from __future__ import annotations

import functools

from schemas.protobuf import parse_protobuf
from schemas.protobuf.compatibility import incompatibilities
from tests.schemas.protobuf.cases import CASES, P2, P3
from tests.schemas.protobuf.wire import first_misread, message_class, misread, writer_samples

BACKWARD, FORWARD = "new reads old", "old reads new"

# (direction id, writer text, reader text).
DIRECTIONS = [(f"{case[0]} [{BACKWARD}]", case[1], case[2]) for case in CASES] + [
    (f"{case[0]} [{FORWARD}]", case[2], case[1]) for case in CASES
]

_TRUNCATED = "the reader keeps the low 32 bits, so a value outside its range reads as another"
_SIGNEDNESS = "the same bits with the other signedness: a value past the signed maximum or below zero changes"
_BOOL = "a bool reads any varint but 0 as true"
# Scalar kinds Confluent lets a field move between (one group, see cases.SCALAR_GROUPS) whose
# reader misreads some values the writer holds: (writer kind, reader kind) -> how.
LOSSY_SCALAR_READS = {
    ("int32", "uint32"): _SIGNEDNESS, ("int32", "uint64"): _SIGNEDNESS, ("int32", "bool"): _BOOL,
    ("uint32", "int32"): _SIGNEDNESS, ("uint32", "bool"): _BOOL,
    ("int64", "int32"): _TRUNCATED, ("int64", "uint32"): _TRUNCATED, ("int64", "uint64"): _SIGNEDNESS,
    ("int64", "bool"): _BOOL,
    ("uint64", "int32"): _TRUNCATED, ("uint64", "uint32"): _TRUNCATED, ("uint64", "int64"): _SIGNEDNESS,
    ("uint64", "bool"): _BOOL,
    ("sint64", "sint32"): _TRUNCATED,
    ("fixed32", "sfixed32"): _SIGNEDNESS, ("sfixed32", "fixed32"): _SIGNEDNESS,
    ("fixed64", "sfixed64"): _SIGNEDNESS, ("sfixed64", "fixed64"): _SIGNEDNESS,
    ("bytes", "string"): "bytes that are not UTF-8 fail to parse as a proto3 string (DecodeError)",
}  # fmt: skip

# Accepted directions whose reader misreads some writer data: Confluent accepts the change by
# rule (Protobuf's own "updating" guidance), data loss on some values included.
ACCEPTED_BY_CONFLUENTS_RULES = {
    **{f"scalar-{writer}-to-{reader} [{BACKWARD}]": reason for (writer, reader), reason in LOSSY_SCALAR_READS.items()},
    **{f"scalar-{reader}-to-{writer} [{FORWARD}]": reason for (writer, reader), reason in LOSSY_SCALAR_READS.items()},
    "map-value-widened [old reads new]": "int64 map values read as int32: " + _TRUNCATED,
    "implicit-to-repeated [old reads new]": "labels are compared only when both are written (proto3 implicit has "
    "none), but a packed list does not read as one scalar: the reader keeps it as an unknown field",
}

_MESSAGE_REMOVED = (
    "MESSAGE_REMOVED: a message type other than the first one goes; the first one's encoding is untouched"
)
_RENAMED_TYPE = "FIELD_NAMED_TYPE_CHANGED: the two message types differ by name only, and their fields read each other"
_PACKAGE = "PACKAGE_CHANGED: the package is not on the wire"
_LIST_OF_ONE = "a repeated reader reads the one value an optional field wrote as a list of one (packed or not)"
_REQUIRED_DROPPED = "REQUIRED_FIELD_REMOVED: a reader without the required field drops it like any removed field"
# Refused directions whose reader reads every writer sample: Confluent's rules are stricter than
# the wire here, on purpose or not.
KNOWN_STRICTER_THAN_WIRE = {
    "optional-to-repeated-number [new reads old]": "FIELD_NUMERIC_LABEL_CHANGED: " + _LIST_OF_ONE,
    "optional-to-repeated-string [new reads old]": "FIELD_STRING_OR_BYTES_LABEL_CHANGED: " + _LIST_OF_ONE,
    "proto2-optional-to-repeated [new reads old]": "FIELD_NUMERIC_LABEL_CHANGED: " + _LIST_OF_ONE,
    "optional-to-oneof-proto3 [new reads old]": "FIELD_NUMERIC_LABEL_CHANGED: a proto3 optional field and a oneof of "
    "one are the same on the wire, both with presence",
    "optional-to-oneof-proto3 [old reads new]": "FIELD_NUMERIC_LABEL_CHANGED: a oneof of one and a proto3 optional "
    "field are the same on the wire, both with presence",
    "repeated-message-to-map [old reads new]": "FIELD_KIND_CHANGED: a map is a list of key/value entry messages on "
    "the wire, so a list of such messages reads every entry (the other way loses duplicate keys)",
    "required-added [old reads new]": _REQUIRED_DROPPED,
    "required-removed [new reads old]": _REQUIRED_DROPPED,
    "message-added [old reads new]": _MESSAGE_REMOVED,
    "message-removed [new reads old]": _MESSAGE_REMOVED,
    "nested-message-added [old reads new]": _MESSAGE_REMOVED,
    "message-renamed [new reads old]": "MESSAGE_REMOVED: type names are not on the wire; the renamed message has the same fields",
    "message-renamed [old reads new]": "MESSAGE_REMOVED: type names are not on the wire; the renamed message has the same fields",
    "named-type-changed [new reads old]": _RENAMED_TYPE,
    "named-type-changed [old reads new]": _RENAMED_TYPE,
    "nested-type-hoisted [new reads old]": _RENAMED_TYPE,
    "nested-type-hoisted [old reads new]": _RENAMED_TYPE,
    "timestamp-to-duration [new reads old]": _RENAMED_TYPE + " (both are int64 seconds = 1, int32 nanos = 2)",
    "timestamp-to-duration [old reads new]": _RENAMED_TYPE + " (both are int64 seconds = 1, int32 nanos = 2)",
    "package-changed [new reads old]": _PACKAGE,
    "package-changed [old reads new]": _PACKAGE,
    "package-added [new reads old]": _PACKAGE,
    "package-added [old reads new]": _PACKAGE,
}


@functools.cache
def verdicts() -> dict[str, tuple[bool, str | None]]:
    """Per direction: whether the checker accepts it, and how the reader misreads the first writer
    sample it misreads (None: it reads them all)."""
    found = {}
    for direction, writer_text, reader_text in DIRECTIONS:
        writer, reader = parse_protobuf(writer_text), parse_protobuf(reader_text)
        accepted = not incompatibilities(writer, reader)  # the writer is the original the reader updates
        found[direction] = (accepted, first_misread(message_class(writer), message_class(reader)))
    return found


def test_the_catalogue_has_accepted_and_refused_directions():
    accepted = [direction for direction, (ok, _) in verdicts().items() if ok]

    assert len(verdicts()) == 2 * len(CASES)
    assert len(accepted) > 100 and len(verdicts()) - len(accepted) > 300


def test_a_reader_the_checker_accepts_misreads_nothing_beyond_confluents_rules():
    misread_though_accepted = {direction: how for direction, (ok, how) in verdicts().items() if ok and how}

    unexplained = {
        direction: how
        for direction, how in misread_though_accepted.items()
        if direction not in ACCEPTED_BY_CONFLUENTS_RULES
    }
    no_longer_lossy = ACCEPTED_BY_CONFLUENTS_RULES.keys() - misread_though_accepted.keys()
    assert not unexplained, f"the checker accepts these, but the reader misreads writer data: {unexplained}"
    assert not no_longer_lossy, f"these read every writer sample now (or are refused), drop them: {no_longer_lossy}"


def test_a_refusal_is_backed_by_writer_data_the_reader_misreads_except_the_known_stricter_ones():
    read_though_refused = {direction for direction, (ok, how) in verdicts().items() if not ok and how is None}

    assert read_though_refused == KNOWN_STRICTER_THAN_WIRE.keys()


# The oracle itself.


def _misreads(writer_text: str, reader_text: str) -> str | None:
    return first_misread(message_class(parse_protobuf(writer_text)), message_class(parse_protobuf(reader_text)))


def test_every_schema_in_the_catalogue_reads_what_it_wrote():
    texts = {case[1] for case in CASES} | {case[2] for case in CASES}

    assert {text: how for text in sorted(texts) if (how := _misreads(text, text))} == {}


def test_writer_samples_set_every_field_including_extremes_and_nested_messages():
    message_type = message_class(
        parse_protobuf(P3 + "message M { int64 a = 1; string s = 2; M next = 3; map<string, M> m = 4; }")
    )

    samples = writer_samples(message_type)

    assert {sample.a for sample in samples} >= {-1, 2**63 - 1, -(2**63)}
    assert "é漢🙂" in {sample.s for sample in samples}
    assert all(sample.next.HasField("next") and len(sample.m) == 2 for sample in samples)


def test_a_truncated_number_is_misread():
    assert _misreads(P3 + "message M { int64 a = 1; }", P3 + "message M { int32 a = 1; }") == (
        "#/1: wrote [9223372036854775807], read [-1]"
    )


def test_a_field_the_reader_does_not_declare_is_dropped_not_misread():
    assert _misreads(P3 + "message M { int32 a = 1; string b = 2; }", P3 + "message M { int32 a = 1; }") is None


def test_a_field_the_reader_keeps_as_unknown_is_misread():
    assert _misreads(P3 + "message M { string a = 1; }", P3 + "message M { int32 a = 1; }") == (
        "#/1: wrote [b'\\xc3\\xa9\\xe6\\xbc\\xa2\\xf0\\x9f\\x99\\x82'], read []"
    )


def test_a_oneof_choice_the_reader_cannot_make_is_misread():
    assert _misreads(
        P3 + "message M { oneof o { string b = 2; int32 c = 3; } }", P3 + "message M { oneof o { string b = 2; } }"
    ) == ("#/o: wrote the choice 3, which the reader's oneof lacks")


def test_a_map_reads_as_the_list_of_its_entry_messages():
    entry = "message N { string key = 1; int32 value = 2; }"

    assert (
        _misreads(P3 + "message M { map<string, int32> a = 1; }", P3 + f"message M {{ repeated N a = 1; }} {entry}")
        is None
    )
    assert _misreads(P3 + f"message M {{ repeated N a = 1; }} {entry}", P3 + "message M { map<string, int32> a = 1; }")


def test_a_missing_required_field_is_misread():
    written = message_class(parse_protobuf(P2 + "message M { optional int32 b = 2; }"))(b=1)
    reader = message_class(parse_protobuf(P2 + "message M { required int32 a = 1; optional int32 b = 2; }"))

    assert misread(written, reader) == "missing required fields: ['a']"
