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
