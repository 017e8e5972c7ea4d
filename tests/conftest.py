"""Shared fixtures. Tests talk to the API through DRF's client with real API keys, against the real
database of the run (SQLite by default, PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from core.auth import clear_key_cache


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI (EVENTLINE_FAIL_ON_SKIP=1) a skipped test fails the run: skips there hide missing work."""
    if os.environ.get("EVENTLINE_FAIL_ON_SKIP") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"EVENTLINE_FAIL_ON_SKIP: {len(skipped)} test(s) skipped; failing the run.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_setup", "live_server"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that touch no database `db_independent`: the PostgreSQL pass of `make test`
    leaves them out (they would only repeat the SQLite pass: pure checkers, fixtures, property
    tests), which keeps the second pass to what the database can change."""
    for item in items:
        uses_database = item.get_closest_marker("django_db") is not None or bool(
            _DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        )
        if not uses_database:
            item.add_marker(pytest.mark.db_independent)


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Iterator[None]:
    clear_key_cache()
    yield
    clear_key_cache()


@pytest.fixture(autouse=True)
def _fresh_produce_targets() -> Iterator[None]:
    """Each test starts as a fresh process would: no topic settings cached from another test's
    database."""
    from broker.services.produce import produce_targets_forget

    produce_targets_forget()
    yield
    produce_targets_forget()


@pytest.fixture(autouse=True)
def _fresh_registry_cache() -> Iterator[None]:
    """Each test's database starts empty, so schema ids are reused between tests: drop what a test
    cached of them (the registry's validators, the wire format's Avro writers, the registry's use
    not yet written)."""
    from broker.log import wire
    from schemas.cache import registry_cache
    from schemas.usage import registry_uses_forget

    registry_cache.clear()
    wire.forget_schemas()
    registry_uses_forget()
    yield
    registry_cache.clear()
    wire.forget_schemas()
    registry_uses_forget()


@pytest.fixture(autouse=True)
def _fresh_lineage_cache() -> Iterator[None]:
    """Nor a lineage graph another test's estate built (it is kept half a minute per window)."""
    from lineage.selectors import lineage_cache_clear

    lineage_cache_clear()
    yield
    lineage_cache_clear()


@pytest.fixture(autouse=True)
def _fresh_personal_data_fields() -> Iterator[None]:
    """Nor the catalog's personal-data fields (edits forget them only once their transaction
    commits, which a test's never does)."""
    from broker.masking import personal_data_forget

    personal_data_forget()
    yield
    personal_data_forget()


class Api:
    """A DRF test client that authenticates with one API key and speaks JSON."""

    def __init__(self, token: str | None) -> None:
        self.client = APIClient()
        self.token = token
        if token:
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str, **params: Any):
        return self.client.get(path, params)

    def post(self, path: str, body: Any = None, content_type: str = "application/json", **headers: Any):
        from core.jsonutil import dumps

        data = body if isinstance(body, (bytes, str)) else (b"" if body is None else dumps(body))
        return self.client.generic("POST", path, data, content_type=content_type, **headers)

    def patch(self, path: str, body: Any):
        return self.client.patch(path, body, format="json")

    def delete(self, path: str):
        return self.client.delete(path)


@pytest.fixture
def make_api(db) -> Callable[..., Api]:
    """make_api("produce:orders", "consume:*", service="orders") -> a client with such a key."""
    from core.services import api_key_create

    def make(*scopes: str, service: str = "tester") -> Api:
        _, token = api_key_create(service_name=service, scopes=list(scopes) or ["admin"])
        return Api(token)

    return make


@pytest.fixture
def api(make_api) -> Api:
    """An admin client."""
    return make_api("admin", service="admin-tool")


@pytest.fixture
def make_topic(db) -> Callable[..., Any]:
    from broker.services.topics import topic_create

    def make(name: str = "orders", partitions: int = 1, **config: int) -> Any:
        return topic_create(
            name=name, partitions=partitions, config={key.replace("_", "."): value for key, value in config.items()}
        )

    return make


@pytest.fixture
def as_role(client, django_user_model) -> Callable[[str], Any]:
    """as_role("editor") -> the test client logged in as a new person holding that role."""
    from django.contrib.auth.models import Group

    def login(role: str) -> Any:
        user = django_user_model.objects.create_user(f"{role}-person", password="pw")
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        client.force_login(user)
        return client

    return login
