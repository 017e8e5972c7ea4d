"""Consumer groups: join, heartbeat, leave, expiry, rebalancing, commits, seeks and resets.

Who may do what (Kafka's group ACLs): a key acts on a group only if its scopes name the group
(`group:<name or prefix*>`, or by default the groups named after its service; see core.scopes),
and on a topic only with `consume:<topic>`. A member is bound to the key that joined it: a member
id alone is not a credential, so heartbeats, fetches, commits, seeks and rejoins as the member from
another key get 403 (`member_of_another_key`); an admin may still remove a stuck member. Both
checks come before anything is looked up, so a refused key learns nothing about the group.

The coordinator assigns partitions itself (range or round-robin, Kafka's layouts) as soon as
membership changes. Every change bumps the generation; members still on an older generation are
fenced (their fetches and commits get 409) until they heartbeat or rejoin, which hands them the
new assignment (Kafka's JoinGroup); their next heartbeat or fetch confirms they took it (Kafka's
SyncGroup). The group is PreparingRebalance while any member is still on an old generation,
CompletingRebalance while all are on the new one but some have not confirmed their assignment,
and Stable once all have; Empty with no members; Dead once deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from broker.access import CONSUME, require_consume, topic_access_require
from broker.assignors import ASSIGNORS
from broker.choices import ActivityKind, Assignor, GroupState
from broker.constants import (
    AUTO_OFFSET_RESET_CHOICES,
    DEFAULT_AUTO_OFFSET_RESET,
    DEFAULT_SESSION_TIMEOUT_MS,
    MAX_SESSION_TIMEOUT_MS,
    MIN_SESSION_TIMEOUT_MS,
)
from broker.models import ConsumerGroup, GroupActivity, GroupMember, GroupPartition, Partition, Topic
from core.auth import ROLE_EDITOR, Principal
from core.choices import AuditAction
from core.constants import NAME_PATTERN
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from core.services import audit_record
from core.timeutil import now_ms


@dataclass(frozen=True)
class MemberView:
    """What a member learns on join and heartbeat."""

    member_id: str
    generation: int
    assignment: list[tuple[str, int]]
    rebalance_in_progress: bool
    state: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "generation": self.generation,
            "assignment": [{"topic": topic, "partition": partition} for topic, partition in self.assignment],
            "rebalance_in_progress": self.rebalance_in_progress,
            "state": self.state,
        }


def validate_group_name(name: str) -> str:
    if not name or len(name) > 255 or not NAME_PATTERN.match(name):
        raise field_error("group", "a group name is 1-255 of a-z, A-Z, 0-9, '.', '_', '-'")
    return name


def require_member_owner(member: GroupMember, principal: Principal) -> None:
    """Raise 403 unless `principal` joined `member` (the key that joined it, or the same person).
    The key that replaced the joining key in a rotation is the same caller: the member is bound to
    it from then on, so consumers move to the new key without rejoining."""
    if member.joined_by == principal.identity:
        return
    if principal.key_id and _rotated_to(member.joined_by, principal.key_id):
        GroupMember.objects.filter(pk=member.pk, joined_by=member.joined_by).update(joined_by=principal.key_id)
        member.joined_by = principal.key_id
        return
    raise Forbidden(
        f"Member '{member.member_id}' was joined with another API key; only that key may act as it.",
        code="member_of_another_key",
        details={"member_id": member.member_id},
    )


def _rotated_to(old_key_id: str, new_key_id: str) -> bool:
    """Whether `new_key_id` replaced `old_key_id` (directly or through later rotations)."""
    from core.models import ApiKey

    seen = 0
    key_id: str | None = old_key_id
    while key_id and seen < 16:  # a rotation chain is short; the bound stops a cycle
        key_id = ApiKey.objects.filter(key_id=key_id).values_list("replaced_by__key_id", flat=True).first()
        if key_id == new_key_id:
            return True
        seen += 1
    return False


def _lock_group(name: str, *, create: bool = False) -> ConsumerGroup:
    """The group row, locked for the rest of the transaction (a no-op lock on SQLite, where the
    IMMEDIATE transaction already serialises writers)."""
    group = ConsumerGroup.objects.select_for_update().filter(name=name).first()
    if group is None:
        if not create:
            raise NotFound(f"Consumer group '{name}' does not exist.", code="group_not_found")
        validate_group_name(name)
        try:
            with transaction.atomic():
                ConsumerGroup.objects.create(name=name, state=GroupState.EMPTY, state_changed_ms=now_ms())
        except IntegrityError:
            pass  # created concurrently
        group = ConsumerGroup.objects.select_for_update().get(name=name)
    return group


def _set_state(group: ConsumerGroup, state: str, at_ms: int) -> None:
    if group.state != state:
        group.state = state
        group.state_changed_ms = at_ms


def _rebalance(group: ConsumerGroup, at_ms: int) -> list[GroupMember]:
    """New generation and assignment for the current members. Call with the group locked."""
    members = list(GroupMember.objects.filter(group=group))
    group.generation += 1
    if not members:
        _set_state(group, GroupState.EMPTY, at_ms)
        group.save(update_fields=["generation", "state", "state_changed_ms"])
        return members
    subscribed = {topic for member in members for topic in member.topics}
    topics = {topic.name: topic for topic in Topic.objects.filter(name__in=subscribed)}
    counts = {name: topic.partition_count for name, topic in topics.items()}
    layout = ASSIGNORS[group.assignor](
        {member.member_id: [topic for topic in member.topics if topic in counts] for member in members}, counts
    )
    for member in members:
        member.assignment = [[topic, partition] for topic, partition in layout[member.member_id]]
        member.save(update_fields=["assignment"])
    GroupPartition.objects.bulk_create(
        [
            GroupPartition(group=group, topic=topics[topic], partition=partition)
            for assigned in layout.values()
            for topic, partition in assigned
        ],
        ignore_conflicts=True,
    )
    _refresh_state(group, members, at_ms)
    group.save(update_fields=["generation", "state", "state_changed_ms"])
    return members


def _refresh_state(group: ConsumerGroup, members: Sequence[GroupMember], at_ms: int) -> None:
    if not members:
        _set_state(group, GroupState.EMPTY, at_ms)
    elif any(member.generation != group.generation for member in members):
        _set_state(group, GroupState.PREPARING_REBALANCE, at_ms)
    elif any(member.synced_generation != group.generation for member in members):
        _set_state(group, GroupState.COMPLETING_REBALANCE, at_ms)
    else:
        _set_state(group, GroupState.STABLE, at_ms)


def _refresh_state_saved(group: ConsumerGroup, at_ms: int) -> None:
    members = list(GroupMember.objects.filter(group=group).only("generation", "synced_generation"))
    _refresh_state(group, members, at_ms)
    group.save(update_fields=["state", "state_changed_ms"])


def _sync(group: ConsumerGroup, member: GroupMember, at_ms: int) -> bool:
    """A member on the current generation called again: it has its assignment. True if that is
    news (the first call since the assignment was handed over). Call with the group locked."""
    if member.generation != group.generation or member.synced_generation == group.generation:
        return False
    member.synced_generation = group.generation
    member.save(update_fields=["synced_generation", "last_seen_ms"])
    _refresh_state_saved(group, at_ms)
    return True


def group_member_sync(*, group_id: int, member_pk: int) -> None:
    """Record that a member fetched on the current generation (see _sync); a fetch calls this
    once per generation, so the fetch path stays free of group locks otherwise."""
    at_ms = now_ms()
    with transaction.atomic():
        group = ConsumerGroup.objects.select_for_update().filter(pk=group_id).first()
        member = GroupMember.objects.filter(pk=member_pk).first()
        if group is not None and member is not None:
            _sync(group, member, at_ms)


def group_rebalance_locked(*, group_id: int) -> None:
    """Rebalance a group after a topic changed under it. Call inside a transaction."""
    group = ConsumerGroup.objects.select_for_update().get(pk=group_id)
    _rebalance(group, now_ms())


def _expire_locked(group: ConsumerGroup, at_ms: int) -> bool:
    """Remove members whose session timed out; True if any was removed (and the group rebalanced)."""
    expired = [
        member.pk
        for member in GroupMember.objects.filter(group=group).only("pk", "last_seen_ms", "session_timeout_ms")
        if member.last_seen_ms + member.session_timeout_ms < at_ms
    ]
    if not expired:
        return False
    GroupMember.objects.filter(pk__in=expired).delete()
    _rebalance(group, at_ms)
    return True


def _acknowledge(group: ConsumerGroup, member: GroupMember, at_ms: int) -> bool:
    """Bring a member onto the current generation. Partitions it keeps keep its fetch position."""
    if member.generation == group.generation:
        return False
    kept = {(topic, partition) for topic, partition in member.assignment}
    carried = [
        row.pk
        for row in GroupPartition.objects.filter(
            group=group, position_member_id=member.member_id, position_generation=member.generation
        ).select_related("topic")
        if (row.topic.name, row.partition) in kept
    ]
    if carried:
        GroupPartition.objects.filter(pk__in=carried).update(position_generation=group.generation)
    member.generation = group.generation
    member.save(update_fields=["generation", "last_seen_ms"])
    _refresh_state_saved(group, at_ms)
    return True


def _view(group: ConsumerGroup, member: GroupMember, rebalanced: bool) -> MemberView:
    return MemberView(
        member_id=member.member_id,
        generation=group.generation,
        assignment=[(topic, partition) for topic, partition in member.assignment],
        rebalance_in_progress=rebalanced,
        state=group.state,
    )


def _validate_join(
    topics: Any, auto_offset_reset: Any, session_timeout_ms: Any, assignor: Any
) -> tuple[list[str], str, int, str | None]:
    errors = []
    if not isinstance(topics, list) or not topics or not all(isinstance(t, str) and t for t in topics):
        errors.append({"field": "topics", "reason": "must be a non-empty list of topic names"})
    if auto_offset_reset not in AUTO_OFFSET_RESET_CHOICES:
        errors.append(
            {"field": "auto_offset_reset", "reason": f"must be one of {', '.join(AUTO_OFFSET_RESET_CHOICES)}"}
        )
    if (
        isinstance(session_timeout_ms, bool)
        or not isinstance(session_timeout_ms, int)
        or not MIN_SESSION_TIMEOUT_MS <= session_timeout_ms <= MAX_SESSION_TIMEOUT_MS
    ):
        errors.append(
            {
                "field": "session_timeout_ms",
                "reason": f"must be an integer from {MIN_SESSION_TIMEOUT_MS} to {MAX_SESSION_TIMEOUT_MS}",
            }
        )
    if assignor is not None and assignor not in Assignor.values:
        errors.append({"field": "assignor", "reason": f"must be one of {', '.join(Assignor.values)}"})
    if errors:
        raise ValidationFailed("; ".join(f"{e['field']}: {e['reason']}" for e in errors), details={"errors": errors})
    return list(dict.fromkeys(topics)), auto_offset_reset, session_timeout_ms, assignor


def group_join(
    *,
    group_name: str,
    principal: Principal,
    topics: Any,
    auto_offset_reset: Any = DEFAULT_AUTO_OFFSET_RESET,
    session_timeout_ms: Any = DEFAULT_SESSION_TIMEOUT_MS,
    assignor: Any = None,
    client_id: str = "",
    client_host: str = "",
    member_id: str | None = None,
) -> MemberView:
    """Join (or rejoin with `member_id`) a group subscribed to `topics`; returns the member's id,
    the generation and its partitions. A new member or a changed subscription rebalances the group."""
    validate_group_name(group_name)
    principal.require_group(group_name)
    topics, auto_offset_reset, session_timeout_ms, assignor = _validate_join(
        topics, auto_offset_reset, session_timeout_ms, assignor
    )
    known = set(Topic.objects.filter(name__in=topics).values_list("name", flat=True))
    missing = [topic for topic in topics if topic not in known]
    if missing:
        raise NotFound(f"Topic '{missing[0]}' does not exist.", code="topic_not_found", details={"topics": missing})
    for topic in topics:
        require_consume(principal, topic)

    at_ms = now_ms()
    with transaction.atomic():
        group = _lock_group(group_name, create=True)
        _expire_locked(group, at_ms)
        others = GroupMember.objects.filter(group=group).exclude(member_id=member_id or "")
        if assignor and others.exists() and group.assignor != assignor:
            raise Conflict(
                f"Group '{group_name}' uses the {group.assignor} assignor; a member cannot join with {assignor}.",
                code="inconsistent_group_protocol",
            )
        member = GroupMember.objects.filter(group=group, member_id=member_id).first() if member_id else None
        if member is not None:
            require_member_owner(member, principal)
        if member is not None and member.topics == topics:
            member.last_seen_ms = at_ms
            member.session_timeout_ms = session_timeout_ms
            member.auto_offset_reset = auto_offset_reset
            member.save(update_fields=["last_seen_ms", "session_timeout_ms", "auto_offset_reset"])
            rebalanced = _acknowledge(group, member, at_ms)
            return _view(group, member, rebalanced)
        if assignor and not others.exists():
            group.assignor = assignor
        group.auto_offset_reset = auto_offset_reset
        group.save(update_fields=["assignor", "auto_offset_reset"])
        if member is None:
            member = GroupMember(
                group=group,
                member_id=f"{client_id or 'consumer'}-{uuid.uuid4()}",
                joined_ms=at_ms,
                joined_by=principal.identity,
            )
        member.client_id = client_id[:255]
        member.client_host = client_host[:255]
        member.service_id = principal.service_id
        member.topics = topics
        member.session_timeout_ms = session_timeout_ms
        member.auto_offset_reset = auto_offset_reset
        member.generation = group.generation + 1  # the generation the rebalance below creates
        member.last_seen_ms = at_ms
        member.save()
        _rebalance(group, at_ms)
        member.refresh_from_db(fields=["assignment"])
        return _view(group, member, True)


def _member_locked(group: ConsumerGroup, member_id: str) -> GroupMember:
    member = GroupMember.objects.filter(group=group, member_id=member_id).first()
    if member is None:
        raise NotFound(
            f"Member '{member_id}' is not in group '{group.name}' (it left or its session expired); join again.",
            code="unknown_member",
        )
    return member


def group_heartbeat(*, group_name: str, member_id: str, principal: Principal) -> MemberView:
    """Keep a member alive; after a rebalance this hands it the new generation and assignment."""
    principal.require_group(group_name)
    at_ms = now_ms()
    with transaction.atomic():
        group = _lock_group(group_name)
        _expire_locked(group, at_ms)
        member = _member_locked(group, member_id)
        require_member_owner(member, principal)
        member.last_seen_ms = at_ms
        if _acknowledge(group, member, at_ms):
            return _view(group, member, True)
        if not _sync(group, member, at_ms):
            member.save(update_fields=["last_seen_ms"])
        return _view(group, member, False)


def group_leave(*, group_name: str, member_id: str, principal: Principal) -> None:
    """A member leaves, or an admin removes it; the others rebalance (or the group becomes Empty)."""
    principal.require_group(group_name)
    at_ms = now_ms()
    with transaction.atomic():
        group = _lock_group(group_name)
        member = _member_locked(group, member_id)
        if not principal.is_admin:
            require_member_owner(member, principal)
        if member.joined_by != principal.identity:  # removed by an admin, not leaving by itself
            audit_record(
                principal=principal,
                action=AuditAction.GROUP_MEMBER_REMOVED,
                target_type="consumer_group",
                target=group_name,
                before={
                    "member_id": member.member_id,
                    "joined_by": member.joined_by,
                    "client_id": member.client_id,
                    "topics": member.topics,
                    "assignment": member.assignment,
                },
            )
        member.delete()
        _rebalance(group, at_ms)


def group_members_remove(*, group_name: str, principal: Principal) -> int:
    """Remove every member of a group (Kafka's removeMembersFromConsumerGroup), for a person with
    the editor role or an admin, so its offsets can be reset or the group deleted. Each removal is
    audited; running consumers rejoin on their next heartbeat or fetch and the group rebalances.
    Returns how many members were removed."""
    if not (principal.is_admin or ROLE_EDITOR in principal.roles):
        raise Forbidden("Removing a group's members needs the editor role.", code="forbidden")
    principal.require_group(group_name)
    at_ms = now_ms()
    with transaction.atomic():
        group = _lock_group(group_name)
        members = list(GroupMember.objects.filter(group=group).order_by("member_id"))
        for member in members:
            audit_record(
                principal=principal,
                action=AuditAction.GROUP_MEMBER_REMOVED,
                target_type="consumer_group",
                target=group_name,
                before={
                    "member_id": member.member_id,
                    "joined_by": member.joined_by,
                    "client_id": member.client_id,
                    "topics": member.topics,
                    "assignment": member.assignment,
                },
            )
        if members:
            GroupMember.objects.filter(pk__in=[member.pk for member in members]).delete()
            _rebalance(group, at_ms)
    return len(members)


def group_expire_members(*, at_ms: int | None = None) -> int:
    """Periodic: remove members whose session timed out, in every group. Returns how many groups
    rebalanced."""
    at_ms = at_ms or now_ms()
    candidates = {
        member.group_id
        for member in GroupMember.objects.only("group_id", "last_seen_ms", "session_timeout_ms")
        if member.last_seen_ms + member.session_timeout_ms < at_ms
    }
    rebalanced = 0
    for group_id in sorted(candidates):
        with transaction.atomic():
            group = ConsumerGroup.objects.select_for_update().get(pk=group_id)
            rebalanced += _expire_locked(group, at_ms)
    return rebalanced


def expire_overdue(group_id: int, at_ms: int) -> None:
    """Remove the group's members past their session timeout, and rebalance, under its lock (a
    fetch calls this when its first read saw an overdue member)."""
    with transaction.atomic():
        group = ConsumerGroup.objects.select_for_update().filter(pk=group_id).first()
        if group is not None:
            _expire_locked(group, at_ms)


def stale_generation(group: ConsumerGroup) -> Conflict:
    return Conflict(
        f"Group '{group.name}' rebalanced to generation {group.generation}; send a heartbeat or rejoin to get "
        "the new assignment, then fetch again.",
        code="stale_generation",
        details={"generation": group.generation},
    )


# -- offsets ---------------------------------------------------------------------------------


def _partition_rows(topics: Iterable[Topic]) -> dict[tuple[int, int], Partition]:
    return {(row.topic_id, row.number): row for row in Partition.objects.filter(topic__in=list(topics))}


def offsets_checked(
    raw: Any,
    principal: Principal,
    partition_counts: Mapping[str, int],
    end_of: Callable[[str, int], int] | None = None,
) -> list[dict[str, Any]]:
    """A commit's offsets, every one checked before any is stored, on either backend: a known topic
    (`partition_counts`: name -> partitions) the key may consume, one of its partitions, an offset
    from 0 (up to the log end offset where `end_of` gives it: the SQL log; Kafka itself takes
    offsets past its end), metadata of at most 4096 characters. Raises 422 naming every refused
    offset; the offsets come back with their topic's name (and `log_end_offset` where known)."""
    if not isinstance(raw, list) or not raw:
        raise field_error("offsets", "must be a non-empty list of {topic, partition, offset, metadata}")
    errors: list[dict[str, Any]] = []
    clean: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            errors.append({"index": index, "field": "", "reason": "must be an object"})
            continue
        name, partition, offset = item.get("topic"), item.get("partition"), item.get("offset")
        metadata = item.get("metadata", "")
        if not isinstance(name, str) or name not in partition_counts:
            errors.append({"index": index, "field": "topic", "reason": f"unknown topic {name!r}"})
            continue
        principal.require(CONSUME, name)
        topic_access_require(principal, name, CONSUME)
        count = partition_counts[name]
        if isinstance(partition, bool) or not isinstance(partition, int) or not 0 <= partition < count:
            errors.append(
                {"index": index, "field": "partition", "reason": f"must be a partition of '{name}' (0..{count - 1})"}
            )
            continue
        end = end_of(name, partition) if end_of is not None else None
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0 or (end is not None and offset > end):
            reason = f"must be an integer from 0 to the log end offset {end}" if end is not None else None
            errors.append({"index": index, "field": "offset", "reason": reason or "must be an integer of at least 0"})
            continue
        if metadata is None:
            metadata = ""
        if not isinstance(metadata, str) or len(metadata) > 4096:
            errors.append(
                {"index": index, "field": "metadata", "reason": "must be a string of at most 4096 characters"}
            )
            continue
        clean.append(
            {"topic": name, "partition": partition, "offset": offset, "metadata": metadata, "log_end_offset": end}
        )
    if errors:
        raise ValidationFailed(
            f"{len(errors)} offset(s) refused; nothing was committed.",
            code="offsets_refused",
            details={"errors": errors},
        )
    return clean


def _check_offsets(raw: Any, principal: Principal) -> list[dict[str, Any]]:
    """offsets_checked against the Topic and Partition rows; each offset's topic comes back as its row."""
    names = (
        {item.get("topic") for item in raw if isinstance(item, dict) and isinstance(item.get("topic"), str)}
        if isinstance(raw, list)
        else set()
    )
    topics = {topic.name: topic for topic in Topic.objects.filter(name__in=names)}
    partitions = _partition_rows(topics.values())
    clean = offsets_checked(
        raw,
        principal,
        {name: topic.partition_count for name, topic in topics.items()},
        lambda name, number: partitions[(topics[name].id, number)].end_offset,
    )
    for commit in clean:
        commit["topic"] = topics[commit["topic"]]
    return clean


def _store_commits(group: ConsumerGroup, commits: Sequence[dict[str, Any]], member_id: str, at_ms: int) -> None:
    for commit in commits:
        updated = GroupPartition.objects.filter(
            group=group, topic=commit["topic"], partition=commit["partition"]
        ).update(committed_offset=commit["offset"], commit_metadata=commit["metadata"], committed_ms=at_ms)
        if not updated:
            GroupPartition.objects.create(
                group=group,
                topic=commit["topic"],
                partition=commit["partition"],
                committed_offset=commit["offset"],
                commit_metadata=commit["metadata"],
                committed_ms=at_ms,
            )
    GroupActivity.objects.bulk_create(
        GroupActivity(
            group=group,
            topic=commit["topic"],
            partition=commit["partition"],
            kind=ActivityKind.COMMIT,
            at_ms=at_ms,
            start_offset=commit["offset"],
            end_offset=commit["offset"],
            member_id=member_id,
            log_end_offset=commit.get("log_end_offset"),
        )
        for commit in commits
    )


def group_commit(
    *, group_name: str, principal: Principal, offsets: Any, member_id: str | None = None, generation: Any = None
) -> list[dict[str, Any]]:
    """Commit, per partition, the next offset to read (Kafka's convention) with optional metadata.

    Members commit with their member id and the current generation; a stale generation gets 409.
    Without a member id (tools, simple consumers) a commit is only allowed while the group has no
    members. All offsets are checked before any is stored.
    """
    validate_group_name(group_name)
    principal.require_group(group_name)
    commits = _check_offsets(offsets, principal)
    at_ms = now_ms()
    with transaction.atomic():
        group = _lock_group(group_name, create=member_id is None)
        _expire_locked(group, at_ms)
        if member_id:
            member = _member_locked(group, member_id)
            require_member_owner(member, principal)
            if generation != group.generation or member.generation != group.generation:
                raise stale_generation(group)
            member.last_seen_ms = at_ms
            member.save(update_fields=["last_seen_ms"])
        elif GroupMember.objects.filter(group=group).exists():
            raise Conflict(
                f"Group '{group_name}' has active members; commit with a member_id and generation.",
                code="group_has_members",
            )
        elif group.state == GroupState.DEAD:
            _set_state(group, GroupState.EMPTY, at_ms)
            group.save(update_fields=["state", "state_changed_ms"])
        _store_commits(group, commits, member_id or "", at_ms)
    return [
        {"topic": c["topic"].name, "partition": c["partition"], "offset": c["offset"], "metadata": c["metadata"]}
        for c in commits
    ]


def _resolve_target(to: Any, partition: Partition, current: int | None, topic_id: int) -> int:
    """Where a seek or reset lands: beginning/earliest, end/latest, an offset, a timestamp, a shift."""
    from broker.log import get_log

    start, end = partition.log_start_offset, partition.end_offset
    if to in ("beginning", "earliest"):
        return start
    if to in ("end", "latest"):
        return end
    if isinstance(to, dict) and len(to) == 1:
        ((kind, value),) = to.items()
        if not isinstance(value, int) or isinstance(value, bool):
            raise field_error(f"to.{kind}", "must be an integer")
        if kind == "offset":
            if not start <= value <= end:
                raise field_error("to.offset", f"must be within the log, from {start} to {end}")
            return value
        if kind == "timestamp":
            found = get_log().first_offset_at_or_after(
                topic_id=topic_id, partition=partition.number, timestamp_ms=value
            )
            return end if found is None else max(found, start)
        if kind == "shift_by":
            base = current if current is not None else end
            return min(max(base + value, start), end)
    raise field_error(
        "to", 'must be "beginning"/"earliest", "end"/"latest", {"offset": n}, {"timestamp": ms} or {"shift_by": n}'
    )


def group_seek(
    *, group_name: str, member_id: str, principal: Principal, topic: Any, partition: Any, to: Any
) -> dict[str, Any]:
    """Move a member's fetch position on one of its partitions (not its committed offset)."""
    principal.require_group(group_name)
    with transaction.atomic():
        group = _lock_group(group_name)
        member = _member_locked(group, member_id)
        require_member_owner(member, principal)
        if member.generation != group.generation:
            raise stale_generation(group)
        if [topic, partition] not in member.assignment:
            raise field_error("partition", f"{topic}/{partition} is not assigned to this member")
        require_consume(principal, topic)
        row = Partition.objects.select_related("topic").get(topic__name=topic, number=partition)
        state = GroupPartition.objects.get(group=group, topic=row.topic, partition=partition)
        current = state.position if state.position_generation == group.generation else state.committed_offset
        target = _resolve_target(to, row, current, row.topic_id)
        state.position = target
        state.position_member_id = member.member_id
        state.position_generation = group.generation
        state.save(update_fields=["position", "position_member_id", "position_generation"])
    return {"topic": topic, "partition": partition, "position": target}


def group_offsets_reset(
    *, group_name: str, principal: Principal, topic: Any, to: Any, partitions: Any = None, dry_run: bool = True
) -> dict[str, Any]:
    """Reset committed offsets of an inactive group, with a before/after preview (`dry_run`)."""
    principal.require_group(group_name)
    if not isinstance(topic, str):
        raise field_error("topic", "a topic name is required")
    row_topic = Topic.objects.filter(name=topic).first()
    if row_topic is None:
        raise NotFound(f"Topic '{topic}' does not exist.", code="topic_not_found")
    principal.require("consume", topic)
    numbers = list(range(row_topic.partition_count))
    if partitions is not None:
        if not isinstance(partitions, list) or not all(isinstance(p, int) and p in numbers for p in partitions):
            raise field_error(
                "partitions", f"must be a list of partitions of '{topic}' (0..{row_topic.partition_count - 1})"
            )
        numbers = sorted(set(partitions))
    at_ms = now_ms()
    with transaction.atomic():
        if dry_run:
            group = ConsumerGroup.objects.filter(name=group_name).first()
        else:
            group = _lock_group(group_name, create=True)
        if group is None:
            validate_group_name(group_name)
            committed: dict[int, int | None] = {}
        else:
            _expire_locked(group, at_ms)
            if GroupMember.objects.filter(group=group).exists():
                raise Conflict(
                    f"Group '{group_name}' has active members; stop them before resetting offsets.",
                    code="group_has_members",
                )
            committed = {
                row.partition: row.committed_offset
                for row in GroupPartition.objects.filter(group=group, topic=row_topic)
            }
        log_partitions = {p.number: p for p in Partition.objects.filter(topic=row_topic)}
        preview = []
        for number in numbers:
            before = committed.get(number)
            after = _resolve_target(to, log_partitions[number], before, row_topic.id)
            preview.append({"topic": topic, "partition": number, "before": before, "after": after})
        if not dry_run and group is not None:
            _store_commits(
                group,
                [
                    {"topic": row_topic, "partition": p["partition"], "offset": p["after"], "metadata": ""}
                    for p in preview
                ],
                "",
                at_ms,
            )
            if any(p["before"] != p["after"] for p in preview):
                audit_record(
                    principal=principal,
                    action=AuditAction.GROUP_OFFSETS_RESET,
                    target_type="consumer_group",
                    target=group_name,
                    before={"topic": topic, "offsets": {str(p["partition"]): p["before"] for p in preview}},
                    after={"topic": topic, "offsets": {str(p["partition"]): p["after"] for p in preview}, "to": to},
                )
    return {"group": group_name, "dry_run": dry_run, "partitions": preview}


def group_delete(*, group_name: str, principal: Principal) -> None:
    """Delete an Empty group's offsets; the group is Dead until someone joins again."""
    principal.require_group(group_name)
    with transaction.atomic():
        group = _lock_group(group_name)
        names = set(GroupPartition.objects.filter(group=group).values_list("topic__name", flat=True))
        for name in sorted(names):
            principal.require("consume", name)
        _expire_locked(group, now_ms())
        if GroupMember.objects.filter(group=group).exists():
            raise Conflict(f"Group '{group_name}' has active members.", code="group_has_members")
        committed = list(
            GroupPartition.objects.filter(group=group).values_list("topic__name", "partition", "committed_offset")
        )
        if committed:
            audit_record(
                principal=principal,
                action=AuditAction.GROUP_DELETED,
                target_type="consumer_group",
                target=group_name,
                before={"offsets": [{"topic": t, "partition": p, "offset": o} for t, p, o in committed]},
            )
        GroupPartition.objects.filter(group=group).delete()
        _set_state(group, GroupState.DEAD, now_ms())
        group.save(update_fields=["state", "state_changed_ms"])
