"""Registry fixtures: a client speaking Confluent's content type with an API key, and helpers that
register schemas through the real API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from core.jsonutil import dumps

SR_JSON = "application/vnd.schemaregistry.v1+json"



class Registry:
    """Talks to /registry/ like Confluent's clients: vnd.schemaregistry JSON, HTTP Basic key auth."""

    def __init__(self, token: str | None) -> None:
        self.client = APIClient()
        self.headers: dict[str, str] = {}
        if token:
            import base64

            key_id, _, secret = token.partition(".")
            basic = base64.b64encode(f"{key_id}:{secret}".encode()).decode()
            self.headers["HTTP_AUTHORIZATION"] = f"Basic {basic}"

    def request(self, method: str, path: str, body: Any = None, content_type: str = SR_JSON, **headers: str) -> Any:
        data = body if isinstance(body, (bytes, str)) else (b"" if body is None else dumps(body))
        return self.client.generic(
            method, "/registry" + path, data, content_type=content_type, **self.headers, **headers
        )

    def get(self, path: str, **headers: str) -> Any:
        return self.request("GET", path, **headers)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, body, **kwargs)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def register(self, subject: str, schema: Any, *, references: list | None = None, **query: str) -> Any:
        """POST /subjects/{s}/versions with a JSON schema (dict or text); returns the response."""
        body: dict[str, Any] = {
            "schemaType": "JSON",
            "schema": schema if isinstance(schema, str) else dumps(schema).decode(),
        }
        if references:
            body["references"] = references
        suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
        return self.post(f"/subjects/{subject}/versions{suffix}", body)

    def registered_id(self, subject: str, schema: Any, **kwargs: Any) -> int:
        response = self.register(subject, schema, **kwargs)
        assert response.status_code == 200, response.content
        return response.json()["id"]


@pytest.fixture
def make_registry(db) -> Callable[..., Registry]:
    from core.services import api_key_create

    def make(*scopes: str, service: str = "registry-user") -> Registry:
        _, token = api_key_create(service_name=service, scopes=list(scopes) or ["registry:write"])
        return Registry(token)

    return make


@pytest.fixture
def registry(make_registry) -> Registry:
    """A client whose key may write to the registry."""
    return make_registry("registry:write")
