"""Broker defaults and names, following Kafka's where Kafka has one."""

import re

TOPIC_NAME_MAX_LENGTH = 249
TOPIC_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9._-]+$")

DEFAULT_PARTITIONS = 1
MAX_PARTITIONS = 1000
DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000  # retention.ms
DEFAULT_RETENTION_BYTES = -1  # retention.bytes, per partition; -1 = no size limit
DEFAULT_MAX_MESSAGE_BYTES = 1048588  # max.message.bytes

# Schema binding: Confluent's strategy names.
SUBJECT_STRATEGY_TOPIC = "TopicNameStrategy"  # "{topic}-value"
SUBJECT_STRATEGY_TOPIC_RECORD = "TopicRecordNameStrategy"  # "{topic}-{event type}"
SUBJECT_STRATEGIES = (SUBJECT_STRATEGY_TOPIC, SUBJECT_STRATEGY_TOPIC_RECORD)
VALIDATION_ENFORCE = "enforce"
VALIDATION_WARN = "warn"
VALIDATION_OFF = "off"
VALIDATION_MODES = (VALIDATION_ENFORCE, VALIDATION_WARN, VALIDATION_OFF)

# Topic config keys the API accepts, with their model field.
TOPIC_CONFIG_FIELDS = {
    "retention.ms": "retention_ms",
    "retention.bytes": "retention_bytes",
    "max.message.bytes": "max_message_bytes",
    "value.subject.name.strategy": "subject_strategy",
    "value.subject": "value_subject",
    "validation.mode": "validation_mode",
    "access.policy": "access_policy",
    "access.producers": "access_producers",
    "access.consumers": "access_consumers",
}

# Who may produce to and consume from a topic, beyond the key's own produce:/consume: scopes
# (broker.access). open: the scopes alone; declared: the services the catalog declares as
# producers/consumers of an event type the topic carries; explicit: the topic's own lists.
ACCESS_OPEN = "open"
ACCESS_DECLARED = "declared"
ACCESS_EXPLICIT = "explicit"
ACCESS_POLICIES = (ACCESS_OPEN, ACCESS_DECLARED, ACCESS_EXPLICIT)

DEFAULT_SESSION_TIMEOUT_MS = 45000
MIN_SESSION_TIMEOUT_MS = 1000
MAX_SESSION_TIMEOUT_MS = 30 * 60 * 1000
AUTO_OFFSET_RESET_CHOICES = ("earliest", "latest")
DEFAULT_AUTO_OFFSET_RESET = "latest"

DEFAULT_FETCH_MAX_EVENTS = 500  # max.poll.records
DEFAULT_FETCH_MAX_BYTES = 52428800  # fetch.max.bytes
DEFAULT_FETCH_MAX_WAIT_MS = 500  # fetch.max.wait.ms

# CloudEvents attributes Eventline reads itself; everything else lowercase is an extension.
CLOUDEVENTS_SPECVERSION = "1.0"
EXTENSION_NAME_PATTERN = re.compile(r"^[a-z0-9]{1,20}$")
# Names an event may not set because the broker sets them on every event it returns.
RESERVED_EVENT_FIELDS = frozenset({"topic", "offset", "timestamp", "appendtime"})

# A process reuses a topic's produce settings (partitions, limits, schema binding, access policy
# and the services it allows) this long; see broker.services.produce.topic_for_produce.
TOPIC_METADATA_CACHE_S = 1.0
# A process reuses the catalog's personal-data fields per event type this long (broker.masking):
# a field classified in another process is masked in this one's reads within it.
PERSONAL_DATA_CACHE_S = 2.0

# Retries of events a group's consumer nacks (broker.services.retries): Spring Kafka's defaults
# for non-blocking retries (3 deliveries in all, 1 s doubling), with a 30 s ceiling.
DEFAULT_RETRY_INITIAL_DELAY_MS = 1000
DEFAULT_RETRY_MULTIPLIER = 2.0
DEFAULT_RETRY_MAX_DELAY_MS = 30_000
DEFAULT_RETRY_MAX_ATTEMPTS = 3
MAX_RETRY_ATTEMPTS = 100
MAX_RETRY_DELAY_MS = 24 * 3600 * 1000
# A retried event handed to a member is its own until it acks or nacks, or until this lease ends
# (then it is handed out again, without counting an attempt).
RETRY_LEASE_MS = 30_000
MAX_ERROR_TEXT = 16_384

# Business keys (broker.business_keys): how long each process keeps the catalog's key fields, how
# many log positions one index run reads at most, and how many events one lookup returns.
BUSINESS_KEYS_CACHE_S = 2.0
BUSINESS_KEYS_INDEX_BATCH = 20_000
BUSINESS_KEYS_MAX_MATCHES = 200

# Correlation id locations (broker.correlation): how long each process keeps the catalog's
# per-type locations before asking again.
CORRELATION_LOCATIONS_CACHE_S = 2.0
