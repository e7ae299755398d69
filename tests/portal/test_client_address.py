"""Behind the reverse proxy (``BEHIND_PROXY``) the client's address is the proxy's last
X-Forwarded-For entry: the sign-in lock-out holds for a user name from one address, not from
everywhere, and a client cannot pick its own address by sending the header."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory, override_settings

from portal.backends import client_ip
from tests.factories import PASSWORD
from tests.portal.test_views import LOGIN_URL, signed_in_as

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("behind_proxy", "forwarded", "expected"),
    [
        (False, "", "10.0.0.9"),
        (False, "203.0.113.7", "10.0.0.9"),  # no proxy: the header is the client's own words
        (True, "203.0.113.7", "203.0.113.7"),
        (True, "1.2.3.4, 203.0.113.7", "203.0.113.7"),  # the client wrote 1.2.3.4 itself
        (True, "", "10.0.0.9"),
    ],
)
def test_the_client_address(behind_proxy: bool, forwarded: str, expected: str) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(BEHIND_PROXY=behind_proxy):
        assert client_ip(request) == expected


@override_settings(BEHIND_PROXY=True)
def test_behind_the_proxy_a_lock_out_holds_for_one_address(employee) -> None:
    attacker = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.66"}
    office = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "10.20.30.40"}
    client = Client()

    def sign_in(password: str, address: dict[str, Any]) -> int:
        data = {"username": "zhangwei", "password": password}
        return client.post(LOGIN_URL, data, **address).status_code

    for attempt in range(5):
        sign_in(f"wrong-{attempt}", attacker)
    assert sign_in(PASSWORD, attacker) == 429
    # the employee at the office, behind the same proxy, still signs in
    assert sign_in(PASSWORD, office) == 302
    assert signed_in_as(client) == employee.pk
