"""List endpoints refuse a `limit` or `offset` that is not a whole number in range (422 naming it)
instead of quietly answering the first page, cap a large limit, and the document says the bounds."""

import pytest
import yaml

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"offset": "abc"}, "offset"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "1.5"}, "offset"),
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/topics", "/api/v1/groups", "/api/v1/audit/", "/api/v1/catalog/domains/"])
def test_a_limit_or_offset_that_is_not_a_whole_number_in_range_is_422_naming_it(api, path, params, field):
    response = api.get(path, **params)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["details"]["errors"][0]["field"] == field


def test_a_limit_over_the_maximum_is_accepted_and_good_values_page(api, make_topic):
    for name in ("a", "b", "c"):
        make_topic(name)
    page = api.get("/api/v1/topics", limit=5000, offset=1).json()
    assert page["count"] == 3 and [topic["name"] for topic in page["results"]] == ["b", "c"]


def test_the_document_states_the_bounds_of_limit_and_offset(api):
    document = yaml.safe_load(api.get("/api/schema/").content)
    parameters = {p["name"]: p["schema"] for p in document["paths"]["/api/v1/catalog/domains/"]["get"]["parameters"]}
    assert parameters["limit"]["minimum"] == 1 and parameters["offset"]["minimum"] == 0
