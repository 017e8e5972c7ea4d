"""Lineage pages: the graph page (drawn in the browser from the API), the drift report, the
impact analysis with the registry's verdict and export links, and the mini graph partial the
catalog pages include."""

import json

import pytest
from django.template import Context, Template

from schemas.cache import registry_cache
from schemas.services import schema_version_register

pytestmark = pytest.mark.django_db

V1 = {
    "type": "object",
    "additionalProperties": False,
    "required": ["order_id"],
    "properties": {"order_id": {"type": "string"}},
}
BREAKING = {**V1, "properties": {"order_id": {"type": "integer"}}}
COMPATIBLE = {**V1, "properties": {**V1["properties"], "channel": {"type": "string"}}}


@pytest.fixture
def browser(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader", password="pw-reader-123"))
    return client


@pytest.fixture
def registered(order_flow):
    registry_cache.clear()
    schema_version_register(subject="orders-OrderPlaced", schema=json.dumps(V1), schema_type="JSON")
    yield order_flow
    registry_cache.clear()


def test_pages_need_a_login(client):
    for path in ("/lineage/", "/lineage/drift/", "/lineage/impact/"):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], path


def test_the_graph_page_offers_focus_depth_window_domain_and_team(browser, order_flow):
    response = browser.get("/lineage/?focus=event_type:OrderPlaced&depth=3&window=1d&team=Data+Team")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="event_type:OrderPlaced"' in html
    assert 'id="lineage-depth" name="depth" min="1" max="6" value="3"' in html
    assert '<option value="1d" selected>last day</option>' in html
    assert '<option value="Data Team" selected>Data Team</option>' in html
    assert '<option value="Ordering">Ordering</option>' in html
    assert 'data-api="/api/v1/lineage/graph"' in html
    assert "vendor/cytoscape-dagre/cytoscape-dagre.min.js" in html and "js/lineage.js" in html


def test_the_drift_report_lists_what_disagrees(browser, order_flow):
    response = browser.get("/lineage/drift/")
    assert response.status_code == 200
    context = response.context
    assert [d.sentence for d in context["undeclared"]] == [
        "analytics consumes OrderCancelled",
        "analytics consumes OrderPlaced",
    ]
    assert [d.sentence for d in context["unobserved"]] == ["shipping consumes OrderPlaced"]
    assert (context["orphans"], context["ghosts"], context["cycles"], context["window"]) == ([], [], [], "7d")
    html = response.content.decode()
    assert '<div class="lineage-count text-danger" id="count-undeclared">2</div>' in html
    assert 'href="/catalog/services/analytics/"' in html
    assert browser.get("/lineage/drift/?window=10m").context["window_label"] == "last 10 minutes"
    assert browser.get("/lineage/drift/?window=forever").context["window"] == "7d"


def test_impact_of_an_event_type_lists_consumers_and_offers_exports(browser, registered):
    response = browser.get("/lineage/impact/?event_type=OrderPlaced")
    assert response.status_code == 200
    rows = response.context["report"].rows
    assert [(r.depth, r.service, r.flow) for r in rows] == [
        (1, "analytics", "observed"),
        (1, "inventory", "both"),
        (1, "shipping", "declared"),
        (2, "payments", "both"),
    ]
    assert json.loads(response.context["schema_text"]) == V1, "the current schema is there to edit"
    assert response.context["exports"] == {
        "csv": "/api/v1/lineage/impact?subject=orders-OrderPlaced&window=7d&format=csv",
        "json": "/api/v1/lineage/impact?subject=orders-OrderPlaced&window=7d&download=true",
    }
    assert "checked" not in response.context


def test_a_breaking_candidate_is_refused_and_names_who_would_break(browser, registered):
    response = browser.post("/lineage/impact/", {"event_type": "OrderPlaced", "schema": json.dumps(BREAKING)})
    assert response.status_code == 200
    assert (response.context["checked"], response.context["compatible"], response.context["level"]) == (
        True,
        False,
        "BACKWARD",
    )
    assert [d.path for d in response.context["breaking"]] == ["#/properties/order_id"]
    html = response.content.decode()
    assert "Incompatible at BACKWARD." in html and "3 consumers would break" in html
    assert "Who would break" in html and 'data-service="payments" data-depth="2" data-impact="downstream"' in html


def test_a_compatible_candidate_is_accepted(browser, registered):
    response = browser.post("/lineage/impact/", {"event_type": "OrderPlaced", "schema": json.dumps(COMPATIBLE)})
    assert (response.context["checked"], response.context["compatible"]) == (True, True)
    assert "Compatible at BACKWARD." in response.content.decode()


def test_impact_page_input_problems_are_said_on_the_page(browser, registered):
    unknown = browser.get("/lineage/impact/?event_type=Nope")
    assert unknown.context["error"] == "Event type 'Nope' does not exist."
    not_json = browser.post("/lineage/impact/", {"event_type": "OrderPlaced", "schema": "{not json"})
    assert "check_error" in not_json.context
    no_subject = browser.post("/lineage/impact/", {"event_type": "OrderCancelled", "schema": json.dumps(V1)})
    assert no_subject.context["check_error"].startswith("This event type names no registry subject")
    assert [r.service for r in no_subject.context["report"].rows] == ["analytics"]


def test_the_mini_graph_partial_renders_from_the_include_the_catalog_pages_use(rf):
    template = Template('{% include "lineage/_mini_graph.html" with lineage_focus="event_type:"|add:event_type.name %}')
    html = template.render(Context({"event_type": {"name": "OrderPlaced"}}))
    assert 'data-focus="event_type:OrderPlaced"' in html
    assert 'data-api="/api/v1/lineage/graph"' in html
    assert 'href="/lineage/?focus=event_type%3AOrderPlaced&amp;depth=2"' in html
    assert html.count("<script") == 3


def test_the_pages_render_on_an_empty_estate(browser):
    for path in ("/lineage/", "/lineage/drift/", "/lineage/impact/", "/lineage/impact/?subject=nothing-value"):
        assert browser.get(path).status_code == 200, path
    empty = browser.get("/lineage/drift/").content.decode()
    assert "Everything seen running is declared." in empty and "No cycles." in empty
    nobody = browser.get("/lineage/impact/?subject=nothing-value")
    assert (
        nobody.context["report"].rows == [] and "No one declares or was seen reading it." in nobody.content.decode()
    )
