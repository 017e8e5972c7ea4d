"""In real Chromium, on the demo estate with live traffic: open the lineage graph, focus on
OrderPlaced, see its consumers (the undeclared analytics one in red), switch the window, then
open the impact analysis for a breaking schema and see the consumers who would break."""

import csv
import json

import pytest

from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUS_IS = "(name) => document.querySelector('#lineage-focus-name')?.textContent === name && document.querySelector('#lineage-page').dataset.state === 'ready'"


def consumer_names(page):
    return sorted(text.split()[0] for text in page.locator("#lineage-consumers li").all_inner_texts())


@pytest.fixture
def traffic(demo):
    from catalog.management.commands.simulate_traffic import Simulator
    from lineage.selectors import lineage_cache_clear

    Simulator(demo.url, rate=10, failure_rate=0.2, slow_ms=20).run(seconds=5)
    lineage_cache_clear()
    return demo


def test_focus_on_order_placed_switch_the_window_and_see_who_a_breaking_schema_would_break(login, traffic):
    page = login("viewer")
    page.click("nav >> text=Lineage")
    page.wait_for_function("document.querySelector('#lineage-page').dataset.state === 'ready'")

    page.fill("#lineage-focus", "OrderPlaced")
    page.press("#lineage-focus", "Enter")
    page.wait_for_function(FOCUS_IS, arg="OrderPlaced", polling=100)
    assert "focus=OrderPlaced" in page.url, "the view is in the address, so it can be shared"
    assert consumer_names(page) == ["analytics", "inventory"]
    assert "observed" in page.locator("#lineage-consumers li[data-node='service:analytics']").inner_text()
    assert "both" in page.locator("#lineage-consumers li[data-node='service:inventory']").inner_text()
    drawn = page.evaluate(
        """() => {
            const cy = window.eventlineLineage.page.cy;
            const edge = (id) => cy.getElementById(id);
            return {
                nodes: cy.nodes().map((n) => n.id()).sort(),
                analyticsUndeclared: edge('event_type:OrderPlaced->service:analytics').hasClass('undeclared'),
                inventoryStyle: edge('event_type:OrderPlaced->service:inventory').style('line-style'),
                inventoryWidth: parseFloat(edge('event_type:OrderPlaced->service:inventory').style('width')),
            };
        }"""
    )
    assert {
        "event_type:OrderPlaced",
        "service:orders",
        "service:inventory",
        "service:analytics",
        "topic:orders",
    } <= set(drawn["nodes"])
    assert drawn["analyticsUndeclared"] is True
    assert drawn["inventoryStyle"] == "solid" and drawn["inventoryWidth"] > 1.5
    screenshot(page, "lineage-graph")
    assert not page.evaluate("() => window.eventlineLineage.page.cy.getElementById('topic:orders').visible()")
    page.check("#lineage-broker")
    page.wait_for_function("() => window.eventlineLineage.page.cy.getElementById('topic:orders').visible()")
    assert "topics and groups hidden" not in page.inner_text("#lineage-status")
    screenshot(page, "lineage-graph-topics-and-groups")
    page.uncheck("#lineage-broker")

    page.select_option("#lineage-window", "10m")
    page.wait_for_function(
        "document.querySelector('#lineage-page').dataset.window === '10m' && document.querySelector('#lineage-page').dataset.state === 'ready'"
    )
    assert "window=10m" in page.url
    assert consumer_names(page) == ["analytics", "inventory"]
    assert "last 10 minutes" in page.locator("#lineage-status").inner_text()

    page.locator("#lineage-depth").fill("3")
    page.locator("#lineage-depth").dispatch_event("change")
    page.wait_for_function(
        "() => window.eventlineLineage.page.cy.getElementById('service:payments').length === 1 && document.querySelector('#lineage-page').dataset.state === 'ready'"
    )

    page.click("#lineage-impact-link")
    page.wait_for_url("**/lineage/impact/?event_type=OrderPlaced")
    current = json.loads(page.input_value("#impact-schema"))
    assert current["title"] == "OrderPlaced", "the current schema is there to edit"
    current["properties"]["total"] = {"type": "string"}  # a type change: old events no longer fit
    page.fill("#impact-schema", json.dumps(current, indent=2))
    page.click("#impact-submit")
    page.wait_for_selector("#impact-verdict")
    assert "Incompatible at BACKWARD" in page.inner_text("#impact-verdict")
    rows = page.locator("#impact-consumers tr.impact-row")
    services = {rows.nth(i).get_attribute("data-service") for i in range(rows.count())}
    assert {"inventory", "analytics"} <= services
    depth_one = {
        rows.nth(i).get_attribute("data-service")
        for i in range(rows.count())
        if rows.nth(i).get_attribute("data-depth") == "1"
    }
    assert depth_one == {"inventory", "analytics"}
    assert services == {"inventory", "analytics"}, "only readers of OrderPlaced would break"
    downstream = page.locator("#impact-downstream tr.impact-row")
    fed = {downstream.nth(i).get_attribute("data-service") for i in range(downstream.count())}
    assert "payments" in fed, "inventory's StockReserved reaches payments: downstream, not counted as broken"
    page.wait_for_function("document.querySelector('[data-lineage-mini]').dataset.state === 'ready'")
    screenshot(page, "lineage-impact")

    with page.expect_download() as download_info:
        page.click("#export-csv")
    download = download_info.value
    assert download.suggested_filename == "impact-OrderPlaced.csv"
    exported = list(csv.DictReader(open(download.path())))
    assert {row["service"] for row in exported if row["impact"] == "breaks"} == services
    assert {row["service"] for row in exported if row["impact"] == "downstream"} == fed


def test_the_drift_report_names_the_undeclared_analytics_consumer(login, traffic):
    page = login("viewer")
    page.goto(f"{traffic.url}/lineage/drift/")
    undeclared = page.inner_text("#undeclared")
    assert "analytics" in undeclared and "OrderPlaced" in undeclared
    assert page.inner_text("#count-cycles") != "0", "the demo saga compensates, so flows loop back"
    screenshot(page, "lineage-drift")


def test_clicking_a_node_opens_its_catalog_page_and_shift_click_focuses(login, traffic):
    page = login("viewer")
    page.goto(f"{traffic.url}/lineage/?focus=service:payments&depth=1")
    page.wait_for_function(FOCUS_IS, arg="payments", polling=100)
    page.evaluate("() => { window.eventlineLineage.page.cy.getElementById('event_type:StockReserved').emit('tap'); }")
    page.wait_for_url("**/catalog/event-types/StockReserved/")
    page.go_back()
    page.wait_for_function(FOCUS_IS, arg="payments", polling=100)
    page.evaluate(
        "() => { window.eventlineLineage.page.cy.getElementById('event_type:StockReserved').emit('cxttap'); }"
    )
    page.wait_for_function(FOCUS_IS, arg="StockReserved", polling=100)
    assert "focus=event_type%3AStockReserved" in page.url


SMALLEST_LABEL_PX = "() => Math.min(...window.eventlineLineage.page.cy.nodes(':visible').map((n) => parseFloat(n.renderedStyle('font-size'))))"
READY = "document.querySelector('#lineage-page').dataset.state === 'ready'"


def test_without_a_focus_the_graph_opens_on_a_legible_overview_by_domain(login, traffic):
    page = login("viewer")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{traffic.url}/lineage/")
    page.wait_for_function(READY)
    assert page.evaluate("document.querySelector('#lineage-page').dataset.view") == "overview"
    domains = page.evaluate("window.eventlineLineage.page.cy.nodes().map((n) => n.data('domain'))")
    assert {"Ordering", "Payments", "Inventory"} <= set(domains)
    assert page.evaluate(SMALLEST_LABEL_PX) >= 12, "every domain label is drawn at a legible size"
    screenshot(page, "lineage-overview")

    # The focus box's placeholder is not cut off.
    fits = page.evaluate(
        """() => { const input = document.querySelector('#lineage-focus'); const style = getComputedStyle(input);
        const ctx = document.createElement('canvas').getContext('2d'); ctx.font = style.font;
        const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return ctx.measureText(input.placeholder).width <= room; }"""
    )
    assert fits

    # Clicking a domain opens its graph, still legible, in the address for sharing.
    page.evaluate("window.eventlineLineage.page.cy.getElementById('domain:Payments').emit('tap')")
    page.wait_for_function(READY + " && document.querySelector('#lineage-page').dataset.view === 'graph'")
    assert "domain=Payments" in page.url
    assert page.evaluate(SMALLEST_LABEL_PX) >= 12
    names = page.evaluate("window.eventlineLineage.page.cy.nodes(':visible').map((n) => n.data('label'))")
    assert "payments" in names
