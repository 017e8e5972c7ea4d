"""`manage.py schema check --subject S FILE`: would this schema file register under S? For
pipelines that keep schema files but no catalog folder. Exit status 0 when it would, 1 when it
is incompatible or does not parse; the differences and the consumers who would break are printed
as text, or as JSON with --json."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from schemas.change_check import SCHEMA_TYPE_BY_SUFFIX, schema_change_check, schema_type_of


class Command(BaseCommand):
    help = "Check a schema file against the registry (exit status for CI)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        check = actions.add_parser("check", help="would FILE register under --subject?")
        check.add_argument("--subject", required=True)
        check.add_argument("file")
        check.add_argument(
            "--schema-type", choices=sorted(SCHEMA_TYPE_BY_SUFFIX.values()), help="default: by the file's suffix"
        )
        check.add_argument(
            "--reference",
            action="append",
            default=[],
            metavar="NAME=SUBJECT:VERSION",
            help="a registry reference the schema uses (repeat for several), as Confluent's references",
        )
        check.add_argument("--json", action="store_true", help="one JSON object, for bots")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        schema_type = options.get("schema_type") or schema_type_of(path.name)
        if schema_type is None:
            raise CommandError(f"{path}: say --schema-type, or name the file .json, .avsc or .proto")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        references = [_reference(value) for value in options["reference"]]
        report = schema_change_check(
            subject=options["subject"],
            text=text,
            schema_type=schema_type,
            file=str(path),
            references=references or None,
        )
        if options["json"]:
            self.stdout.write(json.dumps({"ok": report.ok, **report.as_dict()}, indent=2, default=str))
        else:
            self.stdout.write("\n".join(report.as_text()))
        if not report.ok:
            sys.exit(1)


def _reference(value: str) -> dict[str, Any]:
    """`common.json=common-value:2` -> {"name": "common.json", "subject": "common-value", "version": 2}."""
    name, _, target = value.partition("=")
    subject, _, version = target.rpartition(":")
    if not name or not subject or not version.isdigit():
        raise CommandError(f"--reference {value!r}: write NAME=SUBJECT:VERSION, e.g. common.json=common-value:1")
    return {"name": name, "subject": subject, "version": int(version)}
