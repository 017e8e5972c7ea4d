"""The demo: seeding is idempotent and complete, and the simulator's saga runs through the real
HTTP API with every event valid against its registered schema."""

import pytest
from django.core.management import call_command

from broker.models import DeadLetter, Event, FlowStat, PendingRetry
from catalog.demo import EVENT_TYPES, subject_of
from catalog.models import BusinessFlow, DeclaredFlow, EventType, ServiceProfile
from catalog.selectors import governance_inbox
from schemas.selectors import live_versions


@pytest.mark.django_db
def test_seed_demo_is_complete_and_idempotent():
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)
    assert sorted(EventType.objects.values_list("name", flat=True)) == sorted(EVENT_TYPES)
    for name in EVENT_TYPES:
        event_type = EventType.objects.get(name=name)
        assert len(live_versions(subject_of(name))) == 2, name
        assert event_type.owner_team and event_type.business_meaning and event_type.topics.exists()
        assert DeclaredFlow.objects.filter(event_type=event_type, role="producer").exists(), name
    assert ServiceProfile.objects.count() == 6
    assert not DeclaredFlow.objects.filter(service__name="analytics").exists()


@pytest.mark.django_db
def test_seed_demo_defines_the_order_saga_so_demo_traces_have_an_outcome():
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)
    saga = BusinessFlow.objects.get(name="Order saga")
    assert saga.start_event_type.name == "OrderPlaced"
    assert dict(saga.terminals.values_list("event_type__name", "ending")) == {
        "OrderShipped": "completed",
        "OrderCancelled": "compensated",
    }
    assert 0 < saga.stuck_after_seconds <= 60, "stuck orders must show within a minute of the demo starting"


@pytest.mark.django_db(transaction=True)
def test_the_simulated_saga_flows_through_every_topic_with_valid_events(live_server):
    from catalog.management.commands.simulate_traffic import Simulator

    call_command("seed_demo", verbosity=0)
    Simulator(live_server.url, rate=20, failure_rate=0.3, slow_ms=50, refused_rate=0.3).run(seconds=6)
    types = set(Event.objects.values_list("type", flat=True))
    assert {"OrderPlaced", "StockReserved", "PaymentCompleted", "OrderShipped"} <= types
    assert {"OrderCancelled"} & types, "with a 30% failure rate some orders must be compensated"
    assert not Event.objects.filter(
        schema_id__isnull=True, topic__name__in=["orders", "inventory", "payments", "shipping"]
    ).exists(), "every event was checked against its schema"
    assert (
        PendingRetry.objects.filter(group="shipping-service").exists()
        or DeadLetter.objects.filter(group="shipping-service").exists()
    ), "Shipping fails on refused addresses, so their orders are retried, then dead-lettered"
    order = Event.objects.filter(type="OrderShipped").first()
    chain = set(Event.objects.filter(correlation_id=order.correlation_id).values_list("type", flat=True))
    assert chain >= {"OrderPlaced", "StockReserved", "PaymentCompleted", "OrderShipped"}
    placed = Event.objects.get(correlation_id=order.correlation_id, type="OrderPlaced")
    reserved = Event.objects.get(correlation_id=order.correlation_id, type="StockReserved")
    assert reserved.causation_id == placed.event_id
    assert FlowStat.objects.filter(role=FlowStat.ROLE_CONSUME).exists()
    inbox = {item.name for item in governance_inbox()}
    assert any(name.startswith("analytics consumes") for name in inbox), inbox
