"""Time-ordered event ids (UUIDv7, RFC 9562). Standard library only.

Ids that grow with time land at the right edge of the broker's identity index instead of at
random pages, which makes appends markedly cheaper than with random UUIDv4 ids, and they still
carry 74 random bits, so two producers never collide.
"""

from __future__ import annotations

import os
import time


def uuid7_batch(count: int) -> list[str]:
    """`count` UUIDv7 strings for the current millisecond."""
    unix_ms = time.time_ns() // 1_000_000
    randomness = os.urandom(10 * count)
    ids = []
    for n in range(count):
        chunk = int.from_bytes(randomness[n * 10 : n * 10 + 10], "big")
        rand_a = chunk >> 68  # 12 bits
        rand_b = chunk & ((1 << 62) - 1)  # 62 bits
        value = (unix_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
        text = f"{value:032x}"
        ids.append(f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}")
    return ids


def uuid7() -> str:
    return uuid7_batch(1)[0]
