"""The app as the OpenAPI document describes it: schemathesis generates requests from /api/schema/
(valid ones, and ones the document forbids) and sends them in-process to the WSGI app with an admin
API key, against the run's test database. Any 5xx fails, and so does any answer whose status code,
content type or body the document does not describe, and any request the document forbids that the
server accepts with a 2xx (schemathesis's negative_data_rejection).

Bounded so `make test` stays quick on both databases: a fixed number of examples per operation and
mode, derandomized (the same requests every run, so a failure in CI repeats locally), no shrinking,
and a time cap. Past the cap the operations not yet reached still get one example per mode (a
smoke pass, so no operation goes untested), and the run reports every failure found; the cap by
itself is not a failure. One test walks every operation and reports every failure at once
(schemathesis's own lazy pytest loader does not run on pytest 9)."""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

# Examples per operation and mode; EVENTLINE_SCHEMATHESIS_EXAMPLES raises it for a deeper run by hand.
MAX_EXAMPLES = int(os.environ.get("EVENTLINE_SCHEMATHESIS_EXAMPLES", 8))
# After this many seconds the operations not yet reached get one example per mode.
TIME_CAP_S = float(os.environ.get("EVENTLINE_SCHEMATHESIS_TIME_CAP_S", 75))
# A catalog folder arrives as a zip: schemathesis sends it bytes, as for any binary upload.
schemathesis.serializer.alias("application/zip", "application/octet-stream")

CHECKS = {
    GenerationMode.POSITIVE: [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ],
    GenerationMode.NEGATIVE: [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ],
}


@pytest.fixture
def admin_token(db) -> str:
    from core.services import api_key_create

    _, token = api_key_create(service_name="schemathesis", scopes=["admin"])
    return token


@pytest.fixture
def keep_connection(db):
    """As Django's test client does: requests must not close the connection that holds the test's
    transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(keep_connection):
    # Not config.wsgi.application: that one also warms the lineage graph in a background thread,
    # which would reach the test database from outside the test's transaction.
    from django.core.wsgi import get_wsgi_application

    from core.handlers import with_api_key_chain

    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", with_api_key_chain(get_wsgi_application()))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return "\n".join(text.splitlines()[:40])[:3000]


def test_every_operation_answers_as_the_document_says(api_schema, admin_token):
    headers = {"Authorization": f"Bearer {admin_token}"}
    failures: dict[str, dict[str, str]] = defaultdict(dict)
    sent: Counter[str] = Counter()
    capped: list[str] = []
    no_negative: list[str] = []
    started = time.monotonic()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations:
        examples = MAX_EXAMPLES
        if time.monotonic() - started >= TIME_CAP_S:
            examples = 1
            capped.append(operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                derandomize=True,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                # Called at once below, so the loop variables are the current ones.
                sent[operation.label] += 1  # noqa: B023
                # Each request in a savepoint, as each runs in its own transaction when served: on
                # PostgreSQL one failed statement must not abort the test's transaction for the rest.
                savepoint = transaction.savepoint()
                try:
                    case.call_and_validate(headers=headers, checks=CHECKS[mode])  # noqa: B023
                finally:
                    transaction.savepoint_rollback(savepoint)

            try:
                run()
            except Unsatisfiable:
                # Nothing in the operation can be made invalid (no parameters, or a bare string
                # in the path): there is no negative case to send.
                if mode is GenerationMode.NEGATIVE:
                    no_negative.append(operation.label)
                else:
                    failures[operation.label][mode.value] = "no valid request could be generated"
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported below
                failures[operation.label][mode.value] = _describe(exc)
    elapsed = time.monotonic() - started
    untested = [operation.label for operation in operations if not sent[operation.label]]
    report = "\n\n".join(
        f"== {label}\n" + "\n".join(f"-- {mode}\n{detail}" for mode, detail in found.items())
        for label, found in failures.items()
    )
    print(
        f"schemathesis: {sum(sent.values())} requests over {len(operations)} operations in {elapsed:.1f} s "
        f"({MAX_EXAMPLES} examples per operation and mode; {len(capped)} past the {TIME_CAP_S:.0f} s cap got 1; "
        f"{len(no_negative)} have no invalid input to send); {len(failures)} operations fail"
    )
    if report:
        print(report)
    assert not untested, f"no request sent for {untested}"
    assert not failures, (
        f"{len(failures)} operations fail ({sum(sent.values())} requests, {elapsed:.1f} s):\n\n{report}"
    )
