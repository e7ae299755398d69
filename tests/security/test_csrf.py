"""CSRF: a signed-in browser session that sends POST, PUT, PATCH or DELETE without the CSRF
token is refused (403, the CSRF failure) at every address of the permission matrix, and
nothing changes; so is the login form. The API with a session needs the token too; with an
OAuth2 bearer token it does not (no cookie is involved).

Each address is sent by a persona who may act there (the permission matrix says who), so
that the refusal is the CSRF check's and not a permission's. The OAuth2 endpoints that
authenticate the client application (token, revoke, introspect) take no cookie and are
exempt by design; they are checked to be the only exempt ones.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pytest
from django.conf import settings
from django.test import Client
from oauth2_provider.models import Application

from portal.models import ClientScopes, User
from tests.factories import PASSWORD
from tests.security.test_permission_matrix import (
    CSRF_TOKEN,
    ROWS,
    Row,
    state,
    url_patterns,
    visit,
)
from tests.security.world import LEAVE, World
from workflow.models import ProcessInstance

if TYPE_CHECKING:
    # what the test client answers (a class of django-stubs only, hence the guard)
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# They authenticate the client application by its credentials in the request, never by a
# cookie, so a forged cross-site request has nothing to ride on (RFC 6749 token endpoint).
EXEMPT = {
    "oauth2_provider:token": "client credentials in the request, no cookie",
    "oauth2_provider:revoke-token": "client credentials in the request, no cookie",
    "oauth2_provider:introspect": "a bearer token or client credentials, no cookie",
    # the ERP's status webhooks: an HMAC signature of the body with a shared secret, a
    # timestamp and a one-time delivery id (tests/erp_bridge/test_webhooks.py), no cookie
    "erp_bridge:webhook": "an HMAC signature of the body, no cookie",
}
CLIENT_SECRET = "csrf-test-client-secret-0123456789"  # a fake secret of a test application


def _addresses() -> list[tuple[Row, str]]:
    """Each address of the matrix once (its first row), with who sends it: someone the
    matrix lets act there, else the administrator."""
    seen: dict[str, tuple[Row, str]] = {}
    for row in ROWS:
        key = f"{row.name}[{row.variant}]"
        actor = sorted(row.acts)[0] if row.acts and "anonymous" not in row.acts else "admin"
        if key not in seen or (row.method != "GET" and seen[key][0].method == "GET"):
            seen[key] = (row, actor)
    return [entry for entry in seen.values() if not entry[0].name.startswith("admin:")]


ADDRESSES = _addresses()


def _session(world: World, persona: str) -> Client:
    """The persona's browser as a forged cross-site request finds it: the session and the
    CSRF cookies are sent along, but the token itself (which the other site cannot read) is
    not in the request."""
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[persona]
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_TOKEN
    return client


def _is_csrf_failure(response: TestResponse) -> bool:
    content = response.content.decode(errors="replace")
    return response.status_code == 403 and "CSRF" in content


@pytest.mark.parametrize(
    ("row", "persona"), ADDRESSES, ids=[f"{row.id.rsplit('-', 1)[0]}" for row, _p in ADDRESSES]
)
def test_a_session_without_the_token_is_refused_and_nothing_changes(
    world: World, row: Row, persona: str
) -> None:
    client = _session(world, persona)
    url = row.url(world)
    before = state()
    for method in UNSAFE:
        response = visit(client, row, world, method=method, csrf=False)
        if row.name in EXEMPT:
            assert not _is_csrf_failure(response), f"{method} {url}: exempt, yet refused"
            continue
        assert _is_csrf_failure(response), (
            f"{method} {url} as {persona} without the CSRF token: {response.status_code}"
        )
    assert state() == before, f"{url}: a request without the CSRF token changed the database"


def test_only_the_oauth_endpoints_that_authenticate_the_client_are_exempt() -> None:
    """No other view switches the CSRF check off. (DRF's views are exempt from the middleware
    and check the token themselves for a session, which the test above proves.)"""
    exempt = {
        name
        for name, pattern in url_patterns().items()
        if getattr(pattern.callback, "csrf_exempt", False) and not hasattr(pattern.callback, "cls")
    }
    assert exempt == set(EXEMPT)


def test_the_login_form_without_the_token_signs_nobody_in(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "zhangwei", "password": PASSWORD})
    assert _is_csrf_failure(response)
    assert "_auth_user_id" not in client.session
    # with the token the form's own answer comes back: signed in
    client.get("/accounts/login/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        "/accounts/login/",
        {"username": "zhangwei", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(world.users["employee"].pk)


def test_the_api_with_a_session_needs_the_token(world: World) -> None:
    client = _session(world, "employee")
    before = ProcessInstance.objects.count()
    refused = client.post(
        "/api/v1/instances/", {"process_key": LEAVE}, content_type="application/json"
    )
    assert _is_csrf_failure(refused)
    assert refused.json()["error"]["code"] == "permission_denied"
    assert ProcessInstance.objects.count() == before


def test_the_api_with_a_bearer_token_needs_no_csrf_token(world: World) -> None:
    employee: User = world.users["employee"]
    app = Application.objects.create(
        name="CSRF test",
        user=employee,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=CLIENT_SECRET,
    )
    ClientScopes.objects.create(application=app, scopes="read write")
    basic = base64.b64encode(f"{app.client_id}:{CLIENT_SECRET}".encode()).decode()
    issued = Client(enforce_csrf_checks=True).post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "read write"},
        headers={"Authorization": f"Basic {basic}"},
        secure=True,
    )
    assert issued.status_code == 200, issued.content
    bearer = Client(
        enforce_csrf_checks=True,
        headers={"Authorization": f"Bearer {issued.json()['access_token']}"},
    )
    before = ProcessInstance.objects.count()
    started = bearer.post(
        "/api/v1/instances/", {"process_key": LEAVE}, content_type="application/json"
    )
    assert started.status_code == 201, started.content
    assert ProcessInstance.objects.count() == before + 1
