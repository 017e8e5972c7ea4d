"""In real Chromium, on a topic's page: the live tail shows events as they are produced, newest
first, with personal data masked for a viewer; pausing stops the updates and resuming catches up."""

import pytest

from broker.services.produce import events_produce
from broker.services.topics import topic_create
from core.auth import Principal
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OPERATOR = Principal(scopes=frozenset({"admin"}), username="e2e-setup")


def _produce(topic: str, event_type: str, data: dict) -> None:
    events_produce(topic_name=topic, raw_events=[{"type": event_type, "data": data}], principal=OPERATOR)


def test_the_live_tail_shows_new_events_and_pause_stops_it(login, demo):
    topic_create(name="e2e-tail", partitions=2, actor=OPERATOR)
    _produce("e2e-tail", "BeforeOpening", {"n": 0})
    page = login("viewer")
    page.goto(f"{demo.url}/topics/e2e-tail/")
    page.wait_for_selector("#tail-empty")
    _produce("e2e-tail", "TailFirst", {"n": 1})
    _produce("e2e-tail", "TailSecond", {"n": 2})
    page.wait_for_selector("#tail-rows >> text=TailSecond", timeout=10_000)
    types = page.locator("#tail-rows tr td:nth-child(4)").all_inner_texts()
    assert types == ["TailSecond", "TailFirst"], "newest first, and nothing from before the page opened"
    screenshot(page, "topic-live-tail")

    page.click("#tail-toggle")
    assert page.get_attribute("#live-tail", "data-state") == "paused"
    _produce("e2e-tail", "WhilePaused", {"n": 3})
    page.wait_for_timeout(4000)  # more than two poll intervals
    assert page.locator("#tail-rows >> text=WhilePaused").count() == 0

    page.click("#tail-toggle")
    page.wait_for_selector("#tail-rows >> text=WhilePaused", timeout=10_000)
    assert page.locator("#tail-rows tr td:nth-child(4)").first.inner_text() == "WhilePaused"
