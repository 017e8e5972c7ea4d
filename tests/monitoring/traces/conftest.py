"""An order flow driven through the real HTTP API: each service produces with its own key, and
consumer groups join, fetch and commit as their members would."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

TOPICS = ("orders", "payments", "shipping", "secrets")


class Shop:
    def __init__(self, make_api: Any, make_topic: Any) -> None:
        for topic in TOPICS:
            make_topic(topic, partitions=1)
        self._make_api = make_api
        self._apis: dict[str, Any] = {}
        self._members: dict[str, dict[str, Any]] = {}

    def api(self, service: str) -> Any:
        if service not in self._apis:
            self._apis[service] = self._make_api("produce:*", "consume:*", service=service)
        return self._apis[service]

    def produce(
        self,
        service: str,
        topic: str,
        event_type: str,
        *,
        correlation: str | None,
        cause: dict[str, Any] | None = None,
        data: Any = None,
        trace_id: str | None = None,
        headers: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Produce one event; returns its id and coordinates."""
        event: dict[str, Any] = {"type": event_type, "source": f"/services/{service}", "data": data or {}}
        if correlation is not None:
            event["correlationid"] = correlation
        if cause is not None:
            event["causationid"] = cause["id"]
        if trace_id is not None:
            event["traceparent"] = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
        if headers:
            event["headers"] = headers
        response = self.api(service).post(f"/api/v1/topics/{topic}/events", event)
        assert response.status_code == 200, response.content
        return {**response.json()["events"][0], "topic": topic}

    def consume(self, service: str, group: str, topics: tuple[str, ...], *, commit: bool = True) -> list[dict]:
        """One member of `group` (run by `service`) fetches what is there and, unless told not to,
        commits past it."""
        api = self.api(service)
        member = self._members.get(group)
        if member is None:
            response = api.post(
                f"/api/v1/groups/{group}/members", {"topics": list(topics), "auto_offset_reset": "earliest"}
            )
            assert response.status_code == 200, response.content
            member = self._members[group] = response.json()
        fetched = api.get(
            f"/api/v1/groups/{group}/members/{member['member_id']}/events", max_wait_ms=0, max_events=1000
        )
        assert fetched.status_code == 200, fetched.content
        events = fetched.json()["events"]
        if commit and events:
            ends: dict[tuple[str, int], int] = {}
            for event in events:
                ends[(event["topic"], event["partition"])] = event["offset"] + 1
            response = api.post(
                f"/api/v1/groups/{group}/offsets",
                {
                    "member_id": member["member_id"],
                    "generation": member["generation"],
                    "offsets": [{"topic": t, "partition": p, "offset": o} for (t, p), o in ends.items()],
                },
            )
            assert response.status_code == 200, response.content
        return events

    def nack(self, service: str, group: str, event: dict[str, Any], *, max_attempts: int = 3) -> dict[str, Any]:
        """The member of `group` fails on `event` (after `consume`), with a retry policy of
        `max_attempts` deliveries: 1 dead-letters it at once."""
        api = self.api(service)
        policy = api.client.put(f"/api/v1/groups/{group}/retry-policy", {"max_attempts": max_attempts}, format="json")
        assert policy.status_code == 200, policy.content
        member = self._members[group]
        response = api.post(
            f"/api/v1/groups/{group}/members/{member['member_id']}/nack",
            {"topic": event["topic"], "partition": event["partition"], "offset": event["offset"]},
        )
        assert response.status_code == 200, response.content
        return response.json()


@pytest.fixture
def shop(make_api, make_topic) -> Shop:
    return Shop(make_api, make_topic)


@pytest.fixture
def order_saga(db):
    """The catalog's order saga: OrderPlaced starts it, OrderShipped completes it, OrderCancelled
    compensates it, OrderRejected fails it; stuck after 60 s."""
    from catalog import services
    from core.auth import Principal

    editor = Principal(scopes=frozenset({"admin"}), username="seed")
    services.domain_create(principal=editor, name="Ordering")
    services.team_create(principal=editor, name="Checkout Team")
    for name in ("OrderPlaced", "OrderShipped", "OrderCancelled", "OrderRejected"):
        services.event_type_create(
            principal=editor,
            data={"name": name, "domain": "Ordering", "owner_team": "Checkout Team", "summary": f"{name} happened"},
        )
    return services.business_flow_create(
        principal=editor,
        data={
            "name": "Order saga",
            "start_event_type": "OrderPlaced",
            "terminals": {"OrderShipped": "completed", "OrderCancelled": "compensated", "OrderRejected": "failed"},
            "stuck_after_seconds": 60,
        },
    )
