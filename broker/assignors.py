"""Partition assignment for consumer groups, with the layout rules of Kafka's RangeAssignor and
RoundRobinAssignor. Pure; no Django import.

`members` maps member id -> the topics it subscribed to; `partitions` maps topic -> partition count.
The result maps every member id to its sorted list of (topic, partition).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

Assignment = dict[str, list[tuple[str, int]]]

RANGE = "range"
ROUND_ROBIN = "roundrobin"


def range_assign(members: Mapping[str, Sequence[str]], partitions: Mapping[str, int]) -> Assignment:
    """Per topic: members sorted by id; each gets floor(P/C) consecutive partitions and the first
    P mod C members one more."""
    result: Assignment = {member: [] for member in members}
    topics = sorted({topic for subscribed in members.values() for topic in subscribed})
    for topic in topics:
        count = partitions.get(topic, 0)
        consumers = sorted(member for member, subscribed in members.items() if topic in subscribed)
        if not consumers or count <= 0:
            continue
        per_member, extra = divmod(count, len(consumers))
        start = 0
        for index, member in enumerate(consumers):
            length = per_member + (1 if index < extra else 0)
            result[member].extend((topic, p) for p in range(start, start + length))
            start += length
    return {member: sorted(assigned) for member, assigned in result.items()}


def round_robin_assign(members: Mapping[str, Sequence[str]], partitions: Mapping[str, int]) -> Assignment:
    """All subscribed partitions (topic, then number) dealt in turn over members sorted by id,
    skipping members not subscribed to a partition's topic."""
    result: Assignment = {member: [] for member in members}
    ordered_members = sorted(members)
    if not ordered_members:
        return result
    topics = sorted({topic for subscribed in members.values() for topic in subscribed})
    cursor = 0
    for topic in topics:
        for partition in range(partitions.get(topic, 0)):
            for _ in range(len(ordered_members)):
                member = ordered_members[cursor % len(ordered_members)]
                cursor += 1
                if topic in members[member]:
                    result[member].append((topic, partition))
                    break
    return {member: sorted(assigned) for member, assigned in result.items()}


ASSIGNORS: dict[str, Callable[[Mapping[str, Sequence[str]], Mapping[str, int]], Assignment]] = {
    RANGE: range_assign,
    ROUND_ROBIN: round_robin_assign,
}
