"""Lineage fixtures: an estate built in the real tables (catalog entries through the catalog's
services, broker observations as the FlowStat rows the append and fetch paths write), and a
fresh graph cache for every test."""

from __future__ import annotations

import uuid

import pytest

from broker.flows import minute_of
from broker.models import ConsumerGroup, FlowStat, GroupMember, GroupPartition, Topic
from catalog import services as catalog
from catalog.models import Domain, EventType, Team
from core.auth import Principal
from core.services import service_get_or_create
from core.timeutil import now_ms

EDITOR = Principal(scopes=frozenset({"admin"}), username="lineage-tests")
MINUTE = 60_000


class Estate:
    """Catalog and traffic with a known shape, in a few words each."""

    def __init__(self, make_topic) -> None:
        self.make_topic = make_topic
        self.now = now_ms()

    def topic(self, name: str) -> Topic:
        return Topic.objects.filter(name=name).first() or self.make_topic(name)

    def team(self, name: str) -> str:
        if not Team.objects.filter(name=name).exists():
            catalog.team_create(principal=EDITOR, name=name)
        return name

    def domain(self, name: str) -> str:
        if not Domain.objects.filter(name=name).exists():
            catalog.domain_create(principal=EDITOR, name=name)
        return name

    def service(self, name: str, team: str | None = None, domain: str = "Core") -> Estate:
        catalog.service_document(
            principal=EDITOR,
            name=name,
            create=True,
            owner_team=self.team(team or f"Team {name}"),
            domain=self.domain(domain),
        )
        return self

    def event_type(
        self, name: str, topic: str | None = None, team: str = "Owners", domain: str = "Core", subject: str = ""
    ) -> Estate:
        topic_name = topic or name.lower()
        self.topic(topic_name)
        catalog.event_type_create(
            principal=EDITOR,
            data={
                "name": name,
                "domain": self.domain(domain),
                "owner_team": self.team(team),
                "summary": f"{name} happened",
                "topics": [topic_name],
                "subject": subject,
            },
        )
        return self

    def declares(self, service: str, role: str, *event_types: str) -> Estate:
        for name in event_types:
            catalog.declared_flow_add(
                principal=EDITOR, event_type=EventType.objects.get(name=name), service_name=service, role=role
            )
        return self

    def produced(
        self, service: str | None, event_type: str, topic: str, events: int = 60, ago_ms: int = MINUTE
    ) -> Estate:
        at = self.now - ago_ms
        FlowStat.objects.create(
            topic=self.topic(topic),
            role=FlowStat.ROLE_PRODUCE,
            service_id=service_get_or_create(name=service).id if service else 0,
            group_id=0,
            event_type=event_type,
            minute_ms=minute_of(at),
            events=events,
            last_seen_ms=at,
        )
        return self

    def group(self, name: str) -> ConsumerGroup:
        return ConsumerGroup.objects.get_or_create(name=name)[0]

    def consumed(self, group: str, topic: str, service: str | None, events: int = 60, ago_ms: int = MINUTE) -> Estate:
        at = self.now - ago_ms
        FlowStat.objects.create(
            topic=self.topic(topic),
            role=FlowStat.ROLE_CONSUME,
            service_id=service_get_or_create(name=service).id if service else 0,
            group_id=self.group(group).id,
            event_type="",
            minute_ms=minute_of(at),
            events=events,
            last_seen_ms=at,
        )
        return self

    def member(self, group: str, service: str | None, *topics: str) -> Estate:
        GroupMember.objects.create(
            group=self.group(group),
            member_id=uuid.uuid4().hex,
            service=service_get_or_create(name=service) if service else None,
            topics=list(topics),
            session_timeout_ms=10_000,
            auto_offset_reset="latest",
            generation=1,
            joined_ms=self.now,
            last_seen_ms=self.now,
        )
        return self

    def offsets(self, group: str, topic: str) -> Estate:
        GroupPartition.objects.create(group=self.group(group), topic=self.topic(topic), partition=0, committed_offset=0)
        return self


@pytest.fixture
def estate(db, make_topic) -> Estate:
    return Estate(make_topic)


@pytest.fixture
def order_flow(estate) -> Estate:
    """The demo's first steps: orders produces OrderPlaced and OrderCancelled on `orders`;
    inventory declares and reads OrderPlaced and produces StockReserved on `inventory`; payments
    consumes StockReserved; analytics reads `orders` undeclared; shipping declares OrderPlaced
    and is never seen."""
    (
        estate.service("orders", team="Checkout Team", domain="Ordering")
        .service("inventory", team="Warehouse Team", domain="Inventory")
        .service("payments", team="Payments Team", domain="Payments")
        .service("analytics", team="Data Team", domain="Analytics")
        .service("shipping", team="Warehouse Team", domain="Fulfilment")
        .event_type(
            "OrderPlaced", topic="orders", team="Checkout Team", domain="Ordering", subject="orders-OrderPlaced"
        )
        .event_type("OrderCancelled", topic="orders", team="Checkout Team", domain="Ordering")
        .event_type("StockReserved", topic="inventory", team="Warehouse Team", domain="Inventory")
        .declares("orders", "producer", "OrderPlaced", "OrderCancelled")
        .declares("inventory", "consumer", "OrderPlaced")
        .declares("inventory", "producer", "StockReserved")
        .declares("payments", "consumer", "StockReserved")
        .declares("shipping", "consumer", "OrderPlaced")
        .produced("orders", "OrderPlaced", "orders", events=90)
        .produced("orders", "OrderCancelled", "orders", events=10)
        .produced("inventory", "StockReserved", "inventory", events=80)
        .consumed("inventory-service", "orders", "inventory", events=100)
        .consumed("payments-service", "inventory", "payments", events=80)
        .consumed("analytics-service", "orders", "analytics", events=100)
    )
    return estate
