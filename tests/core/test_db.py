"""core.db: statements sent together, and expectations that roll a transaction back."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction

from core.db import Expectation, ExpectationFailed, execute_in_transaction

INSERT = ("INSERT INTO auth_group (name) VALUES (%s)", ["kept?"])
COUNT = ("SELECT COUNT(*) FROM auth_group WHERE name = %s", ["kept?"])


def holds(value):
    return Expectation("%s = 1", [value], "the value is not 1")


@pytest.mark.django_db(transaction=True)
def test_a_transaction_whose_expectation_holds_commits_and_returns_the_last_rows():
    assert execute_in_transaction([INSERT, holds(1), COUNT, ("", [])]) == [(1,)]
    assert Group.objects.filter(name="kept?").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_expectation_keeps_nothing_and_leaves_the_connection_usable():
    with pytest.raises(ExpectationFailed) as failed:
        execute_in_transaction([INSERT, holds(2), COUNT])
    assert failed.value.reason == "the value is not 1"
    assert not connection.in_atomic_block
    assert Group.objects.filter(name="kept?").count() == 0, "the insert before the expectation was rolled back"
    assert execute_in_transaction([INSERT, holds(1)]) == []  # the next transaction runs normally
    assert Group.objects.filter(name="kept?").count() == 1


@pytest.mark.django_db(transaction=True)
def test_inside_an_atomic_block_a_failed_expectation_rolls_back_with_it():
    with pytest.raises(ExpectationFailed), transaction.atomic():
        execute_in_transaction([INSERT, holds(0)])
    assert Group.objects.filter(name="kept?").count() == 0


def _prepared_here() -> set[str]:
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE starts_with(name, 'eventline_')")
        return {name for (name,) in cursor.fetchall()}


def _prepared_batch(cursor, name: str, *more):
    """A hot batch as the broker sends one: its own transaction, prepared on PostgreSQL."""
    from core.db import execute_together

    statements = [("INSERT INTO auth_group (name) VALUES (%s)", [name]), *more, PREPARED_COUNT]
    if connection.vendor != "postgresql":
        with transaction.atomic():
            return execute_together(cursor, statements, prepare=True)
    try:
        return execute_together(cursor, [("BEGIN", []), *statements, ("COMMIT", [])], prepare=True)
    except BaseException:
        from core.db import rollback_quietly

        rollback_quietly(cursor)
        raise


PREPARED_COUNT = ("SELECT COUNT(*) FROM auth_group WHERE name LIKE %s", ["batch-%"])


@pytest.mark.django_db(transaction=True)
def test_a_prepared_batch_is_planned_once_per_session_and_answers_as_the_plain_one():
    """PostgreSQL prepares a hot batch's statements once per session (PREPARE, then EXECUTE);
    SQLite runs them as always. Either way the answers and the effects are the same."""
    from core.db import _prepared

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # the session may come from a pool that served other tests
            cursor.execute("DEALLOCATE ALL")
            _prepared.reread(connection.connection, cursor)
        assert _prepared_batch(cursor, "batch-1", holds(1)) == [(1,)]
        after_first = _prepared_here()
        assert _prepared_batch(cursor, "batch-2", holds(1)) == [(2,)]
        with pytest.raises(ExpectationFailed):
            _prepared_batch(cursor, "batch-3", holds(2))
    assert Group.objects.filter(name__startswith="batch-").count() == 2, "the refused batch kept nothing"
    if connection.vendor == "postgresql":
        assert len(after_first) == 3, after_first  # the insert, the expectation and the count
        assert _prepared_here() == after_first, "the later batches reused them"


@pytest.mark.django_db(transaction=True)
def test_a_session_that_lost_its_prepared_statements_prepares_them_again_and_appends_once():
    from core.db import _prepared

    with connection.cursor() as cursor:
        _prepared_batch(cursor, "batch-1")
        if connection.vendor == "postgresql":
            cursor.execute("DEALLOCATE ALL")  # as a pooler resetting the session would
        assert _prepared_batch(cursor, "batch-2") == [(2,)]
        if connection.vendor == "postgresql":
            # The other way round: the session has them, this process forgot (PREPARE clashes).
            _prepared._names[connection.connection].clear()
        assert _prepared_batch(cursor, "batch-3") == [(3,)]
    assert Group.objects.filter(name__startswith="batch-").count() == 3, "each batch appended exactly once"


@pytest.mark.django_db(transaction=True)
def test_prepared_statements_can_be_turned_off_for_a_pooler_that_shares_connections(settings):
    settings.EVENTLINE = {**settings.EVENTLINE, "PREPARED_STATEMENTS": False}
    before = _prepared_here()
    with connection.cursor() as cursor:
        assert _prepared_batch(cursor, "batch-1", holds(1)) == [(1,)]
    assert _prepared_here() == before, "nothing was prepared"
    assert Group.objects.filter(name="batch-1").exists()


@pytest.mark.django_db(transaction=True)
def test_a_batch_repeating_statements_with_nulls_prepares_each_once_and_keeps_no_parameters():
    """Several copies of two statements in one batch (as a fetch storing several positions sends),
    parameters that are NULL, and a large one: each statement is prepared once, NULL is typed
    from its context, and what the session keeps of a statement is its text, not the values."""
    secret = "payload-" + "x" * 5000
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from core.db import _prepared

            cursor.execute("DEALLOCATE ALL")
            _prepared.reread(connection.connection, cursor)
        answer = _prepared_batch(
            cursor,
            "batch-1",
            ("INSERT INTO auth_group (name) VALUES (%s)", ["batch-2"]),
            ("SELECT COALESCE(%s, 0) + %s", [None, 1]),
            ("SELECT COALESCE(%s, 0) + %s", [41, 1]),
            ("SELECT length(%s)", [secret]),
        )
    assert answer == [(2,)]
    assert Group.objects.filter(name__startswith="batch-").count() == 2
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE statement LIKE %s) FROM pg_prepared_statements "
                "WHERE starts_with(name, 'eventline_')",
                ["%xxxxxxxxxx%"],
            )
            prepared, holding_the_value = cursor.fetchone()
        # insert, COALESCE with NULL, COALESCE with a number (other types), length, count
        assert (prepared, holding_the_value) == (5, 0)
