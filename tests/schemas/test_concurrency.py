"""Registrations racing from several threads: every one gets its own version, and the same new
schema registered at once under two subjects still gets one id (writers are serialised on the
registry state row)."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import close_old_connections

from schemas.models import Schema, SubjectVersion
from schemas.services import ConfigUpdate, config_update, schema_version_register
from tests.schemas.factories import object_schema

pytestmark = pytest.mark.django_db(transaction=True)


def _race(jobs) -> list[BaseException]:
    failures: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(job) -> None:
        try:
            start.wait()
            job()
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            failures.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def test_concurrent_registrations_under_one_subject_get_distinct_consecutive_versions():
    config_update(subject="s", update=ConfigUpdate(compatibility="NONE"))
    schemas = [object_schema(**{f"field_{n}": "string"}) for n in range(6)]
    jobs = [
        (lambda schema=schema: schema_version_register(subject="s", schema=json.dumps(schema), schema_type="JSON"))
        for schema in schemas
    ]
    assert _race(jobs) == []
    versions = sorted(SubjectVersion.objects.filter(subject__name="s").values_list("version", flat=True))
    assert versions == [1, 2, 3, 4, 5, 6]
    assert sorted(Schema.objects.values_list("id", flat=True)) == [1, 2, 3, 4, 5, 6]


def test_the_same_new_schema_registered_at_once_under_two_subjects_gets_one_id():
    schema = json.dumps(object_schema(name="string"))
    jobs = [
        (lambda subject=subject: schema_version_register(subject=subject, schema=schema, schema_type="JSON"))
        for subject in ("a", "b", "c", "d")
    ]
    assert _race(jobs) == []
    assert Schema.objects.count() == 1
    assert SubjectVersion.objects.count() == 4
