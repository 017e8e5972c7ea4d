"""HTTP API of the broker: topics, produce, browse, consumer groups. Views parse, call one service
or selector, and render."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from functools import partial
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiRequest, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from broker import selectors
from broker.api import serializers as s
from broker.envelope import CE_BATCH, CE_JSON, raw_events_from_request
from broker.masking import mask_payloads
from broker.services import hosted_groups as hosted
from broker.services.dead_letters import (
    DEFAULT_REDRIVE_RATE_PER_S,
    dead_letter_edit_and_redrive,
    dead_letter_redrive,
    dead_letter_resolve,
)
from broker.services.fetch import fetch_limits, group_fetch
from broker.services.groups import (
    group_commit,
    group_delete,
    group_heartbeat,
    group_join,
    group_leave,
    group_offsets_reset,
    group_seek,
)
from broker.services.produce import events_produce
from broker.services.retries import event_ack, event_nack, retries_due, retry_policy_get, retry_policy_set
from broker.services.topics import topic_create, topic_delete, topic_update
from core.auth import principal_of
from core.constants import FALSE_WORDS, TRUE_WORDS
from core.errors import EventlineError, NotImplementedOnBackend, ValidationFailed, field_error
from core.jsonutil import dumps
from core.metrics import EVENTS_IN, EVENTS_OUT, EVENTS_REFUSED, FETCH_SECONDS, PRODUCE_SECONDS
from core.pagination import LimitOffsetPagination
from core.timeutil import ms_to_iso

JSON = "application/json"


def events_response(payloads: list[str], **extra: Any) -> HttpResponse:
    """Events are stored serialised; the response is stitched from them without re-encoding."""
    tail = "".join(f',"{key}":{value}' for key, value in extra.items())
    body = '{"events":[' + ",".join(payloads) + "]" + tail + "}"
    return HttpResponse(body.encode(), content_type=JSON)


def _int_param(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise field_error(name, f"must be an integer from {low} to {high}")
    return value


class TopicListView(APIView):
    pagination_class = LimitOffsetPagination

    @extend_schema(responses=s.TopicSummarySerializer(many=True), summary="List the topics the key may describe")
    def get(self, request: Request) -> Response:
        topics = selectors.topic_list(visible_to=principal_of(request))
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(topics, request, view=self)
        return paginator.get_paginated_response(
            [
                {
                    "name": topic.name,
                    "partition_count": topic.partition_count,
                    "size_bytes": topic.total_size_bytes or 0,
                    "last_append_time": ms_to_iso(topic.last_append_ms),
                    "config": topic.config,
                }
                for topic in page
            ]
        )

    @extend_schema(
        request=s.TopicCreateSerializer, responses={201: s.TopicSerializer}, summary="Create a topic (admin)"
    )
    def post(self, request: Request) -> Response:
        principal = principal_of(request)
        principal.require("admin")
        body = request.data if isinstance(request.data, dict) else {}
        if not isinstance(request.data, dict):
            raise field_error("body", "must be a JSON object")
        topic = topic_create(
            name=body.get("name"), partitions=body.get("partitions", 1), config=body.get("config"), actor=principal
        )
        return Response(selectors.topic_describe(name=topic.name), status=201)


class TopicDetailView(APIView):
    @extend_schema(responses=s.TopicSerializer, summary="Describe a topic and its partitions")
    def get(self, request: Request, topic: str) -> Response:
        principal_of(request).require("describe", topic)
        return Response(selectors.topic_describe(name=topic))

    @extend_schema(
        request=s.TopicUpdateSerializer,
        responses=s.TopicSerializer,
        summary="Change settings or add partitions (admin)",
    )
    def patch(self, request: Request, topic: str) -> Response:
        principal = principal_of(request)
        principal.require("admin")
        if not isinstance(request.data, dict):
            raise field_error("body", "must be a JSON object")
        topic_update(
            name=topic, config=request.data.get("config"), partitions=request.data.get("partitions"), actor=principal
        )
        return Response(selectors.topic_describe(name=topic))

    @extend_schema(responses={204: None}, summary="Delete a topic and its events (admin)")
    def delete(self, request: Request, topic: str) -> Response:
        principal = principal_of(request)
        principal.require("admin")
        topic_delete(name=topic, actor=principal)
        return Response(status=204)


class TopicEventsView(APIView):
    """Produce. Reads the raw body itself: CloudEvents structured, batch, binary and plain JSON."""

    @extend_schema(
        request={
            CE_JSON: s.EventInSerializer,
            CE_BATCH: s.EventInSerializer(many=True),
            JSON: OpenApiRequest(OpenApiTypes.OBJECT, examples=None),
            "application/octet-stream": OpenApiTypes.BINARY,
        },
        responses=s.ProduceResponseSerializer,
        summary="Produce one event or a batch (all or nothing)",
        description=(
            "Structured mode (`application/cloudevents+json`), batch (`application/cloudevents-batch+json` or a JSON "
            "array as `application/json`), or binary mode (`ce-*` headers, the body is the data). Refused batches get "
            "422 listing every refused event with its index, field and reason; nothing is appended."
        ),
    )
    def post(self, request: Request, topic: str) -> HttpResponse:
        principal = principal_of(request)
        body = request.body  # never over EVENTLINE_MAX_REQUEST_BYTES here: core.request_limits refused it
        started = time.perf_counter()
        raw_events = raw_events_from_request(body, request.content_type or "", request.headers)
        try:
            results = events_produce(topic_name=topic, raw_events=raw_events, principal=principal)
        except EventlineError as exc:
            if exc.code == "events_refused":
                schema = any("pointer" in error for error in exc.details.get("errors", []))
                EVENTS_REFUSED.labels(topic, "schema" if schema else "invalid").inc(len(raw_events))
            raise
        PRODUCE_SECONDS.labels(topic).observe(time.perf_counter() - started)
        EVENTS_IN.labels(topic).inc(sum(1 for result in results if not result.duplicate))
        body = dumps(
            {
                "events": [
                    {
                        "id": result.event_id,
                        "partition": result.partition,
                        "offset": result.offset,
                        "timestamp": result.timestamp_ms,
                        "duplicate": result.duplicate,
                    }
                    for result in results
                ]
            }
        )
        return HttpResponse(body, content_type=JSON)


class PartitionEventsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("offset", int, description="first offset to read; the log start when missing"),
            OpenApiParameter(
                "timestamp",
                int,
                description=(
                    "without `offset`: start at the first event whose time (epoch ms) is at or after this "
                    "(Kafka's offsetsForTimes); at the log end when every event is older"
                ),
            ),
            OpenApiParameter("limit", int, description="at most this many events (1-10000, default 100)"),
        ],
        responses=s.EventPageSerializer,
        summary="Read a partition by offset or time, without a group (browse and replay)",
    )
    def get(self, request: Request, topic: str, partition: int) -> HttpResponse:
        principal = principal_of(request)
        principal.require("consume", topic)
        offset = _int_param(request, "offset", None, 0, 2**63 - 1)
        timestamp_ms = _int_param(request, "timestamp", None, 0, 2**63 - 1)
        limit = _int_param(request, "limit", 100, 1, 10_000)
        assert limit is not None
        row, batch = selectors.partition_read(
            topic_name=topic, partition=partition, offset=offset, limit=limit, timestamp_ms=timestamp_ms
        )
        next_offset = batch.next_offset  # an empty read answers where it started (a seek by time's offset too)
        return events_response(
            mask_payloads(batch.payloads, principal),
            next_offset=next_offset,
            log_start_offset=row.log_start_offset,
            end_offset=row.end_offset,
        )


def groups_hosted() -> bool:
    """Whether consumer groups are Kafka's, with members in the consumer host
    (broker.services.hosted_groups), rather than the SQL backend's tables."""
    return settings.BROKER_BACKEND != "sql"


class SQLOnly:
    """Retries, dead letters from nack, retry policies and offset resets with preview run on the
    SQL backend only: on Kafka these endpoints answer 501."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if groups_hosted():
            raise NotImplementedOnBackend(
                f"This endpoint is not available on BROKER_BACKEND={settings.BROKER_BACKEND}: retries, nack and ack, "
                "retry policies and offset resets run on the SQL backend. On Kafka, commit past an event to skip it, "
                "or reset a group's offsets with kafka-consumer-groups.sh.",
                code="not_on_backend",
            )
        super().initial(request, *args, **kwargs)  # type: ignore[misc]


class GroupListView(APIView):
    pagination_class = LimitOffsetPagination

    @extend_schema(
        responses=s.GroupSummarySerializer(many=True), summary="List the consumer groups the key may describe"
    )
    def get(self, request: Request) -> Response:
        if groups_hosted():
            paginator = LimitOffsetPagination()
            listed = hosted.hosted_group_list(principal=principal_of(request))
            return paginator.get_paginated_response(paginator.paginate_queryset(listed, request, view=self))
        groups = selectors.group_list(visible_to=principal_of(request))
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(groups, request, view=self)
        return paginator.get_paginated_response(
            [
                {
                    "name": group.name,
                    "state": group.state,
                    "generation": group.generation,
                    "members": group.member_count,
                }
                for group in page
            ]
        )


class GroupDetailView(APIView):
    @extend_schema(responses=s.GroupSerializer, summary="Describe a group: state, generation, members")
    def get(self, request: Request, group: str) -> Response:
        if groups_hosted():
            return Response(hosted.hosted_group_describe(group_name=group, principal=principal_of(request)))
        principal_of(request).require_group(group)
        return Response(selectors.group_describe(name=group))

    @extend_schema(responses={204: None}, summary="Delete an empty group's offsets (state Dead)")
    def delete(self, request: Request, group: str) -> Response:
        if groups_hosted():
            hosted.hosted_group_delete(group_name=group, principal=principal_of(request))
            return Response(status=204)
        group_delete(group_name=group, principal=principal_of(request))
        return Response(status=204)


class GroupMembersView(APIView):
    @extend_schema(request=s.JoinSerializer, responses=s.MemberSerializer, summary="Join a group")
    def post(self, request: Request, group: str) -> Response:
        if not isinstance(request.data, dict):
            raise field_error("body", "must be a JSON object")
        data = request.data
        join = (
            hosted.hosted_join
            if groups_hosted()
            else partial(group_join, client_host=request.META.get("REMOTE_ADDR", ""))
        )
        view = join(
            group_name=group,
            principal=principal_of(request),
            topics=data.get("topics"),
            auto_offset_reset=data.get("auto_offset_reset", "latest"),
            session_timeout_ms=data.get("session_timeout_ms", 45000),
            assignor=data.get("assignor"),
            client_id=str(data.get("client_id") or ""),
            member_id=data.get("member_id") or None,
        )
        return Response(view.as_dict())


class MemberDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Leave a group (the member's own key), or remove a member (admin)")
    def delete(self, request: Request, group: str, member: str) -> Response:
        leave = hosted.hosted_leave if groups_hosted() else group_leave
        leave(group_name=group, member_id=member, principal=principal_of(request))
        return Response(status=204)


class MemberHeartbeatView(APIView):
    @extend_schema(request=None, responses=s.MemberSerializer, summary="Heartbeat; learn about rebalances")
    def post(self, request: Request, group: str, member: str) -> Response:
        heartbeat = hosted.hosted_heartbeat if groups_hosted() else group_heartbeat
        view = heartbeat(group_name=group, member_id=member, principal=principal_of(request))
        return Response(view.as_dict())


class MemberEventsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("max_wait_ms", int, description="long-poll at most this long (default 500)"),
            OpenApiParameter("max_events", int, description="default 500"),
            OpenApiParameter("max_bytes", int, description="default 52428800; at least one event is returned"),
        ],
        responses=s.FetchResponseSerializer,
        summary="Fetch (long poll) from the member's partitions",
    )
    def get(self, request: Request, group: str, member: str) -> HttpResponse:
        params = request.query_params
        limits = fetch_limits(params.get("max_wait_ms"), params.get("max_events"), params.get("max_bytes"))
        started = time.perf_counter()
        principal = principal_of(request)
        hosted_here = groups_hosted()
        retries = [] if hosted_here else retries_due(group_name=group, member_id=member, principal=principal)
        if retries:  # what is due is answered now, with whatever new events are there already
            limits = replace(limits, max_wait_ms=0)
        fetch = hosted.hosted_fetch if hosted_here else group_fetch
        payloads = fetch(group_name=group, member_id=member, principal=principal, limits=limits)
        FETCH_SECONDS.labels(group).observe(time.perf_counter() - started)
        if payloads:
            # Each stored payload starts with {"topic":"<name>", so the topic is read without parsing.
            for topic_name, count in Counter(p[10 : p.index('"', 10)] for p in payloads).items():
                EVENTS_OUT.labels(topic_name).inc(count)
        payloads = mask_payloads(payloads, principal)  # the stored strings themselves unless masked
        if retries:
            return events_response(payloads, retries="[" + ",".join(retries) + "]")
        return events_response(payloads)


class MemberNackView(SQLOnly, APIView):
    @extend_schema(
        request=s.NackSerializer,
        responses=OpenApiTypes.OBJECT,
        summary="The member failed on an event: retry it for this group, or dead-letter it after the last attempt",
    )
    def post(self, request: Request, group: str, member: str) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        result = event_nack(
            group_name=group,
            member_id=member,
            principal=principal_of(request),
            topic=data.get("topic"),
            partition=data.get("partition"),
            offset=data.get("offset"),
            error=data.get("error"),
        )
        return Response(result)


class MemberAckView(SQLOnly, APIView):
    @extend_schema(
        request=s.EventCoordinatesSerializer,
        responses=OpenApiTypes.OBJECT,
        summary="The member handled a retried event: it is not delivered again",
    )
    def post(self, request: Request, group: str, member: str) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        result = event_ack(
            group_name=group,
            member_id=member,
            principal=principal_of(request),
            topic=data.get("topic"),
            partition=data.get("partition"),
            offset=data.get("offset"),
        )
        return Response(result)


class GroupRetryPolicyView(SQLOnly, APIView):
    @extend_schema(
        parameters=[OpenApiParameter("topic", str, description="the topic's own policy; omitted: the group's")],
        responses=s.RetryPolicySerializer,
        summary="A group's retry and dead-letter policy",
    )
    def get(self, request: Request, group: str) -> Response:
        principal_of(request).require_group(group)
        return Response(retry_policy_get(group_name=group, topic=request.query_params.get("topic", "")).as_dict())

    @extend_schema(
        parameters=[OpenApiParameter("topic", str, description="set the topic's own policy; omitted: the group's")],
        request=s.RetryPolicySerializer,
        responses=s.RetryPolicySerializer,
        summary="Set a group's retry and dead-letter policy",
    )
    def put(self, request: Request, group: str) -> Response:
        policy = retry_policy_set(
            group_name=group,
            principal=principal_of(request),
            topic=request.query_params.get("topic", ""),
            values=request.data,
        )
        return Response(policy.as_dict())


class MemberSeekView(APIView):
    @extend_schema(request=s.SeekSerializer, responses=OpenApiTypes.OBJECT, summary="Move the member's position")
    def post(self, request: Request, group: str, member: str) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        seek = hosted.hosted_seek if groups_hosted() else group_seek
        result = seek(
            group_name=group,
            member_id=member,
            principal=principal_of(request),
            topic=data.get("topic"),
            partition=data.get("partition"),
            to=data.get("to"),
        )
        return Response(result)


def _require_topic_names(offsets: Any) -> None:
    """A topic given as anything but a string names nothing (an object cannot even be looked up)."""
    if not isinstance(offsets, list):
        return  # group_commit says what the list must be
    errors = [
        {"index": index, "field": "topic", "reason": "must be a topic name (a string)"}
        for index, item in enumerate(offsets)
        if isinstance(item, dict) and not isinstance(item.get("topic"), str)
    ]
    if errors:
        raise ValidationFailed(
            f"{len(errors)} offset(s) refused; nothing was committed.",
            code="offsets_refused",
            details={"errors": errors},
        )


class GroupOffsetsView(APIView):
    @extend_schema(responses=s.OffsetsResponseSerializer, summary="Committed offsets of a group")
    def get(self, request: Request, group: str) -> Response:
        if groups_hosted():
            return Response({"offsets": hosted.hosted_group_offsets(group_name=group, principal=principal_of(request))})
        principal_of(request).require_group(group)
        return Response({"offsets": selectors.group_offsets(name=group)})

    @extend_schema(
        request=s.CommitSerializer, responses=s.OffsetsResponseSerializer, summary="Commit offsets (next to read)"
    )
    def post(self, request: Request, group: str) -> Response:
        if not isinstance(request.data, dict):
            raise field_error("body", "must be a JSON object")
        data = request.data
        _require_topic_names(data.get("offsets"))
        commit = hosted.hosted_commit if groups_hosted() else group_commit
        committed = commit(
            group_name=group,
            principal=principal_of(request),
            offsets=data.get("offsets"),
            member_id=data.get("member_id") or None,
            generation=data.get("generation"),
        )
        return Response({"offsets": committed})


class GroupOffsetsResetView(SQLOnly, APIView):
    @extend_schema(
        request=s.ResetSerializer,
        responses=s.ResetResponseSerializer,
        summary="Reset an inactive group's offsets, with preview",
    )
    def post(self, request: Request, group: str) -> Response:
        if not isinstance(request.data, dict):
            raise field_error("body", "must be a JSON object")
        data = request.data
        dry_run = data.get("dry_run", True)
        if not isinstance(dry_run, bool):
            raise field_error("dry_run", "must be true or false")
        result = group_offsets_reset(
            group_name=group,
            principal=principal_of(request),
            topic=data.get("topic"),
            to=data.get("to"),
            partitions=data.get("partitions"),
            dry_run=dry_run,
        )
        return Response(result)


class DeadLetterListView(APIView):
    pagination_class = LimitOffsetPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("group", str),
            OpenApiParameter("topic", str, description="the original topic"),
            OpenApiParameter("resolved", bool),
        ],
        responses=s.DeadLetterSerializer(many=True),
        summary="Dead letters of the groups and topics the key may describe",
    )
    def get(self, request: Request) -> Response:
        resolved = request.query_params.get("resolved", "")
        if resolved not in TRUE_WORDS | FALSE_WORDS | {""}:
            raise field_error("resolved", "must be true or false")
        rows = selectors.dead_letter_list(
            visible_to=principal_of(request),
            group=request.query_params.get("group", ""),
            topic=request.query_params.get("topic", ""),
            resolved=None if resolved == "" else resolved in TRUE_WORDS,
        )
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(s.DeadLetterSerializer(page, many=True).data)


class DeadLetterRedriveView(APIView):
    @extend_schema(
        request=s.DeadLetterRedriveSerializer,
        responses=s.DeadLetterRedriveResponseSerializer,
        summary="Redrive dead letters to their original topic (ids, or group + all), rate-limited",
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise field_error("body", "must be a JSON object")
        data = request.data
        rate = data.get("rate_per_s", DEFAULT_REDRIVE_RATE_PER_S)
        if type(rate) not in (int, float):
            raise field_error("rate_per_s", "must be a number")
        if data.get("all") is True:
            group = data.get("group")
            if not isinstance(group, str) or not group:
                raise field_error("group", 'name the group with "all": true')
            result = dead_letter_redrive(group=group, actor=principal_of(request), rate_per_s=float(rate))
        else:
            result = dead_letter_redrive(ids=data.get("ids"), actor=principal_of(request), rate_per_s=float(rate))
        return Response(result.as_dict())


class DeadLetterResolveView(APIView):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, summary="Mark a dead letter resolved")
    def post(self, request: Request, id: int) -> Response:
        principal = principal_of(request)
        selectors.dead_letter_get(id=id, visible_to=principal)
        return Response({"resolved": bool(dead_letter_resolve(ids=[id], actor=principal))})


class DeadLetterEditAndRedriveView(APIView):
    @extend_schema(
        request=s.DeadLetterEditSerializer,
        responses=OpenApiTypes.OBJECT,
        summary="Send edited data as a new event to the original topic (editor role or admin)",
    )
    def post(self, request: Request, id: int) -> Response:
        if not isinstance(request.data, dict) or "data" not in request.data:
            raise field_error("data", "the body must be a JSON object with the edited data")
        principal = principal_of(request)
        selectors.dead_letter_get(id=id, visible_to=principal)
        return Response(dead_letter_edit_and_redrive(id=id, data=request.data["data"], actor=principal))
