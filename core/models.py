"""Service identities and their API keys. Every other app refers to `core.Service` as "who"."""

from __future__ import annotations

from django.conf import settings
from django.db import models

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

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.key_id} ({self.service.name})"
