"""When the cluster does not answer, a process's Kafka reads wait out the log's timeout once, then
fail at once for SILENT_S, so that a page making several reads does not wait for each of them."""

from __future__ import annotations

import gc
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from broker.log import kafka
from broker.log.kafka import KafkaLog


def _silent_cluster() -> str:
    """The address of a port nothing listens on: connections are refused."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{free.getsockname()[1]}"


class _Counting:
    """Counts the calls that reach the client."""

    def __init__(self, target: Any) -> None:
        self.target, self.calls = target, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.target(*args, **kwargs)


@pytest.fixture
def log() -> Iterator[KafkaLog]:
    # librdkafka would log each refused connection (level 3) for as long as the clients live.
    silent = KafkaLog(
        _silent_cluster(), client_config={"log_level": 0}, timeout_s=1.0, topic_name_of=lambda _: "orders"
    )
    yield silent
    del silent
    gc.collect()


def test_reads_fail_at_once_after_one_found_the_cluster_silent_and_ask_again_later(
    log: KafkaLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    offsets_requests = _Counting(log._admin.list_offsets)
    monkeypatch.setattr(log._admin, "list_offsets", offsets_requests, raising=False)
    readers = _Counting(log._readers.take)
    monkeypatch.setattr(log._readers, "take", readers)

    with pytest.raises(KafkaException) as first:
        log.offsets_of([("orders", 0)])
    assert first.value.args[0].code() in (KafkaError._TIMED_OUT, KafkaError._TRANSPORT)
    assert offsets_requests.calls == 1

    for read in (
        lambda: log.offsets_of([("orders", 0)]),
        lambda: log.offsets(topic_id=1, partition=0),
        lambda: log.records_at([("orders", 0, 5)]),
        lambda: log.topic_describe(name="orders"),
    ):
        with pytest.raises(KafkaException, match="did not answer") as refused:
            read()
        assert refused.value.args[0].code() == KafkaError._TRANSPORT
    assert (offsets_requests.calls, readers.calls) == (1, 0), "none of them asked the cluster"

    monkeypatch.setattr(kafka, "SILENT_S", 0.0)  # the window is over
    with pytest.raises(KafkaException):
        log.offsets_of([("orders", 0)])
    assert offsets_requests.calls == 2, "asked again"


def test_records_no_partition_answered_for_make_the_cluster_silent(
    log: KafkaLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """records_at gives positions up at its timeout (the pages show them unavailable): when not
    one partition answered, the cluster is taken for silent too."""
    assert log.records_at([("orders", 0, 5), ("orders", 1, 7)]) == {}
    readers = _Counting(log._readers.take)
    monkeypatch.setattr(log._readers, "take", readers)
    with pytest.raises(KafkaException, match="did not answer"):
        log.records_at([("orders", 0, 5)], strict=True)
    assert readers.calls == 0


def test_a_log_that_has_not_met_silence_asks_every_time(log: KafkaLog, monkeypatch: pytest.MonkeyPatch) -> None:
    """Errors that are not silence (an unknown topic, say) leave the cluster answering."""

    def unknown(*_: Any, **__: Any) -> Any:
        raise KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, "no such topic"))

    monkeypatch.setattr(log._admin, "list_topics", unknown, raising=False)
    for _ in range(2):
        with pytest.raises(KafkaException, match="no such topic"):
            log.topic_partition_counts()
