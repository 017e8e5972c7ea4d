"""The demo estate: the order flow that event-driven architecture talks always draw. Six
services, eight event types, each with two schema versions, owners, docs, and declared producers
and consumers, with Analytics left undeclared so the governance inbox has something in it.

`seed_demo()` is idempotent: it creates what is missing and leaves the rest alone.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from broker.models import Topic
from broker.services.topics import topic_create
from catalog import services
from catalog.models import BusinessFlow, DeclaredFlow, Domain, EventType, ServiceProfile, Team
from core.auth import Principal

SEEDER = Principal(scopes=frozenset({"admin"}), username="demo-seed")

TOPICS = {"orders": 3, "inventory": 3, "payments": 3, "shipping": 3}

DOMAINS = {
    "Ordering": "Taking orders from customers, from basket to confirmation.",
    "Inventory": "Stock levels and reservations in the warehouses.",
    "Payments": "Charging customers and handling refunds.",
    "Fulfilment": "Picking, packing and shipping parcels.",
    "Customer": "Talking to customers: e-mails, texts, push notifications.",
    "Analytics": "Reporting and forecasting from the event stream.",
}

TEAMS = {
    "Checkout Team": ("Owns the checkout and the order lifecycle.", "#team-checkout"),
    "Warehouse Team": ("Owns stock and shipping.", "#team-warehouse"),
    "Payments Team": ("Owns payment capture and refunds.", "#team-payments"),
    "Customer Team": ("Owns customer communication.", "#team-customer"),
    "Data Team": ("Owns reporting and forecasting.", "#team-data"),
}

SERVICES = {
    "orders": ("Checkout Team", "Ordering", "Takes orders and cancels them when stock or payment fails."),
    "inventory": ("Warehouse Team", "Inventory", "Reserves stock for orders and releases it when payment fails."),
    "payments": ("Payments Team", "Payments", "Charges reserved orders."),
    "shipping": ("Warehouse Team", "Fulfilment", "Ships paid orders."),
    "notifications": ("Customer Team", "Customer", "Tells customers their order shipped or was cancelled."),
    "analytics": ("Data Team", "Analytics", "Reads everything for dashboards and forecasts."),
}

CURRENCY = {"type": "string", "enum": ["EUR", "USD", "GBP"], "description": "ISO 4217 code"}
ORDER_ID = {"type": "string", "pattern": "^ord-[0-9a-f]{10}$", "description": "The order's id"}
ITEMS = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["sku", "quantity"],
        "properties": {
            "sku": {"type": "string", "description": "Stock-keeping unit"},
            "quantity": {"type": "integer", "minimum": 1},
        },
    },
}


def _object(properties: dict[str, Any], required: list[str], title: str) -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": title,
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


# name -> (topic, domain, owner, summary, business meaning, v1 properties, required, v2 additions,
#          personal data pointers, tags)
EVENT_TYPES: dict[str, dict[str, Any]] = {
    "OrderPlaced": {
        "topic": "orders",
        "domain": "Ordering",
        "owner": "Checkout Team",
        "summary": "A customer placed an order.",
        "meaning": (
            "The customer confirmed the basket and committed to buy. From here the order saga starts: "
            "**Inventory** reserves stock, **Payments** charges, **Shipping** ships.\n\n"
            "- The total is final and includes taxes.\n- One event per order; a retry carries the same id."
        ),
        "properties": {
            "order_id": ORDER_ID,
            "customer": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "email"],
                "properties": {
                    "id": {"type": "string", "description": "Customer account id"},
                    "email": {"type": "string", "format": "email", "description": "Where the confirmation goes"},
                },
            },
            "items": ITEMS,
            "total": {"type": "number", "minimum": 0, "description": "Order total including taxes"},
            "currency": CURRENCY,
        },
        "required": ["order_id", "customer", "items", "total", "currency"],
        "v2": {
            "channel": {"type": "string", "enum": ["web", "app", "store"], "description": "Where the order was placed"}
        },
        "personal": ["/customer/email"],
        "tags": ["orders", "saga-start"],
    },
    "OrderCancelled": {
        "topic": "orders",
        "domain": "Ordering",
        "owner": "Checkout Team",
        "summary": "An order was cancelled and will not ship.",
        "meaning": "Compensation: stock could not be reserved or payment failed. The customer is told and nothing ships.",
        "properties": {
            "order_id": ORDER_ID,
            "reason": {"type": "string", "description": "Why, in words a customer may read"},
        },
        "required": ["order_id", "reason"],
        "v2": {"refund": {"type": "boolean", "description": "Whether money must go back"}},
        "personal": [],
        "tags": ["orders", "compensation"],
    },
    "StockReserved": {
        "topic": "inventory",
        "domain": "Inventory",
        "owner": "Warehouse Team",
        "summary": "Stock was set aside for an order.",
        "meaning": "Every item of the order is held in a warehouse until the order ships or is cancelled.",
        "properties": {"order_id": ORDER_ID, "items": ITEMS},
        "required": ["order_id", "items"],
        "v2": {"warehouse": {"type": "string", "description": "Which warehouse holds the stock"}},
        "personal": [],
        "tags": ["inventory"],
    },
    "StockReservationFailed": {
        "topic": "inventory",
        "domain": "Inventory",
        "owner": "Warehouse Team",
        "summary": "Stock could not be reserved for an order.",
        "meaning": "At least one item is out of stock. The order will be cancelled.",
        "properties": {"order_id": ORDER_ID, "reason": {"type": "string"}},
        "required": ["order_id", "reason"],
        "v2": {"sku": {"type": "string", "description": "The first item that was short"}},
        "personal": [],
        "tags": ["inventory", "failure"],
    },
    "StockReleased": {
        "topic": "inventory",
        "domain": "Inventory",
        "owner": "Warehouse Team",
        "summary": "Reserved stock went back on the shelf.",
        "meaning": "Compensation after a failed payment: the reservation is undone.",
        "properties": {"order_id": ORDER_ID},
        "required": ["order_id"],
        "v2": {"reason": {"type": "string"}},
        "personal": [],
        "tags": ["inventory", "compensation"],
    },
    "PaymentCompleted": {
        "topic": "payments",
        "domain": "Payments",
        "owner": "Payments Team",
        "summary": "The customer was charged for an order.",
        "meaning": "Money was captured. Shipping may start.",
        "properties": {"order_id": ORDER_ID, "amount": {"type": "number", "minimum": 0}, "currency": CURRENCY},
        "required": ["order_id", "amount", "currency"],
        "v2": {"method": {"type": "string", "enum": ["card", "paypal", "invoice"]}},
        "personal": [],
        "tags": ["payments"],
    },
    "PaymentFailed": {
        "topic": "payments",
        "domain": "Payments",
        "owner": "Payments Team",
        "summary": "Charging the customer failed.",
        "meaning": "The card was declined or the provider refused. Stock is released and the order cancelled.",
        "properties": {"order_id": ORDER_ID, "reason": {"type": "string"}},
        "required": ["order_id", "reason"],
        "v2": {"retryable": {"type": "boolean", "description": "Whether trying again may work"}},
        "personal": [],
        "tags": ["payments", "failure"],
    },
    "OrderShipped": {
        "topic": "shipping",
        "domain": "Fulfilment",
        "owner": "Warehouse Team",
        "summary": "The parcel left the warehouse.",
        "meaning": "The carrier has the parcel. The customer gets the tracking number.",
        "properties": {
            "order_id": ORDER_ID,
            "carrier": {"type": "string", "enum": ["DHL", "UPS", "PostNL"]},
            "tracking": {"type": "string", "minLength": 8},
        },
        "required": ["order_id", "carrier", "tracking"],
        "v2": {"estimated_delivery": {"type": "string", "format": "date"}},
        "personal": [],
        "tags": ["fulfilment"],
    },
}

# service -> (produces, consumes); analytics is deliberately left undeclared.
FLOWS = {
    "orders": (["OrderPlaced", "OrderCancelled"], ["StockReservationFailed", "PaymentFailed"]),
    "inventory": (["StockReserved", "StockReservationFailed", "StockReleased"], ["OrderPlaced", "PaymentFailed"]),
    "payments": (["PaymentCompleted", "PaymentFailed"], ["StockReserved"]),
    "shipping": (["OrderShipped"], ["PaymentCompleted"]),
    "notifications": ([], ["OrderShipped", "OrderCancelled"]),
}


# The order saga as a business flow, so a trace says how the order ended. A paid order the
# warehouse has not shipped 30 s later is stuck (the simulator loses a few on purpose); one the
# shipping service dead-letters has failed.
ORDER_SAGA = {
    "name": "Order saga",
    "description": "From a placed order to a shipped parcel, or to a cancelled order when stock or payment fails.",
    "start_event_type": "OrderPlaced",
    "terminals": {"OrderShipped": "completed", "OrderCancelled": "compensated"},
    "stuck_after_seconds": 30,
}


def _business_keys(spec: dict[str, Any]) -> list[str]:
    """Every demo event names its order: people find an order's trace by its id."""
    return ["/order_id"] if "order_id" in spec["properties"] else []


def subject_of(name: str) -> str:
    return f"{EVENT_TYPES[name]['topic']}-{name}"


def schema_versions(name: str) -> list[dict[str, Any]]:
    """Version 1, and version 2 with the optional additions (BACKWARD compatible: the content
    model is closed, so old events never carry the new fields)."""
    spec = EVENT_TYPES[name]
    v1 = _object(spec["properties"], spec["required"], name)
    v2 = _object({**spec["properties"], **spec["v2"]}, spec["required"], name)
    return [v1, v2]


@transaction.atomic
def seed_demo() -> dict[str, int]:
    """Create the demo estate where it is missing. Returns how many things were created."""
    from broker.services.topics import topic_bind_subjects, topics_sync_with_cluster
    from schemas.services import schema_version_register

    created = {"topics": 0, "event_types": 0, "schemas": 0}
    topics_sync_with_cluster()  # on Kafka, the demo topics of an earlier run are adopted, not created again
    for name, partitions in TOPICS.items():
        if not Topic.objects.filter(name=name).exists():
            topic_create(name=name, partitions=partitions, actor=SEEDER)
            created["topics"] += 1
        topic_bind_subjects(name=name, strategy="TopicRecordNameStrategy", actor=SEEDER)
    for name, description in DOMAINS.items():
        if not Domain.objects.filter(name=name).exists():
            services.domain_create(principal=SEEDER, name=name, description=description)
    for name, (description, contact) in TEAMS.items():
        if not Team.objects.filter(name=name).exists():
            services.team_create(principal=SEEDER, name=name, description=description, contact=contact)
    for name, (owner, domain, summary) in SERVICES.items():
        exists = ServiceProfile.objects.filter(service__name=name).exists()
        if not exists:
            services.service_document(
                principal=SEEDER,
                name=name,
                create=True,
                owner_team=owner,
                domain=domain,
                summary=summary,
                repository_url=f"https://git.example.com/shop/{name}",
                # What maps the service's Kafka consumer group to it when it reads natively (on Kafka).
                consumer_groups=[f"{name}-service"],
                client_ids=[f"{name}-*"],
            )
    for name, spec in EVENT_TYPES.items():
        for schema in schema_versions(name):
            result = schema_version_register(
                subject=subject_of(name), schema=json.dumps(schema), schema_type="JSON", actor=SEEDER
            )
            created["schemas"] += int(result.created)
        if not EventType.objects.filter(name=name).exists():
            services.event_type_create(
                principal=SEEDER,
                data={
                    "name": name,
                    "domain": spec["domain"],
                    "owner_team": spec["owner"],
                    "summary": spec["summary"],
                    "business_meaning": spec["meaning"],
                    "lifecycle": "active",
                    "tags": spec["tags"],
                    "topics": [spec["topic"]],
                    "subject": subject_of(name),
                    "personal_data_fields": spec["personal"],
                    "business_key_fields": _business_keys(spec),
                },
            )
            created["event_types"] += 1
        else:
            event_type = EventType.objects.get(name=name)
            if not event_type.business_key_fields and _business_keys(spec):
                services.event_type_update(
                    principal=SEEDER, event_type=event_type, data={"business_key_fields": _business_keys(spec)}
                )
    for service, (produces, consumes) in FLOWS.items():
        for role, names in (("producer", produces), ("consumer", consumes)):
            for name in names:
                event_type = EventType.objects.get(name=name)
                if not DeclaredFlow.objects.filter(service__name=service, event_type=event_type, role=role).exists():
                    services.declared_flow_add(principal=SEEDER, event_type=event_type, service_name=service, role=role)
    if not BusinessFlow.objects.filter(name=ORDER_SAGA["name"]).exists():
        services.business_flow_create(principal=SEEDER, data=ORDER_SAGA)
    return created
