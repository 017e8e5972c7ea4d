"""The evaluation package stays pure: no Django, no I/O, no clock (every "now" is an argument)."""

from __future__ import annotations

import ast
from pathlib import Path

import monitoring.evaluation

PACKAGE_DIR = Path(monitoring.evaluation.__file__).parent
PURE_STANDARD_LIBRARY = {
    "__future__",
    "bisect",
    "collections",
    "dataclasses",
    "enum",
    "fnmatch",
    "fractions",
    "hashlib",
    "heapq",
    "itertools",
    "math",
    "re",
    "typing",
}
IMPURE_CALLS = {"open", "print", "input"}


def _imported_modules(tree: ast.Module) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def test_evaluation_modules_import_only_pure_standard_library_modules() -> None:
    sources = sorted(PACKAGE_DIR.glob("*.py"))
    assert len(sources) == 6
    for source in sources:
        tree = ast.parse(source.read_text(), filename=str(source))
        assert _imported_modules(tree) <= PURE_STANDARD_LIBRARY, source.name
        called = {
            node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert not called & IMPURE_CALLS, source.name


def test_package_exports_every_public_name_it_lists() -> None:
    exported = set(monitoring.evaluation.__all__)
    assert {"evaluate_partition", "event_latencies", "critical_path", "otel_spans", "retention_plan"} <= exported
    assert all(hasattr(monitoring.evaluation, name) for name in exported)
