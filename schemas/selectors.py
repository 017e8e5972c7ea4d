"""Reads of the registry: subjects, versions, schemas by id, references, config and mode, plus the
checks that only read (lookup, compatibility). Selectors own the queries; views render."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q, QuerySet

from core.jsonutil import loads
from schemas import constants as c
from schemas import errors, formats
from schemas.cache import ID_READ_SYNC_S, registry_cache
from schemas.choices import Mode
from schemas.compatibility import (
    CompatibilityLevel,
    CompatibilityPolicy,
    CompatibilityResult,
    SchemaVersion,
    check_compatibility,
)
from schemas.documents import (
    Reference,
    fingerprint,
)
from schemas.errors import InvalidSchema, RegistryError, SchemaNotFound
from schemas.examples import example_for_result
from schemas.models import RegistryState, Schema, SchemaReference, Subject, SubjectVersion
from schemas.naming import Latest, context_of, normalize_subject, supported_schema_type
from schemas.validation import validator_for

# ---------------------------------------------------------------------------------------------
# Config and mode


@dataclass(frozen=True)
class EffectiveConfig:
    """The settings that apply to one subject: its own where set, else the global ones."""

    level: CompatibilityLevel
    policy: CompatibilityPolicy
    normalize: bool
    validate_fields: bool


def registry_state() -> RegistryState | None:
    return RegistryState.objects.filter(pk=RegistryState.SINGLETON_ID).first()


def config_shown(
    level_key: str, level: str | None, policy: str | None, normalize: bool | None, validate_fields: bool | None
) -> dict[str, Any]:
    """The config keys that are set, as Confluent names them; the level under `level_key`
    (GET answers `compatibilityLevel`, PUT echoes `compatibility`)."""
    keys = (
        (level_key, level),
        ("compatibilityPolicy", policy),
        ("normalize", normalize),
        ("validateFields", validate_fields),
    )
    return {key: value for key, value in keys if value is not None}


def _config_fields(row: RegistryState | Subject | None) -> dict[str, Any]:
    """The config keys a row sets, in Confluent's GET shape."""
    if row is None:
        return {}
    return config_shown(
        "compatibilityLevel", row.compatibility_level, row.compatibility_policy, row.normalize, row.validate_fields
    )


def global_config() -> dict[str, Any]:
    """GET /config: the global config, with the server default level when none is set."""
    return {"compatibilityLevel": c.DEFAULT_COMPATIBILITY_LEVEL, **_config_fields(registry_state())}


def subject_config(subject: str, *, default_to_global: bool = False) -> dict[str, Any]:
    """GET /config/{subject}: its own config (40408 if none), or with `default_to_global` the
    config in force (its own keys over the global ones)."""
    row = Subject.objects.filter(name=subject).first()
    own = _config_fields(row)
    if default_to_global:
        return {**global_config(), **own}
    if not own:
        raise RegistryError(
            c.SUBJECT_COMPATIBILITY_NOT_CONFIGURED, c.MSG_SUBJECT_COMPATIBILITY_NOT_CONFIGURED.format(subject=subject)
        )
    return own


def effective_config(subject: Subject | None, state: RegistryState | None = None) -> EffectiveConfig:
    """Per key: the subject's value, else the global one, else the server default."""
    if state is None:
        state = registry_state()

    def pick(name: str) -> Any:
        for row in (subject, state):
            value = getattr(row, name, None) if row is not None else None
            if value is not None:
                return value
        return None

    level = pick("compatibility_level") or c.DEFAULT_COMPATIBILITY_LEVEL
    policy = pick("compatibility_policy") or c.DEFAULT_COMPATIBILITY_POLICY
    return EffectiveConfig(
        level=CompatibilityLevel.parse(level),
        policy=CompatibilityPolicy.parse(policy),
        normalize=bool(pick("normalize")),
        validate_fields=bool(pick("validate_fields")),
    )


def global_mode() -> str:
    state = registry_state()
    return (state.mode if state is not None else None) or c.DEFAULT_MODE


def subject_mode(subject: str, *, default_to_global: bool = False) -> str:
    """GET /mode/{subject}: its own mode (40409 if none), or the mode in force."""
    row = Subject.objects.filter(name=subject).only("mode").first()
    if row is not None and row.mode:
        return row.mode
    if default_to_global:
        return global_mode()
    raise RegistryError(c.SUBJECT_MODE_NOT_CONFIGURED, c.MSG_SUBJECT_MODE_NOT_CONFIGURED.format(subject=subject))


def effective_mode(subject: Subject | None, state: RegistryState | None) -> Mode:
    value = (subject.mode if subject is not None else None) or (state.mode if state is not None else None)
    return Mode(value or c.DEFAULT_MODE)


# ---------------------------------------------------------------------------------------------
# Subjects and versions


def _subjects_with_counts() -> QuerySet[Subject]:
    return Subject.objects.annotate(
        version_count=Count("versions"),
        live_count=Count("versions", filter=Q(versions__deleted=False)),
    )


def subject_names(
    *,
    prefix: str | None = None,
    deleted: bool = False,
    deleted_only: bool = False,
    offset: int = 0,
    limit: int = -1,
) -> list[str]:
    """GET /subjects: subjects with a live version; `deleted` adds those whose versions are all
    soft-deleted, `deleted_only` lists only those."""
    queryset = _subjects_with_counts().filter(version_count__gt=0)
    if deleted_only:
        queryset = queryset.filter(live_count=0)
    elif not deleted:
        queryset = queryset.filter(live_count__gt=0)
    if prefix and prefix != c.WILDCARD_CONTEXT:
        queryset = queryset.filter(name__startswith=normalize_subject(prefix))
    names = list(queryset.order_by("name").values_list("name", flat=True))
    return _page(names, offset, limit)


def _page(items: list[Any], offset: int, limit: int) -> list[Any]:
    items = items[max(offset, 0) :]
    return items if limit is None or limit < 0 else items[:limit]


def subject_get(subject: str) -> Subject | None:
    return Subject.objects.filter(name=subject).first()


def _versions_of(subject: str) -> list[SubjectVersion]:
    return list(
        SubjectVersion.objects.filter(subject__name=subject).select_related("schema", "subject").order_by("version")
    )


def version_heads(subject: str) -> list[SubjectVersion]:
    """A subject's versions with their subject and schema rows but not the schema texts (the
    checks take parsed documents from the per-process cache): what register and the
    compatibility endpoint need, in one query."""
    return list(
        SubjectVersion.objects.filter(subject__name=subject)
        .select_related("schema", "subject")
        .defer("schema__schema_text", "schema__references")
        .order_by("version")
    )


def subject_version_numbers(
    subject: str, *, deleted: bool = False, deleted_only: bool = False, deleted_as_negative: bool = False
) -> list[int]:
    """GET /subjects/{s}/versions. 40401 when nothing would be listed for lack of live versions."""
    rows = list(
        SubjectVersion.objects.filter(subject__name=subject).order_by("version").values_list("version", "deleted")
    )
    if not rows or (not (deleted or deleted_only) and all(is_deleted for _, is_deleted in rows)):
        raise errors.subject_not_found(subject)
    if deleted_only:
        return [version for version, is_deleted in rows if is_deleted]
    if deleted or deleted_as_negative:
        if deleted_as_negative:
            return [-version if is_deleted else version for version, is_deleted in rows]
        return [version for version, _ in rows]
    return [version for version, is_deleted in rows if not is_deleted]


def subject_version(subject: str, version: int | Latest, *, deleted: bool = False) -> SubjectVersion:
    """One version (schema loaded). 40401 if the subject has no version visible with `deleted`;
    40402 if that version is absent or soft-deleted (unless `deleted`). `latest` skips
    soft-deleted versions."""
    queryset = SubjectVersion.objects.filter(subject__name=subject).select_related("schema", "subject")
    visible = queryset if deleted else queryset.filter(deleted=False)
    if version == c.VERSION_LATEST:
        row = queryset.filter(deleted=False).order_by("-version").first()
        if row is None and deleted:
            row = queryset.order_by("-version").first()
        if row is None:
            raise errors.subject_not_found(subject)
        return row
    row = visible.filter(version=version).first()
    if row is None:
        if not visible.exists():
            raise errors.subject_not_found(subject)
        raise errors.version_not_found(version)
    return row


def version_referenced_by(subject: str, version: int | Latest, *, deleted: bool = False) -> list[int]:
    """GET .../referencedby: ids of schemas whose references name this version (live referrers
    only unless `deleted`)."""
    row = subject_version(subject, version, deleted=deleted)
    return _referrer_ids(row.subject.name, row.version, include_deleted=deleted)


def _referrer_ids(subject: str, version: int, *, include_deleted: bool) -> list[int]:
    holders = SubjectVersion.objects.all() if include_deleted else SubjectVersion.objects.filter(deleted=False)
    referrers = SchemaReference.objects.filter(subject=subject, version=version).values("schema_id")
    return sorted(set(holders.filter(schema_id__in=referrers).values_list("schema_id", flat=True)))


def version_is_referenced(subject: str, version: int, *, by_deleted_too: bool) -> bool:
    return bool(_referrer_ids(subject, version, include_deleted=by_deleted_too))


# ---------------------------------------------------------------------------------------------
# Schemas by id


def schema_by_id(schema_id: int) -> Schema:
    """A schema id held by any version (soft-deleted included); 40403 otherwise."""
    row = Schema.objects.filter(pk=schema_id).only("schema_type", "schema_text", "references").first()
    if row is None:
        raise SchemaNotFound(schema_id)
    return row


@dataclass(frozen=True)
class SchemaText:
    schema_type: str
    schema_text: str
    references: list[dict[str, Any]]


def schema_text_by_id(schema_id: int) -> SchemaText:
    """GET /schemas/ids/{id}, read by every consumer on every new id: one primary-key read in
    plain SQL (the ORM's query building costs more than the read itself). 40403 if unknown."""
    with connection.cursor() as cursor:
        cursor.execute('SELECT schema_type, schema_text, "references" FROM schemas_schema WHERE id = %s', [schema_id])
        row = cursor.fetchone()
    if row is None:
        raise SchemaNotFound(schema_id)
    references = row[2]
    if isinstance(references, (str, bytes)):
        references = loads(references)
    return SchemaText(row[0], row[1], references or [])


def schema_text_by_id_cached(schema_id: int) -> SchemaText:
    """`schema_text_by_id` from this process's memory: ids are immutable, and a permanent
    deletion elsewhere is seen within `ID_READ_SYNC_S` (see schemas/cache.py)."""
    registry_cache.sync_if_older_than(ID_READ_SYNC_S)
    found = registry_cache.id_reads.get(schema_id)
    if found is None:
        found = schema_text_by_id(schema_id)
        registry_cache.remember_id_read(schema_id, found)
    return found


def max_schema_id() -> int:
    return Schema.objects.aggregate(top=Max("id"))["top"] or 0


def schema_subject_versions(
    schema_id: int, *, subject: str | None = None, deleted: bool = False
) -> list[SubjectVersion]:
    """The (subject, version) pairs holding an id; 40403 for an unknown id."""
    if not Schema.objects.filter(pk=schema_id).exists():
        raise SchemaNotFound(schema_id)
    queryset = SubjectVersion.objects.filter(schema_id=schema_id).select_related("subject")
    if not deleted:
        queryset = queryset.filter(deleted=False)
    if subject:
        queryset = queryset.filter(subject__name=normalize_subject(subject))
    return list(queryset.order_by("subject__name", "version"))


def schema_list(
    *,
    prefix: str | None = None,
    deleted: bool = False,
    latest_only: bool = False,
    offset: int = 0,
    limit: int = -1,
) -> list[SubjectVersion]:
    """GET /schemas: every (subject, version), or each subject's latest, by subject then version."""
    queryset = SubjectVersion.objects.select_related("schema", "subject")
    if not deleted:
        queryset = queryset.filter(deleted=False)
    if prefix and prefix != c.WILDCARD_CONTEXT:
        queryset = queryset.filter(subject__name__startswith=normalize_subject(prefix))
    rows = list(queryset.order_by("subject__name", "version"))
    if latest_only:
        latest: dict[str, SubjectVersion] = {}
        for row in rows:
            latest[row.subject.name] = row
        rows = list(latest.values())
    return _page(rows, offset, limit)


def contexts() -> list[str]:
    """GET /contexts: the default context plus any named in qualified subjects."""
    names = Subject.objects.filter(name__startswith=c.CONTEXT_PREFIX).values_list("name", flat=True)
    return sorted({c.DEFAULT_CONTEXT, *(context_of(name) for name in names)})


# ---------------------------------------------------------------------------------------------
# Documents: a schema id's parsed content with its references, as the checker and validators need


@dataclass(frozen=True)
class LoadedSchema:
    """A registered schema ready for checks: parsed, with every (transitively) referenced
    document by reference name. Shared by the process cache: never mutate."""

    schema_id: int
    schema_type: str
    text: str
    parsed: Any
    references: tuple[Reference, ...]
    documents: Mapping[str, Any] = field(default_factory=dict)


def loaded_schema(schema_id: int) -> LoadedSchema:
    """The document of a schema id, cached per process (ids are immutable); 40403 if unknown."""
    found = registry_cache.document(schema_id)
    if found is not None:
        return found
    row = schema_by_id(schema_id)
    references = tuple(_reference_from_stored(item) for item in row.references)
    document = LoadedSchema(
        schema_id=schema_id,
        schema_type=row.schema_type,
        text=row.schema_text,
        parsed=formats.parse(row.schema_type, row.schema_text),
        references=references,
        documents=_referenced_documents(references, seen={schema_id}),
    )
    registry_cache.remember_document(schema_id, document)
    return document


def schema_serialized(schema_id: int) -> str:
    """A Protobuf schema as Confluent's `format=serialized`: its base64 FileDescriptorProto."""
    document = loaded_schema(schema_id)
    return formats.check(document.schema_type, document.parsed, document.documents).serialized()


def _reference_from_stored(item: Mapping[str, Any]) -> Reference:
    return Reference(name=str(item["name"]), subject=str(item["subject"]), version=int(item["version"]))


def _referenced_documents(references: Sequence[Reference], *, seen: set[int]) -> dict[str, Any]:
    """name -> parsed document for the references and, below them, theirs (first name wins)."""
    documents: dict[str, Any] = {}
    nested: list[Mapping[str, Any]] = []
    for reference in references:
        row = (
            SubjectVersion.objects.filter(subject__name=reference.subject, version=reference.version)
            .values_list("schema_id", flat=True)
            .first()
        )
        if row is None:
            raise InvalidSchema(
                f"Invalid schema: reference '{reference.name}' names subject '{reference.subject}' "
                f"version {reference.version}, which does not exist"
            )
        if row in seen:
            continue
        target = loaded_schema(row)
        documents.setdefault(reference.name, target.parsed)
        nested.append(target.documents)
    for more in nested:
        for name, document in more.items():
            documents.setdefault(name, document)
    return documents


def resolve_references(raw: object) -> list[Reference]:
    """The request's `references`, checked and with version -1/"latest" pinned to the live latest.
    A reference to nothing is 42201, like any schema whose references cannot be resolved."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidSchema("Invalid schema: 'references' must be a list of {name, subject, version}")
    resolved: list[Reference] = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidSchema("Invalid schema: each reference must be an object {name, subject, version}")
        name, subject, version = item.get("name"), item.get("subject"), item.get("version")
        if not isinstance(name, str) or not name or not isinstance(subject, str) or not subject:
            raise InvalidSchema("Invalid schema: a reference needs a non-empty 'name' and 'subject'")
        subject = normalize_subject(subject)
        if version is None or version == -1 or (isinstance(version, str) and version.lower() == c.VERSION_LATEST):
            latest = (
                SubjectVersion.objects.filter(subject__name=subject, deleted=False)
                .order_by("-version")
                .values_list("version", flat=True)
                .first()
            )
            if latest is None:
                raise InvalidSchema(
                    f"Invalid schema: reference '{name}' names subject '{subject}', which has no live version"
                )
            version = latest
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= c.VERSION_MAX:
            raise InvalidSchema(f"Invalid schema: reference '{name}' has an invalid version {version!r}")
        if not SubjectVersion.objects.filter(subject__name=subject, version=version, deleted=False).exists():
            raise InvalidSchema(
                f"Invalid schema: reference '{name}' names subject '{subject}' version {version}, which does not exist"
            )
        resolved.append(Reference(name=name, subject=subject, version=version))
    return resolved


@dataclass(frozen=True)
class Candidate:
    """A schema from a request, parsed and identified; `validator` is set once fully checked."""

    schema_type: str
    parsed: Any
    text: str
    references: tuple[Reference, ...]
    documents: Mapping[str, Any]
    fingerprint: str
    validator: Any = None

    def as_version(self) -> SchemaVersion:
        return SchemaVersion(
            version=None,
            schema=self.parsed,
            schema_text=self.text,
            references=self.documents,
            schema_type=self.schema_type,
        )


def candidate_from_request(
    *, schema: object, schema_type: object, references: object, normalize: bool, check: bool = True
) -> Candidate:
    """Parse a request's schema: type supported, JSON, references resolved; with `check`, also
    valid against its draft's meta-schema with every `$ref` resolvable (42201 otherwise)."""
    type_name = supported_schema_type(schema_type)
    if schema is None or schema == "":
        raise InvalidSchema(c.MSG_EMPTY_SCHEMA)
    if not isinstance(schema, str):
        raise InvalidSchema("Invalid schema: the 'schema' field must be a string holding the schema's JSON text")
    _refuse_oversized(schema)
    parsed = formats.parse(type_name, schema)
    resolved = resolve_references(references)
    if normalize:
        # Confluent's JSON normalisation sorts object keys and the references.
        resolved = sorted(resolved, key=lambda reference: (reference.name, reference.subject, reference.version))
    documents = _referenced_documents(resolved, seen=set())
    formats.check_depth(type_name, parsed, documents)
    validator = None
    if check:
        validator = formats.check(type_name, parsed, documents)
    text, identity = formats.texts(type_name, parsed, normalize=normalize, documents=documents)
    return Candidate(
        schema_type=type_name,
        parsed=parsed,
        text=text,
        references=tuple(resolved),
        documents=documents,
        fingerprint=fingerprint(type_name, identity, resolved),
        validator=validator,
    )


def _refuse_oversized(schema: str) -> None:
    """42201 for schema text over EVENTLINE_MAX_SCHEMA_BYTES, before anything parses it: a parsed
    schema takes about five times its text in memory, and checks build more from it."""
    limit = settings.EVENTLINE["MAX_SCHEMA_BYTES"]
    if len(schema) * 4 > limit and (size := len(schema.encode("utf-8", "surrogatepass"))) > limit:
        raise InvalidSchema(
            f"Invalid schema: the schema is {size} bytes, over the limit of {limit} bytes (EVENTLINE_MAX_SCHEMA_BYTES)"
        )


def candidate_checked(candidate: Candidate) -> Candidate:
    """The candidate after the full check (meta-schema, references, compilation); 42201 if it fails."""
    validator = formats.check(candidate.schema_type, candidate.parsed, candidate.documents)
    return replace(candidate, validator=validator)


def as_schema_version(row: SubjectVersion) -> SchemaVersion:
    document = loaded_schema(row.schema_id)
    return SchemaVersion(
        version=row.version,
        schema=document.parsed,
        schema_text=document.text,
        references=document.documents,
        schema_type=document.schema_type,
        # The text is part of the key: ids are never reused within a registry, but a process can
        # outlive its database (tests, a restored backup).
        cache_key=(row.schema_id, document.text),
    )


# ---------------------------------------------------------------------------------------------
# Lookup and compatibility


def schema_lookup(
    *, subject: str, schema: object, schema_type: object, references: object, normalize: bool, deleted: bool
) -> SubjectVersion:
    """POST /subjects/{s}: the version of this subject holding exactly this schema.
    40401 if the subject has no version (live unless `deleted`); 42201 if none matches and the
    schema is invalid (an Avro name its references do not define, say); else 40403."""
    registry_cache.sync()
    subject_row = subject_get(subject)
    versions = [row for row in _versions_of(subject) if deleted or not row.deleted]
    if subject_row is None or not versions:
        raise errors.subject_not_found(subject)
    normalize = normalize or effective_config(subject_row).normalize
    candidate = candidate_from_request(
        schema=schema, schema_type=schema_type, references=references, normalize=normalize, check=False
    )
    matches = [row for row in versions if row.schema.fingerprint == candidate.fingerprint]
    if not matches:
        # As Confluent: a schema that does not parse (with its references) is 42201, not "not found".
        candidate_checked(candidate)
        raise SchemaNotFound()
    # A live version wins over a soft-deleted one holding the same schema.
    matches.sort(key=lambda row: (not row.deleted, row.version))
    return matches[-1]


def compatibility_check(
    *,
    subject: str,
    schema: object,
    schema_type: object,
    references: object,
    normalize: bool,
    version: int | Latest | None,
) -> CompatibilityResult:
    """POST /compatibility/subjects/{s}/versions[/{v}].

    With a version: that one version only, whatever the level's transitivity; `latest` of a
    subject with no live version is compatible; a numeric version that does not exist is 40402
    (even for an unknown subject). Without a version: exactly the check registration runs.
    Raises InvalidSchema (42201) for a candidate that does not parse or check.
    """
    registry_cache.sync()
    versions = version_heads(subject)
    subject_row = versions[0].subject if versions else subject_get(subject)
    config = effective_config(subject_row)
    live = [row for row in versions if not row.deleted]
    if version is None:
        candidate = candidate_from_request(
            schema=schema,
            schema_type=schema_type,
            references=references,
            normalize=normalize or config.normalize,
        )
        if any(row.schema.fingerprint == candidate.fingerprint for row in live):
            # Registration would return the existing id without a check.
            return CompatibilityResult(is_compatible=True)
        previous = live
    else:
        if version == c.VERSION_LATEST:
            previous = live[-1:]
        else:
            previous = [row for row in live if row.version == version]
            if not previous:
                raise errors.version_not_found(version)
        candidate = candidate_from_request(
            schema=schema,
            schema_type=schema_type,
            references=references,
            normalize=normalize or config.normalize,
        )
    return check_against(candidate, previous, config)


def check_against(
    candidate: Candidate, previous: Sequence[SubjectVersion], config: EffectiveConfig, *, with_example: bool = True
) -> CompatibilityResult:
    """The checker's verdict for `candidate` against live versions (oldest first) at the level;
    a failing verdict carries an example event when one is found in the budget (schemas.examples),
    unless `with_example` is off (registration searches after releasing the registry lock)."""
    if config.level is CompatibilityLevel.NONE or not previous:
        return CompatibilityResult(is_compatible=True)
    new = candidate.as_version()
    versions = [as_schema_version(row) for row in previous]
    result = check_compatibility(new, versions, config.level, config.policy, validate_fields=config.validate_fields)
    if result.is_compatible or not with_example:
        return result
    return add_example(result, candidate, previous)


def add_example(
    result: CompatibilityResult, candidate: Candidate, previous: Sequence[SubjectVersion]
) -> CompatibilityResult:
    """`result` with an example event of its first breaking change, when one is found in the
    budget. Reads no row: the versions are the ones the check read."""
    new = candidate.as_version()
    versions = [as_schema_version(row) for row in previous]
    failing = next((row for row in previous if row.version == result.failing_version), None)
    example = example_for_result(
        result, new, versions, old_validator=validator_for(failing.schema_id) if failing is not None else None
    )
    return replace(result, example=example) if example is not None else result


def live_versions(subject: str) -> list[SubjectVersion]:
    return [row for row in _versions_of(subject) if not row.deleted]


def all_versions(subject: str) -> list[SubjectVersion]:
    return _versions_of(subject)


# ---------------------------------------------------------------------------------------------
# Pages


@dataclass(frozen=True)
class SubjectRow:
    """One line of the subject list page."""

    name: str
    latest_version: int | None
    latest_schema_id: int | None
    version_count: int
    live_count: int
    level: str
    own_level: bool
    updated_at: Any

    @property
    def deleted_count(self) -> int:
        return self.version_count - self.live_count


def subject_overview(*, search: str = "", include_deleted: bool = False) -> list[SubjectRow]:
    """Subjects with their latest live version, version counts and level in force, in a fixed
    number of queries whatever the number of subjects."""
    from django.db.models import OuterRef, Subquery

    latest = SubjectVersion.objects.filter(subject=OuterRef("pk"), deleted=False).order_by("-version")
    queryset = (
        _subjects_with_counts()
        .filter(version_count__gt=0)
        .annotate(
            latest_version=Subquery(latest.values("version")[:1]),
            latest_schema_id=Subquery(latest.values("schema_id")[:1]),
            updated_at=Max("versions__created_at"),
        )
    )
    if not include_deleted:
        queryset = queryset.filter(live_count__gt=0)
    if search:
        queryset = queryset.filter(name__icontains=search)
    default_level = global_config()["compatibilityLevel"]
    return [
        SubjectRow(
            name=row.name,
            latest_version=row.latest_version,
            latest_schema_id=row.latest_schema_id,
            version_count=row.version_count,
            live_count=row.live_count,
            level=row.compatibility_level or default_level,
            own_level=row.compatibility_level is not None,
            updated_at=row.updated_at,
        )
        for row in queryset.order_by("name")
    ]


@dataclass(frozen=True)
class VersionDiff:
    """Everything that differs between two versions, each difference judged both ways, and the
    verdict at the subject's level (`breaks` directions that the level checks)."""

    subject: str
    old: SubjectVersion
    new: SubjectVersion
    level: CompatibilityLevel
    differences: list[Any]
    breaking_directions: frozenset[str]

    @property
    def compatible_at_level(self) -> bool:
        checked = set()
        if self.level.checks_backward:
            checked.add("backward")
        if self.level.checks_forward:
            checked.add("forward")
        return not (checked & self.breaking_directions)


def version_diff(subject: str, old_version: int, new_version: int) -> VersionDiff:
    """The structured differences from `old_version` to `new_version` (either may be soft-deleted)."""
    registry_cache.sync()
    old = subject_version(subject, old_version, deleted=True)
    new = subject_version(subject, new_version, deleted=True)
    config = effective_config(old.subject)
    result = check_compatibility(
        as_schema_version(new), [as_schema_version(old)], CompatibilityLevel.FULL, config.policy
    )
    differences = list(result.differences)
    return VersionDiff(
        subject=subject,
        old=old,
        new=new,
        level=config.level,
        differences=differences,
        breaking_directions=frozenset(d.direction for d in differences if d.breaks),
    )
