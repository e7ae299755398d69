"""The login lock-out (django-axes) through the real login form, as a browser uses it: the
form is fetched, its CSRF token sent back with each attempt. After ``AXES_FAILURE_LIMIT``
failures the account is locked from that address; the page says so in the visitor's
language (Chinese or English); the right password is refused while the lock lasts; other
accounts sign in as usual. (tests/portal/test_views.py has the finer rules: the reset on
success, every spelling of the account.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD

if TYPE_CHECKING:
    # what the test client answers (a class of django-stubs only, hence the guard)
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"
LOCKED = {
    "zh-hans": ("账号已锁定", "登录失败次数过多", "锁定 15 分钟"),
    "en": ("Account locked", "Too many failed sign-in attempts", "blocked for 15 minutes"),
}


def _attempt(client: Client, username: str, password: str) -> TestResponse:
    """Fetch the form (the CSRF cookie) and send it back filled in, with its token."""
    form = client.get(LOGIN_URL)
    assert form.status_code == 200
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    return client.post(
        LOGIN_URL, {"username": username, "password": password, "csrfmiddlewaretoken": token}
    )


@pytest.mark.parametrize("language", sorted(LOCKED))
def test_failures_lock_the_account_with_a_message_in_the_visitors_language(
    employee, colleague, language: str
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    limit = settings.AXES_FAILURE_LIMIT
    answers = [_attempt(browser, "zhangwei", f"wrong-{i}").status_code for i in range(limit)]
    assert answers == [200] * (limit - 1) + [429], "the limit-th failure locks"

    locked = _attempt(browser, "zhangwei", PASSWORD)
    assert locked.status_code == 429, "the right password is refused during the lock"
    assert "_auth_user_id" not in browser.session
    page = locked.content.decode()
    for text in LOCKED[language]:
        assert text in page
    assert f'lang="{language}"' in page

    other = Client(enforce_csrf_checks=True)
    assert _attempt(other, "wangfang", PASSWORD).status_code == 302
    assert other.session["_auth_user_id"] == str(colleague.pk)
