"""Registry pages: subject list, subject detail with versions, diff and check (htmx partials)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from schemas.services import ConfigUpdate, config_update, schema_version_register, subject_delete
from tests.schemas.factories import object_schema

pytestmark = pytest.mark.django_db

V1 = object_schema(name="string", required=("name",))
V2 = object_schema(
    name="string", email={"type": "string", "format": "email", "description": "Contact"}, required=("name",)
)


def register(subject: str, schema) -> None:
    schema_version_register(subject=subject, schema=json.dumps(schema), schema_type="JSON")


@pytest.fixture
def browser(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader", password="pw-reader-123"))
    return client


def test_pages_need_a_login(client):
    response = client.get(reverse("schemas:subject-list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_subject_list_shows_latest_version_and_level(browser):
    register("orders-value", V1)
    register("orders-value", V2)
    register("payments-value", V1)
    config_update(subject="payments-value", update=ConfigUpdate(compatibility="FULL"))
    response = browser.get("/schemas/")
    assert response.status_code == 200
    rows = {row.name: row for row in response.context["rows"]}
    assert (rows["orders-value"].latest_version, rows["orders-value"].level, rows["orders-value"].own_level) == (
        2,
        "BACKWARD",
        False,
    )
    assert (rows["payments-value"].level, rows["payments-value"].own_level) == ("FULL", True)
    assert b"orders-value" in response.content and b"FULL" in response.content


def test_subject_list_filters_and_hides_soft_deleted_subjects_unless_asked(browser):
    register("orders-value", V1)
    register("gone-value", V1)
    subject_delete(subject="gone-value")
    assert [row.name for row in browser.get("/schemas/").context["rows"]] == ["orders-value"]
    assert [row.name for row in browser.get("/schemas/?deleted=1").context["rows"]] == ["gone-value", "orders-value"]
    assert [row.name for row in browser.get("/schemas/?q=ORDER").context["rows"]] == ["orders-value"]


def test_subject_list_query_count_does_not_grow_with_subjects(browser, django_assert_max_num_queries):
    for n in range(30):
        register(f"subject-{n}", V1)
    with django_assert_max_num_queries(8):
        response = browser.get("/schemas/")
    assert len(response.context["rows"]) == 30


def test_subject_detail_shows_versions_fields_schema_and_level(browser):
    register("orders-value", V1)
    register("orders-value", V2)
    response = browser.get(reverse("schemas:subject-detail", args=["orders-value"]))
    assert response.status_code == 200
    assert [row.version for row in response.context["versions"]] == [2, 1]
    assert [field.name for field in response.context["fields"]] == ["name", "email"]
    assert response.context["fields"][1].constraints == 'format: "email"'
    assert response.context["config"].level.value == "BACKWARD"
    content = response.content.decode()
    assert "Contact" in content and "&quot;additionalProperties&quot;: false" in content


def test_subject_detail_shows_an_older_version_on_request(browser):
    register("orders-value", V1)
    register("orders-value", V2)
    response = browser.get("/schemas/orders-value/?version=1")
    assert response.context["shown"].version == 1
    assert browser.get("/schemas/orders-value/?version=9").status_code == 404
    assert browser.get("/schemas/nope/").status_code == 404


def test_the_diff_between_two_versions_lists_structured_differences(browser):
    register("orders-value", V1)
    register("orders-value", V2)
    response = browser.get("/schemas/orders-value/diff/?from=1&to=2")
    assert response.status_code == 200
    [row] = response.context["diff_rows"]  # one change, judged in both directions, is one row
    assert {(v.type, v.direction, v.breaks) for v in row.verdicts} == {
        ("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "backward", False),
        ("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", "forward", True),
    }
    assert [v.direction for v in row.verdicts] == ["backward", "forward"]
    # BACKWARD does not check the forward direction: the change is compatible at the subject's level.
    assert response.context["diff"].compatible_at_level
    assert not row.breaks_checked
    content = response.content.decode()
    assert b"compatible at BACKWARD" in response.content
    assert content.count('class="el-diff-row') == 1 and "1 difference," in content
    # Codes may wrap only after an underscore, never inside a word.
    assert "PROPERTY_<wbr>REMOVED_<wbr>FROM_<wbr>CLOSED_<wbr>CONTENT_<wbr>MODEL" in content


def test_the_diff_reports_a_bad_version_instead_of_failing(browser):
    register("orders-value", V1)
    assert b"not found" in browser.get("/schemas/orders-value/diff/?from=1&to=5").content
    assert b"Pick two versions" in browser.get("/schemas/orders-value/diff/?from=x&to=1").content


def test_checking_a_candidate_explains_why_it_is_incompatible(browser):
    register("orders-value", V1)
    candidate = object_schema(name="integer", required=("name",))
    response = browser.post("/schemas/orders-value/check/", {"schema": json.dumps(candidate)})
    assert response.status_code == 200
    assert response.context["result"].is_compatible is False
    assert [d.type.value for d in response.context["breaking"]] == ["TYPE_CHANGED"]
    content = response.content.decode()
    assert "Incompatible at BACKWARD" in content and "name" in content


def test_checking_a_compatible_candidate_says_so(browser):
    register("orders-value", V1)
    response = browser.post("/schemas/orders-value/check/", {"schema": json.dumps(V2)})
    assert response.context["result"].is_compatible is True
    assert b"Compatible." in response.content


def test_checking_an_invalid_schema_shows_the_problem(browser):
    register("orders-value", V1)
    response = browser.post("/schemas/orders-value/check/", {"schema": '{"type": "strin"}'})
    assert "at /type" in response.context["error"]
