"""The API gateway: JSON or XML by content negotiation (answers, errors and bodies), XML
parsed safely (no entity expansion, no external entity), per-client rate limits for OAuth2
machine callers, and the inbound call log's listeners."""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from defusedxml import ElementTree
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.test import Client
from oauth2_provider.models import Application

from portal import registry
from portal.api import XMLRenderer
from portal.models import ClientScopes, CodeRule, User
from workflow.models import ExternalTask

pytestmark = pytest.mark.django_db

XML = "application/xml"


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


def _xml(response: Any) -> Any:
    assert response["Content-Type"].startswith(XML), response["Content-Type"]
    return ElementTree.fromstring(response.content)


# --- content negotiation ------------------------------------------------------------------------


def test_the_api_answers_xml_when_asked(login, employee) -> None:
    response = login(employee).get("/api/v1/dictionary/", HTTP_ACCEPT=XML)
    assert response.status_code == 200
    root = _xml(response)
    assert root.tag == "root"
    keys = [item.findtext("key") for item in root.findall("list-item")]
    assert "uscc" in keys
    currency = next(i for i in root.findall("list-item") if i.findtext("key") == "currency")
    assert currency.findtext("unique") == "false"


def test_the_api_answers_json_by_default(login, employee) -> None:
    client = login(employee)
    for accept in ("", "*/*", "application/json"):
        headers = {"HTTP_ACCEPT": accept} if accept else {}
        response = client.get("/api/v1/dictionary/", **headers)
        assert response["Content-Type"].startswith("application/json")
        assert isinstance(response.json(), list)


def test_errors_come_out_as_xml_too(client, login, employee) -> None:
    unauthenticated = client.get("/api/v1/dictionary/", HTTP_ACCEPT=XML)
    assert unauthenticated.status_code == 401
    assert _xml(unauthenticated).findtext("error/code") == "not_authenticated"

    signed_in = login(employee)
    missing = signed_in.get("/api/v1/no-such-thing", HTTP_ACCEPT=XML)
    assert missing.status_code == 404
    assert _xml(missing).findtext("error/code") == "not_found"

    invalid = signed_in.post(
        "/api/v1/dictionary/check/",
        "<root><value>CNY</value></root>",
        content_type=XML,
        HTTP_ACCEPT=XML,
    )
    assert invalid.status_code == 400
    error = _xml(invalid).find("error")
    assert error.findtext("code") == "invalid"
    assert error.find("fields/key/list-item").text, "the missing field is named"


def test_an_xml_body_is_read_as_text(login, employee) -> None:
    """A code with leading zeros keeps them (djangorestframework-xml alone makes "0012" 12)."""
    CodeRule.objects.filter(key="cost_center").update(pattern=r"\d{4}", example="0100")
    response = login(employee).post(
        "/api/v1/dictionary/check/",
        "<root><key>cost_center</key><value>0012</value></root>",
        content_type=XML,
    )
    assert response.status_code == 200
    assert response.json() == {"valid": True, "message": ""}


def test_any_answer_renders_as_well_formed_xml() -> None:
    """Keys that are no XML names (a leading digit, a space, "xml..."), characters XML 1.0
    cannot carry, booleans and numbers: still a document any XML parser reads."""
    data = {
        "1st": [1, 2.5],
        "a b": True,
        "xmlns": None,
        "名称": "x\x01y\x1fz",
        "ok": False,
    }
    root = ElementTree.fromstring(XMLRenderer().render(data))
    items = {item.get("key"): item for item in root.findall("item")}
    assert set(items) == {"1st", "a b", "xmlns"}
    assert [i.text for i in items["1st"].findall("list-item")] == ["1", "2.5"]
    assert items["a b"].text == "true"
    assert root.findtext("名称") == "xyz"
    assert root.findtext("ok") == "false"


# --- XML that must not be parsed ------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<root><assignee>zhangwei</assignee><title>&lol9;</title>
<url>https://erp.example.com/po/7</url>
<source_updated_at>2026-03-02T09:00:00+08:00</source_updated_at></root>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE root [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<root><assignee>zhangwei</assignee><title>&secret;</title>
<url>https://erp.example.com/po/7</url>
<source_updated_at>2026-03-02T09:00:00+08:00</source_updated_at></root>"""

GOOD_PUSH = """<?xml version="1.0" encoding="utf-8"?>
<root><assignee>zhangwei</assignee><title>采购订单 PO-7 待确认</title>
<url>https://erp.example.com/po/7</url>
<source_updated_at>2026-03-02T09:00:00+08:00</source_updated_at></root>"""


def _machine_app(user: User | None, *, rate: str = "", scopes: str = "read write todo") -> Any:
    """An OAuth2 client-credentials application acting as ``user``; returns (app, secret)."""
    secret = secrets.token_urlsafe(24)
    app = Application.objects.create(
        name=f"ERP {secrets.token_hex(3)}",
        user=user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
    )
    ClientScopes.objects.create(application=app, scopes=scopes, rate=rate)
    return app, secret


def _bearer(app: Application, secret: str, scope: str = "read todo") -> Client:
    basic = base64.b64encode(f"{app.client_id}:{secret}".encode()).decode()
    answer = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": scope},
        HTTP_AUTHORIZATION=f"Basic {basic}",
        secure=True,
    )
    assert answer.status_code == 200, answer.content
    return Client(HTTP_AUTHORIZATION=f"Bearer {answer.json()['access_token']}")


@pytest.fixture
def pusher(employee: User, outsider: User) -> Client:
    """The ERP pushing to-dos into the unified inbox with client credentials (as liuyang, who
    may push); zhangwei is the employee the to-dos are for."""
    outsider.user_permissions.add(
        Permission.objects.get(content_type__app_label="workflow", codename="push_external_tasks")
    )
    app, secret = _machine_app(outsider)
    return _bearer(app, secret)


def test_an_xml_body_is_taken_by_a_write_endpoint(pusher, employee) -> None:
    answer = pusher.put(
        "/api/v1/external-tasks/erp/PO-7", GOOD_PUSH.encode(), content_type=XML, HTTP_ACCEPT=XML
    )
    assert answer.status_code == 201, answer.content
    task = ExternalTask.objects.get()
    assert (task.assignee, task.title) == (employee, "采购订单 PO-7 待确认")
    assert _xml(answer).tag == "root"


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["bomb", "external"])
def test_xml_with_a_dtd_is_refused_and_changes_nothing(pusher, body: str) -> None:
    answer = pusher.put(
        "/api/v1/external-tasks/erp/PO-7", body.encode(), content_type=XML, HTTP_ACCEPT=XML
    )
    assert answer.status_code == 400
    error = _xml(answer).find("error")
    assert error.findtext("code") == "parse_error"
    assert "DTD" in error.findtext("message")
    assert "passwd" not in answer.content.decode(), "nothing of the declaration comes back"
    assert ExternalTask.objects.count() == 0


def test_xml_nested_too_deeply_is_a_parse_error(login, employee) -> None:
    body = "<root>" + "<a>" * 5000 + "x" + "</a>" * 5000 + "</root>"
    answer = login(employee).post("/api/v1/dictionary/check/", body, content_type=XML)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "parse_error"


def test_malformed_xml_is_a_parse_error(login, employee) -> None:
    answer = login(employee).post(
        "/api/v1/dictionary/check/", "<root><key>uscc</root>", content_type=XML
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "parse_error"


# --- per-client rate limits ---------------------------------------------------------------------


def _client_rate(settings: Any, rate: str) -> None:
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "client": rate}
    settings.REST_FRAMEWORK = rest


def test_a_client_over_its_own_rate_gets_429_with_retry_after(employee, outsider) -> None:
    busy_app, busy_secret = _machine_app(outsider, rate="2/min")
    other_app, other_secret = _machine_app(employee, rate="2/min")
    busy = _bearer(busy_app, busy_secret, "read")
    other = _bearer(other_app, other_secret, "read")
    assert [busy.get("/api/v1/dictionary/").status_code for _ in range(2)] == [200, 200]
    refused = busy.get("/api/v1/dictionary/")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    # the limit is the client's, not everyone's
    assert other.get("/api/v1/dictionary/").status_code == 200


def test_a_client_without_its_own_rate_gets_the_default(settings, outsider) -> None:
    _client_rate(settings, "3/hour")
    app, secret = _machine_app(outsider)
    caller = _bearer(app, secret, "read")
    answers = [caller.get("/api/v1/dictionary/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert int(caller.get("/api/v1/dictionary/")["Retry-After"]) > 60


def test_a_client_with_a_higher_rate_than_the_default_gets_it(settings, outsider) -> None:
    _client_rate(settings, "1/min")
    app, secret = _machine_app(outsider, rate="3/min")
    caller = _bearer(app, secret, "read")
    answers = [caller.get("/api/v1/dictionary/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]


def test_a_browser_session_is_not_counted_as_a_client(settings, login, employee) -> None:
    _client_rate(settings, "1/min")
    client = login(employee)
    assert [client.get("/api/v1/dictionary/").status_code for _ in range(3)] == [200, 200, 200]


@pytest.mark.parametrize("rate", ["fast", "10", "0/min", "10/week", "10 / min", "-1/min"])
def test_a_rate_that_is_not_one_is_refused_naming_the_field(outsider, rate: str) -> None:
    app, _ = _machine_app(outsider)
    row = ClientScopes.objects.get(application=app)
    row.rate = rate
    with pytest.raises(ValidationError) as excinfo:
        row.full_clean()
    assert set(excinfo.value.message_dict) == {"rate"}
    assert "120/min" in excinfo.value.message_dict["rate"][0]
    row.refresh_from_db()
    assert row.rate == ""


@pytest.mark.parametrize("rate", ["", "120/min", "5/s", "10000/day", "60/hour"])
def test_rates_drf_reads_are_accepted(outsider, rate: str) -> None:
    app, _ = _machine_app(outsider, rate=rate)
    ClientScopes.objects.get(application=app).full_clean()


def test_the_rate_is_edited_with_the_application_in_admin(login, superuser, outsider) -> None:
    app, _ = _machine_app(outsider, rate="120/min")
    page = login(superuser).get(f"/admin/oauth2_provider/application/{app.pk}/change/")
    assert page.status_code == 200
    assert 'name="allowed_scopes-0-rate"' in page.content.decode()
    assert 'value="120/min"' in page.content.decode()


# --- the inbound call log -------------------------------------------------------------------------


@pytest.fixture
def calls() -> Iterator[list[tuple[str, int, int]]]:
    seen: list[tuple[str, int, int]] = []

    def record(request: HttpRequest, status: int, duration_ms: int) -> None:
        seen.append((request.path, status, duration_ms))

    registry.api_call_listeners.register(registry.ApiCallListener("test-log", record))
    try:
        yield seen
    finally:
        registry.api_call_listeners.unregister("test-log")


def test_every_api_call_is_told_to_the_listeners(client, login, employee, calls) -> None:
    client.get("/api/v1/dictionary/")  # 401
    login(employee).get("/api/v1/no-such-thing")
    login(employee).get("/api/v1/dictionary/")
    assert [(path, status) for path, status, _ in calls] == [
        ("/api/v1/dictionary/", 401),
        ("/api/v1/no-such-thing", 404),
        ("/api/v1/dictionary/", 200),
    ]
    assert all(isinstance(ms, int) and ms >= 0 for _, _, ms in calls)


def test_pages_are_not_api_calls(login, employee, calls) -> None:
    assert login(employee).get("/dictionary/").status_code == 200
    assert calls == []


def test_a_failing_listener_never_breaks_the_answer(login, employee, calls, caplog) -> None:
    def broken(request: HttpRequest, status: int, duration_ms: int) -> None:
        raise RuntimeError("the log table is gone")

    # "a-" sorts before "test-log": the broken one runs first, the other one still runs
    registry.api_call_listeners.register(registry.ApiCallListener("a-broken", broken))
    try:
        with caplog.at_level(logging.ERROR, logger="portal.middleware"):
            response = login(employee).get("/api/v1/dictionary/")
    finally:
        registry.api_call_listeners.unregister("a-broken")
    assert response.status_code == 200
    assert [status for _, status, _ in calls] == [200]
    assert "a-broken" in caplog.text
    assert "the log table is gone" in caplog.text


def test_a_broken_rate_saved_behind_clean_falls_back_to_the_default(settings, outsider) -> None:
    _client_rate(settings, "2/min")
    app, secret = _machine_app(outsider)
    ClientScopes.objects.filter(application=app).update(rate="lots")
    caller = _bearer(app, secret, "read")
    answers = [caller.get("/api/v1/dictionary/").status_code for _ in range(3)]
    assert answers == [200, 200, 429]
