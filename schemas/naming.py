"""Parsing of the names and values a registry request carries: subjects (with Confluent's
context qualifiers), version ids, compatibility levels and policies, modes, schema types."""

from __future__ import annotations

import re

from schemas import constants as c
from schemas import errors
from schemas.choices import Mode
from schemas.compatibility import CompatibilityLevel, CompatibilityPolicy
from schemas.errors import InvalidSchema

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DEFAULT_CONTEXT_QUALIFIER = c.CONTEXT_PREFIX + c.DEFAULT_CONTEXT[1:] + c.CONTEXT_DELIMITER  # ":.:"

Latest = str  # the literal "latest"


def normalize_subject(name: str) -> str:
    """`:.:orders-value` (the default context spelt out) is `orders-value`; other names are kept."""
    if name.startswith(_DEFAULT_CONTEXT_QUALIFIER):
        return name[len(_DEFAULT_CONTEXT_QUALIFIER) :]
    return name


def is_global_subject(name: str) -> bool:
    """A subject string naming the default context itself (`:.:`) means the global config."""
    return normalize_subject(name) == "" and name != ""


def subject_is_valid(name: str) -> bool:
    """Confluent refuses its reserved names and any ISO control character (42208)."""
    return (
        bool(name)
        and len(name) <= c.SUBJECT_MAX_LENGTH
        and name not in c.RESERVED_SUBJECTS
        and not _CONTROL_CHARACTERS.search(name)
    )


def valid_subject(name: str) -> str:
    """The normalised subject, or 42208 for a name Confluent refuses."""
    normalized = normalize_subject(name)
    if not subject_is_valid(normalized):
        raise errors.invalid_subject(name)
    return normalized


def context_of(subject: str) -> str:
    """The context a subject lives in: `.ctx` for `:.ctx:name`, `.` otherwise."""
    if subject.startswith(c.CONTEXT_PREFIX):
        end = subject.find(c.CONTEXT_DELIMITER, len(c.CONTEXT_PREFIX))
        if end > 0:
            return subject[1:end]
    return c.DEFAULT_CONTEXT


def parse_version(text: str) -> int | Latest:
    """A version id from a path: 1..2^31-1, `latest` (any case) or -1; else 42202."""
    if text.lower() == c.VERSION_LATEST:
        return c.VERSION_LATEST
    try:
        number = int(text)
    except ValueError:
        raise errors.invalid_version(text) from None
    if number == c.VERSION_LATEST_NUMBER:
        return c.VERSION_LATEST
    if not 1 <= number <= c.VERSION_MAX:
        raise errors.invalid_version(text)
    return number


def parse_level(value: object) -> CompatibilityLevel:
    if not isinstance(value, str):
        raise errors.invalid_level()
    try:
        return CompatibilityLevel.parse(value)
    except ValueError:
        raise errors.invalid_level() from None


def parse_policy(value: object) -> CompatibilityPolicy:
    if not isinstance(value, str):
        raise errors.RegistryError(c.INVALID_COMPATIBILITY_LEVEL, c.MSG_INVALID_COMPATIBILITY_POLICY)
    try:
        return CompatibilityPolicy.parse(value)
    except ValueError:
        raise errors.RegistryError(c.INVALID_COMPATIBILITY_LEVEL, c.MSG_INVALID_COMPATIBILITY_POLICY) from None


def parse_mode(value: object) -> Mode:
    if not isinstance(value, str):
        raise errors.invalid_mode()
    try:
        return Mode(value.strip().upper())
    except ValueError:
        raise errors.invalid_mode() from None


def supported_schema_type(value: object) -> str:
    """The request's `schemaType` if this registry can parse it; 42201 saying what it supports.

    No `schemaType` means AVRO, as in Confluent's API.
    """
    if value is None:
        value = c.DEFAULT_REQUEST_SCHEMA_TYPE
    if not isinstance(value, str):
        raise InvalidSchema(f"Invalid schema type {value!r}: {_supported_types_text()}")
    name = value.strip().upper()
    if name in c.SUPPORTED_SCHEMA_TYPES:
        return name
    if name in c.KNOWN_SCHEMA_TYPES:
        raise InvalidSchema(
            f"Invalid schema type {name}: {name.title()} schemas are not supported yet; " + _supported_types_text()
        )
    raise InvalidSchema(f"Invalid schema type {value}: {_supported_types_text()}")


def _supported_types_text() -> str:
    names = ", ".join(c.SUPPORTED_SCHEMA_TYPES)
    return f"this registry supports {names}"
