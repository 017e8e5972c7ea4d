"""The Procfile names programs that exist: each Celery app, WSGI module and management command it
runs can be loaded, so a deployment does not fail on a name that drifted from the code."""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

from django.core.management import get_commands

PROCFILE = Path(__file__).resolve().parents[2] / "Procfile"


def entries() -> dict[str, list[str]]:
    found = {}
    for line in PROCFILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            found[name] = [word for word in shlex.split(command) if not re.match(r"^[A-Z_]+=", word)]
    return found


def test_the_procfile_has_the_processes_the_deployment_page_lists():
    assert set(entries()) == {"release", "web", "worker", "beat", "consumers", "indexer"}
    page = (PROCFILE.parent / "docs" / "deployment.md").read_text()
    assert all(f"| {name} |" in page for name in entries())


def test_every_program_the_procfile_runs_loads():
    for name, words in entries().items():
        if words[:2] == ["python", "manage.py"]:
            assert words[2] in get_commands(), name
        elif words[:2] == ["python", "-m"]:
            importlib.import_module(words[2])
            module, _, attribute = words[-1].partition(":")
            assert callable(getattr(importlib.import_module(module), attribute)), name
        else:
            assert words[0] == "celery" and words[1:3] == ["-A", "config"], name
            assert importlib.import_module("config").celery_app.main == "eventline"
