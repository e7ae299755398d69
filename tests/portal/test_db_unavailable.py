"""A database that cannot be reached for a moment (restarting, failing over) is a 503 with
``Retry-After`` that says to try again, never a 500: on pages a plain page, in the API the
JSON error body in the caller's language; wherever the database was first needed (the
session read by a middleware, or a view). ``bench/faults.py --scenario pg-restart`` shows
it against a real restart."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from portal.api import RETRY_AFTER_SECONDS, exception_handler
from portal.models import User

SHUTTING_DOWN = OperationalError("FATAL:  the database system is shutting down")


@pytest.fixture
def signed_in(employee: User) -> Callable[[str], Client]:
    """``signed_in(language)``: the employee's browser, asking for ``language``, that gets
    the error page Django serves to visitors instead of the test client's exception."""

    def browser(language: str) -> Client:
        client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(employee, backend="portal.backends.UsernameOrEmployeeNoBackend")
        return client

    return browser


def _session_store_fails(error: Exception) -> AbstractContextManager[object]:
    return mock.patch("django.contrib.sessions.backends.db.SessionStore.load", side_effect=error)


def test_a_page_whose_session_cannot_be_read_is_the_plain_503_page(signed_in) -> None:
    browser = signed_in("zh-hans")
    with _session_store_fails(SHUTTING_DOWN):
        response = browser.get("/workflow/inbox/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "服务暂时不可用" in page and "Service unavailable" in page
    assert "Traceback" not in page and "OperationalError" not in page


def test_an_api_request_whose_session_cannot_be_read_is_the_json_503(signed_in) -> None:
    browser = signed_in("zh-hans")
    with _session_store_fails(InterfaceError("connection already closed")):
        response = browser.get("/api/v1/tasks/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == {
        "error": {"code": "service_unavailable", "message": "服务暂时不可用，请几秒钟后重试。"}
    }


def test_an_api_view_that_loses_the_database_answers_503_in_the_users_language(
    employee, signed_in
) -> None:
    employee.preferred_language = "en"
    employee.save(update_fields=["preferred_language"])
    browser = signed_in("zh-hans")
    with mock.patch("workflow.selectors.inbox.inbox_page", side_effect=SHUTTING_DOWN):
        response = browser.get("/api/v1/tasks/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == {
        "error": {
            "code": "service_unavailable",
            "message": "The service is unavailable for a moment. Please try again in a few "
            "seconds.",
        }
    }


def test_the_api_exception_handler_answers_database_errors_with_503() -> None:
    for error in (SHUTTING_DOWN, InterfaceError("connection already closed")):
        response = exception_handler(error, {})
        assert response is not None
        assert response.status_code == 503
        assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert response.data["error"]["code"] == "service_unavailable"


def test_any_other_crash_is_still_the_500_page(signed_in) -> None:
    browser = signed_in("zh-hans")
    with mock.patch("workflow.selectors.inbox.inbox_page", side_effect=RuntimeError("a bug")):
        response = browser.get("/api/v1/tasks/")
    assert response.status_code == 500
    assert "Retry-After" not in response
    assert "服务器错误" in response.content.decode()
