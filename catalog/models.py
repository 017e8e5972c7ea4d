"""The event catalog: domains, teams, documented services, event types and their declared
producers and consumers, the business flows that judge a trace's outcome, plus the history of every change and the governance inbox's dismissals.

Versions of an event type are the versions of its registry subject, and its traffic is what the
broker observed: nothing here copies either."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalog.choices import ChangeAction, FlowEnding, FlowRole, InboxKind, Lifecycle


class Domain(models.Model):
    """A business area (Ordering, Payments...) that groups event types."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """A team that owns services and event types; its members are users."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, default="")
    contact = models.CharField(max_length=200, blank=True, default="", help_text="e-mail or chat channel")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ServiceProfile(models.Model):
    """The catalog's documentation of a service: owner, domain, repository. The identity (name,
    API keys) lives in core.Service, so the broker can name producers without the catalog."""

    service = models.OneToOneField("core.Service", on_delete=models.CASCADE, primary_key=True, related_name="profile")
    owner_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="services")
    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.SET_NULL, related_name="services")
    summary = models.CharField(max_length=300, blank=True, default="")
    repository_url = models.URLField(blank=True, default="")
    # Native Kafka clients: the consumer groups this service runs (names, or patterns with * and
    # ?) and the client ids its members connect with (patterns). They map a group seen on the
    # cluster to this service (catalog.selectors.group_services).
    consumer_groups = models.JSONField(default=list, blank=True)
    client_ids = models.JSONField(default=list, blank=True)
    # What an AsyncAPI import read that the catalog has no place for (servers, channels with their
    # addresses, parameters and bindings, operations with replies, security schemes, info):
    # {"version", "document", "messages": {pointer: event type}, "topics": {channel: mapping}}.
    # The export gives the document back with the event types' current state laid over it.
    asyncapi = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"profile of {self.service_id}"


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EventType(models.Model):
    """A kind of business event: what it means, who owns it, where it travels, which registry
    subject holds its schema."""

    name = models.CharField(max_length=200, unique=True)
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="event_types")
    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="event_types")
    summary = models.CharField(max_length=300)
    business_meaning = models.TextField(blank=True, default="", help_text="Markdown")
    lifecycle = models.CharField(max_length=20, choices=Lifecycle.choices, default=Lifecycle.DRAFT)
    deprecation_note = models.TextField(blank=True, default="")
    sunset_date = models.DateField(null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="event_types")
    personal_data_fields = models.JSONField(
        default=list, blank=True, help_text="JSON pointers into the event data, e.g. /customer/email"
    )
    # What people search events by (an order id): JSON pointers into the data, as for personal
    # data. The broker indexes their values (broker.business_keys) so a search reads no log.
    business_key_fields = models.JSONField(
        default=list, blank=True, help_text="JSON pointers into the event data, e.g. /order_id"
    )
    topics = models.ManyToManyField("broker.Topic", blank=True, related_name="event_types")
    subject = models.CharField(max_length=255, blank=True, default="", help_text="registry subject of its schema")
    example = models.JSONField(null=True, blank=True)
    # The AsyncAPI message it was imported from, as published (headers, examples, bindings,
    # traits...), with what the import derived from it, so an export can tell an edit from it.
    asyncapi_message = models.JSONField(default=dict, blank=True)
    # Where its correlation id lives, as AsyncAPI says it (`$message.header#/requestId`,
    # `$message.payload#/reqid`); empty: the CloudEvents `correlationid` attribute. The broker
    # records the id from there at append (broker.correlation).
    correlation_id_location = models.CharField(max_length=300, blank=True, default="")
    # Names, summary, meaning and schema field names, lower-cased: what ?q= searches.
    search_text = models.TextField(blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["lifecycle"], name="catalog_eventtype_lifecycle")]

    def __str__(self) -> str:
        return self.name


class DeclaredFlow(models.Model):
    """A service says it produces or consumes an event type."""

    service = models.ForeignKey("core.Service", on_delete=models.CASCADE, related_name="declared_flows")
    event_type = models.ForeignKey(EventType, on_delete=models.CASCADE, related_name="declared_flows")
    role = models.CharField(max_length=10, choices=FlowRole.choices)
    note = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["event_type__name", "role", "service__name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "event_type", "role"], name="catalog_declaredflow_unique")
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.role} {self.event_type_id}"


class BusinessFlow(models.Model):
    """A business transaction (a saga): the event type that starts one, the terminal event types
    that end it (completed, compensated or failed), and how long without a new event makes one
    stuck. Traces whose first event has the start type are judged by it; other traces have no
    outcome defined."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, default="")
    start_event_type = models.ForeignKey(EventType, on_delete=models.PROTECT, related_name="started_flows")
    stuck_after_seconds = models.PositiveIntegerField(default=60)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        # One flow per start type: a trace is judged by exactly one definition.
        constraints = [models.UniqueConstraint(fields=["start_event_type"], name="catalog_businessflow_one_per_start")]

    def __str__(self) -> str:
        return self.name


class FlowTerminal(models.Model):
    """An event type that ends a business flow, and how."""

    flow = models.ForeignKey(BusinessFlow, on_delete=models.CASCADE, related_name="terminals")
    event_type = models.ForeignKey(EventType, on_delete=models.PROTECT, related_name="+")
    ending = models.CharField(max_length=20, choices=FlowEnding.choices)

    class Meta:
        ordering = ["ending", "event_type__name"]
        constraints = [models.UniqueConstraint(fields=["flow", "event_type"], name="catalog_flowterminal_unique")]

    def __str__(self) -> str:
        return f"{self.flow_id}: {self.event_type_id} {self.ending}"


class CatalogChange(models.Model):
    """History: who changed what in the catalog, and when."""

    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=100)
    object_name = models.CharField(max_length=255)
    action = models.CharField(max_length=10, choices=ChangeAction.choices)
    changes = models.JSONField(default=dict, help_text='{"field": [old, new]}')
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=200, help_text="user name or service (API key) that made the change")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="catalog_change_object")]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.object_type} {self.object_name}"


class InboxDismissal(models.Model):
    """An undocumented item an editor decided needs no catalog entry."""

    kind = models.CharField(max_length=20, choices=InboxKind.choices)
    name = models.CharField(max_length=300)
    reason = models.CharField(max_length=300, blank=True, default="")
    dismissed_by = models.CharField(max_length=200)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="catalog_inbox_dismissal_unique")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"
