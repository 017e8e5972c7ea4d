"""core.lru.SizedLRU: a cache bounded by the bytes its entries declare, not by their count."""

from __future__ import annotations

from core.lru import SizedLRU


def test_least_recently_used_entries_are_evicted_once_the_byte_budget_is_exceeded():
    cache: SizedLRU[str, str] = SizedLRU(100)
    cache.put("a", "A", 40)
    cache.put("b", "B", 40)
    assert cache.get("a") == "A"  # a is now the most recently used

    cache.put("c", "C", 40)

    assert "b" not in cache
    assert cache.get("a") == "A" and cache.get("c") == "C"
    assert cache.total_bytes == 80


def test_an_entry_larger_than_the_whole_budget_is_not_kept_and_evicts_nothing():
    cache: SizedLRU[str, str] = SizedLRU(100)
    cache.put("small", "s", 10)

    cache.put("huge", "h", 101)

    assert "huge" not in cache
    assert cache.get("small") == "s"
    assert cache.total_bytes == 10


def test_replacing_a_key_counts_only_its_new_size():
    cache: SizedLRU[str, str] = SizedLRU(100)
    cache.put("a", "1", 60)
    cache.put("a", "2", 30)

    assert cache.get("a") == "2"
    assert cache.total_bytes == 30


def test_a_taken_entry_is_absent_until_put_back():
    cache: SizedLRU[str, str] = SizedLRU(100)
    cache.put("a", "A", 10)

    assert cache.take("a") == "A"
    assert cache.take("a") is None
    assert cache.total_bytes == 0
    cache.put("a", "A", 10)
    assert cache.get("a") == "A"


def test_discard_where_drops_matching_keys_and_their_bytes():
    cache: SizedLRU[int, str] = SizedLRU(100)
    for key in range(5):
        cache.put(key, str(key), 10)

    cache.discard_where({1, 3}.__contains__)

    assert sorted(cache) == [0, 2, 4]
    assert cache.total_bytes == 30
