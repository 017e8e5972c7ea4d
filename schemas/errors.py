"""Typed registry errors. Each carries Confluent's error code and message; `schemas/api/errors.py`
renders them as `{"error_code": N, "message": "..."}` with the HTTP status Confluent uses."""

from __future__ import annotations

from collections.abc import Sequence

from schemas import constants as c


class RegistryError(Exception):
    """A registry failure with Confluent's error code (HTTP status = its first three digits)."""

    def __init__(self, error_code: int, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    @property
    def http_status(self) -> int:
        code = self.error_code
        while code >= 1000:
            code //= 10
        return code


class SchemaNotFound(RegistryError, LookupError):
    def __init__(self, schema_id: int | None = None) -> None:
        message = c.MSG_SCHEMA_NOT_FOUND if schema_id is None else c.MSG_SCHEMA_ID_NOT_FOUND.format(id=schema_id)
        super().__init__(c.SCHEMA_NOT_FOUND, message)


class InvalidSchema(RegistryError, ValueError):
    """42201: the schema does not parse, names an unknown draft, fails its meta-schema or has a
    reference that resolves to nothing."""

    def __init__(self, message: str) -> None:
        super().__init__(c.INVALID_SCHEMA, message)


_OLD_SCHEMA_DETAIL = "{oldSchema: "  # as schemas.compatibility.messages.old_schema_message writes it


class IncompatibleSchema(RegistryError):
    """40901. The message leads with one plain sentence per breaking change, then (`name_consumers`) who
    would break, then Confluent's details. Confluent's details also carry the whole old schema
    (up to 10 KiB) before the settings; the 409 drops it, since it buries the rest of the message
    and `{oldSchemaVersion: N}` says where to read it. `messages` keeps Confluent's list whole."""

    def __init__(
        self, subject: str, messages: list[str], *, sentences: Sequence[str] = (), example: str = ""
    ) -> None:
        self.subject = subject
        self.messages = messages
        self.sentences = [sentence.rstrip(".") + "." for sentence in sentences]
        # One line after the sentences: "Example: {...} is accepted by version N and refused by ..."
        self.example = example
        super().__init__(c.incompatible_error_code(), "")
        self.name_consumers("")

    def name_consumers(self, consumers: str) -> None:
        """Compose the message with `consumers` ("Would break: ...") right after the sentences.
        With neither, it is Confluent's message without the old schema."""
        details = ", ".join(m for m in self.messages if not m.startswith(_OLD_SCHEMA_DETAIL))
        lead = " ".join([*self.sentences, *([self.example] if self.example else []), *([consumers] if consumers else [])])
        template = c.MSG_INCOMPATIBLE_LED if lead else c.MSG_INCOMPATIBLE
        self.message = template.format(subject=self.subject, lead=lead, details=details)


def subject_not_found(subject: str) -> RegistryError:
    return RegistryError(c.SUBJECT_NOT_FOUND, c.MSG_SUBJECT_NOT_FOUND.format(subject=subject))


def version_not_found(version: object) -> RegistryError:
    return RegistryError(c.VERSION_NOT_FOUND, c.MSG_VERSION_NOT_FOUND.format(version=version))


def invalid_version(version: object) -> RegistryError:
    return RegistryError(c.INVALID_VERSION, c.MSG_INVALID_VERSION.format(version=version))


def invalid_subject(subject: str) -> RegistryError:
    return RegistryError(c.INVALID_SUBJECT, c.MSG_INVALID_SUBJECT.format(subject=subject))


def invalid_level() -> RegistryError:
    return RegistryError(c.INVALID_COMPATIBILITY_LEVEL, c.MSG_INVALID_COMPATIBILITY_LEVEL)


def invalid_mode(message: str = c.MSG_INVALID_MODE) -> RegistryError:
    return RegistryError(c.INVALID_MODE, message)


def not_permitted(message: str) -> RegistryError:
    return RegistryError(c.OPERATION_NOT_PERMITTED, message)


def reference_exists(key: str) -> RegistryError:
    return RegistryError(c.REFERENCE_EXISTS, c.MSG_REFERENCE_EXISTS.format(key=key))
