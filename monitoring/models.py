"""What the lag sampler keeps: per group the latest figures, Burrow status and the windows its
evaluation needs, plus a compact history of total lag and time lag for charts."""

from __future__ import annotations

from django.db import models


class GroupLagState(models.Model):
    """One row per consumer group, rewritten by every sampling round (15 s by default). `windows`
    holds, per "topic_id:partition", the last commits (offset, time, lag at commit) and the last
    broker end offsets: Burrow's two rings. `recent` holds the last samples for sparklines."""

    group = models.OneToOneField(
        "broker.ConsumerGroup", on_delete=models.CASCADE, primary_key=True, related_name="lag_state"
    )
    sampled_ms = models.BigIntegerField()
    total_lag = models.BigIntegerField(default=0)
    max_lag = models.BigIntegerField(default=0)
    max_time_lag_ms = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, default="OK")
    status_reason = models.TextField(blank=True, default="")
    complete = models.FloatField(default=1.0)
    partition_count = models.IntegerField(default=0)
    windows = models.JSONField(default=dict)
    partitions = models.JSONField(default=list, help_text="per-partition figures and status of the last round")
    recent = models.JSONField(default=list, help_text="[[at_ms, total_lag, max_time_lag_ms], ...], newest last")

    def __str__(self) -> str:
        return f"lag of group {self.group_id}: {self.total_lag} ({self.status})"


class LagSample(models.Model):
    """History of a group's lag: raw rows every sampling round for a day, then one row per five
    minutes (the maximum, so peaks survive) for seven days."""

    RAW = 0
    BUCKET = 1

    group = models.ForeignKey("broker.ConsumerGroup", on_delete=models.CASCADE, related_name="+", db_index=False)
    at_ms = models.BigIntegerField()
    resolution = models.SmallIntegerField(default=RAW)
    total_lag = models.BigIntegerField()
    max_time_lag_ms = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["group", "at_ms"], name="monitoring_lagsample_group")]

    def __str__(self) -> str:
        return f"{self.group_id}@{self.at_ms}: {self.total_lag}"


class SamplerCursor(models.Model):
    """How far the sampler has read the fetch and commit log (one row)."""

    last_activity_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"sampler at activity {self.last_activity_id}"
