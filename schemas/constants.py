"""Names, limits and Confluent's error codes and message texts for the registry (registry-api.md §2-§6)."""

from __future__ import annotations

from django.conf import settings

# Content types (registry-api.md §1). Responses prefer the first; requests may use any of these.
CONTENT_TYPE_V1 = "application/vnd.schemaregistry.v1+json"
CONTENT_TYPE_DEFAULT = "application/vnd.schemaregistry+json"
CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_OCTET = "application/octet-stream"
RESPONSE_CONTENT_TYPES = (CONTENT_TYPE_V1, CONTENT_TYPE_DEFAULT, CONTENT_TYPE_JSON)
REQUEST_CONTENT_TYPES = frozenset({*RESPONSE_CONTENT_TYPES, CONTENT_TYPE_OCTET})

# Schema types: what a request may name, and what this registry can parse today.
SCHEMA_TYPE_AVRO = "AVRO"
SCHEMA_TYPE_JSON = "JSON"
SCHEMA_TYPE_PROTOBUF = "PROTOBUF"
KNOWN_SCHEMA_TYPES = (SCHEMA_TYPE_AVRO, SCHEMA_TYPE_JSON, SCHEMA_TYPE_PROTOBUF)
SUPPORTED_SCHEMA_TYPES = (SCHEMA_TYPE_JSON, SCHEMA_TYPE_AVRO, SCHEMA_TYPE_PROTOBUF)
# Confluent's API: a request without `schemaType` is Avro.
DEFAULT_REQUEST_SCHEMA_TYPE = SCHEMA_TYPE_AVRO

# Versions: 1..2^31-1, "latest" or -1 (registry-api.md §3).
VERSION_MAX = 2**31 - 1
# Schema ids are Java ints in Confluent's API and in the wire format's four id bytes.
SCHEMA_ID_MAX = 2**31 - 1
VERSION_LATEST = "latest"
VERSION_LATEST_NUMBER = -1

# Defaults of the server (registry-api.md §6.7-§6.8).
DEFAULT_COMPATIBILITY_LEVEL = "BACKWARD"
DEFAULT_COMPATIBILITY_POLICY = "STRICT"
DEFAULT_MODE = "READWRITE"

# Subjects and contexts (registry-api.md §6.9).
SUBJECT_MAX_LENGTH = 1000
CONTEXT_DELIMITER = ":"
CONTEXT_PREFIX = ":."
DEFAULT_CONTEXT = "."
WILDCARD_CONTEXT = ":*:"
RESERVED_SUBJECTS = frozenset({"__GLOBAL", "__EMPTY"})
# The audit names the global config and mode by Confluent's reserved name for them.
GLOBAL_SUBJECT = "__GLOBAL"
# The audit keeps a registered schema's text up to this length (a hash and a length beyond it).
AUDIT_SCHEMA_TEXT_MAX_CHARS = 64 * 1024

# The old schema text quoted in messages is cut here, like Confluent's.
OLD_SCHEMA_MESSAGE_LIMIT = 10240

# Error codes (registry-api.md §2). The HTTP status is the first three digits.
SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403
SUBJECT_SOFT_DELETED = 40404
SUBJECT_NOT_SOFT_DELETED = 40405
SCHEMAVERSION_SOFT_DELETED = 40406
SCHEMAVERSION_NOT_SOFT_DELETED = 40407
SUBJECT_COMPATIBILITY_NOT_CONFIGURED = 40408
SUBJECT_MODE_NOT_CONFIGURED = 40409
INCOMPATIBLE_SCHEMA = 40901
INCOMPATIBLE_SCHEMA_LEGACY = 409
INVALID_SCHEMA = 42201
INVALID_VERSION = 42202
INVALID_COMPATIBILITY_LEVEL = 42203
INVALID_MODE = 42204
OPERATION_NOT_PERMITTED = 42205
REFERENCE_EXISTS = 42206
ID_DOES_NOT_MATCH = 42207
INVALID_SUBJECT = 42208
STORE_ERROR = 50001
# Not in Confluent's core: its security plugin answers with these.
UNAUTHORIZED = 40101
FORBIDDEN = 40301

MSG_SUBJECT_NOT_FOUND = "Subject '{subject}' not found."
MSG_VERSION_NOT_FOUND = "Version {version} not found."
MSG_SCHEMA_NOT_FOUND = "Schema not found"
MSG_SCHEMA_ID_NOT_FOUND = "Schema {id} not found"
# (sic) No space after the dot: Confluent's text.
MSG_SUBJECT_SOFT_DELETED = "Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"
MSG_SUBJECT_NOT_SOFT_DELETED = "Subject '{subject}' was not deleted first before being permanently deleted"
MSG_VERSION_SOFT_DELETED = (
    "Subject '{subject}' Version {version} was soft deleted.Set permanent=true to delete permanently"
)
MSG_VERSION_NOT_SOFT_DELETED = (
    "Subject '{subject}' Version {version} was not deleted first before being permanently deleted"
)
MSG_SUBJECT_COMPATIBILITY_NOT_CONFIGURED = "Subject '{subject}' does not have subject-level compatibility configured"
MSG_SUBJECT_MODE_NOT_CONFIGURED = "Subject '{subject}' does not have subject-level mode configured"
MSG_INCOMPATIBLE = (
    'Schema being registered is incompatible with an earlier schema for subject "{subject}", details: [{details}]'
)
# Eventline's 409: Confluent's opening, then plain sentences and who would break, then the details.
MSG_INCOMPATIBLE_LED = (
    'Schema being registered is incompatible with an earlier schema for subject "{subject}": {lead} '
    "Details: [{details}]"
)
MSG_INVALID_VERSION = (
    "The specified version '{version}' is not a valid version id. "
    'Allowed values are between [1, 2^31-1] and the string "latest"'
)
MSG_INVALID_COMPATIBILITY_LEVEL = (
    "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, "
    "forward_transitive, and full_transitive"
)
MSG_INVALID_COMPATIBILITY_POLICY = "Invalid compatibility policy. Valid values are STRICT and LENIENT"
MSG_INVALID_MODE = "Invalid mode. Valid values are READWRITE, READONLY, IMPORT and FORWARD."
MSG_FORWARD_MODE_GLOBAL_ONLY = "Forward mode only supported on global level"
MSG_READ_ONLY = "Subject {subject} in context {context} is in read-only mode"
MSG_NOT_IMPORT_MODE = "Subject {subject} in context {context} is not in import mode"
MSG_IMPORT_EXISTING_SUBJECTS = "Cannot import since found existing subjects"
MSG_REFERENCE_EXISTS = "One or more references exist to the schema {key}."
MSG_ID_DOES_NOT_MATCH = "The ID of an imported schema does not match the existing ID"
# (sic) "is not a valid.": Confluent's text.
MSG_INVALID_SUBJECT = "The specified subject '{subject}' is not a valid."
MSG_VERSION_NOT_NEXT = "Version is not one more than previous version"
MSG_EMPTY_SCHEMA = "Empty schema"


def incompatible_error_code() -> int:
    """40901 by default; EVENTLINE["REGISTRY_INCOMPATIBLE_ERROR_CODE"] = 409 for clients written
    against registries older than v8.0.4 (the HTTP status is 409 either way)."""
    return int(settings.EVENTLINE.get("REGISTRY_INCOMPATIBLE_ERROR_CODE", INCOMPATIBLE_SCHEMA))
