"""Database helpers shared by the apps."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction

logger = logging.getLogger(__name__)


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


class ExpectationFailed(Exception):
    """An `Expectation` did not hold: its transaction was rolled back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Expectation:
    """A condition a transaction needs to hold when it runs, checked by the database in the same
    round trip as the writes around it. On PostgreSQL, `eventline_expect` (core migration 0003)
    raises inside the statement batch, so the batch's COMMIT never runs; on SQLite the statement
    runs in process and its answer is checked at once. Either way the caller gets
    ExpectationFailed(reason) and nothing of the transaction is kept."""

    condition: str  # an SQL boolean expression
    params: Sequence[Any]
    reason: str


_EXPECT_MARK = "eventline_expect:"
Statement = tuple[str, Sequence[Any]] | Expectation


def expectation_sql(expectation: Expectation) -> tuple[str, list[Any]]:
    """PostgreSQL: `expectation` as an SQL expression that is true, or else fails the statement
    it is part of (and so its transaction) with ExpectationFailed(reason) for the caller. For a
    condition that must be checked inside a statement, between its own writes."""
    return (
        f"eventline_expect(({expectation.condition}), %s)",
        [*expectation.params, _EXPECT_MARK + expectation.reason],
    )


def _expected(error: BaseException) -> ExpectationFailed | None:
    """The ExpectationFailed behind a database error raised by eventline_expect, if it is one."""
    message = str(getattr(getattr(error.__cause__, "diag", None), "message_primary", "") or "")
    return ExpectationFailed(message[len(_EXPECT_MARK) :]) if message.startswith(_EXPECT_MARK) else None


def execute_together(cursor: Any, statements: Sequence[Statement]) -> list[tuple[Any, ...]]:
    """Run `statements` ((sql, params) pairs, empty sql skipped, or Expectations) in order and
    return the rows of the last one that returns rows. PostgreSQL gets them in one round trip:
    Django's psycopg 3 cursors bind parameters on the client, which lets one execute() carry
    several statements. SQLite runs in process and takes them one at a time."""
    results = query_together(cursor, statements)
    return results[-1] if results else []


def query_together(cursor: Any, statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
    """execute_together, returning the rows of every statement that returns rows, in order."""
    results: list[list[tuple[Any, ...]]] = []
    if connection.vendor != "postgresql":
        for statement in statements:
            if isinstance(statement, Expectation):
                cursor.execute(f"SELECT ({statement.condition})", statement.params)
                if not cursor.fetchone()[0]:
                    raise ExpectationFailed(statement.reason)
            elif statement[0]:
                cursor.execute(*statement)
                if cursor.description is not None:
                    results.append(cursor.fetchall())
        return results
    sql: list[str] = []
    params: list[Any] = []
    for statement in statements:
        if isinstance(statement, Expectation):
            condition, condition_params = expectation_sql(statement)
            sql.append(f"SELECT {condition}")
            params += condition_params
        elif statement[0]:
            sql.append(statement[0])
            params += statement[1]
    if not sql:
        return results
    try:
        cursor.execute("; ".join(sql), params)
    except DatabaseError as exc:
        failed = _expected(exc)
        if failed is None:
            raise
        raise failed from exc
    raw = cursor.cursor  # psycopg's own: its result sets are read without Django's wrapper
    while True:
        result = raw.pgresult
        if result is not None and result.nfields and result.fname(0) != b"eventline_expect":
            results.append(raw.fetchall())
        if not raw.nextset():
            return results


def execute_in_transaction(statements: Sequence[Statement]) -> list[tuple[Any, ...]]:
    """execute_together inside a transaction of its own, and the rows of the last statement that
    returns rows. On PostgreSQL (outside any atomic block) BEGIN and COMMIT travel with the
    statements: one round trip for the whole transaction. A failure rolls everything back."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            with transaction.atomic():
                return execute_together(cursor, statements)
        try:
            return execute_together(cursor, [("BEGIN", []), *statements, ("COMMIT", [])])
        except BaseException:
            rollback_quietly(cursor)
            raise


def rollback_quietly(cursor: Any) -> None:
    """End a transaction opened by hand with BEGIN (PostgreSQL, in autocommit) after a failure."""
    try:
        cursor.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - the connection may be gone; the pool discards it then
        logger.warning("could not roll back a transaction opened by hand", exc_info=True)
