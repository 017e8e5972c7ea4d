"""Service identities and their API keys (every other app refers to `core.Service` as "who"), and
the append-only audit of changes that matter."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from core.choices import ActorKind, AuditAction
from core.constants import SERVICE_NAME_MAX_LENGTH


class Service(models.Model):
    """A program that produces or consumes events; API keys authenticate as a service.

    The catalog adds ownership and documentation on top; the identity lives here so that the broker
    can record who produced an event without importing the catalog.
    """

    name = models.CharField(max_length=SERVICE_NAME_MAX_LENGTH, unique=True)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """An API key of a service. Only a SHA-256 digest of the secret is stored; the plaintext is
    shown once, at creation. The secret is 256 random bits, so a fast digest is safe here (a slow
    password hash protects guessable secrets, which these are not)."""

    key_id = models.CharField(max_length=40, unique=True)
    secret_digest = models.CharField(max_length=64)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="api_keys")
    scopes = models.JSONField(default=list)
    label = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The key stops working at this time (set at creation, or by a rotation's grace period).
    expires_at = models.DateTimeField(null=True, blank=True)
    # When the key was last used, to within EVENTLINE["KEY_USE_FLUSH_S"] (each process writes
    # its keys' uses in the background, not on every request; core.auth.flush_key_uses).
    last_used_at = models.DateTimeField(null=True, blank=True)
    # The key that replaced this one in a rotation.
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.key_id} ({self.service.name})"

    @property
    def state(self) -> str:
        """active, expired or revoked."""
        from django.utils import timezone

        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or remove an audit entry: the audit is append-only."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    """Reads and inserts only. Bulk updates and deletes raise, so no code path of the app (nor a
    slip in a shell session) can rewrite history through the ORM."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit entries are never updated.")

    def _update(self, values: Any) -> int:
        # Model.save() of an existing row reaches the database through this, not update().
        raise AppendOnlyError("Audit entries are never updated.")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise AppendOnlyError("Audit entries are never updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit entries are never deleted.")


class AuditEntry(models.Model):
    """One change that matters: who (an API key's service, a person, or the system), when, what
    (an action on a named object), and the object's state before and after.

    Written by core.services.audit_record inside the transaction of the change itself, so a change
    that rolls back leaves no entry and a committed one always has one. Rows are append-only: the
    model refuses updates and deletes, and there are no foreign keys, so deleting a user, key or
    topic never touches (or cascades into) the audit.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor = models.CharField(max_length=200, help_text="service name (API key), user name, or system name")
    actor_key_id = models.CharField(max_length=40, blank=True, default="")
    actor_user_id = models.IntegerField(null=True, blank=True)
    # No `choices` here: a new AuditAction needs no migration. audit_record checks the value.
    action = models.CharField(max_length=50)
    target_type = models.CharField(max_length=50)
    target = models.CharField(max_length=1000)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    request_id = models.CharField(max_length=64, blank=True, default="")
    remote_addr = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        # Model.save() and deletions go through the base manager: make it the append-only one.
        base_manager_name = "objects"
        indexes = [
            models.Index(fields=["target_type", "target"], name="core_audit_target"),
            models.Index(fields=["action", "at"], name="core_audit_action"),
            models.Index(fields=["actor", "at"], name="core_audit_actor"),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target_type} {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit entries are never updated.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit entries are never deleted.")

    @property
    def action_label(self) -> str:
        try:
            return str(AuditAction(self.action).label)
        except ValueError:
            return self.action
