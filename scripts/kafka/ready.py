"""Exit 0 once the Kafka at argv[1] answers group-coordinator calls, 1 if it has not within argv[2]
seconds. An open port is not a ready broker: for a moment after it opens, group calls get
NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS, and the first one creates __consumer_offsets
(shared/reference/kafka-local.md). Reads a committed offset with a plain Consumer (no subscribe, so
no join) rather than through the admin client, which librdkafka 2.16 can crash on in that window."""

from __future__ import annotations

import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition


def main() -> int:
    bootstrap, timeout_s = sys.argv[1], float(sys.argv[2])
    deadline = time.monotonic() + timeout_s
    last_error = "no answer"
    while time.monotonic() < deadline:
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "eventline-kafka-sh-ready",
                "enable.auto.commit": False,
                "socket.connection.setup.timeout.ms": 2000,
                "log_level": 0,
            }
        )
        try:
            left = max(0.5, min(5.0, deadline - time.monotonic()))
            consumer.committed([TopicPartition("__eventline_ready", 0)], timeout=left)
            return 0
        except KafkaException as exc:
            last_error = str(exc)
        finally:
            consumer.close()
        time.sleep(0.2)
    print(f"the group coordinator did not answer within {timeout_s:.0f} s: {last_error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
