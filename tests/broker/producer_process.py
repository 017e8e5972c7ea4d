"""Run as a separate process by test_concurrency: appends batches to a topic through the produce
service, against the test database named in EVENTLINE_TEST_DB_NAME."""

import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from broker.services.produce import events_produce
    from core.auth import Principal

    topic, worker, batches, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    principal = Principal(scopes=frozenset({"admin"}))
    for batch in range(batches):
        events = [
            {
                "id": f"{worker}-{batch}-{i}",
                "source": worker,
                "partitionkey": f"{worker}-{i % 2}",
                "data": {"seq": batch * size + i},
            }
            for i in range(size)
        ]
        events_produce(topic_name=topic, raw_events=events, principal=principal)


if __name__ == "__main__":
    main()
