"""The WSGI application served in production: a request that brings an API key to the API goes
through Django without the browser's middleware, and answers as it would through all of it."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.core import signals
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections
from django.http import HttpResponse

from core.handlers import carries_api_key

pytestmark = pytest.mark.django_db


@contextmanager
def _test_transaction_kept() -> Iterator[None]:
    """As Django's test client does: a request must not close the test's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_warm_up_thread(settings) -> None:
    """Importing config.wsgi as a server process does must not start the lineage warm-up here."""
    settings.EVENTLINE = {**settings.EVENTLINE, "WARM_CACHES": False}


def call(path: str, method: str = "GET", body: bytes = b"", **headers: str) -> tuple[int, dict[str, str], bytes]:
    from config.wsgi import application

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        **headers,
    }
    answer: dict[str, object] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: object = None) -> None:
        answer["status"], answer["headers"] = int(status.split()[0]), dict(response_headers)

    with _test_transaction_kept():
        response = application(environ, start_response)
        try:
            body = b"".join(response)
        finally:
            getattr(response, "close", lambda: None)()
    return answer["status"], answer["headers"], body  # type: ignore[return-value]


@pytest.fixture
def sessions_opened(monkeypatch) -> list[str]:
    opened: list[str] = []
    process_request = SessionMiddleware.process_request

    def spied(self, request):
        opened.append(request.path)
        return process_request(self, request)

    monkeypatch.setattr(SessionMiddleware, "process_request", spied)
    return opened


def test_an_api_key_request_skips_the_browser_middleware_and_keeps_the_security_headers(
    make_api, make_topic, sessions_opened
):
    make_topic("orders")
    token = make_api("consume:orders").token
    status, headers, body = call("/api/v1/topics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert status == 200 and b'"orders"' in body
    assert sessions_opened == []
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in headers
    # A wrong key is still refused by the view.
    status, _, body = call("/api/v1/topics", HTTP_AUTHORIZATION="Bearer nope.nope")
    assert status == 401 and sessions_opened == []


def test_a_browser_session_on_the_api_and_a_key_on_the_pages_go_through_every_middleware(
    client, django_user_model, make_api, sessions_opened
):
    admin = django_user_model.objects.create_superuser("ada", password="pw-for-the-test")
    client.force_login(admin)
    session = client.cookies["sessionid"].value
    status, _, _ = call("/api/v1/topics", HTTP_COOKIE=f"sessionid={session}")
    assert status == 200, "a logged-in person may call the API from the browser"
    assert sessions_opened == ["/api/v1/topics"]
    status, headers, _ = call("/catalog/", HTTP_AUTHORIZATION=f"Bearer {make_api().token}")
    assert status == 302 and "/accounts/login/" in headers["Location"], "pages need a login, keys or not"
    assert sessions_opened == ["/api/v1/topics", "/catalog/"]


@pytest.mark.parametrize(
    ("path", "authorization", "expected"),
    [
        ("/api/v1/topics", "Bearer k.s", True),
        ("/registry/subjects", "Basic a2V5OnNlY3JldA==", True),
        ("/api/v1/topics", "bearer k.s", True),
        ("/api/v1/topics", "", False),
        ("/api/v1/topics", "Token k.s", False),
        ("/catalog/", "Bearer k.s", False),
        ("/apiary", "Bearer k.s", False),
    ],
)
def test_which_requests_carry_an_api_key(path, authorization, expected):
    environ = {"PATH_INFO": path, **({"HTTP_AUTHORIZATION": authorization} if authorization else {})}
    assert carries_api_key(environ) is expected


def produce_one(token: str) -> tuple[int, dict[str, str], bytes]:
    """One event to topic "orders" through the production WSGI application, with an API key."""
    return call(
        "/api/v1/topics/orders/events",
        method="POST",
        body=b'{"data": {"n": 1}}',
        CONTENT_TYPE="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_an_api_request_leaves_no_body_behind_in_drfs_reference_cycles(make_api, make_topic):
    """DRF ties request, view and response in cycles only the garbage collector frees; neither
    the request's body nor the response's must wait for it (either can be megabytes)."""
    make_topic("orders")
    token = make_api("produce:orders").token
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        status, _, answer = produce_one(token)
        gc.collect()
        left = [thing for thing in gc.garbage if isinstance(thing, WSGIRequest)]
        responses = [thing for thing in gc.garbage if isinstance(thing, HttpResponse)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert status == 200
    assert left, "DRF's cycle is gone: this test no longer checks anything"
    assert all("_body" not in request.__dict__ and "wsgi.input" not in request.META for request in left)
    assert b'"offset":0' in answer  # the server got the whole answer...
    assert responses and all(response.content == b"" for response in responses)  # ...the cycle none of it


def test_a_clean_up_that_fails_after_the_answer_is_complete_does_not_turn_it_into_an_error(make_api, make_topic):
    make_topic("orders")
    token = make_api("produce:orders").token

    def broken(**_: object) -> None:
        raise RuntimeError("clean-up failed")

    signals.request_finished.connect(broken)
    try:
        status, _, answer = produce_one(token)
    finally:
        signals.request_finished.disconnect(broken)
    assert status == 200 and b'"offset":0' in answer
