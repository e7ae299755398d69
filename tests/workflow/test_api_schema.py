"""The OpenAPI schema (/api/schema/) and its documentation pages (/api/docs/, /api/redoc/)."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from openapi_spec_validator import validate

from portal.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


@pytest.fixture
def client(client: Client, employee: User) -> Client:
    """The schema and its documentation are for signed-in people (and API clients)."""
    client.force_login(employee, backend="portal.backends.UsernameOrEmployeeNoBackend")
    return client


def test_the_schema_and_its_pages_need_a_signed_in_person() -> None:
    anonymous = Client()
    assert anonymous.get("/api/schema/?format=json").status_code == 401
    for page in ("/api/docs/", "/api/redoc/"):
        answer = anonymous.get(page)
        assert answer.status_code == 302
        assert answer["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_documentation_pages_run_no_inline_script(client: Client, page: str) -> None:
    """Their Content-Security-Policy allows scripts from the portal only: every <script>
    has a src (Swagger UI's start-up script comes from the page's own address)."""
    answer = client.get(page)
    assert "script-src 'self'" in answer["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>", answer.content.decode())
    assert scripts and all("src=" in attributes for attributes in scripts), scripts
    if page == "/api/docs/":
        start = client.get("/api/docs/?script=")
        assert start.status_code == 200
        assert start["Content-Type"].startswith("application/javascript")
        assert "SwaggerUIBundle" in start.content.decode()


def _schema(client: Client) -> dict[str, Any]:
    answer = client.get("/api/schema/?format=json")
    assert answer.status_code == 200
    return json.loads(answer.content)


def test_the_schema_generates_without_a_warning() -> None:
    out = io.StringIO()
    # --fail-on-warn turns every warning (an undocumented response, an unknown type ...) into
    # an error; --validate checks the result against the OpenAPI 3 JSON schema.
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert out.getvalue().startswith("openapi: 3.0")


def test_the_schema_is_a_valid_openapi_document(client) -> None:
    schema = _schema(client)
    validate(schema)  # raises on any problem: unresolved $ref, undeclared path parameter ...
    assert schema["openapi"].startswith("3.")


def test_every_operation_is_described_with_its_errors(client) -> None:
    schema = _schema(client)
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) >= 39
    for path, method, operation in operations:
        assert path.startswith("/api/v1/"), path
        assert operation.get("summary"), (path, method)
        responses = operation["responses"]
        for status in ("401", "403", "429"):
            assert responses[status]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }, (path, method, status)
        assert any(code.startswith("2") for code in responses), (path, method)


def test_scopes_and_flows_are_in_the_schema(client) -> None:
    schema = _schema(client)
    oauth2 = schema["components"]["securitySchemes"]["oauth2"]
    assert set(oauth2["flows"]) == {"authorizationCode", "clientCredentials"}
    assert oauth2["flows"]["clientCredentials"]["tokenUrl"] == "/o/token/"
    assert set(oauth2["flows"]["authorizationCode"]["scopes"]) == {"read", "write", "todo"}

    def scopes(path: str, method: str) -> list[str]:
        [found] = [
            entry["oauth2"]
            for entry in schema["paths"][path][method]["security"]
            if "oauth2" in entry
        ]
        return found

    assert scopes("/api/v1/tasks/", "get") == ["read"]
    assert scopes("/api/v1/tasks/{task_id}/approve", "post") == ["write"]
    assert scopes("/api/v1/external-tasks/{source}/{external_id}", "put") == ["todo"]


def test_the_error_body_is_documented(client) -> None:
    schema = _schema(client)
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["properties"]) == {"code", "message", "fields", "problems"}
    assert set(error["required"]) == {"code", "message"}


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_documentation_pages_load_nothing_from_outside(client, page) -> None:
    answer = client.get(page)
    assert answer.status_code == 200
    html = answer.content.decode()
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert assets, html
    for asset in assets:
        assert asset.startswith("/"), asset  # served by us (sidecar static files)
    # no address of a CDN anywhere, scripts included (not a bare "cdn": the page carries a
    # random CSRF token, which may contain those letters)
    assert not re.search(r"(?:https?:)?//[^\s\"'<>]*cdn", html, re.IGNORECASE)
    assert "/static/drf_spectacular_sidecar/" in html
    assert "/api/schema/" in html or "/api/docs/?script" in html  # Swagger: in its script
