"""The service cases' test world: an account of 张伟 (employee, 华东区 under 李娜's 销售部)
with a contact, SLA policies per level, a general manager heading 总经办 (the manager above
the team lead), and a clock the case services read that a test can set.

Import the fixtures into a test module with ``from tests.crm.cases_fixtures import *``."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from crm import applications_cases
from crm.models import Account, AccountLevel, Contact, SlaPolicy
from crm.services import cases as case_services
from portal.models import Department, User
from tests.factories import UserFactory
from workflow.services import engine, jobs

__all__ = [
    "SH",
    "Clock",
    "at",
    "case_account",
    "case_contact",
    "case_world",
    "clock",
    "general_manager",
    "make_account",
    "policies",
    "run_timers_at",
]

SH = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=SH)


class Clock:
    """The case services' "now" (``crm.services.cases._now``): real time until set."""

    def __init__(self) -> None:
        self.moment: datetime.datetime | None = None

    def __call__(self) -> datetime.datetime:
        return self.moment or timezone.now()

    def set(self, moment: datetime.datetime) -> None:
        self.moment = moment


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    found = Clock()
    monkeypatch.setattr(case_services, "_now", found)
    return found


def run_timers_at(monkeypatch: pytest.MonkeyPatch, moment: datetime.datetime) -> int:
    """Move the engine's clock to ``moment`` and run the jobs due by then; how many ran."""
    monkeypatch.setattr(engine, "current_time", lambda: moment)
    monkeypatch.setattr(jobs, "current_time", lambda: moment)
    return jobs.jobs_run_due()


def make_account(
    owner: User,
    *,
    name: str = "上海恒信精密机械有限公司",
    level: str = AccountLevel.KEY,
    **more: Any,
) -> Account:
    now = timezone.now()
    assert owner.department is not None
    code = more.pop("code", f"C{Account.objects.count() + 1:05d}")
    return Account.objects.create(
        code=code,
        name=name,
        name_key=name,
        level=level,
        owner=owner,
        department=owner.department,
        created_at=now,
        updated_at=now,
        **more,
    )


@pytest.fixture
def policies(db: None) -> dict[str, SlaPolicy]:
    rows = {
        AccountLevel.STRATEGIC: (2, 8),
        AccountLevel.KEY: (4, 16),
        AccountLevel.STANDARD: (8, 24),
    }
    return {
        level: SlaPolicy.objects.create(
            level=level, first_response_hours=first, resolution_hours=resolution
        )
        for level, (first, resolution) in rows.items()
    }


@pytest.fixture
def general_manager(org: dict[str, Department]) -> User:
    boss = UserFactory.create(
        username="zhaoqiang", first_name="强", last_name="赵", department=org["root"]
    )
    root = org["root"]
    root.head = boss
    root.save()
    return boss


@pytest.fixture
def case_account(employee: User, policies: dict[str, SlaPolicy]) -> Account:
    return make_account(employee, email="service@hengxin-jx.com")


@pytest.fixture
def case_contact(case_account: Account) -> Contact:
    return Contact.objects.create(
        account=case_account,
        name="陈静",
        email="chen.jing@hengxin-jx.com",
        mobile="13800138000",
        created_at=timezone.now(),
    )


@pytest.fixture
def case_world(
    case_account: Account, case_contact: Contact, general_manager: User
) -> Iterator[dict[str, Any]]:
    applications_cases.connect()  # the app's ready() does it once the lead wires it
    yield {"account": case_account, "contact": case_contact, "gm": general_manager}
