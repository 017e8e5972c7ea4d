"""UUIDv7 event ids (RFC 9562): version 7, variant 10, the millisecond in the first 48 bits,
unique, and ordered by time across batches."""

import time
import uuid

from eventline.ids import uuid7, uuid7_batch


def test_ids_are_rfc_9562_version_7_with_the_current_millisecond():
    before = time.time_ns() // 1_000_000
    ids = uuid7_batch(500)
    after = time.time_ns() // 1_000_000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text, "canonical lowercase 8-4-4-4-12 form"
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert before <= parsed.int >> 80 <= after


def test_ids_are_unique_and_carry_random_bits_everywhere_the_rfc_allows():
    ids = uuid7_batch(20_000)
    assert len(set(ids)) == len(ids)
    rand_a, rand_b = ((1 << 12) - 1) << 64, (1 << 62) - 1  # bits 75-64 and 61-0
    seen = 0
    for text in ids:
        seen |= uuid.UUID(text).int & (rand_a | rand_b)
    assert seen == rand_a | rand_b, "every random bit is set in at least one of 20,000 ids"


def test_ids_from_a_later_millisecond_sort_after():
    first = uuid7()
    time.sleep(0.002)
    assert uuid7_batch(3)[0] > first
