"""The API answers JSON to clients that accept it, and 406 to those that accept only other types."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json; q=0.9, */*; q=0.1"])
def test_json_is_served_to_clients_that_accept_it(api, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = api.client.get("/api/v1/topics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")


def test_a_client_that_accepts_only_html_gets_406(api):
    response = api.client.get("/api/v1/topics", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
