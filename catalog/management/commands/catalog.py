"""`manage.py catalog export|import|check DIR`: the catalog as a folder kept in Git (layout in
catalog/folder/layout.py). `check` exits 1 when the folder would not import cleanly (for CI);
`import` checks first and changes nothing unless the check passes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.folder.files import folder_read, folder_write
from catalog.folder.sync import (
    FolderImportFailed,
    FolderReport,
    catalog_export,
    catalog_folder_check,
    catalog_folder_import,
)
from core.auth import Principal
from core.constants import SCOPE_ADMIN


def command_principal(action: str) -> Principal:
    """Who the audit names for changes made by this command."""
    return Principal(scopes=frozenset({SCOPE_ADMIN}), username=f"manage.py catalog {action}")


class Command(BaseCommand):
    help = "Export, import or check the catalog as a folder of Markdown, schema and AsyncAPI files."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        export = actions.add_parser("export", help="write the whole catalog into DIR")
        export.add_argument("dir")
        export.add_argument("--public-url", default="", help="server URL written into the AsyncAPI documents")
        for name, text in (("import", "apply DIR to the catalog"), ("check", "validate DIR against the server")):
            action = actions.add_parser(name, help=text)
            action.add_argument("dir")
            action.add_argument("--prune", action="store_true", help="delete what the folder does not hold")
            action.add_argument("--json", action="store_true", help="one JSON object, for bots")
            if name == "import":
                action.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["dir"])
        if options["action"] == "export":
            files = catalog_export(public_url=options["public_url"])
            written, removed = folder_write(directory, files)
            self.stdout.write(f"Wrote {written} file(s) to {directory}; removed {removed} no longer in the catalog.")
            return
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory")
        files = folder_read(directory)
        if options["action"] == "check":
            report, _ = catalog_folder_check(files=files, prune=options["prune"])
        else:
            try:
                report = catalog_folder_import(
                    principal=command_principal("import"),
                    files=files,
                    prune=options["prune"],
                    dry_run=options["dry_run"],
                )
            except FolderImportFailed as failed:
                report = failed.report
        self._show(report, as_json=options["json"])
        if not report.ok:
            sys.exit(1)

    def _show(self, report: FolderReport, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, default=str))
        else:
            self.stdout.write(report.as_text())
