"""Choices shared across apps."""

from django.db import models


class AuditAction(models.TextChoices):
    """What an audit entry records. The value is `<area>.<verb>`, so filters read naturally."""

    SCHEMA_REGISTERED = "schema.registered", "Schema registered"
    SCHEMA_VERSION_DELETED = "schema.version_deleted", "Schema version soft-deleted"
    SCHEMA_VERSION_PURGED = "schema.version_purged", "Schema version deleted permanently"
    SUBJECT_DELETED = "schema.subject_deleted", "Subject soft-deleted"
    SUBJECT_PURGED = "schema.subject_purged", "Subject deleted permanently"
    REGISTRY_CONFIG_CHANGED = "registry.config_changed", "Compatibility config changed"
    REGISTRY_CONFIG_DELETED = "registry.config_deleted", "Compatibility config deleted"
    REGISTRY_MODE_CHANGED = "registry.mode_changed", "Registry mode changed"
    REGISTRY_MODE_DELETED = "registry.mode_deleted", "Registry mode deleted"
    TOPIC_CREATED = "topic.created", "Topic created"
    TOPIC_UPDATED = "topic.updated", "Topic changed"
    TOPIC_DELETED = "topic.deleted", "Topic deleted"
    GROUP_OFFSETS_RESET = "group.offsets_reset", "Group offsets reset"
    GROUP_MEMBER_REMOVED = "group.member_removed", "Group member removed"
    GROUP_DELETED = "group.deleted", "Group offsets deleted"
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"
    API_KEY_ROTATED = "api_key.rotated", "API key rotated"
    CATALOG_CREATED = "catalog.created", "Catalog entry created"
    CATALOG_UPDATED = "catalog.updated", "Catalog entry changed"
    CATALOG_DELETED = "catalog.deleted", "Catalog entry deleted"
    ASYNCAPI_IMPORTED = "catalog.asyncapi_imported", "AsyncAPI document imported"
    DEAD_LETTER_REDRIVEN = "dead_letter.redriven", "Dead letter redriven"
    DEAD_LETTER_EDITED_REDRIVEN = "dead_letter.edited_redriven", "Dead letter edited and redriven"
    DEAD_LETTER_RESOLVED = "dead_letter.resolved", "Dead letter resolved"


class ActorKind(models.TextChoices):
    """Who acted: a service through an API key, a person through a session, or the system itself
    (management commands, demo seeding, periodic work)."""

    KEY = "key", "API key"
    USER = "user", "User"
    SYSTEM = "system", "System"
