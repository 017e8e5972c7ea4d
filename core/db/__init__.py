"""Database helpers shared by the apps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
    sends it with its own statements in one round trip (execute_together)."""
    if connection.vendor == "postgresql" and not settings.EVENTLINE["DURABLE_APPENDS"]:
        return "SET LOCAL synchronous_commit TO OFF"
    return ""


def execute_together(cursor: Any, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[tuple[Any, ...]]:
    """Run `statements` ((sql, params) pairs; empty sql skipped) in order and return the rows of
    the last one. PostgreSQL gets them in one round trip: Django's psycopg 3 cursors bind
    parameters on the client, which lets one execute() carry several statements. SQLite runs in
    process and takes them one at a time."""
    statements = [(sql, params) for sql, params in statements if sql]
    if not statements:
        return []
    if connection.vendor != "postgresql":
        rows: list[tuple[Any, ...]] = []
        for sql, params in statements:
            cursor.execute(sql, params)
            rows = cursor.fetchall() if cursor.description is not None else []
        return rows
    cursor.execute("; ".join(sql for sql, _ in statements), [value for _, params in statements for value in params])
    rows = cursor.fetchall() if cursor.description is not None else []
    while cursor.nextset():
        rows = cursor.fetchall() if cursor.description is not None else []
    return rows
