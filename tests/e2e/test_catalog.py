"""In real Chromium: log in, search the catalog, open an event type, read its schema and
consumers, edit its description as an editor, see a viewer refused the edit, download a service's
AsyncAPI document."""

import json

import pytest

from catalog.models import EventType
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_viewer_searches_opens_an_event_type_and_reads_its_schema_and_consumers(login, demo):
    page = login("viewer")
    screenshot(page, "home")
    page.click("nav >> text=Catalog")
    page.fill("#f-q", "warehouse")  # in StockReserved's schema (a v2 field) and OrderShipped's meaning
    page.wait_for_function("document.querySelectorAll('#catalog-results tbody tr').length === 2")
    names = page.locator("#catalog-results tbody tr td:first-child a").all_inner_texts()
    assert sorted(names) == ["OrderShipped", "StockReserved"]
    assert "q=warehouse" in page.url, "the search is in the address, so it can be shared"
    screenshot(page, "catalog-search")
    page.click("#catalog-results >> text=StockReserved")
    page.wait_for_selector("#schema-fields")
    fields = page.locator("#schema-fields tbody td:first-child code").all_inner_texts()
    assert {"order_id", "items", "sku", "quantity", "warehouse"} <= set(fields)
    consumers = page.locator("#consumers").inner_text()
    assert "payments" in consumers
    assert page.locator("#schema-versions > li").count() == 2
    assert page.locator("#edit-event-type").count() == 0, "viewers get no edit button"
    screenshot(page, "event-type")
    page.goto(f"{demo.url}/catalog/event-types/StockReserved/edit/")
    assert "403" in page.title() or "Forbidden" in page.content()


def test_an_editor_changes_the_business_meaning(login, demo):
    page = login("editor")
    page.goto(f"{demo.url}/catalog/event-types/OrderPlaced/")
    page.click("#edit-event-type")
    page.fill("#id_business_meaning", "Edited in a **real browser**.")
    screenshot(page, "event-type-edit")
    page.click("#save")
    page.wait_for_url(f"{demo.url}/catalog/event-types/OrderPlaced/")
    assert page.locator("#business-meaning strong").inner_text() == "real browser"
    assert EventType.objects.get(name="OrderPlaced").business_meaning == "Edited in a **real browser**."


def test_download_a_services_asyncapi_document(login, demo):
    page = login("viewer")
    page.goto(f"{demo.url}/catalog/services/payments/")
    screenshot(page, "service")
    with page.expect_download() as download_info:
        page.click("#download-asyncapi")
    download = download_info.value
    assert download.suggested_filename == "payments.asyncapi.json"
    document = json.loads(open(download.path()).read())
    assert document["asyncapi"] == "3.0.0"
    assert {op["action"] for op in document["operations"].values()} == {"send", "receive"}


def test_main_pages_render(login, demo):
    from catalog.management.commands.simulate_traffic import Simulator

    Simulator(demo.url, rate=10, failure_rate=0.2, slow_ms=100).run(seconds=4)
    page = login("admin")
    for name, path in [
        ("topics", "/topics/"),
        ("topic-orders", "/topics/orders/"),
        ("inbox", "/catalog/inbox/"),
        ("services", "/catalog/services/"),
        ("domains", "/catalog/domains/"),
        ("history", "/catalog/history/"),
    ]:
        response = page.goto(f"{demo.url}{path}")
        assert response.status == 200, path
        screenshot(page, name)
