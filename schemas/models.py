"""Schema registry tables: global schema ids, subjects with their versions, references between
schemas, and the one-row registry state (generation counter, id allocator, global config and mode).

A schema id names one immutable content (type + canonical text + references) and is shared by
every subject that registers that content. A version is one subject's use of an id; deleting is
soft first (`deleted`), then permanent (the row goes, and the schema row with it once no version
holds it).
"""

from __future__ import annotations

from django.db import models

from schemas.choices import Mode, SchemaType
from schemas.constants import SUBJECT_MAX_LENGTH


class RegistryState(models.Model):
    """The registry's single row (pk 1): a generation counter, the next schema id, and the global
    config and mode.

    Every registry write bumps `generation` in its transaction, so any process learns that its
    cached view is stale with one primary-key read; locking this row also serialises registry
    writers, which keeps version numbers and ids gap-free and race-free on PostgreSQL.
    """

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID)
    # Random at creation: if the table is ever emptied and the row made again (a restored backup,
    # a test database reset), per-process caches see a new epoch and drop everything, since ids
    # may then name other contents.
    epoch = models.BigIntegerField(default=0)
    generation = models.BigIntegerField(default=0)
    # Bumped (with `generation`) when schema ids are permanently deleted: only then must caches
    # keyed by id look for ids that went away.
    deletions = models.BigIntegerField(default=0)
    # Ids are never reused, even after a permanent delete: caches keyed by id stay valid.
    next_schema_id = models.IntegerField(default=1)
    compatibility_level = models.CharField(max_length=32, null=True, blank=True)
    compatibility_policy = models.CharField(max_length=16, null=True, blank=True)
    normalize = models.BooleanField(null=True, blank=True)
    validate_fields = models.BooleanField(null=True, blank=True)
    mode = models.CharField(max_length=20, choices=Mode.choices, null=True, blank=True)

    class Meta:
        verbose_name = "registry state"

    def __str__(self) -> str:
        return f"registry generation {self.generation}"


class Schema(models.Model):
    """One schema content under its global id: the same content registered under any subject gets
    the same id. `references` is the request's list of {name, subject, version}, kept here so the
    by-id read is one row."""

    id = models.IntegerField(primary_key=True)
    schema_type = models.CharField(max_length=16, choices=SchemaType.choices, default=SchemaType.JSON)
    schema_text = models.TextField()
    fingerprint = models.CharField(max_length=64, db_index=True)
    references = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"schema {self.id}"


class SchemaReference(models.Model):
    """A named reference from a schema to one version of another subject (`$ref` target)."""

    schema = models.ForeignKey(Schema, on_delete=models.CASCADE, related_name="reference_rows")
    position = models.PositiveIntegerField()
    name = models.TextField()
    subject = models.CharField(max_length=SUBJECT_MAX_LENGTH)
    version = models.IntegerField()

    class Meta:
        ordering = ["schema_id", "position"]
        constraints = [models.UniqueConstraint(fields=["schema", "position"], name="schemas_reference_position")]
        indexes = [models.Index(fields=["subject", "version"], name="schemas_reference_target")]

    def __str__(self) -> str:
        return f"{self.name} -> {self.subject}/{self.version}"


class Subject(models.Model):
    """A subject: its versions, and its own compatibility config and mode (null = inherit global).

    A row may exist without versions (config set ahead of the first registration); permanent
    deletion of the last version removes the row, config and mode with it.
    """

    name = models.CharField(max_length=SUBJECT_MAX_LENGTH, unique=True)
    compatibility_level = models.CharField(max_length=32, null=True, blank=True)
    compatibility_policy = models.CharField(max_length=16, null=True, blank=True)
    normalize = models.BooleanField(null=True, blank=True)
    validate_fields = models.BooleanField(null=True, blank=True)
    mode = models.CharField(max_length=20, choices=Mode.choices, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_config(self) -> bool:
        return any(
            value is not None
            for value in (self.compatibility_level, self.compatibility_policy, self.normalize, self.validate_fields)
        )


class SubjectVersion(models.Model):
    """Version `version` of a subject, holding schema id `schema`. Soft-deleted versions keep
    their number (never reused) and their id readable."""

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="versions")
    version = models.IntegerField()
    schema = models.ForeignKey(Schema, on_delete=models.PROTECT, related_name="versions")
    deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["subject_id", "version"]
        constraints = [models.UniqueConstraint(fields=["subject", "version"], name="schemas_subject_version")]
        indexes = [models.Index(fields=["schema", "deleted"], name="schemas_version_by_schema")]

    def __str__(self) -> str:
        return f"{self.subject_id} v{self.version}"


class RegistryUse(models.Model):
    """Serializers and deserializers at work, per minute, as the registry sees them (issue 18): a
    service's key that registers or looks up a subject (or reads its latest version) is a producer
    candidate for the subject's topics; one that fetches a schema by id is a consumer candidate.
    Lineage and drift show this beside the observed flows, marked as registry evidence."""

    PRODUCER = "producer"
    CONSUMER = "consumer"

    service = models.ForeignKey("core.Service", on_delete=models.CASCADE, related_name="+", db_index=False)
    role = models.CharField(max_length=10, choices=[(PRODUCER, "producer"), (CONSUMER, "consumer")])
    subject = models.CharField(max_length=SUBJECT_MAX_LENGTH, blank=True, default="")
    schema_id = models.IntegerField(default=0, help_text="0 when the request named no schema id")
    minute_ms = models.BigIntegerField()
    requests = models.IntegerField(default=0)
    last_seen_ms = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "role", "subject", "schema_id", "minute_ms"], name="schemas_registry_use_unique"
            )
        ]
        indexes = [models.Index(fields=["minute_ms"], name="schemas_registry_use_minute")]

    def __str__(self) -> str:
        return f"{self.service_id} {self.role} {self.subject or self.schema_id}"
