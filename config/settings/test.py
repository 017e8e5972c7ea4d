"""Test settings: the same app, a throwaway secret and a file-backed SQLite test database (so
other threads and processes can share it) unless DATABASE_URL points elsewhere."""

from __future__ import annotations

import os
import tempfile

_test_dir = os.environ.get("EVENTLINE_TEST_DIR") or tempfile.mkdtemp(prefix="eventline-test-")
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(_test_dir, "prometheus"))

from .base import *  # noqa: E402, F403
from .base import DATABASES, EVENTLINE  # noqa: E402

SECRET_KEY = "test-only-not-a-secret"  # noqa: S105 - tests only; production refuses to start without a real one
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "core.db.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(_test_dir, "test.sqlite3")}
EVENTLINE["RUN_DIR"] = os.path.join(_test_dir, "run")
EVENTLINE["API_KEY_CACHE_S"] = 0.0
# No background writer threads in tests: the tests that look at last use flush themselves.
EVENTLINE["KEY_USE_FLUSH_S"] = 0.0
EVENTLINE["REGISTRY_USE_FLUSH_S"] = 0.0

# A helper process started by a test connects straight to that test's database.
if os.environ.get("EVENTLINE_TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["EVENTLINE_TEST_DB_NAME"]
