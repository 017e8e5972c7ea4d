"""Create, configure, grow and delete topics.

On the Kafka backend (broker.log.get_topic_admin) the topics live in the cluster: every change is
made there too, inside the database transaction that records it, so a refusal from the cluster
leaves no row behind. Topics other clients create are adopted on sight: the topic list, a
describe, a browse or a produce that meets a cluster topic with no Topic row records one (its
partition count and retention from the cluster, Eventline's defaults for the rest, audited as
created by the system); rows of topics gone from the cluster are dropped when the list is read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from broker.constants import (
    ACCESS_POLICIES,
    DEFAULT_PARTITIONS,
    MAX_PARTITIONS,
    SUBJECT_STRATEGIES,
    TOPIC_CONFIG_FIELDS,
    TOPIC_NAME_MAX_LENGTH,
    TOPIC_NAME_PATTERN,
    VALIDATION_MODES,
)
from broker.log import get_topic_admin
from broker.log.base import TopicAdmin
from broker.models import GroupMember, Partition, Topic
from broker.services.produce import produce_targets_forget
from core.auth import Principal
from core.choices import AuditAction
from core.constants import SERVICE_NAME_MAX_LENGTH
from core.errors import Conflict, NotFound, ValidationFailed, field_error
from core.services import SYSTEM_ACTOR, audit_record

_CONFIG_BOUNDS = {
    "retention.ms": (-1, 2**63 - 1),
    "retention.bytes": (-1, 2**63 - 1),
    "max.message.bytes": (1, 100 * 1024 * 1024),
}


def validate_topic_name(name: Any) -> str:
    """Kafka's rules: 1-249 of [a-zA-Z0-9._-], and not '.' or '..'."""
    if not isinstance(name, str) or not name:
        raise field_error("name", "a topic name is required")
    if len(name) > TOPIC_NAME_MAX_LENGTH:
        raise field_error("name", f"is {len(name)} characters long; the maximum is {TOPIC_NAME_MAX_LENGTH}")
    if name in {".", ".."}:
        raise field_error("name", "cannot be '.' or '..'")
    if not TOPIC_NAME_PATTERN.match(name):
        bad = sorted({char for char in name if not TOPIC_NAME_PATTERN.match(char)})
        raise field_error("name", f"contains {''.join(bad)!r}; only a-z, A-Z, 0-9, '.', '_' and '-' are allowed")
    return name


_CONFIG_CHOICES = {
    "value.subject.name.strategy": SUBJECT_STRATEGIES,
    "validation.mode": VALIDATION_MODES,
    "access.policy": ACCESS_POLICIES,
}
_SERVICE_LISTS = ("access.producers", "access.consumers")
# Settings the cluster holds as well as the row (Kafka backend). max.message.bytes stays
# Eventline's alone: it checks each event on produce, while Kafka applies its own to whole record
# batches, which a transaction's events share. cleanup.policy is the cluster's alone.
_CLUSTER_SETTINGS = ("retention.ms", "retention.bytes")
CLEANUP_POLICIES = ("delete", "compact", "delete,compact")


def _service_names(value: Any) -> list[str] | None:
    """A list of service names, sorted and each once; None when it is not one."""
    if not isinstance(value, list) or not all(
        isinstance(name, str) and 0 < len(name) <= SERVICE_NAME_MAX_LENGTH for name in value
    ):
        return None
    return sorted(set(value))


def validate_config(config: Any, *, cluster: bool = False) -> dict[str, Any]:
    """Checked topic settings; `cluster` (the Kafka backend) also takes cleanup.policy."""
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise field_error("config", "must be an object of topic settings")
    errors = []
    clean: dict[str, Any] = {}
    for key, value in config.items():
        if key == "cleanup.policy" and cluster:
            policy = ",".join(sorted(part.strip() for part in value.split(","))) if isinstance(value, str) else None
            if policy not in CLEANUP_POLICIES:
                errors.append(
                    {"field": "config.cleanup.policy", "reason": f"must be one of {', '.join(CLEANUP_POLICIES)}"}
                )
            else:
                clean[key] = policy
            continue
        if key not in TOPIC_CONFIG_FIELDS:
            errors.append(
                {"field": f"config.{key}", "reason": f"unknown setting; known: {', '.join(TOPIC_CONFIG_FIELDS)}"}
            )
            continue
        if key in _CONFIG_CHOICES:
            if value not in _CONFIG_CHOICES[key]:
                errors.append({"field": f"config.{key}", "reason": f"must be one of {', '.join(_CONFIG_CHOICES[key])}"})
            else:
                clean[key] = value
            continue
        if key in _SERVICE_LISTS:
            names = _service_names(value)
            if names is None:
                errors.append(
                    {
                        "field": f"config.{key}",
                        "reason": f"must be a list of service names (1 to {SERVICE_NAME_MAX_LENGTH} characters)",
                    }
                )
            else:
                clean[key] = names
            continue
        if key == "value.subject":
            if not isinstance(value, str) or len(value) > 255:
                errors.append(
                    {
                        "field": "config.value.subject",
                        "reason": "a subject name of at most 255 characters ('' means '{topic}-value')",
                    }
                )
            else:
                clean[key] = value
            continue
        low, high = _CONFIG_BOUNDS[key]
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors.append({"field": f"config.{key}", "reason": f"must be an integer from {low} to {high}"})
            continue
        clean[key] = value
    if errors:
        raise ValidationFailed("; ".join(f"{e['field']}: {e['reason']}" for e in errors), details={"errors": errors})
    return clean


def _validate_partitions(partitions: Any) -> int:
    if isinstance(partitions, bool) or not isinstance(partitions, int) or not 1 <= partitions <= MAX_PARTITIONS:
        raise field_error("partitions", f"must be an integer from 1 to {MAX_PARTITIONS}")
    return partitions


def _audited(topic: Topic) -> dict[str, Any]:
    return {"partitions": topic.partition_count, "config": topic.config}


def _cluster_config(topic: Topic, settings: Mapping[str, Any], *, all_settings: bool) -> dict[str, str]:
    """The cluster's share of a topic's settings: all of them (a new topic) or those in `settings`."""
    config = {
        key: str(getattr(topic, TOPIC_CONFIG_FIELDS[key]))
        for key in _CLUSTER_SETTINGS
        if all_settings or key in settings
    }
    if "cleanup.policy" in settings:
        config["cleanup.policy"] = settings["cleanup.policy"]
    return config


def topic_create(
    *, name: Any, partitions: Any = DEFAULT_PARTITIONS, config: Any = None, actor: Principal = SYSTEM_ACTOR
) -> Topic:
    """Create a topic with `partitions` empty partitions. 409 if the name is taken. Audited."""
    name = validate_topic_name(name)
    partitions = _validate_partitions(partitions)
    admin = get_topic_admin()
    settings = validate_config(config, cluster=admin is not None)
    try:
        with transaction.atomic():
            topic = Topic(name=name, partition_count=partitions)
            for key, value in settings.items():
                if key in TOPIC_CONFIG_FIELDS:
                    setattr(topic, TOPIC_CONFIG_FIELDS[key], value)
            topic.save()
            Partition.objects.bulk_create(Partition(topic=topic, number=n) for n in range(partitions))
            audit_record(
                principal=actor,
                action=AuditAction.TOPIC_CREATED,
                target_type="topic",
                target=name,
                after=_audited(topic),
            )
            if admin is not None:  # last: the row is rolled back if the cluster refuses
                admin.topic_create(
                    name=name, partitions=partitions, config=_cluster_config(topic, settings, all_settings=True)
                )
    except IntegrityError as exc:
        raise Conflict(f"Topic '{name}' already exists.", code="topic_exists") from exc
    produce_targets_forget(name)
    return topic


def topic_update(*, name: str, config: Any = None, partitions: Any = None, actor: Principal = SYSTEM_ACTOR) -> Topic:
    """Change settings and/or grow the partition count (partitions are never removed). Audited
    when something changes."""
    admin = get_topic_admin()
    settings = validate_config(config, cluster=admin is not None)
    if admin is not None:
        topic_adopt(name=name)
    with transaction.atomic():
        topic = Topic.objects.select_for_update().filter(name=name).first()
        if topic is None:
            raise NotFound(f"Topic '{name}' does not exist.", code="topic_not_found")
        before = _audited(topic)
        fields = []
        for key, value in settings.items():
            if key in TOPIC_CONFIG_FIELDS:
                setattr(topic, TOPIC_CONFIG_FIELDS[key], value)
                fields.append(TOPIC_CONFIG_FIELDS[key])
        grown = False
        if partitions is not None:
            partitions = _validate_partitions(partitions)
            if partitions < topic.partition_count:
                raise field_error(
                    "partitions",
                    f"cannot shrink from {topic.partition_count} to {partitions}: partitions can only be added",
                )
            if partitions > topic.partition_count:
                Partition.objects.bulk_create(
                    Partition(topic=topic, number=n) for n in range(topic.partition_count, partitions)
                )
                topic.partition_count = partitions
                fields.append("partition_count")
                grown = True
        if fields:
            topic.save(update_fields=fields)
        cluster_config = _cluster_config(topic, settings, all_settings=False)
        if admin is not None and (grown or cluster_config):
            admin.topic_update(name=name, partitions=topic.partition_count if grown else None, config=cluster_config)
        if "partition_count" in fields:
            _rebalance_subscribers(topic.name)
        after = _audited(topic)
        if "cleanup.policy" in settings:
            after["config"] = {**after["config"], "cleanup.policy": settings["cleanup.policy"]}
        if after != before:
            audit_record(
                principal=actor,
                action=AuditAction.TOPIC_UPDATED,
                target_type="topic",
                target=name,
                before=before,
                after=after,
            )
    produce_targets_forget(name)
    return topic


def topic_delete(*, name: str, actor: Principal = SYSTEM_ACTOR) -> None:
    """Delete a topic, its events, and every group's offsets for it; subscribed groups rebalance.
    Audited."""
    admin = get_topic_admin()
    if admin is not None:
        topic_adopt(name=name)
    with transaction.atomic():
        topic = Topic.objects.select_for_update().filter(name=name).first()
        if topic is None:
            raise NotFound(f"Topic '{name}' does not exist.", code="topic_not_found")
        audit_record(
            principal=actor, action=AuditAction.TOPIC_DELETED, target_type="topic", target=name, before=_audited(topic)
        )
        topic.delete()
        _rebalance_subscribers(name, removed=True)
        if admin is not None:
            try:
                admin.topic_delete(name=name)
            except NotFound:
                pass  # another client deleted it from the cluster meanwhile
    produce_targets_forget(name)


def topic_adopt(*, name: str) -> Topic | None:
    """The Topic row of cluster topic `name`, recorded now if the cluster has it and the database
    does not (a topic another client created); None when the cluster has no such topic, or on
    the SQL backend, where the rows are the topics."""
    topic = Topic.objects.filter(name=name).first()
    if topic is not None:
        return topic
    admin = get_topic_admin()
    if admin is None:
        return None
    try:
        described = admin.topic_describe(name=name)
    except NotFound:
        return None
    return _adopt(admin, name, described.partitions, described.config)


def _adopt(admin: TopicAdmin, name: str, partitions: int, config: Mapping[str, str] | None) -> Topic:
    if config is None:
        config = admin.topic_describe(name=name).config
    topic = Topic(name=name, partition_count=partitions)
    for key in _CLUSTER_SETTINGS:
        if key in config:
            setattr(topic, TOPIC_CONFIG_FIELDS[key], int(config[key]))
    try:
        with transaction.atomic():
            topic.save()
            Partition.objects.bulk_create(Partition(topic=topic, number=n) for n in range(partitions))
            audit_record(
                principal=SYSTEM_ACTOR,
                action=AuditAction.TOPIC_CREATED,
                target_type="topic",
                target=name,
                after={**_audited(topic), "adopted_from_cluster": True},
            )
    except IntegrityError:  # adopted (or created through Eventline) by another request meanwhile
        return Topic.objects.get(name=name)
    return topic


def topics_sync_with_cluster() -> None:
    """Make the Topic rows match the cluster's topics (Kafka backend; nothing on SQL): adopt the
    ones other clients created, add partitions others added, drop rows of topics the cluster no
    longer has. One metadata request, plus a describe per newly seen topic."""
    admin = get_topic_admin()
    if admin is None:
        return
    in_cluster = admin.topic_partition_counts()
    known = dict(Topic.objects.values_list("name", "partition_count"))
    for name, partitions in sorted(in_cluster.items()):
        if name not in known:
            _adopt(admin, name, partitions, None)
        elif partitions > known[name]:
            with transaction.atomic():
                topic = Topic.objects.select_for_update().get(name=name)
                if partitions > topic.partition_count:
                    Partition.objects.bulk_create(
                        Partition(topic=topic, number=n) for n in range(topic.partition_count, partitions)
                    )
                    topic.partition_count = partitions
                    topic.save(update_fields=["partition_count"])
                    _rebalance_subscribers(name)
            produce_targets_forget(name)
    for name in sorted(set(known) - set(in_cluster)):
        with transaction.atomic():
            topic = Topic.objects.select_for_update().filter(name=name).first()
            if topic is None or name in admin.topic_partition_counts():
                continue  # gone already, or re-created meanwhile
            audit_record(
                principal=SYSTEM_ACTOR,
                action=AuditAction.TOPIC_DELETED,
                target_type="topic",
                target=name,
                before={**_audited(topic), "deleted_in_cluster": True},
            )
            topic.delete()
            _rebalance_subscribers(name, removed=True)
        produce_targets_forget(name)


def _rebalance_subscribers(topic_name: str, removed: bool = False) -> None:
    """Groups whose members subscribe to the topic get a new assignment (Kafka consumers rebalance
    on a metadata change); a deleted topic leaves their subscriptions."""
    from broker.services.groups import group_rebalance_locked

    group_ids = set()
    for member in GroupMember.objects.only("id", "group_id", "topics"):
        if topic_name in member.topics:
            if removed:
                member.topics = [topic for topic in member.topics if topic != topic_name]
                member.save(update_fields=["topics"])
            group_ids.add(member.group_id)
    for group_id in sorted(group_ids):
        group_rebalance_locked(group_id=group_id)


def topic_bind_subjects(*, name: str, strategy: str, value_subject: str = "", actor: Principal = SYSTEM_ACTOR) -> Topic:
    """Say which registry subject holds the schema of the topic's events."""
    config: dict[str, str] = {"value.subject.name.strategy": strategy}
    if value_subject:
        config["value.subject"] = value_subject
    return topic_update(name=name, config=config, actor=actor)
