"""One append transaction carrying several produce requests (the group commit's batch): to
several topics and partitions at once, all or nothing. On PostgreSQL a small batch is one
statement sent with BEGIN and COMMIT."""

import pytest

from broker.envelope import prepare_event
from broker.log.sql import SQLLog, _AppendJob
from broker.models import Event, Partition
from broker.services.topics import topic_delete
from core.errors import NotFound

pytestmark = pytest.mark.django_db(transaction=True)


def job(topic, partitions):
    events = []
    for index, partition in enumerate(partitions):
        event, errors = prepare_event(
            index, {"data": {"n": index}}, default_source="tester", default_type="t", partition_count=topic.partition_count
        )
        assert not errors
        event.partition = partition
        event.render_body(1, 1)
        events.append(event)
    return _AppendJob(topic.id, topic.name, events, None, 1)


def test_a_batch_to_two_topics_numbers_each_partition_densely(make_topic):
    orders, payments = make_topic("orders", partitions=2), make_topic("payments")
    answers = SQLLog()._append_jobs([job(orders, [0, 1, 0]), job(payments, [0, 0]), job(orders, [1])])
    assert [[(a.partition, a.offset) for a in answer] for answer in answers] == [
        [(0, 0), (1, 0), (0, 1)],
        [(0, 0), (0, 1)],
        [(1, 1)],
    ]
    ends = {(p.topic.name, p.number): p.end_offset for p in Partition.objects.select_related("topic")}
    assert ends == {("orders", 0): 2, ("orders", 1): 2, ("payments", 0): 2}
    assert Event.objects.count() == 6


def test_a_batch_with_a_deleted_topic_appends_nothing_of_any_topic(make_topic):
    orders, payments = make_topic("orders"), make_topic("payments")
    topic_delete(name="payments")
    with pytest.raises(NotFound):
        SQLLog()._append_jobs([job(orders, [0, 0]), job(payments, [0])])
    assert Event.objects.count() == 0
    assert Partition.objects.get(topic__name="orders").end_offset == 0


def test_an_append_to_a_topic_deleted_since_it_was_looked_up_is_not_found(make_topic):
    orders = make_topic("orders")
    topic_delete(name="orders")
    with pytest.raises(NotFound):
        SQLLog()._append_jobs([job(orders, [0])])
    assert Event.objects.count() == 0
