"""Names shared across apps."""

import re

# Kafka's legal topic characters; also used for service names so they can appear in scopes.
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9._-]+$")
SERVICE_NAME_MAX_LENGTH = 200

SCOPE_ADMIN = "admin"
SCOPE_REGISTRY_WRITE = "registry:write"
SCOPE_ACTIONS = ("produce", "consume")
SCOPE_DESCRIBE = "describe"
SCOPE_GROUP = "group"
# Seeing the values of personal-data fields the catalog classifies (masked otherwise); admin implies it.
SCOPE_PII_READ = "pii:read"
# A key that names no group scope may use the groups called after its service, alone or followed
# by one of these and anything (`billing`, `billing-service`, `billing.eu`, `billing_replay`).
SERVICE_GROUP_SEPARATORS = ("-", ".", "_")

# A yes or a no in a query parameter (filters, flags); anything else is refused, empty is "not given".
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
