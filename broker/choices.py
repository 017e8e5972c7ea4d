from django.db import models


class GroupState(models.TextChoices):
    """Kafka's classic group states (ClassicGroupState)."""

    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


class Assignor(models.TextChoices):
    RANGE = "range"
    ROUND_ROBIN = "roundrobin"


class ActivityKind(models.IntegerChoices):
    FETCH = 1
    COMMIT = 2
