"""Enumerations stored in the registry's tables."""

from __future__ import annotations

from django.db import models


class Mode(models.TextChoices):
    """What a subject (or the whole registry) accepts (registry-api.md §6.8)."""

    READWRITE = "READWRITE"
    READONLY = "READONLY"
    # Deprecated by Confluent; still accepted and treated as READONLY.
    READONLY_OVERRIDE = "READONLY_OVERRIDE"
    IMPORT = "IMPORT"
    # Global only: registration keeps the ids it is given, like IMPORT.
    FORWARD = "FORWARD"

    @property
    def refuses_writes(self) -> bool:
        return self in (Mode.READONLY, Mode.READONLY_OVERRIDE)

    @property
    def takes_explicit_ids(self) -> bool:
        return self in (Mode.IMPORT, Mode.FORWARD)


class SchemaType(models.TextChoices):
    JSON = "JSON"
    AVRO = "AVRO"
    PROTOBUF = "PROTOBUF"
