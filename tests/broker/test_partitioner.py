"""Keys land on the partition Kafka's Java producer would choose."""

import pytest

from broker.partitioner import RoundRobin, murmur2, partition_for_key, to_positive

# Kafka's UtilsTest.testMurmur2 vectors, plus partitions from the same formula (reference sheet).
VECTORS = [
    ("21", -973932308, 0, 0, 0),
    ("foobar", -790332482, 0, 0, 6),
    ("a-little-bit-long-string", -985981536, 2, 2, 8),
    ("a-little-bit-longer-string", -1486304829, 2, 5, 11),
    ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971, 2, 5, 5),
    ("abc", 479470107, 0, 3, 3),
    ("", 275646681, 0, 3, 9),
]


@pytest.mark.parametrize(("key", "expected", "p3", "p6", "p12"), VECTORS)
def test_murmur2_matches_kafkas_published_vectors(key, expected, p3, p6, p12):
    assert murmur2(key.encode()) == expected
    assert partition_for_key(key.encode(), 3) == p3
    assert partition_for_key(key.encode(), 6) == p6
    assert partition_for_key(key.encode(), 12) == p12


def test_to_positive_clears_the_sign_bit_rather_than_taking_abs():
    assert to_positive(-1) == 0x7FFFFFFF
    assert to_positive(-2147483648) == 0


def test_round_robin_cycles_each_topic_independently():
    spreader = RoundRobin()
    assert [spreader.next(1, 3) for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    assert [spreader.next(2, 2) for _ in range(3)] == [0, 1, 0]
