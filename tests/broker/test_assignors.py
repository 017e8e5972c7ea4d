"""Range and round-robin layouts follow Kafka's assignors."""

from broker.assignors import range_assign, round_robin_assign

TWO_TOPICS = {"t0": 3, "t1": 3}


def test_range_gives_each_member_a_consecutive_block_per_topic():
    layout = range_assign({"C0": ["t0", "t1"], "C1": ["t0", "t1"]}, TWO_TOPICS)
    assert layout == {
        "C0": [("t0", 0), ("t0", 1), ("t1", 0), ("t1", 1)],
        "C1": [("t0", 2), ("t1", 2)],
    }


def test_round_robin_deals_partitions_in_turn():
    layout = round_robin_assign({"C0": ["t0", "t1"], "C1": ["t0", "t1"]}, TWO_TOPICS)
    assert layout == {"C0": [("t0", 0), ("t0", 2), ("t1", 1)], "C1": [("t0", 1), ("t1", 0), ("t1", 2)]}


def test_range_sorts_members_by_id_and_gives_extras_to_the_first():
    layout = range_assign({"b": ["t"], "a": ["t"], "c": ["t"]}, {"t": 7})
    assert layout == {"a": [("t", 0), ("t", 1), ("t", 2)], "b": [("t", 3), ("t", 4)], "c": [("t", 5), ("t", 6)]}


def test_more_members_than_partitions_leaves_some_idle():
    layout = range_assign({"a": ["t"], "b": ["t"], "c": ["t"]}, {"t": 2})
    assert layout == {"a": [("t", 0)], "b": [("t", 1)], "c": []}


def test_round_robin_skips_members_not_subscribed_to_the_topic():
    layout = round_robin_assign(
        {"C0": ["t0"], "C1": ["t0", "t1"], "C2": ["t0", "t1", "t2"]}, {"t0": 1, "t1": 2, "t2": 3}
    )
    assert layout == {
        "C0": [("t0", 0)],
        "C1": [("t1", 0)],
        "C2": [("t1", 1), ("t2", 0), ("t2", 1), ("t2", 2)],
    }


def test_range_only_counts_subscribers_of_each_topic():
    layout = range_assign({"a": ["t0"], "b": ["t0", "t1"]}, {"t0": 2, "t1": 2})
    assert layout == {"a": [("t0", 0)], "b": [("t0", 1), ("t1", 0), ("t1", 1)]}
