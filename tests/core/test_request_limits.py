"""What every request must satisfy before a view reads it: a body no larger than
EVENTLINE_MAX_REQUEST_BYTES (declared or, when chunked, as read) and a URL without NUL characters.
Each refusal is answered in the shape of the part of the app asked: the API's envelope, the
registry's Confluent envelope, plain text for the pages."""

from __future__ import annotations

import base64
import http.client
import io
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.models import ConsumerGroup, Event
from core.jsonutil import dumps, loads
from tests.schemas.conftest import Registry

pytestmark = pytest.mark.django_db

LIMIT = 4096


@pytest.fixture(autouse=True)
def _small_limit(settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT


@pytest.fixture
def registry(db) -> Registry:
    from core.services import api_key_create

    _, token = api_key_create(service_name="registry-user", scopes=["registry:write"])
    return Registry(token)


class CountingStream(io.BytesIO):
    """A request body that remembers how many bytes the server read of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.bytes_read += len(line)
        return line


def declared(body: bytes, length: int) -> dict[str, object]:
    """WSGI environ entries for a body whose Content-Length says `length`."""
    return {"wsgi.input": CountingStream(body), "CONTENT_LENGTH": str(length)}


def chunked(body: bytes) -> dict[str, object]:
    """WSGI environ entries as granian passes a chunked body: no CONTENT_LENGTH, the server
    decodes the chunks and ends the stream (wsgi.input_terminated)."""
    return {"wsgi.input": CountingStream(body), "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"}


def test_an_offsets_commit_declared_over_the_limit_is_413_in_the_api_envelope_and_never_read(make_api, make_topic):
    make_topic("orders")
    consumer = make_api("consume:orders")
    environ = declared(b'{"offsets": []}', 256 * 1024 * 1024)
    response = consumer.post("/api/v1/groups/g/offsets", b"", **environ)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert error["details"] == {"max_bytes": LIMIT}
    assert str(LIMIT) in error["message"] and "EVENTLINE_MAX_REQUEST_BYTES" in error["message"]
    assert environ["wsgi.input"].bytes_read == 0
    assert not ConsumerGroup.objects.exists()


def test_a_registry_body_declared_over_the_limit_is_413_in_confluents_envelope(registry):
    environ = declared(b"{}", LIMIT + 1)
    response = registry.post("/subjects/s/versions", b"", **environ)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/vnd.schemaregistry.v1+json"
    body = response.json()
    assert set(body) == {"error_code", "message"} and body["error_code"] == 413
    assert str(LIMIT) in body["message"]
    assert environ["wsgi.input"].bytes_read == 0


def test_a_page_form_declared_over_the_limit_is_a_plain_413_and_is_not_parsed(client):
    environ = declared(b"username=ada&password=x", LIMIT + 1)
    response = client.generic(
        "POST", "/accounts/login/", b"", content_type="application/x-www-form-urlencoded", **environ
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    assert str(LIMIT) in response.content.decode()
    assert environ["wsgi.input"].bytes_read == 0


def test_a_body_at_the_limit_is_read_as_usual(api, make_topic):
    make_topic("orders")
    body = b'{"data": "' + b"x" * (LIMIT - 12) + b'"}'
    assert len(body) == LIMIT
    response = api.post("/api/v1/topics/orders/events", body)
    assert response.status_code == 200, response.content
    assert Event.objects.count() == 1


def test_a_chunked_produce_is_read_in_full_not_taken_as_empty(api, make_topic):
    make_topic("orders")
    body = b'[{"data": {"n": 1}}, {"data": {"n": 2}}]'
    response = api.post("/api/v1/topics/orders/events", b"", **chunked(body))
    assert response.status_code == 200, response.content
    assert [event["offset"] for event in response.json()["events"]] == [0, 1]
    assert Event.objects.count() == 2


def test_a_chunked_api_body_reaches_drfs_parser(make_api, make_topic):
    make_topic("orders")
    consumer = make_api("consume:orders", "group:g")
    body = b'{"offsets": [{"topic": "orders", "partition": 0, "offset": 0}]}'
    response = consumer.post("/api/v1/groups/g/offsets", b"", **chunked(body))
    assert response.status_code == 200, response.content
    assert response.json()["offsets"][0]["offset"] == 0


def test_a_chunked_registry_registration_is_read_in_full(registry):
    body = b'{"schemaType": "JSON", "schema": "{\\"type\\": \\"string\\"}"}'
    response = registry.post("/subjects/s/versions", b"", **chunked(body))
    assert response.status_code == 200, response.content
    assert response.json()["schema"] == '{"type":"string"}'


def test_a_chunked_body_over_the_limit_is_413_after_reading_at_most_one_byte_past_it(make_api, make_topic):
    make_topic("orders")
    consumer = make_api("consume:orders")
    environ = chunked(b"[" * (LIMIT * 50))
    response = consumer.post("/api/v1/groups/g/offsets", b"", **environ)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert environ["wsgi.input"].bytes_read == LIMIT + 1


def test_a_chunked_body_the_server_did_not_decode_is_411_not_taken_as_empty(api, make_topic):
    make_topic("orders")
    environ = {"wsgi.input": CountingStream(b"5\r\nhello\r\n0\r\n\r\n"), "HTTP_TRANSFER_ENCODING": "chunked"}
    response = api.post("/api/v1/topics/orders/events", b"", **environ)
    assert response.status_code == 411
    assert response.json()["error"]["code"] == "length_required"
    assert environ["wsgi.input"].bytes_read == 0


@pytest.mark.parametrize(
    "path",
    ["/api/v1/topics/or%00ders", "/api/v1/groups/g%00", "/api/v1/catalog/domains/a%00", "/api/v1/topics?x=%00"],
)
def test_a_nul_character_in_an_api_url_is_400_naming_the_part(api, path):
    response = api.get(path)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "nul_character"
    assert error["details"]["errors"][0]["field"] == ("query" if "?" in path else "path")


def test_a_nul_character_in_a_registry_url_is_400_in_confluents_envelope(registry):
    response = registry.get("/subjects/a%00b/versions")
    assert response.status_code == 400
    assert response.json()["error_code"] == 400 and "NUL" in response.json()["message"]


def test_a_nul_character_in_a_page_url_is_a_plain_400(admin_client):
    response = admin_client.get("/catalog/services/a%00b/")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


# -- through granian, the server `make run` starts ------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
SERVED_LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def served(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[int]:
    """granian serving config.wsgi against this run's test database, with a 64 KiB limit; its port."""
    from django.db import connection

    from core.management.commands.run_eventline import web_server_command, web_server_env

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with django_db_blocker.unblock():
        database = str(connection.settings_dict["NAME"])
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "EVENTLINE_TEST_DB_NAME": database,
        "EVENTLINE_MAX_REQUEST_BYTES": str(SERVED_LIMIT),
        "EVENTLINE_APPEND_WRITER": "false",
        "EVENTLINE_WARM_CACHES": "false",
    }
    log = tmp_path_factory.mktemp("granian") / "server.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            web_server_command("127.0.0.1", port, workers=1, threads=4),
            cwd=ROOT,
            env=web_server_env(env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90  # a loaded machine starts Django slowly
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)  # noqa: S310 - our own server
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def send_chunked(port: int, path: str, pieces: list[bytes], **headers: str) -> tuple[int, bytes]:
    """POST `pieces` as HTTP/1.1 chunks (no Content-Length), as curl does for a body from a pipe.
    A server may answer and stop reading before the whole body is sent: the answer is read anyway."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + chunks + b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


@pytest.mark.slow
def test_granian_hands_a_chunked_registration_to_the_registry_in_full(served, transactional_db):
    from core.services import api_key_create

    key_id, _, secret = api_key_create(service_name="registry-user", scopes=["registry:write"])[1].partition(".")
    schema = '{"type": "object", "properties": {"note": {"type": "string", "description": "%s"}}}' % ("n" * 40_000)
    body = b'{"schemaType": "JSON", "schema": ' + dumps(schema) + b"}"
    status, answer = send_chunked(
        served,
        "/registry/subjects/notes-value/versions",
        [body[start : start + 1000] for start in range(0, len(body), 1000)],
        **{
            "Content-Type": "application/vnd.schemaregistry.v1+json",
            "Authorization": "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode(),
        },
    )
    assert status == 200, answer
    assert loads(answer)["version"] == 1


@pytest.mark.slow
def test_granian_refuses_a_chunked_body_that_grows_past_the_limit_with_413(served, transactional_db):
    from core.services import api_key_create

    token = api_key_create(service_name="reader", scopes=["consume:orders"])[1]
    status, answer = send_chunked(
        served,
        "/api/v1/groups/g/offsets",
        [b"[" * 1024] * (SERVED_LIMIT // 1024 + 8),
        **{"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert status == 413
    assert loads(answer)["error"]["details"] == {"max_bytes": SERVED_LIMIT}


def test_a_query_parameter_given_twice_is_422_naming_it_on_the_native_api_only(api, make_topic):
    make_topic("orders")
    refused = api.client.get("/api/v1/catalog/event-types/?tag=a&tag=b")
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["errors"] == [
        {"field": "tag", "reason": "is given 2 times; every query parameter takes one value"}
    ]
    assert api.client.get("/api/v1/catalog/event-types/?tag=a&domain=b").status_code == 200
    assert api.client.get("/registry/subjects?deleted=true&deleted=false").status_code == 200
