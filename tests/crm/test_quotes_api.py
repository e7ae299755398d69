"""The quotes API (/api/v1/crm/quotes/): create, list, detail, lines, submit, accept,
retry, as the owner and as people who may not see the account."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from crm.models import Account, Quote, QuoteStatus
from erp_bridge.models import OutboxMessage, Product
from erp_bridge.outbox import outbox_deliver_due
from portal.models import User
from tests.crm.quotes_fixtures import *  # noqa: F403  (the fixtures)
from tests.factories import english

pytestmark = pytest.mark.django_db
Login = Callable[[User], Client]


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _create(client: Client, account: Account, **line: str) -> dict[str, object]:
    body = {
        "account": account.pk,
        "lines": [{"product_code": "P0001", "quantity": "10", "discount": "5", **line}],
    }
    answer = client.post(reverse("crm-api:quote-list"), body, content_type="application/json")
    assert answer.status_code == 201, answer.content
    data: dict[str, object] = answer.json()
    return data


def test_create_list_detail_submit_accept_and_the_order(
    login: Login, employee: User, account: Account
) -> None:
    client = login(employee)
    made = _create(client, account)
    assert made["total"] == "12340.50" and made["discount"] == "5.00" and made["status"] == "draft"
    pk = made["id"]
    listed = client.get(reverse("crm-api:quote-list")).json()
    assert [q["id"] for q in listed["results"]] == [pk]
    submitted = client.post(reverse("crm-api:quote-submit", args=[pk]))
    assert submitted.status_code == 200 and submitted.json()["status"] == "approved"
    refused = client.post(
        reverse("crm-api:quote-accept", args=[pk]),
        {"confirmed": False},
        content_type="application/json",
    )
    assert refused.status_code == 400 and "confirmed" in refused.json()["error"]["fields"]
    accepted = client.post(
        reverse("crm-api:quote-accept", args=[pk]),
        {"confirmed": True},
        content_type="application/json",
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    outbox_deliver_due()
    detail = client.get(reverse("crm-api:quote-detail", args=[pk])).json()
    assert detail["status"] == "ordered" and detail["order"]["number"].startswith("SO")


def test_bad_lines_are_400_with_the_field_and_nothing_changes(
    login: Login, employee: User, account: Account
) -> None:
    client = login(employee)
    made = _create(client, account)
    answer = client.put(
        reverse("crm-api:quote-lines", args=[made["id"]]),
        {"lines": [{"product_code": "P0001", "quantity": "-2"}]},
        content_type="application/json",
    )
    assert answer.status_code == 400 and "lines" in answer.json()["error"]["fields"]
    assert str(Quote.objects.get().total) == "12340.50"
    answer = client.put(
        reverse("crm-api:quote-lines", args=[made["id"]]),
        {"lines": [{"product_code": "P0002", "quantity": "1"}]},
        content_type="application/json",
    )
    assert answer.status_code == 200 and answer.json()["total"] == "2680.00"


def test_a_refused_order_shows_the_refusal_and_is_retried(
    login: Login, employee: User, account: Account
) -> None:
    english(employee)
    client = login(employee)
    pk = _create(client, account)["id"]
    client.post(reverse("crm-api:quote-submit", args=[pk]))
    Product.objects.filter(code="P0001").update(active=False)
    client.post(
        reverse("crm-api:quote-accept", args=[pk]),
        {"confirmed": True},
        content_type="application/json",
    )
    outbox_deliver_due()
    detail = client.get(reverse("crm-api:quote-detail", args=[pk])).json()
    assert detail["status"] == "accepted"
    assert detail["order"]["refusal"] == "The ERP does not know one of the products."
    Product.objects.filter(code="P0001").update(active=True)
    retried = client.post(reverse("crm-api:quote-retry", args=[pk]))
    assert retried.status_code == 200
    assert client.post(reverse("crm-api:quote-retry", args=[pk])).status_code == 409
    outbox_deliver_due()
    assert client.get(reverse("crm-api:quote-detail", args=[pk])).json()["status"] == "ordered"


def test_an_outsider_gets_404_and_changes_nothing(
    login: Login, employee: User, outsider: User, account: Account
) -> None:
    pk = _create(login(employee), account)["id"]
    stranger = login(outsider)
    assert stranger.get(reverse("crm-api:quote-list")).json()["results"] == []
    assert stranger.get(reverse("crm-api:quote-detail", args=[pk])).status_code == 404
    for name in ("crm-api:quote-submit", "crm-api:quote-accept", "crm-api:quote-retry"):
        assert (
            stranger.post(reverse(name, args=[pk]), {}, content_type="application/json").status_code
            == 404
        )
    assert (
        stranger.put(
            reverse("crm-api:quote-lines", args=[pk]),
            {"lines": []},
            content_type="application/json",
        ).status_code
        == 404
    )
    made = stranger.post(
        reverse("crm-api:quote-list"),
        {"account": account.pk, "lines": [{"product_code": "P0001", "quantity": "1"}]},
        content_type="application/json",
    )
    assert made.status_code == 404
    assert Quote.objects.get().status == QuoteStatus.DRAFT and not OutboxMessage.objects.exists()
