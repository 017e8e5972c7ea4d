"""Consumer groups on BROKER_BACKEND=kafka: the member API answered by the consumer host
(broker.consumer_host, where each HTTP member is a Kafka consumer), and the group API answered by
the cluster's admin API. Commits live in Kafka, so `kafka-consumer-groups.sh` and native
consumers see them, and native consumers and HTTP members share a group.

The web worker checks the key's scopes (group:, consume:) before it asks the host, exactly as the
SQL backend does; the host checks that a member is acted on by the key that joined it.

What stays on the SQL backend only: nack and ack (retries and dead letters), retry policies and
offset resets with preview; on Kafka they answer 501 (broker.api.views.SQLOnly).
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

from django.conf import settings

from broker.access import require_consume
from broker.consumer_host import commit_partition
from broker.log.kafka import READER_GROUP
from broker.services.fetch import FetchLimits
from broker.services.groups import MemberView, _validate_join, offsets_checked, validate_group_name
from core.auth import Principal
from core.errors import (
    BadRequest,
    Conflict,
    EventlineError,
    Forbidden,
    NotFound,
    Unavailable,
    ValidationFailed,
    field_error,
)

_ERRORS: dict[int, type[EventlineError]] = {
    400: BadRequest,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: ValidationFailed,
}
# How long a request may wait on the host beyond its own long poll.
_HOST_TIMEOUT_S = 45.0


def consumer_host_socket() -> Path:
    """Where the consumer host listens (EVENTLINE_CONSUMER_HOST_SOCKET, else var/consumer-host.sock)."""
    return Path(settings.EVENTLINE_CONSUMER_HOST_SOCKET or settings.VAR_DIR / "consumer-host.sock")


class _Connection(threading.local):
    sock: socket.socket | None = None
    reader: Any = None
    path: str = ""


_local = _Connection()


def _connect(path: str) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise Unavailable(
            f"The consumer host is not running on {path} (`manage.py run_consumer_host`; `make run` starts it).",
            code="consumer_host_unavailable",
        ) from exc
    _local.sock, _local.reader, _local.path = sock, sock.makefile("rb"), path


def _drop() -> None:
    if _local.sock is not None:
        try:
            _local.reader.close()
            _local.sock.close()
        except OSError:
            pass
    _local.sock = _local.reader = None


def _closed_by_host(sock: socket.socket) -> bool:
    """Whether the host closed this kept connection (it restarted): then nothing sent on it can
    have reached a host, and a new connection is made before sending."""
    timeout = sock.gettimeout()
    sock.setblocking(False)  # with a timeout set, recv would wait for data despite MSG_DONTWAIT
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False  # open, nothing to read: the normal case
    except OSError:
        return True
    finally:
        sock.settimeout(timeout)


def host_call(
    op: str, principal: Principal | None, *, timeout_s: float = _HOST_TIMEOUT_S, **args: Any
) -> tuple[dict[str, Any], list[str]]:
    """One request to the consumer host: its answer and, for a fetch, the events (serialised).
    A connection is kept per thread; one that went stale (the host restarted) is replaced once,
    for requests that are safe to send again."""
    path = str(consumer_host_socket())
    request = {
        "op": op,
        "args": args,
        "identity": principal.identity if principal is not None else "",
        "admin": bool(principal is not None and principal.is_admin),
    }
    line = json.dumps(request).encode() + b"\n"
    for attempt in range(2):
        if _local.sock is None or _local.path != path or _closed_by_host(_local.sock):
            _drop()
            _connect(path)
        assert _local.sock is not None
        try:
            _local.sock.settimeout(timeout_s)
            _local.sock.sendall(line)
            head_line = _local.reader.readline()
            if not head_line:
                raise ConnectionResetError("the consumer host closed the connection")
            head = json.loads(head_line)
            events = [_local.reader.readline().rstrip(b"\n").decode() for _ in range(head.get("events", 0))]
        except (OSError, ValueError) as exc:
            _drop()
            if attempt == 0 and op != "fetch":
                continue  # a stale connection: the request never reached a host that answers
            raise Unavailable(
                f"The consumer host did not answer ({exc}); send the request again.", code="consumer_host_unavailable"
            ) from exc
        break
    if "error" in head:
        error = head["error"]
        status = int(error.get("status", 500))
        if status == 422 and error.get("details", {}).get("errors"):
            raise ValidationFailed(error["message"], details=error["details"])
        if status >= 500 and status != 503:
            raise RuntimeError(f"consumer host: {error['message']}")
        raise _ERRORS.get(status, Unavailable)(error["message"], code=error.get("code"), details=error.get("details"))
    return head["ok"], events


def _view(answer: dict[str, Any]) -> MemberView:
    return MemberView(
        member_id=answer["member_id"],
        generation=answer["generation"],
        assignment=[(item["topic"], item["partition"]) for item in answer["assignment"]],
        rebalance_in_progress=answer["rebalance_in_progress"],
        state=answer["state"],
    )


def _cluster_partitions() -> dict[str, int]:
    from broker.log import get_topic_admin

    admin = get_topic_admin()
    assert admin is not None, "hosted groups run on a log with a topic admin (Kafka)"
    return admin.topic_partition_counts()


def hosted_join(
    *,
    group_name: str,
    principal: Principal,
    topics: Any,
    auto_offset_reset: Any,
    session_timeout_ms: Any,
    assignor: Any,
    client_id: str,
    member_id: str | None,
) -> MemberView:
    validate_group_name(group_name)
    principal.require_group(group_name)
    topics, auto_offset_reset, session_timeout_ms, assignor = _validate_join(
        topics, auto_offset_reset, session_timeout_ms, assignor
    )
    known = _cluster_partitions()
    missing = [topic for topic in topics if topic not in known]
    if missing:
        raise NotFound(f"Topic '{missing[0]}' does not exist.", code="topic_not_found", details={"topics": missing})
    for topic in topics:
        require_consume(principal, topic)
    answer, _ = host_call(
        "join",
        principal,
        group=group_name,
        topics=topics,
        auto_offset_reset=auto_offset_reset,
        session_timeout_ms=session_timeout_ms,
        assignor=assignor,
        client_id=client_id[:255],
        member_id=member_id,
    )
    return _view(answer)


def hosted_heartbeat(*, group_name: str, member_id: str, principal: Principal) -> MemberView:
    principal.require_group(group_name)
    answer, _ = host_call("heartbeat", principal, group=group_name, member_id=member_id)
    return _view(answer)


def hosted_leave(*, group_name: str, member_id: str, principal: Principal) -> None:
    principal.require_group(group_name)
    host_call("leave", principal, group=group_name, member_id=member_id)


def hosted_fetch(*, group_name: str, member_id: str, principal: Principal, limits: FetchLimits) -> list[str]:
    principal.require_group(group_name)
    _, events = host_call(
        "fetch",
        principal,
        timeout_s=limits.max_wait_ms / 1000 + _HOST_TIMEOUT_S,
        group=group_name,
        member_id=member_id,
        max_wait_ms=limits.max_wait_ms,
        max_events=limits.max_events,
        max_bytes=limits.max_bytes,
    )
    return events


def hosted_commit(
    *, group_name: str, principal: Principal, offsets: Any, member_id: str | None, generation: Any
) -> list[dict[str, Any]]:
    """A member's commit goes through its own Kafka consumer. Without a member id (tools) the
    offsets are set with the admin API, which Kafka allows only while the group has no members."""
    validate_group_name(group_name)
    principal.require_group(group_name)
    commits = [
        {key: commit[key] for key in ("topic", "partition", "offset", "metadata")}
        for commit in offsets_checked(offsets, principal, _cluster_partitions())
    ]
    if member_id:
        host_call("commit", principal, group=group_name, member_id=member_id, offsets=commits, generation=generation)
    else:
        _admin_commit(group_name, commits)
    return commits


def _admin_commit(group_name: str, commits: list[dict[str, Any]]) -> None:
    from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException

    partitions = [commit_partition(c) for c in commits]
    admin = _admin()
    [future] = admin.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group_name, partitions)], request_timeout=15
    ).values()
    try:
        future.result(timeout=20)
    except KafkaException as exc:
        raise Conflict(
            f"Group '{group_name}' has active members; commit with a member_id and generation ({exc.args[0].str()}).",
            code="group_has_members",
        ) from exc


def hosted_seek(
    *, group_name: str, member_id: str, principal: Principal, topic: Any, partition: Any, to: Any
) -> dict[str, Any]:
    principal.require_group(group_name)
    if not isinstance(topic, str) or not topic:
        raise field_error("topic", "must be a topic name")
    if isinstance(partition, bool) or not isinstance(partition, int) or partition < 0:
        raise field_error("partition", "must be a partition number")
    require_consume(principal, topic)
    answer, _ = host_call(
        "seek", principal, group=group_name, member_id=member_id, topic=topic, partition=partition, to=to
    )
    return {"topic": topic, "partition": partition, "position": answer["position"]}


# --- groups, from the cluster ------------------------------------------------------------------


def _log() -> Any:
    """The Kafka log (hosted groups run only on it): its admin client and offset lookups."""
    from broker.log import get_log

    return get_log()


def _admin() -> Any:
    return _log().admin


def hosted_group_list(*, principal: Principal) -> list[dict[str, Any]]:
    """Every consumer group of the cluster the key may describe, native ones included."""
    listed = _admin().list_consumer_groups(request_timeout=15).result(timeout=20)
    names = sorted(g.group_id for g in listed.valid if g.group_id != READER_GROUP)  # the indexer's is listed
    names = [name for name in names if principal.may_use_group(name)]
    if not names:
        return []
    described = cluster_groups_described(names)
    return [
        {
            "name": name,
            "state": described[name]["state"],
            "generation": None,
            "members": len(described[name]["members"]),
        }
        for name in names
    ]


def cluster_groups_described(names: list[str]) -> dict[str, dict[str, Any]]:
    """Kafka's description of these groups (state, assignor, members with client id, host and
    assignment), all asked for at once."""
    futures = _admin().describe_consumer_groups(names, request_timeout=15)
    found: dict[str, dict[str, Any]] = {}
    for name, future in futures.items():
        group = future.result(timeout=20)
        state = str(getattr(group.state, "name", group.state)).replace("_", "").title()
        state = {"Preparingrebalance": "PreparingRebalance", "Completingrebalance": "CompletingRebalance"}.get(
            state, state
        )
        found[name] = {
            "state": state,
            "assignor": group.partition_assignor or None,
            "members": [
                {
                    "member_id": member.member_id,
                    "client_id": member.client_id,
                    "client_host": member.host,
                    "assignment": sorted(
                        ({"topic": tp.topic, "partition": tp.partition} for tp in member.assignment.topic_partitions),
                        key=lambda item: (item["topic"], item["partition"]),
                    ),
                }
                for member in sorted(group.members, key=lambda m: m.member_id)
            ],
        }
    return found


def hosted_group_describe(*, group_name: str, principal: Principal) -> dict[str, Any]:
    """The group as Kafka's coordinator describes it, with what the consumer host knows of the
    members it holds (topics, generation, session timeout)."""
    validate_group_name(group_name)
    principal.require_group(group_name)
    described = cluster_groups_described([group_name])[group_name]
    if described["state"] == "Dead":
        raise NotFound(f"Consumer group '{group_name}' does not exist.", code="group_not_found")
    try:
        hosted = {m["member_id"]: m for m in host_call("members", None, group=group_name)[0]["members"]}
    except Unavailable:
        hosted = {}
    members = []
    for member in described["members"]:
        ours = hosted.get(member["member_id"], {})
        members.append(
            {
                **member,
                "service": None,
                "topics": ours.get("topics"),
                "generation": ours.get("generation"),
                "session_timeout_ms": ours.get("session_timeout_ms"),
                "last_seen_time": None,
                "http_member": bool(ours),
            }
        )
    generations = [m["generation"] for m in members if m["generation"] is not None]
    return {
        "name": group_name,
        "state": described["state"],
        "generation": max(generations) if generations else None,
        "assignor": described["assignor"],
        "state_changed_time": None,
        "members": members,
    }


def hosted_group_offsets(*, group_name: str, principal: Principal) -> list[dict[str, Any]]:
    from confluent_kafka import ConsumerGroupTopicPartitions

    validate_group_name(group_name)
    principal.require_group(group_name)
    [future] = (
        _admin().list_consumer_group_offsets([ConsumerGroupTopicPartitions(group_name)], request_timeout=15).values()
    )
    committed = [tp for tp in future.result(timeout=20).topic_partitions or [] if tp.offset >= 0]
    if not committed:
        described = cluster_groups_described([group_name])[group_name]
        if described["state"] == "Dead":
            raise NotFound(f"Consumer group '{group_name}' does not exist.", code="group_not_found")
    logs = _log().offsets_of([(tp.topic, tp.partition) for tp in committed])
    ends = {key: offsets.end for key, offsets in logs.items()}
    return [
        {
            "topic": tp.topic,
            "partition": tp.partition,
            "offset": tp.offset,
            "metadata": tp.metadata or "",
            "committed_time": None,
            "log_end_offset": ends.get((tp.topic, tp.partition)),
        }
        for tp in sorted(committed, key=lambda tp: (tp.topic, tp.partition))
    ]


def hosted_group_delete(*, group_name: str, principal: Principal) -> None:
    """Delete the group and its offsets from Kafka; refused (409) while it has members."""
    from confluent_kafka import KafkaError, KafkaException

    validate_group_name(group_name)
    principal.require_group(group_name)
    [future] = _admin().delete_consumer_groups([group_name], request_timeout=15).values()
    try:
        future.result(timeout=20)
    except KafkaException as exc:
        error = exc.args[0]
        if error.code() == KafkaError.GROUP_ID_NOT_FOUND:
            raise NotFound(f"Consumer group '{group_name}' does not exist.", code="group_not_found") from exc
        if error.code() == KafkaError.NON_EMPTY_GROUP:
            raise Conflict(f"Group '{group_name}' has active members.", code="group_has_members") from exc
        raise
