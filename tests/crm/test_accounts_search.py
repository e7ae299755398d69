"""The account name search: any word of a Chinese company name, its code, credit code,
city and its contacts' names, by index (crm/selectors/accounts.py)."""

from __future__ import annotations

import pytest
from django.db import connection

from crm.models import Account
from crm.selectors.accounts import AccountFilters, account_list, accounts_matching
from crm.services import accounts as services
from portal.models import User
from tests.crm.accounts_fixtures import make_account, uscc

pytestmark = pytest.mark.django_db


def _found(text: str) -> list[str]:
    return list(
        Account.objects.filter(accounts_matching(text))
        .order_by("name")
        .values_list("name", flat=True)
    )


def test_any_word_of_the_name_finds_it(employee: User) -> None:
    make_account(employee, "深圳市腾讯计算机系统有限公司", city="深圳")
    make_account(employee, "杭州阿里巴巴网络技术有限公司", city="杭州")
    assert _found("腾讯") == ["深圳市腾讯计算机系统有限公司"]
    assert _found("计算机 系统") == ["深圳市腾讯计算机系统有限公司"]
    assert _found("网络") == ["杭州阿里巴巴网络技术有限公司"]
    assert _found("有限公司") == ["杭州阿里巴巴网络技术有限公司", "深圳市腾讯计算机系统有限公司"]
    assert _found("杭州") == ["杭州阿里巴巴网络技术有限公司"]
    assert _found("京东") == []


def test_code_credit_code_and_contacts_find_it(employee: User) -> None:
    account = make_account(employee, "成都天府软件有限公司", credit_code=uscc(21))
    services.contact_create(by=employee, account_id=account.pk, values={"name": "欧阳娜娜"})
    assert _found(account.code) == ["成都天府软件有限公司"]
    assert _found(uscc(21)) == ["成都天府软件有限公司"]
    assert _found("欧阳") == ["成都天府软件有限公司"]
    services.account_update(by=employee, account_id=account.pk, changes={"name": "成都蜀锦软件"})
    assert _found("天府") == []
    assert _found("蜀锦") == ["成都蜀锦软件"]


def test_full_width_and_case_are_folded(employee: User) -> None:
    make_account(employee, "ACME Robotics 有限公司")
    assert _found("ａｃｍｅ") == ["ACME Robotics 有限公司"]
    assert _found("robo") == ["ACME Robotics 有限公司"]  # the last word typed is a prefix


def test_the_search_never_shows_more_than_one_sees(employee: User, outsider: User) -> None:
    make_account(outsider, "财务部的腾讯客户")
    mine = make_account(employee, "我的腾讯客户")
    found = account_list(employee, AccountFilters(q="腾讯"))
    assert list(found) == [mine]


def test_the_sqlite_index_keeps_its_triggers(db_vendor: str) -> None:
    """A migration that rebuilds crm_account on SQLite drops the FTS5 triggers: it must
    create them again (crm/migrations/0002_accounts.py)."""
    if db_vendor != "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'crm_account_search_vector'")
            assert cursor.fetchone() is not None
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'crm_account'"
        )
        names = {row[0] for row in cursor.fetchall()}
    assert names >= {
        "crm_account_search_insert",
        "crm_account_search_delete",
        "crm_account_search_update",
    }
