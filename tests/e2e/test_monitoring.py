"""In real Chromium: open the lag dashboard, filter to lagging groups, open a group and read its
chart."""

import threading
import time

import pytest

from broker.models import GroupPartition
from core.timeutil import now_ms
from monitoring.lag import lag_sample_round
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_filters_to_lagging_groups_and_a_group_page_draws_its_lag_chart(login, demo):
    from catalog.management.commands.simulate_traffic import Simulator

    # Traffic keeps running while the pages are read: the slow Analytics consumer (300 ms per
    # event) stays behind for as long as it runs. Sampled after a run that had stopped, it could
    # have caught up with the last events by the time the page read its lag.
    simulator = Simulator(demo.url, rate=15, failure_rate=0.2, slow_ms=300)
    traffic = threading.Thread(target=simulator.run, kwargs={"seconds": 300}, daemon=True)
    traffic.start()
    try:
        # Lag is counted from committed offsets: wait until the slow consumer has committed once
        # (it auto-commits at its next poll, after a batch that can take it seconds).
        analytics = GroupPartition.objects.filter(group__name="analytics-service", committed_offset__isnull=False)
        deadline = time.monotonic() + 30
        while not analytics.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        for _ in range(2):  # two sampling rounds, so the chart has a line
            time.sleep(1)
            lag_sample_round(now_ms=now_ms())
        _read_the_dashboard_and_a_group(login("viewer"))
    finally:
        simulator.stop.set()
        traffic.join(timeout=30)


def _read_the_dashboard_and_a_group(page):
    page.click("nav >> text=Monitoring")
    page.wait_for_selector("#lag-rows tr.lag-row")
    all_groups = page.locator("#lag-rows tr.lag-row").count()
    assert all_groups >= 6
    screenshot(page, "lag-dashboard")
    page.check("#lf-lagging")
    page.wait_for_url("**lagging=1**")  # htmx swapped the filtered rows in and pushed the address
    rows = page.locator("#lag-rows tr.lag-row").evaluate_all("rows => rows.map(r => [r.dataset.group, +r.dataset.lag])")
    assert rows and all(lag > 0 for _, lag in rows), "only groups with lag remain"
    assert "analytics-service" in {group for group, _ in rows}, "the slow Analytics consumer is behind"
    with page.expect_response(
        lambda r: "/monitoring/" in r.url and r.request.headers.get("hx-request") == "true", timeout=15_000
    ) as refresh:
        pass  # the page refreshes itself every 5 s, keeping the filter
    assert "lagging=1" in refresh.value.url
    assert page.locator("#lag-rows tr.lag-row").count() == len(rows)
    page.click("#lag-rows >> text=analytics-service")
    page.wait_for_selector("#partitions tbody tr")
    page.wait_for_selector("#chart-lag .uplot")
    assert page.locator("#chart-lag canvas").count() >= 1
    assert page.locator("#total-lag").inner_text().strip() not in ("", "0"), "the slow consumer has lag to show"
    screenshot(page, "lag-group")
