"""In real Chromium, against the demo with live traffic: paste a correlation id into the trace
search, see the waterfall, the flow graph and the inspector; export the trace for Jaeger."""

import json

import pytest
from django.db.models import Count

from broker.models import Event
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def traffic(demo):
    """A few seconds of the demo's order saga, and the correlation id of its longest transaction."""
    from catalog.management.commands.simulate_traffic import Simulator

    Simulator(demo.url, rate=6, failure_rate=0.2, slow_ms=50).run(seconds=6)
    longest = (
        Event.objects.exclude(correlation_id=None)
        .values("correlation_id")
        .annotate(events=Count("id"))
        .order_by("-events", "correlation_id")
        .first()
    )
    assert longest and longest["events"] >= 2, "the simulator produced whole transactions"
    return longest["correlation_id"], longest["events"]


def test_paste_a_correlation_id_and_see_the_waterfall(login, demo, traffic):
    correlation_id, event_count = traffic
    types = set(Event.objects.filter(correlation_id=correlation_id).values_list("type", flat=True))
    page = login("viewer")
    page.click("nav >> text=Traces")
    page.wait_for_selector("#recent-traces tbody tr")
    screenshot(page, "traces")

    page.click("#trace-q")
    page.keyboard.insert_text(correlation_id)  # as a paste does
    page.click("#trace-go")
    page.wait_for_url(f"{demo.url}/traces/{correlation_id}/")
    page.wait_for_selector("#waterfall .tw-row-event")
    assert page.locator("#waterfall .tw-row-event").count() == event_count
    titles = page.locator("#waterfall .tw-row-event .tw-title").all_inner_texts()
    assert {title.strip() for title in titles} == types
    assert page.locator("#waterfall .tw-row-hop").count() >= event_count, "every demo topic has consuming groups"
    assert page.locator("#trace-event-count").inner_text() == str(event_count)
    outcomes = ("completed", "compensated", "failed", "in flight", "stuck")
    assert page.locator("#trace-outcome").inner_text().strip().lower() in outcomes, "the demo defines the order saga"
    assert page.locator("#trace-delivery").inner_text().strip().startswith("delivery:")
    page.wait_for_selector("#trace-graph[data-ready=true]", state="attached")
    nodes = page.evaluate("window.traceGraph.nodes('[kind = \"event\"]').length")
    assert nodes == event_count

    # Click a consuming group's row: the inspector shows that event, that hop highlighted.
    hop_row = page.locator("#waterfall .tw-row-hop").nth(0)
    position, group = hop_row.get_attribute("data-position"), hop_row.get_attribute("data-group")
    hop_row.click()
    panel = page.locator(f'.trace-panel[data-position="{position}"]')
    assert panel.is_visible()
    assert panel.locator(f'.trace-hop.is-selected[data-group="{group}"]').count() == 1
    assert "#event=" in page.url, "the selection is in the address, so it can be shared"
    screenshot(page, "trace")

    # A node of the graph selects too.
    last = page.locator("#waterfall .tw-row-event").nth(event_count - 1).get_attribute("data-position")
    page.evaluate(
        "position => window.traceGraph.nodes().filter(n => n.data('position') === position && n.data('kind') === 'event').emit('tap')",
        last,
    )
    assert page.locator(f'.trace-panel[data-position="{last}"]').is_visible()

    with page.expect_download() as download_info:
        page.click("#trace-otlp")
    document = json.loads(open(download_info.value.path()).read())
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert sum(1 for span in spans if span["name"].startswith("send ")) == event_count
    assert len({span["traceId"] for span in spans}) == 1
