"""What registering a schema file would do, without registering it: for CI (`manage.py schema
check`, `manage.py catalog check`). The verdict is the registration's own check (the subject's
level, transitive or not), with the checker's differences and, when it breaks, the consumers the
impact provider names, as the registry's 409 and `?verbose=true` answers give them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from schemas import selectors
from schemas.cache import registry_cache
from schemas.errors import RegistryError
from schemas.impact import affected_consumers, split_affected
from schemas.naming import normalize_subject

#: A schema file's format by its suffix, and back: what the catalog folder writes and reads.
SCHEMA_TYPE_BY_SUFFIX = {".json": "JSON", ".avsc": "AVRO", ".proto": "PROTOBUF"}
SUFFIX_BY_SCHEMA_TYPE = {schema_type: suffix for suffix, schema_type in SCHEMA_TYPE_BY_SUFFIX.items()}


def schema_type_of(path: str) -> str | None:
    """JSON, AVRO or PROTOBUF by the file's suffix; None for any other file."""
    return SCHEMA_TYPE_BY_SUFFIX.get(PurePath(path).suffix.lower())


@dataclass
class SchemaChangeReport:
    """One schema file against its subject. `action`: unchanged (a live version holds it), create
    (the subject has no live version), new version, or invalid (it does not parse or check)."""

    subject: str
    schema_type: str
    action: str
    is_compatible: bool
    level: str = ""
    messages: list[str] = field(default_factory=list)
    differences: list[dict[str, Any]] = field(default_factory=list)
    affected_consumers: list[dict[str, Any]] = field(default_factory=list)
    downstream_consumers: list[dict[str, Any]] = field(default_factory=list)
    file: str = ""

    @property
    def ok(self) -> bool:
        return self.action != "invalid" and self.is_compatible

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "subject": self.subject,
            "schema_type": self.schema_type,
            "action": self.action,
            "is_compatible": self.is_compatible,
            "level": self.level,
            "messages": self.messages,
            "differences": self.differences,
            "affected_consumers": self.affected_consumers,
            "downstream_consumers": self.downstream_consumers,
        }

    def as_text(self) -> list[str]:
        """Lines for people: the verdict, each breaking difference, who would break."""
        where = f"{self.file} -> " if self.file else ""
        verdict = "ok" if self.ok else ("INVALID" if self.action == "invalid" else "INCOMPATIBLE")
        level = f" at {self.level}" if self.level else ""
        lines = [f"{where}{self.subject} ({self.schema_type}): {self.action}, {verdict}{level}"]
        lines += [f"    {message}" for message in self.messages if self.action == "invalid"]
        for difference in self.differences:
            if difference.get("breaks"):
                lines.append(f"    {difference['type']} at {difference['path']}: {difference['explanation']}")
        for row in self.affected_consumers:
            lines.append(
                f"    would break: {row.get('service')} ({row.get('owner_team') or 'no owner team'})"
                f" reading {row.get('event_type') or self.subject}"
            )
        for row in self.downstream_consumers:
            lines.append(f"    downstream: {row.get('service')} ({row.get('owner_team') or 'no owner team'})")
        return lines


def schema_change_check(
    *, subject: str, text: str, schema_type: str, file: str = "", references: object = None
) -> SchemaChangeReport:
    """Whether registering `text` (with its registry `references`, [{name, subject, version}])
    under `subject` would succeed, and what it would change."""
    registry_cache.sync()
    subject = normalize_subject(subject)
    report = SchemaChangeReport(subject=subject, schema_type=schema_type, action="new version", is_compatible=True)
    report.file = file
    subject_row = selectors.subject_get(subject)
    config = selectors.effective_config(subject_row)
    report.level = config.level.value
    try:
        candidate = selectors.candidate_from_request(
            schema=text, schema_type=schema_type, references=references, normalize=config.normalize
        )
    except RegistryError as error:
        report.action, report.is_compatible, report.messages = "invalid", False, [error.message]
        return report
    live = selectors.live_versions(subject)
    if any(row.schema.fingerprint == candidate.fingerprint for row in live):
        report.action = "unchanged"
        return report
    if not live:
        report.action = "create"
        return report
    result = selectors.check_against(candidate, live, config)
    report.is_compatible = result.is_compatible
    report.messages = list(result.messages)
    report.differences = [difference.to_dict() for difference in result.differences]
    if not result.is_compatible:
        breaking, downstream = split_affected(affected_consumers(subject))
        report.affected_consumers, report.downstream_consumers = breaking, downstream
    return report
