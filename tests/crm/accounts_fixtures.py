"""Fixtures of the customer-base tests (tests/crm/test_accounts_*.py): the personas around
one account and the helpers that make accounts.

The organization is tests/conftest.py's ``org``: 总经办 (HQ) → 销售部 (SALES) → 华东区
(SALES-E). Around the account ``acme`` owned by the ``employee`` (张伟, 华东区):

- ``colleague`` 王芳 is on its team (view and change);
- ``east_head`` heads 华东区 (the owner's department head);
- ``dept_head`` 李娜 heads 销售部 (the head above), ``gm`` heads 总经办 (above that);
- ``sales_admin`` holds ``crm.administer_sales``;
- ``outsider`` 刘洋 (财务部) has no part in it.
"""

from __future__ import annotations

from typing import Any

import pytest

from crm.models import Account
from crm.services import accounts as services
from portal.codes import USCC_ALPHABET, uscc_check_character
from portal.models import Department, User
from tests.factories import UserFactory, role

__all__ = [
    "SEES",
    "acme",
    "bad_uscc",
    "east_head",
    "gm",
    "make_account",
    "personas",
    "sales_admin",
    "uscc",
]


def uscc(serial: int) -> str:
    """A valid unified social credit code (its check character computed) for ``serial``."""
    body = f"91310000{serial:09d}"
    assert all(c in USCC_ALPHABET for c in body)
    return body + uscc_check_character(body)


def bad_uscc(serial: int) -> str:
    """A credit code of the right shape whose check character is wrong."""
    good = uscc(serial)
    wrong = next(c for c in "0123456789" if c != good[-1])
    return good[:-1] + wrong


def make_account(owner: User, name: str, **values: Any) -> Account:
    """An account created through the service (forced past the duplicate check)."""
    return services.account_create(by=owner, name=name, force=True, **values)


@pytest.fixture
def east_head(org: dict[str, Department]) -> User:
    user = UserFactory.create(
        username="zhouqiang", first_name="强", last_name="周", department=org["east"]
    )
    east = org["east"]
    east.head = user
    east.save()
    return user


@pytest.fixture
def gm(org: dict[str, Department]) -> User:
    user = UserFactory.create(
        username="chenjie", first_name="杰", last_name="陈", department=org["root"]
    )
    root = org["root"]
    root.head = user
    root.save()
    return user


@pytest.fixture
def sales_admin(org: dict[str, Department]) -> User:
    user = UserFactory.create(
        username="sunli", first_name="丽", last_name="孙", department=org["sales"]
    )
    user.groups.add(role("sales_admin", "销售管理员", permissions=["crm.administer_sales"]))
    return user


@pytest.fixture
def acme(employee: User, colleague: User) -> Account:
    """The employee's account 上海艾克米科技有限公司 with a credit code, a phone and a
    contact; the colleague on its team."""
    account = make_account(
        employee,
        "上海艾克米科技有限公司",
        credit_code=uscc(1),
        phone="021-6888 0001",
        email="Info@Acme.cn",
        province="上海",
        city="上海",
        level="A",
        industry="it",
    )
    services.contact_create(
        by=employee,
        account_id=account.pk,
        values={"name": "赵磊", "mobile": "139 0000 0001", "is_primary": True},
    )
    services.team_add(by=employee, account_id=account.pk, user=colleague, may_change=True)
    account.refresh_from_db()
    return account


@pytest.fixture
def personas(
    employee: User,
    colleague: User,
    east_head: User,
    dept_head: User,
    gm: User,
    sales_admin: User,
    outsider: User,
) -> dict[str, User]:
    return {
        "owner": employee,
        "team": colleague,
        "east_head": east_head,
        "dept_head": dept_head,
        "gm": gm,
        "sales_admin": sales_admin,
        "outsider": outsider,
    }


SEES = ("owner", "team", "east_head", "dept_head", "gm", "sales_admin")
