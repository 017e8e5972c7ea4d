"""The API's JSON parser: what it refuses for every endpoint before a view sees the body."""

from __future__ import annotations

import pytest

from catalog.models import Domain

pytestmark = pytest.mark.django_db

DOMAINS = "/api/v1/catalog/domains/"


def nested(levels: int) -> object:
    value: object = "leaf"
    for _ in range(levels):
        value = [value]
    return value


def test_a_body_nested_deeper_than_the_limit_is_422_naming_the_limit(api, settings):
    limit = settings.EVENTLINE["MAX_JSON_DEPTH"]
    response = api.post(DOMAINS, {"name": "Deep", "description": nested(limit)})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "too_deep"
    assert error["details"]["max_depth"] == limit
    assert str(limit) in error["message"] and "EVENTLINE_MAX_JSON_DEPTH" in error["message"]
    assert not Domain.objects.exists()


def test_a_body_deeper_than_the_json_parser_goes_is_the_same_422(api):
    response = api.post(DOMAINS, b'{"name": "Deep", "description": ' + b"[" * 2000 + b"]" * 2000 + b"}")
    assert response.status_code == 422 and response.json()["error"]["code"] == "too_deep"


def test_a_body_at_the_limit_reaches_the_view(api, settings):
    limit = settings.EVENTLINE["MAX_JSON_DEPTH"]
    response = api.post(DOMAINS, {"name": "Deep", "ignored": nested(limit - 1)})
    assert response.status_code == 201, response.content
    assert Domain.objects.filter(name="Deep").exists()


def test_the_limit_is_a_setting(api, settings):
    settings.EVENTLINE = {**settings.EVENTLINE, "MAX_JSON_DEPTH": 3}
    response = api.post(DOMAINS, {"name": "Deep", "description": [[["x"]]]})
    assert response.status_code == 422 and response.json()["error"]["details"]["max_depth"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Ordering", "description": "bad\x00byte"}, "description"),
        ({"name": "Ord\x00ering"}, "name"),
        ({"name": "Ordering", "tags": [{"label": "x\x00"}]}, "tags[0].label"),
    ],
)
def test_a_nul_character_anywhere_in_an_api_body_is_422_naming_the_field(api, body, field):
    response = api.post(DOMAINS, body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "nul_character"
    assert error["details"]["errors"] == [{"field": field, "reason": "must not contain a NUL character (\\u0000)"}]
    assert not Domain.objects.exists()
