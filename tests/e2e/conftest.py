"""Browser tests: Playwright's Python package driving Debian's Chromium against a live server
seeded with the demo. Screenshots of the main pages land in test-artifacts/screenshots/."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "browser-test-pw-1"


def chromium_path() -> str | None:
    candidate = os.environ.get("EVENTLINE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if candidate and Path(candidate).exists() else None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made here by
    # the test (not by the server) are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=path,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def demo(live_server, transactional_db):
    """A live server with the demo estate and three users: viewer, editor, admin."""
    call_command("seed_demo", verbosity=0)
    from django.contrib.auth import get_user_model

    users = get_user_model()
    for name in ("viewer", "editor"):
        user = users.objects.create_user(f"{name}-user", password=PASSWORD)
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    users.objects.create_superuser("admin-user", password=PASSWORD)
    return live_server


@pytest.fixture
def login(browser, demo):
    """login("editor") -> a page logged in as that role."""
    pages = []

    def make(role: str = "viewer"):
        context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        page = context.new_page()
        page.goto(f"{demo.url}/accounts/login/")
        page.fill("#id_username", f"{role}-user")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{demo.url}/")
        pages.append(context)
        return page

    yield make
    for context in pages:
        context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
