"""Settings shared by every environment. Everything that differs between machines comes from the
environment (DESIGN.md §6); the defaults give a working local app on SQLite."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("EVENTLINE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Prometheus counters and histograms are shared by all web worker processes through files here;
# it must be set before prometheus_client is first imported.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "run" / "prometheus"))
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "core",
    "schemas",
    "broker",
    "catalog",
    "lineage",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads a body: refuses one over the limit, reads chunked ones (core.request_limits).
    "core.request_limits.request_limits_middleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.views.NotFoundPageMiddleware",
    "core.middleware.request_context_middleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
        },
    },
]


def database_from_env(url: str | None) -> dict:
    """SQLite in WAL mode by default, PostgreSQL (or anything dj-database-url knows) from DATABASE_URL."""
    if not url:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{VAR_DIR / 'eventline.sqlite3'}"
    config = dj_database_url.parse(url, conn_max_age=600, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["ENGINE"] = "core.db.sqlite3"
        config["CONN_MAX_AGE"] = 600
        config["OPTIONS"] = {
            # Every write transaction takes the write lock up front: no lock upgrade, so no
            # "database is locked" deadlock between two readers that both decide to write.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; "
                f"PRAGMA synchronous={'FULL' if env_bool('EVENTLINE_DURABLE_APPENDS') else 'NORMAL'}; "
                # Each thread has its own connection, so its page cache stays SQLite's default
                # 2 MB (the OS page cache, shared by all, does the rest) and nothing is mmapped:
                # a worker's memory must not grow with its thread count.
                "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-2000; PRAGMA mmap_size=0; "
                # Checkpoints (copying the WAL into the database, with fsync) run in the scheduler
                # every second, off the request path; this is only the backstop if it is not running.
                "PRAGMA wal_autocheckpoint=20000;"
            ),
        }
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # A pool per process: a long poll hands its connection back while it waits, so fifty
        # parked consumers do not hold fifty server connections.
        config["CONN_MAX_AGE"] = 0
        config["CONN_HEALTH_CHECKS"] = False
        config.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": int(os.environ.get("EVENTLINE_DB_POOL_SIZE", 16)),
            "timeout": 30,
        }
    return config


DATABASES = {"default": database_from_env(os.environ.get("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Served by WhiteNoise straight from the finders; production collects into STATIC_ROOT.
STATIC_ROOT = None
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Every request body (a produce batch is the largest) is refused with 413 beyond this, before it is
# parsed: core.request_limits checks the declared length and reads chunked bodies up to it.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("EVENTLINE_MAX_REQUEST_BYTES", 16 * 1024 * 1024))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.FastJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.FastContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "core.openapi.AreaTaggedAutoSchema",
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": "core.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Eventline API",
    "DESCRIPTION": (
        "Integrated event broker, Confluent-compatible schema registry, event catalog, lineage, "
        "consumer lag and correlation-ID tracing."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Operations grouped by area in the docs, in the order a newcomer meets them (core.openapi tags them).
    "TAGS": [
        {"name": "topics", "description": "Create topics, produce events and browse partitions."},
        {"name": "groups", "description": "Consumer groups: join, fetch, commit, seek, retries and dead letters."},
        {"name": "registry", "description": "Confluent-compatible schema registry, under /registry/."},
        {"name": "catalog", "description": "Domains, teams, services, event types, business flows and AsyncAPI."},
        {"name": "lineage", "description": "Who produces and consumes what, declared and observed; impact of a change."},
        {"name": "monitoring", "description": "Consumer lag, its history and the status derived from it."},
        {"name": "traces", "description": "Correlation-id traces across topics and services."},
        {"name": "audit", "description": "Who changed what, and when."},
        {"name": "keys", "description": "API keys: list, rotate, revoke."},
    ],
    # Every operation needs an API key (core.openapi declares both ways of sending one).
    "SECURITY": [{"ApiKeyBearer": []}, {"ApiKeyBasic": []}],
    # The registry's Confluent paths are written out as data (schemas.api.openapi): plain Django views.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.add_error_responses",
        "core.openapi.allow_empty_query_values",
        "schemas.api.openapi.add_registry_paths",
    ],
}

# Background work. Without REDIS_URL the app runs its periodic work in its own scheduler process
# (`manage.py run_scheduler`), so a laptop needs no other server; with REDIS_URL Celery uses Redis.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_IGNORE_RESULT = False

# The log backend (DESIGN.md §4): "sql" (default) or "kafka" (the cluster KAFKA_BOOTSTRAP_SERVERS
# names). A real cluster's client settings come from the environment; unset ones are left out.
BROKER_BACKEND = os.environ.get("BROKER_BACKEND", "sql")
KAFKA_BOOTSTRAP_SERVERS = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
KAFKA_CLIENT_CONFIG = {
    key: value
    for key, value in {
        "security.protocol": os.environ.get("KAFKA_SECURITY_PROTOCOL", ""),
        "sasl.mechanism": os.environ.get("KAFKA_SASL_MECHANISM", ""),
        "sasl.username": os.environ.get("KAFKA_SASL_USERNAME", ""),
        "sasl.password": os.environ.get("KAFKA_SASL_PASSWORD", ""),
        "ssl.ca.location": os.environ.get("KAFKA_SSL_CA_LOCATION", ""),
    }.items()
    if value
}
# BROKER_BACKEND=kafka: the Unix socket of the consumer host (broker.consumer_host), which holds
# the Kafka consumers behind HTTP group members; empty means var/consumer-host.sock.
EVENTLINE_CONSUMER_HOST_SOCKET = os.environ.get("EVENTLINE_CONSUMER_HOST_SOCKET", "")

EVENTLINE = {
    # How often the periodic tasks run, in seconds.
    "RETENTION_INTERVAL_S": float(os.environ.get("EVENTLINE_RETENTION_INTERVAL_S", 60)),
    "GROUP_EXPIRY_INTERVAL_S": float(os.environ.get("EVENTLINE_GROUP_EXPIRY_INTERVAL_S", 5)),
    "LAG_SAMPLE_INTERVAL_S": float(os.environ.get("EVENTLINE_LAG_SAMPLE_INTERVAL_S", 15)),
    "WAL_CHECKPOINT_INTERVAL_S": float(os.environ.get("EVENTLINE_WAL_CHECKPOINT_INTERVAL_S", 1)),
    "BUSINESS_KEY_INDEX_INTERVAL_S": float(os.environ.get("EVENTLINE_BUSINESS_KEY_INDEX_INTERVAL_S", 2)),
    # How many arrays and objects a JSON document from outside may nest: request bodies, events,
    # schemas (each $ref read as the subschema it names) and AsyncAPI documents. Deeper is 422.
    "MAX_JSON_DEPTH": int(os.environ.get("EVENTLINE_MAX_JSON_DEPTH", 64)),
    # BROKER_BACKEND=kafka: a repeated (source, id) within this many seconds returns the original
    # coordinates (broker.log.claims); on the SQL backend repeats are found for as long as retained.
    "KAFKA_REPEAT_WINDOW_S": int(os.environ.get("EVENTLINE_KAFKA_REPEAT_WINDOW_S", 3600)),
    # The indexer (broker.indexer, BROKER_BACKEND=kafka): which topics it governs (regular
    # expressions matched against the whole name; internal topics never), and where native clients
    # put the correlation id (headers tried in order, then a top-level field of the JSON data) and
    # their service's name (a header; else the CloudEvents source's last path segment).
    "INDEXER_INCLUDE": env_list("EVENTLINE_INDEXER_INCLUDE", ".*"),
    "INDEXER_EXCLUDE": env_list("EVENTLINE_INDEXER_EXCLUDE", ""),
    "INDEXER_CORRELATION_HEADERS": env_list(
        "EVENTLINE_INDEXER_CORRELATION_HEADERS", "correlation_id,correlationId,X-Correlation-ID"
    ),
    "INDEXER_CORRELATION_FIELD": os.environ.get("EVENTLINE_INDEXER_CORRELATION_FIELD", "correlation_id"),
    "INDEXER_SERVICE_HEADER": os.environ.get("EVENTLINE_INDEXER_SERVICE_HEADER", "service"),
    # The indexer's Kafka consumer group: Eventline's own, so never shown as a consumer of the estate
    # (two Eventlines governing one cluster need two names).
    "INDEXER_GROUP": os.environ.get("EVENTLINE_INDEXER_GROUP", "eventline-indexer"),
    # How long a fetch with nothing to return may wait at most, whatever the client asks.
    "MAX_FETCH_WAIT_MS": int(os.environ.get("EVENTLINE_MAX_FETCH_WAIT_MS", 30000)),
    # API key lookups are cached per process for this long; a revoked key stops working within it.
    "API_KEY_CACHE_S": float(os.environ.get("EVENTLINE_API_KEY_CACHE_S", 10)),
    # Each process writes its keys' last use this often (0: only when flush_key_uses is called).
    "KEY_USE_FLUSH_S": float(os.environ.get("EVENTLINE_KEY_USE_FLUSH_S", 30)),
    # Serializers' and deserializers' registry calls (lineage's registry evidence) are counted in
    # memory and written this often per process (0: only when schemas.usage.registry_uses_flush runs).
    "REGISTRY_USE_FLUSH_S": float(os.environ.get("EVENTLINE_REGISTRY_USE_FLUSH_S", 10)),
    # Confluent returned error_code 409 for an incompatible schema before 8.0.4 and 40901 since;
    # the HTTP status is 409 either way. Set 409 for tools written against older servers.
    "REGISTRY_INCOMPATIBLE_ERROR_CODE": int(os.environ.get("EVENTLINE_REGISTRY_INCOMPATIBLE_ERROR_CODE", 40901)),
    # Who breaks if a schema changes: the registry asks this function (dotted path, resolved at
    # run time so the registry never imports the lineage app above it) for the consumers an
    # incompatible change would affect. Empty: the registry names no one.
    "IMPACT_PROVIDER": os.environ.get("EVENTLINE_IMPACT_PROVIDER", "lineage.impact.affected_consumers_for_subject"),
    # Which event data is personal: the broker asks this function (dotted path, resolved at run
    # time so the broker never imports the catalog above it) for {event type: [JSON pointer]} and
    # masks those values for callers without `pii:read` (broker.masking). Empty: nothing masked.
    "PERSONAL_DATA_PROVIDER": os.environ.get(
        "EVENTLINE_PERSONAL_DATA_PROVIDER", "catalog.selectors.personal_data_fields_by_type"
    ),
    # What people find events by (an order id): the broker asks this function (dotted path,
    # resolved at run time so the broker never imports the catalog above it) for
    # {event type: [JSON pointer]} and indexes those values (broker.business_keys). Empty: none.
    "BUSINESS_KEYS_PROVIDER": os.environ.get(
        "EVENTLINE_BUSINESS_KEYS_PROVIDER", "catalog.selectors.business_key_fields_by_type"
    ),
    # Where each event type's correlation id lives when not in the CloudEvents attribute: the broker
    # asks this function (dotted path, resolved at run time) for {event type: AsyncAPI location}
    # and records the id found there at append (broker.correlation). Empty: the attribute only.
    "CORRELATION_LOCATIONS_PROVIDER": os.environ.get(
        "EVENTLINE_CORRELATION_LOCATIONS_PROVIDER", "catalog.selectors.correlation_locations_by_type"
    ),
    # Who a topic with access.policy "declared" admits: the broker asks this function (dotted
    # path, resolved at run time so the broker never imports the catalog above it) for the
    # services declared as producers and consumers of the event types the topic carries.
    "DECLARED_FLOWS_PROVIDER": os.environ.get(
        "EVENTLINE_DECLARED_FLOWS_PROVIDER", "catalog.selectors.declared_services_of_topic"
    ),
    # What the home page's "needs attention" panel lists: each function (dotted path, resolved at run
    # time so the catalog never imports the apps above it) answers with catalog.attention items.
    "ATTENTION_PROVIDERS": env_list(
        "EVENTLINE_ATTENTION_PROVIDERS", "monitoring.attention.attention_items,lineage.attention.drift_items"
    ),
    # The address clients use to reach this server (AsyncAPI documents name it). Unset: the scheme
    # and host each request came in on, so it follows whatever address the server was bound to.
    "PUBLIC_URL": os.environ.get("EVENTLINE_PUBLIC_URL", ""),
    # Where cross-process wake-ups for long polls live when there is no Redis.
    "RUN_DIR": str(VAR_DIR / "run"),
    # true: every append is fsynced before it is acknowledged (PostgreSQL synchronous_commit=on,
    # SQLite synchronous=FULL). false (default): Kafka's single-broker durability; see core/db.
    "DURABLE_APPENDS": env_bool("EVENTLINE_DURABLE_APPENDS", False),
    # PostgreSQL: keep the hot statements prepared per connection (core.db._Prepared). Needs the
    # connection for the session; false behind a pooler that shares it per transaction.
    "PREPARED_STATEMENTS": env_bool("EVENTLINE_PREPARED_STATEMENTS", True),
    # SQLite: web workers hand their appends to the append writer process when one is listening
    # (broker.log.writer; `make run` starts it). false: every worker appends itself.
    "APPEND_WRITER": env_bool("EVENTLINE_APPEND_WRITER", True),
    # Each web server process builds the default lineage graph as it starts (config/wsgi.py).
    "WARM_CACHES": env_bool("EVENTLINE_WARM_CACHES", True),
    # Schema text a registration or compatibility check may send, in bytes (UTF-8); larger is a
    # 42201 before it is parsed. Confluent's registry is bound to about 1 MB by its Kafka topic.
    "MAX_SCHEMA_BYTES": int(os.environ.get("EVENTLINE_MAX_SCHEMA_BYTES", 1024 * 1024)),
    # Budget in (estimated) bytes of each of the registry's four per-process caches: parsed
    # schemas, compiled validators, by-id answers and the compatibility checker's node models.
    "SCHEMA_CACHE_BYTES": int(os.environ.get("EVENTLINE_SCHEMA_CACHE_BYTES", 32 * 1024 * 1024)),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("EVENTLINE_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
