"""What one compatibility check or registration may cost in memory is bounded (issue 13): schema
text over EVENTLINE_MAX_SCHEMA_BYTES is refused before it is parsed, and every per-process cache
of registry material is bounded by bytes, not by entries per thread."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from schemas.cache import registry_cache
from schemas.compatibility import CompatibilityLevel, SchemaVersion, check_compatibility, checker
from tests.schemas.factories import sr_body

pytestmark = pytest.mark.django_db

BUDGET = 64 * 1024


def _schema(seed: int, fields: int = 40) -> dict:
    properties = {f"field_{seed}_{i}": {"type": "string", "description": "d" * 40} for i in range(fields)}
    return {"type": "object", "properties": properties}


@pytest.fixture
def small_limit(settings):
    settings.EVENTLINE = {**settings.EVENTLINE, "MAX_SCHEMA_BYTES": 2000}


@pytest.fixture
def small_caches():
    registry_cache.configure(max_bytes=BUDGET)
    checker.configure_side_cache(BUDGET)
    yield
    registry_cache.configure(max_bytes=32 << 20)
    checker.configure_side_cache(checker.DEFAULT_SIDE_CACHE_BYTES)


def test_registering_schema_text_over_the_limit_is_42201_naming_the_limit(registry, small_limit):
    response = registry.register("s", _schema(1, fields=30))

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error_code"] == 42201
    assert "over the limit of 2000 bytes" in body["message"]
    assert registry.get("/subjects").json() == []


def test_schema_text_at_the_limit_is_accepted(registry, small_limit):
    schema = _schema(1, fields=1)
    assert len(json.dumps(schema)) <= 2000

    assert registry.register("s", schema).status_code == 200


def test_compatibility_check_of_text_over_the_limit_is_42201(registry, small_limit):
    registry.registered_id("s", _schema(1, fields=1))

    response = registry.post("/compatibility/subjects/s/versions/latest", sr_body(_schema(1, fields=30)))

    assert response.status_code == 422, response.content
    assert response.json()["error_code"] == 42201


def test_limit_counts_utf8_bytes_not_characters(registry, small_limit):
    schema = {"type": "string", "description": "é" * 1100}  # 1,100 characters, 2,200 bytes

    response = registry.register("s", schema)

    assert response.status_code == 422, response.content


def test_registry_caches_stay_within_their_byte_budget(registry, small_caches):
    ids = [registry.registered_id(f"s{seed}", _schema(seed)) for seed in range(30)]
    from schemas.validation import validator_for

    for seed, schema_id in enumerate(ids):
        assert registry.get(f"/schemas/ids/{schema_id}").status_code == 200
        validator_for(schema_id)
        check = registry.post(f"/compatibility/subjects/s{seed}/versions/latest", sr_body(_schema(seed + 100)))
        assert check.status_code == 200

    for cache in (registry_cache.documents, registry_cache.validators, registry_cache.id_reads, checker._sides):
        assert 0 < cache.total_bytes <= BUDGET
        assert 0 < len(cache) < len(ids)  # the budget, not the count, decided what stayed


def test_concurrent_checks_share_one_bounded_cache_and_answer_as_one_thread_does(small_caches):
    stored = [SchemaVersion(1, _schema(seed), json.dumps(_schema(seed)), cache_key=("mem", seed)) for seed in range(20)]
    update = SchemaVersion(None, _schema(999), json.dumps(_schema(999)))

    def check(index: int) -> list[str]:
        result = check_compatibility(update, [stored[index % len(stored)]], CompatibilityLevel.BACKWARD)
        return result.messages

    expected = [check(i) for i in range(len(stored))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(check, range(200)))

    assert answers == [expected[i % len(stored)] for i in range(200)]
    assert 0 < checker._sides.total_bytes <= BUDGET
