"""OAuth2 (django-oauth-toolkit at /o/): client credentials acting as the application's
user, the authorization code flow with PKCE through the browser, and scopes."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client
from oauth2_provider.models import AccessToken, Application

from portal.models import ClientScopes, User
from workflow.models import ExternalTask

pytestmark = pytest.mark.django_db

SECRET = "integration-secret-0123456789"
REDIRECT = "https://app.example.com/callback"


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def _pusher(user: User) -> User:
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="workflow", codename="push_external_tasks")
    )
    return user


def _machine_app(
    user: User | None, name: str = "ERP", scopes: str = "read write todo"
) -> Application:
    app = Application.objects.create(
        name=name,
        user=user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=SECRET,  # stored hashed; we keep the plain text to authenticate
    )
    if scopes:
        ClientScopes.objects.create(application=app, scopes=scopes)
    return app


def _client_credentials(app: Application, scope: str) -> dict:
    basic = base64.b64encode(f"{app.client_id}:{SECRET}".encode()).decode()
    answer = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": scope},
        HTTP_AUTHORIZATION=f"Basic {basic}",
        secure=True,
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def _stored(token: str) -> AccessToken:
    """The row of a token: stored hashed (RFC 9700), found by its checksum."""
    row = AccessToken.objects.get(token_checksum=hashlib.sha256(token.encode()).hexdigest())
    assert token not in (row.token or "")
    return row


def _bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


PUSH = {
    "assignee": "zhangwei",
    "title": "PO-7",
    "url": "https://erp.example.com/po/7",
    "source_updated_at": "2026-03-02T09:00:00+08:00",
}


def test_client_credentials_act_as_the_applications_user(employee, outsider) -> None:
    app = _machine_app(_pusher(outsider))
    token = _client_credentials(app, "read todo")
    assert token["token_type"] == "Bearer"
    assert set(token["scope"].split()) == {"read", "todo"}
    assert _stored(token["access_token"]).user is None

    client = _bearer(token["access_token"])
    pushed = client.put("/api/v1/external-tasks/erp/PO-7", PUSH, content_type="application/json")
    assert pushed.status_code == 201, pushed.json()
    assert ExternalTask.objects.get().assignee == employee

    # the application's user sees what that user may see: liuyang has no instance
    listed = client.get("/api/v1/instances/")
    assert listed.status_code == 200
    assert listed.json()["results"] == []


def test_client_credentials_take_the_users_permissions(employee, colleague) -> None:
    app = _machine_app(colleague)  # a plain employee: may not push
    token = _client_credentials(app, "todo")["access_token"]
    answer = _bearer(token).put(
        "/api/v1/external-tasks/erp/PO-7", PUSH, content_type="application/json"
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "permission_denied"
    assert ExternalTask.objects.count() == 0


def test_an_application_without_a_user_is_refused(db) -> None:
    app = _machine_app(None)
    token = _client_credentials(app, "read")["access_token"]
    answer = _bearer(token).get("/api/v1/instances/")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "client_without_user"
    assert answer["WWW-Authenticate"].startswith("Bearer")


def test_an_inactive_user_is_refused(outsider) -> None:
    token = _client_credentials(_machine_app(outsider), "read")["access_token"]
    outsider.is_active = False
    outsider.save()
    answer = _bearer(token).get("/api/v1/instances/")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "authentication_failed"


def test_an_unknown_token_is_401_with_a_bearer_challenge(db) -> None:
    answer = _bearer("not-a-token").get("/api/v1/instances/")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"
    assert answer["WWW-Authenticate"].startswith("Bearer")


def test_a_read_token_may_read_but_not_write(employee) -> None:
    employee.preferred_language = "en"
    employee.save()
    token = _client_credentials(_machine_app(employee), "read")["access_token"]
    client = _bearer(token)
    assert client.get("/api/v1/tasks/").status_code == 200
    answer = client.post(
        "/api/v1/instances/", {"process_key": "x"}, content_type="application/json"
    )
    assert answer.status_code == 403
    assert answer.json()["error"] == {
        "code": "insufficient_scope",
        "message": "The access token's scope does not allow this request.",
    }


def test_pushing_needs_the_todo_scope_even_with_write(outsider) -> None:
    token = _client_credentials(_machine_app(_pusher(outsider)), "read write")["access_token"]
    answer = _bearer(token).put(
        "/api/v1/external-tasks/erp/PO-7", PUSH, content_type="application/json"
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "insufficient_scope"


def test_a_session_is_not_limited_by_scopes(login, employee, outsider) -> None:
    answer = login(_pusher(outsider)).put(
        "/api/v1/external-tasks/erp/PO-7", PUSH, content_type="application/json"
    )
    assert answer.status_code == 201


def test_a_token_speaks_the_users_language(outsider) -> None:
    token = _client_credentials(_machine_app(_pusher(outsider)), "todo")["access_token"]
    outsider.preferred_language = "zh-hans"
    outsider.save()
    chinese = _bearer(token).put(
        "/api/v1/external-tasks/erp/PO-7", {}, content_type="application/json"
    )
    outsider.preferred_language = "en"
    outsider.save()
    english = _bearer(token).put(
        "/api/v1/external-tasks/erp/PO-7", {}, content_type="application/json"
    )
    assert english.json()["error"]["fields"]["title"] == ["This field is required."]
    # DRF's own catalogue translates its messages
    assert chinese.json()["error"]["fields"]["title"] == ["该字段是必填项。"]


# --- authorization code with PKCE -------------------------------------------------------------


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _browser_app() -> Application:
    app = Application.objects.create(
        name="Mobile inbox",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT,
    )
    ClientScopes.objects.create(application=app, scopes="read write")
    return app


def _authorize(client: Client, app: Application, challenge: str, scope: str) -> str:
    """The employee consents in the browser; the code the redirect carries."""
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "s-42",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = client.get("/o/authorize/", params, secure=True)
    assert page.status_code == 200
    assert b"Mobile inbox" in page.content
    consent = client.post("/o/authorize/", {**params, "allow": "Authorize"}, secure=True)
    assert consent.status_code == 302, consent.content
    location = urlsplit(consent["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["s-42"]
    assert query["iss"]  # RFC 9207: the client can tell which server answered
    return query["code"][0]


def test_authorization_code_with_pkce(login, employee) -> None:
    app = _browser_app()
    verifier, challenge = _pkce()
    code = _authorize(login(employee), app, challenge, "read write")

    token = Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": app.client_id,
            "code_verifier": verifier,
        },
        secure=True,
    )
    assert token.status_code == 200, token.content
    body = token.json()
    assert set(body["scope"].split()) == {"read", "write"}
    assert _stored(body["access_token"]).user == employee

    answer = _bearer(body["access_token"]).get("/api/v1/tasks/?tab=todo")
    assert answer.status_code == 200
    assert answer.json() == {"results": [], "next": None}
    # a token in the address (logs, Referer) is not accepted
    in_query = Client().get(f"/api/v1/tasks/?access_token={body['access_token']}")
    assert in_query.status_code == 401


def test_a_wrong_code_verifier_gets_no_token(login, employee) -> None:
    app = _browser_app()
    _verifier, challenge = _pkce()
    code = _authorize(login(employee), app, challenge, "read")
    answer = Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": app.client_id,
            "code_verifier": secrets.token_urlsafe(64),
        },
        secure=True,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert AccessToken.objects.count() == 0


def test_pkce_is_required(login, employee) -> None:
    app = _browser_app()
    answer = login(employee).get(
        "/o/authorize/",
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": REDIRECT,
            "scope": "read",
        },
        secure=True,
    )
    # no code_challenge: DOT refuses to issue a code (sent back to the client as an error)
    assert answer.status_code == 302
    assert "error=invalid_request" in answer["Location"]


def test_self_service_application_pages_are_not_mounted(login, employee) -> None:
    assert login(employee).get("/o/applications/", secure=True).status_code == 404


# --- each application's allowed scopes, and the token endpoint's throttle (issue 13, item 7) --


def test_a_client_asking_for_more_scopes_gets_less(employee, outsider) -> None:
    app = _machine_app(_pusher(outsider), scopes="todo")
    token = _client_credentials(app, "read write todo")
    assert token["scope"] == "todo"  # RFC 6749 3.3: the token says what was granted
    client = _bearer(token["access_token"])
    assert client.get("/api/v1/instances/").status_code == 403  # no read scope
    pushed = client.put("/api/v1/external-tasks/erp/PO-7", PUSH, content_type="application/json")
    assert pushed.status_code == 201


def test_an_application_without_allowed_scopes_gets_the_default_only(outsider) -> None:
    app = _machine_app(outsider, scopes="")
    assert _client_credentials(app, "read write todo")["scope"] == "read"


def test_asking_only_for_scopes_one_may_not_have_is_invalid_scope(outsider) -> None:
    app = _machine_app(outsider, scopes="read")
    basic = base64.b64encode(f"{app.client_id}:{SECRET}".encode()).decode()
    answer = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "todo"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
        secure=True,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"
    assert not AccessToken.objects.exists()


def test_allowed_scopes_are_checked_when_saved(outsider) -> None:
    from django.core.exceptions import ValidationError

    app = _machine_app(outsider, scopes="")
    with pytest.raises(ValidationError) as refused:
        ClientScopes(application=app, scopes="read admin").full_clean()
    assert "admin" in str(refused.value)


def test_wrong_client_secrets_are_slowed_down(settings, outsider) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "oauth2_token": "5/min",
        },
    }
    app = _machine_app(outsider)
    wrong = base64.b64encode(f"{app.client_id}:not-the-secret".encode()).decode()
    answers = [
        Client()
        .post(
            "/o/token/",
            {"grant_type": "client_credentials", "scope": "read"},
            HTTP_AUTHORIZATION=f"Basic {wrong}",
            secure=True,
        )
        .status_code
        for _ in range(8)
    ]
    assert answers[:5] == [401] * 5
    assert answers[5:] == [429] * 3
    # the right secret from the same address waits too, until the window has passed
    basic = base64.b64encode(f"{app.client_id}:{SECRET}".encode()).decode()
    blocked = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "read"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
        secure=True,
    )
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert blocked.json()["error"] == "slow_down"
