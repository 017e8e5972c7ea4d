"""Run the demo order flow continuously through the real HTTP API and the Python client.

Services and what they do (a choreographed saga with compensation):
  Orders         places orders (OrderPlaced); cancels them when stock or payment fails (OrderCancelled)
  Inventory      reserves stock (StockReserved / StockReservationFailed); releases it when payment fails
  Payments       charges reserved orders (PaymentCompleted / PaymentFailed)
  Shipping       ships paid orders (OrderShipped); the carrier refuses a few addresses (the handler
                 fails, the event is retried, then dead-lettered: the order's trace has failed) and
                 a few paid orders are lost in the warehouse (nothing follows: the trace gets stuck)
  Notifications  tells customers about shipped and cancelled orders (consumes only)
  Analytics      reads everything, slowly, so its lag is visible (and it is not declared in the catalog)

Every order carries a correlation id; every event carries the id of the event that caused it.
So the trace list shows every outcome within a minute or two: completed, compensated, failed,
stuck (after the order saga's 30 s) and in flight.

On BROKER_BACKEND=kafka the estate is mixed, as real ones are (catalog.demo_native): Inventory,
Payments and Shipping write with plain confluent-kafka producers and Confluent's Protobuf, Avro and
JSON serializers; Payments and Notifications read in their own Kafka consumer groups; Orders and
Analytics use Eventline's API both ways.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from catalog.demo_native import NATIVE_FORMATS, NativeConsumer, NativeProducer
from core.services import api_key_create
from eventline.client import Consumer, Event, EventlineError, Producer

logger = logging.getLogger("eventline.simulator")


class AddressRefused(Exception):
    """The carrier will not take the parcel: Shipping fails on the event every time it is retried."""


def _fate(order_id: str, salt: str) -> float:
    """A number in [0, 1) fixed by the order, so a retried event meets the same fate."""
    digest = hashlib.sha256(f"{salt}:{order_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _keys() -> dict[str, str]:
    scopes = {
        "orders": ["produce:orders", "consume:inventory", "consume:payments"],
        # registry:write: on Kafka their serializers register their Protobuf and Avro schemas.
        "inventory": ["produce:inventory", "consume:orders", "consume:payments", "registry:write"],
        "payments": ["produce:payments", "consume:inventory", "registry:write"],
        "shipping": ["produce:shipping", "consume:payments"],
        "notifications": ["consume:shipping", "consume:orders"],
        "analytics": ["consume:*"],
    }
    return {name: api_key_create(service_name=name, scopes=s, label="demo traffic")[1] for name, s in scopes.items()}


class Simulator:
    def __init__(
        self,
        url: str,
        rate: float,
        failure_rate: float,
        slow_ms: int,
        refused_rate: float = 0.05,
        lost_rate: float = 0.04,
    ) -> None:
        self.url = url
        self.rate = rate
        self.failure_rate = failure_rate
        self.slow_ms = slow_ms
        self.refused_rate = refused_rate
        self.lost_rate = lost_rate
        self.keys = _keys()
        self.stop = threading.Event()
        self.producers = {
            name: Producer(url, key, source=f"/services/{name}", linger_ms=2) for name, key in self.keys.items()
        }
        # On Kafka, Inventory, Payments and Shipping write with plain Kafka clients (Protobuf, Avro
        # and JSON), and Payments and Notifications read in their own Kafka groups, as most
        # services of a real estate do (catalog.demo_native).
        self.native: dict[str, NativeProducer] = {}
        self.native_readers: dict[str, list[str]] = {}
        from django.conf import settings

        if settings.BROKER_BACKEND == "kafka" and settings.KAFKA_BOOTSTRAP_SERVERS:
            self.bootstrap, self.client_config = settings.KAFKA_BOOTSTRAP_SERVERS, settings.KAFKA_CLIENT_CONFIG
            self.native = {
                name: NativeProducer(url, self.keys[name], name, self.bootstrap, self.client_config, fmt)
                for name, fmt in NATIVE_FORMATS.items()
            }
            self.native_readers = {"payments": ["inventory"], "notifications": ["shipping", "orders"]}

    def emit(
        self, service: str, topic: str, event_type: str, data: dict[str, Any], cause: Event | None, correlation_id: str
    ) -> None:
        if service in self.native:
            self.native[service].produce(topic, event_type, data, cause, correlation_id)
            return
        self.producers[service].produce(
            topic,
            data,
            key=data["order_id"],
            type=event_type,
            correlation_id=correlation_id,
            causation_id=cause.id if cause else None,
            traceparent=f"00-{uuid.UUID(correlation_id).hex}-{uuid.uuid4().hex[:16]}-01",
        )

    def place_orders(self) -> None:
        while not self.stop.is_set():
            order_id = f"ord-{uuid.uuid4().hex[:10]}"
            correlation_id = str(uuid.uuid4())
            items = [
                {"sku": f"SKU-{random.randint(100, 999)}", "quantity": random.randint(1, 3)}
                for _ in range(random.randint(1, 3))
            ]
            self.emit(
                "orders",
                "orders",
                "OrderPlaced",
                {
                    "order_id": order_id,
                    "customer": {
                        "id": f"cus-{random.randint(1, 500)}",
                        "email": f"customer{random.randint(1, 500)}@example.com",
                    },
                    "items": items,
                    "total": round(random.uniform(5, 400), 2),
                    "currency": "EUR",
                    "channel": random.choice(["web", "app", "store"]),
                },
                None,
                correlation_id,
            )
            self.stop.wait(1 / self.rate)

    def react(
        self, service: str, group: str, topics: list[str], handler: Callable[[Event], None], delay_ms: int = 0
    ) -> None:
        if service in self.native_readers:
            reader = NativeConsumer(
                self.url, self.keys[service], service, self.native_readers[service], self.bootstrap, self.client_config
            )
            reader.run(self.stop, handler)
            return
        consumer = Consumer(
            self.url,
            self.keys[service],
            group,
            client_id=f"{service}-1",
            auto_offset_reset="earliest",
            auto_commit_interval_ms=1000,
        )
        consumer.subscribe(topics)
        # Kafka offers no retries: nothing to ask (the 501 would only fill the server's error log).
        retries_offered = settings.BROKER_BACKEND != "kafka"
        while not self.stop.is_set():
            try:
                for event in consumer.poll(timeout=1.0, max_events=50):
                    try:
                        handler(event)
                    except AddressRefused as error:
                        # Retried for this group with backoff, then dead-lettered (on the SQL
                        # backend; on Kafka, where retries are not offered, the event is skipped).
                        if retries_offered:
                            retries_offered = self.nack(consumer, event, error)
                        continue
                    if event.attempt > 1:
                        consumer.ack(event)
                    if delay_ms:
                        time.sleep(delay_ms / 1000)
            except Exception:  # noqa: BLE001 - keep the demo alive; log and carry on
                logger.warning("%s consumer hiccup", service, exc_info=True)
                time.sleep(1)
        consumer.close()

    @staticmethod
    def nack(consumer: Consumer, event: Event, error: Exception) -> bool:
        """Nack `event`; False when the backend offers no retries (BROKER_BACKEND=kafka)."""
        try:
            consumer.nack(event, error)
        except EventlineError as refused:
            if refused.code != "not_on_backend":
                raise
            logger.info("retries are not offered on this backend: failed events are skipped")
            return False
        return True

    def inventory(self, event: Event) -> None:
        corr = event.correlation_id or str(uuid.uuid4())
        if event.type == "OrderPlaced":
            if random.random() < self.failure_rate:
                self.emit(
                    "inventory",
                    "inventory",
                    "StockReservationFailed",
                    {"order_id": event.data["order_id"], "reason": "out of stock"},
                    event,
                    corr,
                )
            else:
                self.emit(
                    "inventory",
                    "inventory",
                    "StockReserved",
                    {
                        "order_id": event.data["order_id"],
                        "items": event.data.get("items", []),
                        "warehouse": random.choice(["AMS-1", "RTM-2"]),
                    },
                    event,
                    corr,
                )
        elif event.type == "PaymentFailed":
            self.emit("inventory", "inventory", "StockReleased", {"order_id": event.data["order_id"]}, event, corr)

    def payments(self, event: Event) -> None:
        if event.type != "StockReserved":
            return
        corr = event.correlation_id or str(uuid.uuid4())
        if random.random() < self.failure_rate:
            self.emit(
                "payments",
                "payments",
                "PaymentFailed",
                {"order_id": event.data["order_id"], "reason": "card declined"},
                event,
                corr,
            )
        else:
            self.emit(
                "payments",
                "payments",
                "PaymentCompleted",
                {
                    "order_id": event.data["order_id"],
                    "amount": round(random.uniform(5, 400), 2),
                    "currency": "EUR",
                    "method": random.choice(["card", "paypal"]),
                },
                event,
                corr,
            )

    def shipping(self, event: Event) -> None:
        if event.type == "PaymentCompleted":
            order_id = event.data["order_id"]
            if _fate(order_id, "refused") < self.refused_rate:
                raise AddressRefused(f"carrier refused the address of {order_id}")
            if _fate(order_id, "lost") < self.lost_rate:
                return
            self.emit(
                "shipping",
                "shipping",
                "OrderShipped",
                {
                    "order_id": event.data["order_id"],
                    "carrier": random.choice(["DHL", "UPS", "PostNL"]),
                    "tracking": uuid.uuid4().hex[:12],
                },
                event,
                event.correlation_id or str(uuid.uuid4()),
            )

    def orders(self, event: Event) -> None:
        if event.type in ("StockReservationFailed", "PaymentFailed"):
            self.emit(
                "orders",
                "orders",
                "OrderCancelled",
                {"order_id": event.data["order_id"], "reason": event.data.get("reason", "")},
                event,
                event.correlation_id or str(uuid.uuid4()),
            )

    def run(self, seconds: float | None = None) -> None:
        """Run until `seconds` pass (forever when None)."""
        workers = [
            threading.Thread(target=self.place_orders, daemon=True),
            threading.Thread(
                target=self.react,
                args=("inventory", "inventory-service", ["orders", "payments"], self.inventory),
                daemon=True,
            ),
            threading.Thread(
                target=self.react, args=("payments", "payments-service", ["inventory"], self.payments), daemon=True
            ),
            threading.Thread(
                target=self.react, args=("shipping", "shipping-service", ["payments"], self.shipping), daemon=True
            ),
            threading.Thread(
                target=self.react,
                args=("orders", "orders-service", ["inventory", "payments"], self.orders),
                daemon=True,
            ),
            threading.Thread(
                target=self.react,
                args=("notifications", "notifications-service", ["shipping", "orders"], lambda e: None),
                daemon=True,
            ),
            threading.Thread(
                target=self.react,
                args=(
                    "analytics",
                    "analytics-service",
                    ["orders", "inventory", "payments", "shipping"],
                    lambda e: None,
                    self.slow_ms,
                ),
                daemon=True,
            ),
        ]
        for worker in workers:
            worker.start()
        try:
            self.stop.wait(seconds)
        finally:
            self.stop.set()
            for worker in workers:
                worker.join(timeout=10)
            for producer in self.producers.values():
                producer.close()
            for native in self.native.values():
                native.close()


class Command(BaseCommand):
    help = "Run the demo order flow (needs the server running)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--rate", type=float, default=3.0, help="orders per second")
        parser.add_argument("--failure-rate", type=float, default=0.12)
        parser.add_argument("--slow-ms", type=int, default=400, help="per-event delay of the slow Analytics consumer")
        parser.add_argument("--refused-rate", type=float, default=0.05, help="paid orders Shipping dead-letters")
        parser.add_argument("--lost-rate", type=float, default=0.04, help="paid orders Shipping never ships")
        parser.add_argument("--wait-for-server", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command_seed()
        if options["wait_for_server"]:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(options["url"] + "/healthz", timeout=2)  # noqa: S310 - our own server
                    break
                except OSError:
                    time.sleep(0.5)
        Simulator(
            options["url"],
            options["rate"],
            options["failure_rate"],
            options["slow_ms"],
            refused_rate=options["refused_rate"],
            lost_rate=options["lost_rate"],
        ).run()


def call_command_seed() -> None:
    from django.core.management import call_command

    call_command("seed_demo", verbosity=0)
