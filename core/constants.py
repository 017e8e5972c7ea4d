"""Names shared across apps."""

import re

# Kafka's legal topic characters; also used for service names so they can appear in scopes.
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9._-]+$")
SERVICE_NAME_MAX_LENGTH = 200

SCOPE_ADMIN = "admin"
SCOPE_REGISTRY_WRITE = "registry:write"
SCOPE_ACTIONS = ("produce", "consume")
