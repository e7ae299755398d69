"""Fixtures of the quote tests: the CRM's engine parts connected, the embedded ERP's demo
master data, an account the employee owns (its code is a customer of the embedded ERP),
the approval matrix, and the approvers (the sales director, the general manager)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from crm import applications, quote_approval
from crm.models import Account, ApprovalRule, ApproverLevel, Quote
from crm.services import quotes as services
from erp_bridge.demo import seed_erp_demo
from portal.models import Department, User
from tests.factories import UserFactory, role
from workflow.applications import applications as registered

__all__ = [
    "MakeQuote",
    "_crm_engine_parts",
    "account",
    "connect_crm",
    "director",
    "erp",
    "general_manager",
    "make_quote",
    "matrix",
    "sales_admin",
]


def connect_crm() -> None:
    """Until the lead wires ``crm.applications.connect()`` into ``CrmConfig.ready()``."""
    if quote_approval.APPROVE_APPLICATION not in registered:
        applications.connect()


@pytest.fixture(autouse=True)
def _crm_engine_parts() -> None:
    connect_crm()


@pytest.fixture
def erp(db: None) -> None:
    seed_erp_demo()


@pytest.fixture
def account(org: dict[str, Department], employee: User, erp: None) -> Account:
    now = timezone.now()
    return Account.objects.create(
        code="C0001",
        name="上海华东精密机械有限公司",
        name_key="上海华东精密机械",
        owner=employee,
        department=org["east"],
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
def matrix(db: None) -> list[ApprovalRule]:
    """10 % from 10,000: the sales manager; 20 %: the director; 40 % or 500,000 at 20 %:
    the general manager."""
    return ApprovalRule.objects.bulk_create(
        [
            ApprovalRule(
                min_discount=Decimal("10"),
                min_total=Decimal("10000"),
                level=ApproverLevel.SALES_MANAGER,
            ),
            ApprovalRule(
                min_discount=Decimal("20"),
                min_total=Decimal("0"),
                level=ApproverLevel.SALES_DIRECTOR,
            ),
            ApprovalRule(
                min_discount=Decimal("40"),
                min_total=Decimal("0"),
                level=ApproverLevel.GENERAL_MANAGER,
            ),
            ApprovalRule(
                min_discount=Decimal("20"),
                min_total=Decimal("500000"),
                level=ApproverLevel.GENERAL_MANAGER,
            ),
        ]
    )


@pytest.fixture
def director(org: dict[str, Department]) -> User:
    user = UserFactory.create(
        username="chenjie", first_name="杰", last_name="陈", department=org["sales"]
    )
    user.groups.add(role("sales_director", "销售总监"))
    return user


@pytest.fixture
def general_manager(org: dict[str, Department]) -> User:
    user = UserFactory.create(
        username="sunli", first_name="丽", last_name="孙", department=org["root"]
    )
    user.groups.add(role("general_manager", "总经理"))
    return user


@pytest.fixture
def sales_admin(org: dict[str, Department]) -> User:
    user = UserFactory.create(
        username="zhouyan", first_name="艳", last_name="周", department=org["sales"]
    )
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="crm", codename="administer_sales")
    )
    return User.objects.get(pk=user.pk)  # a fresh object: no cached permissions


MakeQuote = Callable[..., Quote]


@pytest.fixture
def make_quote(account: Account, employee: User) -> MakeQuote:
    """``make_quote(discount=25)``: a draft of 10 chairs (P0001, 1,299.00 each) at that
    discount, made by the employee."""

    def make(discount: str | int = 0, quantity: str | int = 10, code: str = "P0001") -> Quote:
        return services.quote_create(
            by=employee,
            account_id=account.pk,
            lines=[services.LineInput(code, str(quantity), discount=str(discount))],
        )

    return make
