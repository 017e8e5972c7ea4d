"""No dead ends (issue 14): every URL of the app, given names that do not exist, answers without a
server error; pages answer a styled 404 with a way back and a search, and /api/ and /registry/
paths answer in their own JSON error formats, never HTML."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

UNKNOWN = {"str": "Nope", "slug": "nope", "int": "987654", "path": "nope/deeper"}


def _walk(patterns, prefix: str = "") -> list[str]:
    paths: list[str] = []
    for entry in patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            paths += _walk(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            paths.append(prefix + route)
    return paths


def _concrete(route: str) -> str | None:
    if route.startswith("^") or "(?P" in route:  # regex routes (static files, schema docs) are not ours
        return None
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: UNKNOWN.get(m.group(1) or "str", "Nope"), route)


def _unknown_name_paths() -> list[str]:
    paths = {_concrete(route) for route in _walk(get_resolver().url_patterns)}
    return sorted(p for p in paths if p and any(name in p for name in UNKNOWN.values()))


@pytest.fixture
def admin(client, django_user_model):
    user = django_user_model.objects.create_user("ada", password="pw")
    user.groups.add(Group.objects.get_or_create(name="admin")[0])
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", _unknown_name_paths())
def test_unknown_names_never_answer_a_server_error(admin, path):
    response = admin.get(path)

    assert response.status_code < 500, f"{path}: {response.status_code}"
    content_type = response.get("Content-Type", "")
    if path.startswith(("/api/", "/registry/")):
        assert "html" not in content_type, f"{path} answered HTML"
    elif response.status_code == 404:
        html = response.content.decode()
        assert "<nav" in html and 'name="q"' in html, f"{path}: the 404 is not the styled page"


@pytest.mark.parametrize(
    ("path", "envelope"),
    [("/api/v1/nope/", "error"), ("/api/v1/topics/Nope/nope", "error"), ("/registry/nope/deeper", "error_code")],
)
def test_unknown_api_and_registry_paths_answer_their_own_json_404(admin, path, envelope):
    response = admin.get(path)

    assert response.status_code == 404
    assert "json" in response["Content-Type"]
    assert envelope in response.json()


def test_a_page_for_a_name_that_does_not_exist_says_what_was_not_found(admin):
    response = admin.get("/catalog/event-types/Nope/")

    assert response.status_code == 404
    html = response.content.decode()
    assert "Event type &#x27;Nope&#x27; does not exist." in html
    assert 'href="/catalog/"' in html


def test_an_address_that_matches_nothing_gets_the_styled_404(admin):
    response = admin.get("/no/such/page/")

    assert response.status_code == 404
    assert 'name="q"' in response.content.decode()
