"""Run every benchmark: `python -m bench [--quick]`. Broker benchmarks run on SQLite, and on
PostgreSQL too when BENCH_POSTGRES_URL (or TEST_POSTGRES_URL) names a role that may create
databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = ["bench.broker", "bench.registry", "bench.catalog", "bench.monitoring", "bench.lineage", "bench.traces"]


def main() -> None:
    extra = sys.argv[1:]
    databases = ["sqlite"]
    if os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL"):
        databases.append("postgres")
    else:
        print("BENCH_POSTGRES_URL is not set: PostgreSQL figures are skipped.")
    failed = False
    for suite in SUITES:
        for database in databases:
            result = subprocess.run([sys.executable, "-m", suite, "--db", database, *extra], cwd=ROOT)
            failed |= result.returncode != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
