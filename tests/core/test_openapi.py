"""The OpenAPI document describes every broker endpoint; the docs page renders."""

import re

import pytest
import yaml

pytestmark = pytest.mark.django_db

EXPECTED = [
    ("/api/v1/topics", "post"),
    ("/api/v1/topics", "get"),
    ("/api/v1/topics/{topic}", "get"),
    ("/api/v1/topics/{topic}", "patch"),
    ("/api/v1/topics/{topic}", "delete"),
    ("/api/v1/topics/{topic}/events", "post"),
    ("/api/v1/topics/{topic}/partitions/{partition}/events", "get"),
    ("/api/v1/groups", "get"),
    ("/api/v1/groups/{group}", "get"),
    ("/api/v1/groups/{group}/members", "post"),
    ("/api/v1/groups/{group}/members/{member}/heartbeat", "post"),
    ("/api/v1/groups/{group}/members/{member}/events", "get"),
    ("/api/v1/groups/{group}/members/{member}/seek", "post"),
    ("/api/v1/groups/{group}/members/{member}", "delete"),
    ("/api/v1/groups/{group}/offsets", "post"),
    ("/api/v1/groups/{group}/offsets", "get"),
    ("/api/v1/groups/{group}/offsets/reset", "post"),
]


def test_openapi_document_lists_every_broker_operation(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    for path, method in EXPECTED:
        assert method in document["paths"][path], f"{method.upper()} {path} missing from the OpenAPI document"
    produce = document["paths"]["/api/v1/topics/{topic}/events"]["post"]
    assert {"application/cloudevents+json", "application/cloudevents-batch+json"} <= set(
        produce["requestBody"]["content"]
    )


def test_swagger_ui_is_served_without_a_cdn(admin_client):
    response = admin_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    # Every script, stylesheet and image comes from this server. (Not a search for "cdn" in the
    # page: a random token in it spelled those three letters once in a while.)
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert assets and all(url.startswith("/") and not url.startswith("//") for url in assets), assets


def test_openapi_document_generates_without_a_single_spectacular_warning():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator().get_schema(request=None, public=True)
    assert dict(GENERATOR_STATS._warn_cache) == {}
    assert dict(GENERATOR_STATS._error_cache) == {}


AREAS = ["topics", "groups", "registry", "catalog", "lineage", "monitoring", "traces", "audit", "keys"]


def test_every_operation_is_listed_under_one_area_of_the_app(api):
    document = yaml.safe_load(api.get("/api/schema/").content)
    assert [tag["name"] for tag in document["tags"]] == AREAS
    tags = {
        (path, method): operation["tags"]
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and "tags" in operation
    }
    assert all(len(t) == 1 and t[0] in AREAS for t in tags.values()), {k: v for k, v in tags.items() if v[0] not in AREAS}
    assert tags[("/api/v1/topics/{topic}/events", "post")] == ["topics"]
    assert tags[("/api/v1/groups/{group}/offsets", "post")] == ["groups"]
    assert tags[("/api/v1/groups/{group}/lags", "get")] == ["monitoring"]
    assert tags[("/api/v1/traces", "get")] == ["traces"]
    assert tags[("/api/v1/audit/", "get")] == ["audit"]
    assert tags[("/api/v1/keys", "get")] == ["keys"]
    assert tags[("/registry/subjects", "get")] == ["registry"]
    assert {t[0] for t in tags.values()} == set(AREAS)


def test_authorize_takes_an_api_key(api):
    document = yaml.safe_load(api.get("/api/schema/").content)
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKeyBearer"]["scheme"] == "bearer"
    produce = document["paths"]["/api/v1/topics/{topic}/events"]["post"]
    assert {"ApiKeyBearer": []} in produce.get("security", document.get("security", []))


def test_api_docs_link_back_to_the_app(admin_client):
    response = admin_client.get("/api/docs/")
    assert b'id="docs-back"' in response.content
    assert b'href="/"' in response.content
