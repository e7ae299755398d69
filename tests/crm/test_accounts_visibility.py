"""Who sees an account, as each persona (tests/crm/accounts_fixtures.py): on its page, in
the list and the search, through the API and in the export. Whoever may not see it gets
404, never 403."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from crm.models import Account
from portal.models import User
from tests.crm.accounts_fixtures import *  # noqa: F403  (the fixtures)
from tests.crm.accounts_fixtures import SEES, make_account

pytestmark = pytest.mark.django_db

ALL = (*SEES, "outsider")


@pytest.mark.parametrize("persona", ALL)
def test_the_account_page(
    persona: str, personas: dict[str, User], acme: Account, login: Callable[[User], Client]
) -> None:
    answer = login(personas[persona]).get(reverse("crm:account", args=[acme.pk]))
    assert answer.status_code == (200 if persona in SEES else 404)
    if persona in SEES:
        assert "上海艾克米科技有限公司" in answer.content.decode()


@pytest.mark.parametrize("persona", ALL)
def test_the_api(
    persona: str, personas: dict[str, User], acme: Account, login: Callable[[User], Client]
) -> None:
    client = login(personas[persona])
    detail = client.get(reverse("crm-api:account-detail", args=[acme.pk]))
    contacts = client.get(reverse("crm-api:account-contacts", args=[acme.pk]))
    expected = 200 if persona in SEES else 404
    assert (detail.status_code, contacts.status_code) == (expected, expected)
    listed = client.get(reverse("crm-api:accounts"), {"q": "艾克米"}).json()["results"]
    assert [row["id"] for row in listed] == ([acme.pk] if persona in SEES else [])


@pytest.mark.parametrize("persona", ALL)
def test_the_list_and_the_search(
    persona: str, personas: dict[str, User], acme: Account, login: Callable[[User], Client]
) -> None:
    client = login(personas[persona])
    page = client.get(reverse("crm:accounts"), {"q": "科技"}).content.decode()
    assert ("上海艾克米科技有限公司" in page) == (persona in SEES)


def test_the_export_holds_only_what_one_sees(
    personas: dict[str, User], acme: Account, login: Callable[[User], Client]
) -> None:
    foreign = make_account(personas["outsider"], "财务部自己的客户")
    client = login(personas["owner"])
    book = load_workbook(io.BytesIO(client.get(reverse("crm:account_export")).content))
    names = [row[1] for row in book.active.iter_rows(min_row=2, values_only=True)]
    assert names == [acme.name]
    csv_text = client.get(reverse("crm:account_export"), {"format": "csv"})
    text = csv_text.content.decode("utf-8-sig")
    assert acme.code in text and foreign.code not in text
    admin = login(personas["sales_admin"])
    everything = load_workbook(io.BytesIO(admin.get(reverse("crm:account_export")).content))
    listed = {row[1] for row in everything.active.iter_rows(min_row=2, values_only=True)}
    assert listed == {acme.name, foreign.name}


def test_scopes_narrow_the_list(
    personas: dict[str, User], acme: Account, login: Callable[[User], Client]
) -> None:
    own = make_account(personas["team"], "王芳自己的客户")
    client = login(personas["team"])
    url = reverse("crm-api:accounts")
    ids = lambda scope: {r["id"] for r in client.get(url, {"scope": scope}).json()["results"]}  # noqa: E731
    assert ids("all") == {acme.pk, own.pk}
    assert ids("mine") == {own.pk}
    assert ids("team") == {acme.pk}
    head = login(personas["dept_head"])
    found = {r["id"] for r in head.get(url, {"scope": "department"}).json()["results"]}
    assert found == {acme.pk, own.pk}
