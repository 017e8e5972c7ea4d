"""Database helpers shared by the apps."""

from __future__ import annotations

import hashlib
import logging
import weakref
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


def execute_together(cursor: Any, statements: Sequence[Statement], *, prepare: bool = False) -> list[tuple[Any, ...]]:
    """Run `statements` ((sql, params) pairs, empty sql skipped, or Expectations) in order and
    return the rows of the last one that returns rows. PostgreSQL gets them in one round trip:
    Django's psycopg 3 cursors bind parameters on the client, which lets one execute() carry
    several statements. SQLite runs in process and takes them one at a time. With `prepare`
    (PostgreSQL, outside any atomic block, for a batch run often that is a whole transaction with
    its own BEGIN and COMMIT or only reads, so that it can run again after a refusal): statements
    with parameters run as server-side prepared statements (_Prepared)."""
    results = query_together(cursor, statements, prepare=prepare)
    return results[-1] if results else []


class _Prepared:
    """Which statements each PostgreSQL session has prepared (PREPARE), so that a hot batch is
    planned once per connection instead of on every call: planning was more than half of
    PostgreSQL's time for a single-event append (0.20 of 0.36 ms) and a fetch (0.56 of 0.9 ms).

    A statement is prepared, just before the first batch that needs it (a round trip once per
    session), under a name derived from its text and parameter types, and run by EXECUTE with the
    parameters bound on the client as before. If a session lost its statements or holds some this
    process did not count on, PostgreSQL refuses the batch before anything of it is kept; the
    names are then read back from the session and the batch runs again, once. Each session holds
    at most MAX_PER_SESSION."""

    MAX_PER_SESSION = 200
    MAX_PARAMS = 128  # a big batch is planned per call: planning is small beside its rows
    # Parameter types declared to PREPARE, from the Python values (what the client-side binding
    # would have written as literals): NULL is left for PostgreSQL to infer, as it would a NULL
    # literal. Other values are not prepared.
    _TYPES: dict[type, str] = {
        bool: "boolean",
        int: "bigint",
        float: "double precision",
        str: "text",
        type(None): "unknown",
    }
    _NOT_PREPARED = "26000"  # invalid_sql_statement_name: EXECUTE of an unknown name
    _ALREADY_PREPARED = "42P05"  # duplicate_prepared_statement
    _STALE = "0A000"  # "cached plan must not change result type": a migration altered a table

    def __init__(self) -> None:
        self._names: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()

    def rewrite(self, session: Any, sql: str, params: Sequence[Any]) -> tuple[str, str, str | None]:
        """(the statement to send, its prepared name or "", the PREPARE to send first or None)."""
        names = self._names.setdefault(session, set())
        types = [self._TYPES.get(type(value)) for value in params]
        if not 0 < len(params) <= self.MAX_PARAMS or None in types or "%%" in sql or sql.count("%s") != len(params):
            return sql, "", None
        signature = ", ".join(str(kind) for kind in types)
        name = "eventline_" + hashlib.blake2b(f"{signature};{sql}".encode(), digest_size=12).hexdigest()
        execute = f"EXECUTE {name}({', '.join(['%s'] * len(params))})"
        if name in names:
            return execute, name, None
        if len(names) >= self.MAX_PER_SESSION:
            return sql, "", None
        pieces = sql.split("%s")
        numbered = pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], start=1))
        return execute, name, f"PREPARE {name} ({signature}) AS {numbered}"

    def learned(self, session: Any, names: Sequence[str]) -> None:
        self._names.setdefault(session, set()).update(names)

    def refused(self, error: BaseException) -> bool:
        state = getattr(error.__cause__, "sqlstate", None)
        return state in (self._NOT_PREPARED, self._ALREADY_PREPARED) or self._stale(error)

    @classmethod
    def _stale(cls, error: BaseException | None) -> bool:
        cause = getattr(error, "__cause__", None)
        return getattr(cause, "sqlstate", None) == cls._STALE and "cached plan" in str(cause)

    def reread(self, session: Any, cursor: Any, error: BaseException | None = None) -> None:
        if self._stale(error):
            cursor.execute("DEALLOCATE ALL")  # prepared again from the tables as they are now
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE starts_with(name, 'eventline_')")
        self._names[session] = {name for (name,) in cursor.fetchall()}


_prepared = _Prepared()


def query_together(
    cursor: Any, statements: Sequence[Statement], *, prepare: bool = False
) -> list[list[tuple[Any, ...]]]:
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
    session = connection.connection
    # Only where a refused batch can simply run again: no caller's transaction around it.
    prepare = (
        prepare
        and settings.EVENTLINE["PREPARED_STATEMENTS"]
        and not connection.in_atomic_block
        and connection.get_autocommit()
    )
    for attempt in (1, 2):
        sql: list[str] = []
        params: list[Any] = []
        to_prepare: dict[str, str] = {}  # name -> PREPARE, once each however often it recurs
        for statement in statements:
            if isinstance(statement, Expectation):
                condition, condition_params = expectation_sql(statement)
                text, values = f"SELECT {condition}", condition_params
            else:
                text, values = statement[0], list(statement[1])
            if not text:
                continue
            if prepare:
                text, name, preparation = _prepared.rewrite(session, text, values)
                if preparation is not None:
                    to_prepare[name] = preparation
            sql.append(text)
            params += values
        if not sql:
            return results
        try:
            if to_prepare:
                # Apart from the batch: PostgreSQL keeps, with each prepared statement, the text of
                # the query that prepared it, which must not be a batch carrying event payloads.
                cursor.execute("; ".join(to_prepare.values()))
                _prepared.learned(session, list(to_prepare))
            cursor.execute("; ".join(sql), params)
        except DatabaseError as exc:
            failed = _expected(exc)
            if failed is not None:
                raise failed from exc
            if not (prepare and attempt == 1 and _prepared.refused(exc)):
                raise
            rollback_quietly(cursor)
            _prepared.reread(session, cursor, exc)
            continue
        break
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
    statements, prepared (query_together): one round trip for the whole transaction. A failure
    rolls everything back."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            with transaction.atomic():
                return execute_together(cursor, statements)
        try:
            return execute_together(cursor, [("BEGIN", []), *statements, ("COMMIT", [])], prepare=True)
        except BaseException:
            rollback_quietly(cursor)
            raise


def rollback_quietly(cursor: Any) -> None:
    """End a transaction opened by hand with BEGIN (PostgreSQL, in autocommit) after a failure."""
    try:
        cursor.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - the connection may be gone; the pool discards it then
        logger.warning("could not roll back a transaction opened by hand", exc_info=True)
