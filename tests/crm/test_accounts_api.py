"""The accounts and contacts API (/api/v1/crm/), the duplicate check and the merge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Account, AccountEvent, Contact
from portal.models import User
from tests.crm.accounts_fixtures import *  # noqa: F403  (the fixtures)
from tests.crm.accounts_fixtures import bad_uscc, make_account, uscc

pytestmark = pytest.mark.django_db


def _post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


def _patch(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.patch(url, body, content_type="application/json")


def test_create_then_read(employee: User, login: Callable[[User], Client]) -> None:
    client = login(employee)
    answer = _post(
        client,
        reverse("crm-api:accounts"),
        {
            "name": "深圳蓝海物流有限公司",
            "credit_code": uscc(11),
            "phone": "0755 1234 5678",
            "industry": "logistics",
        },
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["code"] == "C000001"
    assert body["phone"] == "075512345678"
    assert body["owner"] == "zhangwei"
    again = client.get(reverse("crm-api:account-detail", args=[body["id"]]))
    assert again.json()["name"] == "深圳蓝海物流有限公司"


def test_a_duplicate_answers_409_with_the_matches_unless_forced(
    employee: User, acme: Account, login: Callable[[User], Client]
) -> None:
    client = login(employee)
    url = reverse("crm-api:accounts")
    refused = _post(client, url, {"name": "其他名字", "credit_code": acme.credit_code})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "likely_duplicates"
    assert [(d["id"], d["reasons"]) for d in error["duplicates"]] == [(acme.pk, ["credit_code"])]
    assert Account.objects.count() == 1
    forced = _post(client, url, {"name": "上海艾克米科技", "force": True})
    assert forced.status_code == 201


def test_a_bad_credit_code_answers_400_on_its_field(
    employee: User, login: Callable[[User], Client]
) -> None:
    answer = _post(
        login(employee), reverse("crm-api:accounts"), {"name": "错码", "credit_code": bad_uscc(4)}
    )
    assert answer.status_code == 400
    assert list(answer.json()["error"]["fields"]) == ["credit_code"]
    assert not Account.objects.exists()


def test_the_duplicate_check_endpoint(
    employee: User, outsider: User, acme: Account, login: Callable[[User], Client]
) -> None:
    foreign = make_account(outsider, "财务客户有限公司", phone="010-1234 5678")
    client = login(employee)
    url = reverse("crm-api:account-duplicates")
    found = _post(client, url, {"name": "ＳＨＡＮＧＨＡＩ", "phone": "01012345678"}).json()
    assert found["duplicates"] == [
        {
            "id": foreign.pk,
            "code": foreign.code,
            "name": "财务客户有限公司",
            "owner": "liuyang",
            "reasons": ["phone"],
            "visible": False,
        }
    ]
    mine = _post(client, url, {"name": "上海艾克米科技 有限责任公司"}).json()["duplicates"]
    assert [(d["id"], d["visible"]) for d in mine] == [(acme.pk, True)]
    assert _post(client, url, {}).status_code == 400
    assert Account.objects.count() == 2


def test_update_merge_and_the_right_to_write(
    employee: User, dept_head: User, acme: Account, login: Callable[[User], Client]
) -> None:
    url = reverse("crm-api:account-detail", args=[acme.pk])
    assert _patch(login(dept_head), url, {"city": "南京"}).status_code == 403
    client = login(employee)
    changed = _patch(client, url, {"city": "南京", "level": "B"})
    assert changed.status_code == 200
    assert (changed.json()["city"], changed.json()["level"]) == ("南京", "B")
    bad = _patch(client, url, {"phone": "no phone"})
    assert bad.status_code == 400 and list(bad.json()["error"]["fields"]) == ["phone"]
    other = make_account(employee, "艾克米另一家")
    merge = reverse("crm-api:account-merge", args=[acme.pk])
    itself = _post(client, merge, {"merged": acme.pk})
    assert itself.status_code == 400
    assert "survivor" in itself.json()["error"]["fields"]
    assert _post(client, merge, {"merged": other.pk}).status_code == 200
    other.refresh_from_db()
    assert other.merged_into_id == acme.pk
    assert AccountEvent.objects.filter(account=acme, kind="merged").exists()


def test_contacts(
    employee: User, outsider: User, acme: Account, login: Callable[[User], Client]
) -> None:
    client = login(employee)
    url = reverse("crm-api:account-contacts", args=[acme.pk])
    created = _post(client, url, {"name": "郑十", "mobile": "+86 137 0000 0010"})
    assert created.status_code == 201
    assert created.json()["mobile"] == "13700000010"
    listed = client.get(url).json()
    assert [c["name"] for c in listed] == ["赵磊", "郑十"]
    detail = reverse("crm-api:contact-detail", args=[created.json()["id"]])
    assert _patch(client, detail, {"title": "总监"}).json()["title"] == "总监"
    stranger = login(outsider)
    assert stranger.get(detail).status_code == 404
    assert _patch(stranger, detail, {"title": "x"}).status_code == 404
    assert Contact.objects.get(pk=created.json()["id"]).title == "总监"


def test_list_filters_and_keyset_pages(
    employee: User, acme: Account, login: Callable[[User], Client]
) -> None:
    for number in range(5):
        make_account(employee, f"页客户{number}", province="江苏", city="苏州")
    client = login(employee)
    url = reverse("crm-api:accounts")
    first = client.get(url, {"province": "江苏", "page_size": "3"}).json()
    assert len(first["results"]) == 3 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 2 and second["next"] is None
    seen = {r["id"] for r in first["results"] + second["results"]}
    assert acme.pk not in seen and len(seen) == 5
    assert client.get(url, {"level": "Z"}).status_code == 400
    by_owner = client.get(url, {"owner": "zhangwei", "city": "上海"}).json()["results"]
    assert [r["id"] for r in by_owner] == [acme.pk]


def test_the_schema_documents_the_operations(
    employee: User, login: Callable[[User], Client]
) -> None:
    schema = login(employee).get(reverse("api-schema"), {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/crm/accounts/duplicates/" in paths
    assert paths["/api/v1/crm/accounts/"]["post"]["summary"]
