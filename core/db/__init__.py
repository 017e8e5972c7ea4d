"""Database helpers shared by the apps."""

from __future__ import annotations

from django.conf import settings
from django.db import connection


def relax_commit_durability() -> None:
    """Inside a transaction: let its COMMIT return before PostgreSQL flushes the WAL to disk.

    Appends and fetch positions use this unless EVENTLINE_DURABLE_APPENDS is set. It matches a
    single Kafka broker's defaults (acknowledged once in the OS page cache, fsync left to the OS)
    and Eventline's SQLite default (WAL with synchronous=NORMAL): nothing is corrupted by a crash,
    but on power loss the last few hundred milliseconds of acknowledged appends can be lost.
    Consumer offset commits, the registry and the catalog always commit durably.
    """
    statement = relaxed_durability_sql()
    if statement:
        with connection.cursor() as cursor:
            cursor.execute(statement)


def relaxed_durability_sql() -> str:
    """The statement relax_commit_durability runs ("" when there is none), for a caller that
    sends it ahead of its own first statement in one round trip."""
    if connection.vendor == "postgresql" and not settings.EVENTLINE["DURABLE_APPENDS"]:
        return "SET LOCAL synchronous_commit TO OFF; "
    return ""
