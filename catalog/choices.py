from django.db import models


class Lifecycle(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    DEPRECATED = "deprecated", "Deprecated"
    RETIRED = "retired", "Retired"


# Which lifecycle moves are allowed (an event type never comes back from retirement, and a
# deprecation can be withdrawn).
LIFECYCLE_TRANSITIONS: dict[str, set[str]] = {
    Lifecycle.DRAFT: {Lifecycle.ACTIVE, Lifecycle.RETIRED},
    Lifecycle.ACTIVE: {Lifecycle.DEPRECATED},
    Lifecycle.DEPRECATED: {Lifecycle.ACTIVE, Lifecycle.RETIRED},
    Lifecycle.RETIRED: set(),
}


class FlowRole(models.TextChoices):
    PRODUCER = "producer", "Produces"
    CONSUMER = "consumer", "Consumes"


class FlowEnding(models.TextChoices):
    """How a terminal event ends a business flow (the trace outcome it gives)."""

    COMPLETED = "completed", "Completed"
    COMPENSATED = "compensated", "Compensated"
    FAILED = "failed", "Failed"


class ChangeAction(models.TextChoices):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


class InboxKind(models.TextChoices):
    TOPIC = "topic", "Topic"
    SUBJECT = "subject", "Registry subject"
    SERVICE = "service", "Service"
    FLOW = "flow", "Undeclared flow"
    GROUP = "group", "Consumer group"
