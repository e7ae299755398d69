"""The customer base's pages: create and edit with the duplicate warning, merge with its
preview, team, contacts, the list's filters and pages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from guardian.shortcuts import get_perms

from crm.models import Account, AccountEvent, Contact
from portal.models import User
from tests.crm.accounts_fixtures import *  # noqa: F403  (the fixtures)
from tests.crm.accounts_fixtures import bad_uscc, make_account, uscc

pytestmark = pytest.mark.django_db


def test_create_an_account(employee: User, login: Callable[[User], Client]) -> None:
    client = login(employee)
    assert client.get(reverse("crm:account_create")).status_code == 200
    answer = client.post(
        reverse("crm:account_create"),
        {
            "name": "苏州新禾电子有限公司",
            "credit_code": uscc(5),
            "industry": "manufacturing",
            "level": "B",
            "phone": "0512-6666 8888",
        },
    )
    account = Account.objects.get(name="苏州新禾电子有限公司")
    assert answer.status_code == 302
    assert answer["Location"] == reverse("crm:account", args=[account.pk])
    assert account.phone == "051266668888"
    page = client.get(answer["Location"]).content.decode()
    assert "苏州新禾电子有限公司" in page and account.code in page


def test_a_likely_duplicate_is_shown_and_created_only_when_asked(
    employee: User, acme: Account, login: Callable[[User], Client]
) -> None:
    client = login(employee)
    data = {"name": "上海艾克米科技股份有限公司", "industry": "it", "level": "C"}
    warned = client.post(reverse("crm:account_create"), data)
    assert warned.status_code == 409
    text = warned.content.decode()
    assert f'data-duplicate="{acme.pk}"' in text
    assert reverse("crm:account", args=[acme.pk]) in text
    assert Account.objects.count() == 1
    created = client.post(reverse("crm:account_create"), {**data, "force": "on"})
    assert created.status_code == 302
    assert Account.objects.count() == 2


def test_a_bad_credit_code_is_shown_on_its_field(
    employee: User, login: Callable[[User], Client]
) -> None:
    answer = login(employee).post(
        reverse("crm:account_create"),
        {"name": "错误代码公司", "credit_code": bad_uscc(2), "industry": "it", "level": "C"},
    )
    assert answer.status_code == 400
    assert answer.context["form"].errors["credit_code"]
    assert not Account.objects.exists()


def test_edit_as_owner_and_refused_to_a_reader(
    employee: User, dept_head: User, acme: Account, login: Callable[[User], Client]
) -> None:
    url = reverse("crm:account_edit", args=[acme.pk])
    assert login(dept_head).get(url).status_code == 403
    client = login(employee)
    assert client.get(url).status_code == 200
    data = {
        "name": acme.name,
        "code": acme.code,
        "industry": "it",
        "level": "B",
        "city": "杭州",
        "province": "浙江",
        "credit_code": acme.credit_code,
    }
    assert client.post(url, data).status_code == 302
    acme.refresh_from_db()
    assert (acme.level, acme.city) == ("B", "杭州")
    page = client.get(reverse("crm:account", args=[acme.pk]))
    assert page.status_code == 200
    assert 'data-event="updated"' in page.content.decode()


def test_merge_previews_then_merges(
    employee: User, acme: Account, login: Callable[[User], Client]
) -> None:
    other = make_account(employee, "艾克米销售")
    Contact.objects.create(account=other, name="周八", created_at=other.created_at)
    client = login(employee)
    url = reverse("crm:account_merge", args=[acme.pk])
    preview = client.get(url, {"other": str(other.pk), "survivor": "this"})
    assert preview.status_code == 200
    assert preview.context["preview"]["moves"]["contacts"] == 1
    assert Account.objects.filter(merged_into__isnull=False).count() == 0
    done = client.post(url, {"other": other.pk, "survivor": "this", "confirm": "on"})
    assert done.status_code == 302
    other.refresh_from_db()
    assert other.merged_into_id == acme.pk
    history = client.get(reverse("crm:account", args=[acme.pk])).content.decode()
    assert "艾克米销售" in history and 'data-event="merged"' in history


def test_merge_into_itself_is_a_field_error_on_the_page(
    employee: User, acme: Account, login: Callable[[User], Client]
) -> None:
    url = reverse("crm:account_merge", args=[acme.pk])
    answer = login(employee).post(url, {"other": acme.pk, "survivor": "this", "confirm": "on"})
    assert answer.status_code == 400
    assert answer.context["form"].errors["other"]


def test_team_page_adds_removes_and_hands_over(
    employee: User, acme: Account, outsider: User, login: Callable[[User], Client]
) -> None:
    client = login(employee)
    url = reverse("crm:account_team", args=[acme.pk])
    assert client.post(url, {"person": "liuyang", "may_change": ""}).status_code == 302
    assert get_perms(outsider, acme) == ["view_account"]
    remove = reverse("crm:account_team_remove", args=[acme.pk, outsider.pk])
    assert client.post(remove).status_code == 302
    assert get_perms(outsider, acme) == []
    bad = client.post(url, {"person": "nobody-here"})
    assert bad.status_code == 400
    handed = client.post(reverse("crm:account_assign", args=[acme.pk]), {"owner": "liuyang"})
    assert handed.status_code == 302
    acme.refresh_from_db()
    assert acme.owner == outsider


def test_a_team_member_may_not_post_to_the_team(
    colleague: User, acme: Account, login: Callable[[User], Client]
) -> None:
    client = login(colleague)
    assert client.get(reverse("crm:account_team", args=[acme.pk])).status_code == 200
    answer = client.post(reverse("crm:account_team", args=[acme.pk]), {"person": "liuyang"})
    assert answer.status_code == 403


def test_contacts_are_added_and_edited(
    employee: User, acme: Account, login: Callable[[User], Client]
) -> None:
    client = login(employee)
    url = reverse("crm:contact_create", args=[acme.pk])
    assert client.post(url, {"name": "吴九", "mobile": "138-0000-0009"}).status_code == 302
    contact = Contact.objects.get(name="吴九")
    assert contact.mobile == "13800000009"
    edit = reverse("crm:contact_edit", args=[contact.pk])
    bad = client.post(edit, {"name": "吴九", "mobile": "not a phone"})
    assert bad.status_code == 400
    assert bad.context["form"].errors["mobile"]
    assert client.post(edit, {"name": "吴久", "title": "采购经理"}).status_code == 302
    contact.refresh_from_db()
    assert (contact.name, contact.title) == ("吴久", "采购经理")
    assert AccountEvent.objects.filter(account=acme, kind="contact_updated").exists()


def test_the_list_filters_and_pages(
    employee: User, acme: Account, login: Callable[[User], Client]
) -> None:
    for number in range(30):
        make_account(employee, f"测试客户{number:02d}", level="D")
    client = login(employee)
    first = client.get(reverse("crm:accounts"), {"level": "D"})
    assert len(first.context["accounts"]) == 25
    assert acme not in first.context["accounts"]
    second = client.get(reverse("crm:accounts") + first.context["next_url"])
    assert len(second.context["accounts"]) == 5
    assert not second.context["next_url"]
    rows = client.get(reverse("crm:accounts"), {"q": "测试客户07"}, headers={"HX-Request": "true"})
    assert [a.name for a in rows.context["accounts"]] == ["测试客户07"]
    assert "<html" not in rows.content.decode()
