"""Objects for the sales tests: accounts and opportunities written straight to the tables
(the services under test make their own), and a valid unified social credit code."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal
from typing import Any

from django.utils import timezone

from crm.duplicates import name_key
from crm.models import Account, Activity, Contact, Opportunity, Stage
from portal.codes import uscc_check_character
from portal.models import User

_numbers = itertools.count(1)


def credit_code(seed: int = 1) -> str:
    """A valid credit code (its check character computed)."""
    body = f"91310000{seed:09d}"
    return body + uscc_check_character(body)


def account(owner: User, name: str = "上海星辰科技有限公司", **fields: Any) -> Account:
    now = timezone.now()
    n = next(_numbers)
    assert owner.department is not None
    return Account.objects.create(
        code=fields.pop("code", f"T{n:06d}"),
        name=name,
        name_key=name_key(name),
        owner=owner,
        department=owner.department,
        created_at=now,
        updated_at=now,
        **fields,
    )


def contact(of: Account, name: str = "陈静") -> Contact:
    return Contact.objects.create(account=of, name=name, created_at=timezone.now())


def opportunity(
    of: Account,
    owner: User | None = None,
    *,
    stage: str = Stage.QUALIFICATION,
    amount: str = "0",
    expected_close: datetime.date | None = None,
    **fields: Any,
) -> Opportunity:
    now = timezone.now()
    return Opportunity.objects.create(
        account=of,
        owner=owner or of.owner,
        name=fields.pop("name", f"项目 {next(_numbers)}"),
        stage=stage,
        amount=Decimal(amount),
        expected_close=expected_close,
        created_at=now,
        stage_changed_at=now,
        **fields,
    )


def followup(of: Account, owner: User, *, due_in: datetime.timedelta, **fields: Any) -> Activity:
    now = timezone.now()
    return Activity.objects.create(
        kind="task",
        subject=fields.pop("subject", "回访"),
        account=of,
        owner=owner,
        at=now,
        due_at=now + due_in,
        created_at=now,
        **fields,
    )
