"""The approval layer's reads on the engine's hot path, written as SQL of the engine's own
(``workflow.engine.store``): they give the answers the ORM queries they replaced give."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.utils import timezone

from portal.models import DelegationRule, User
from tests.factories import UserFactory, department, role
from workflow import participants
from workflow.engine import store

pytestmark = pytest.mark.django_db


def _orm_anyone(candidates: list[tuple[str, str]], besides: str) -> bool:
    """The answer as the ORM gives it (``participants._candidates_q``)."""
    found = User.objects.filter(participants._candidates_q(candidates), is_active=True)
    return (found.exclude(username=besides) if besides else found).exists()


def test_anyone_among_candidates_matches_the_orm() -> None:
    head = department("HQ", "总部")
    sales = department("SALES", "销售部", parent=head)
    east = department("SALES_E", "华东销售", parent=sales)
    department("EMPTY", "空部门", parent=head)
    reviewer = role("finance_reviewer")
    role("nobody_role")
    alice = UserFactory.create(username="alice", department=east)
    bob = UserFactory.create(username="bob", department=head)
    UserFactory.create(username="gone", department=sales, is_active=False)
    alice.groups.add(reviewer)
    gone_reviewer = UserFactory.create(username="gone_reviewer", is_active=False)
    gone_reviewer.groups.add(reviewer)
    options = [
        ("user", "alice"),
        ("user", "gone"),
        ("user", "stranger"),
        ("group", "finance_reviewer"),
        ("group", "nobody_role"),
        ("dept", "SALES"),
        ("dept", "HQ"),
        ("dept", "EMPTY"),
        ("dept", "NO_SUCH"),
    ]
    checked = 0
    for size in (1, 2):
        for candidates in itertools.combinations(options, size):
            for besides in ("", "alice", bob.username):
                expected = _orm_anyone(list(candidates), besides)
                assert participants._anyone(list(candidates), besides=besides) is expected, (
                    candidates,
                    besides,
                )
                checked += 1
    assert checked == 3 * (9 + 36)
    assert participants._anyone([], besides="") is False


def test_delegation_in_force_only_between_its_start_and_end() -> None:
    away = UserFactory.create(username="away")
    proxy = UserFactory.create(username="proxy")
    now = timezone.now()
    DelegationRule.objects.create(
        delegator=away,
        delegate=proxy,
        starts_at=now - datetime.timedelta(hours=1),
        ends_at=now + datetime.timedelta(hours=1),
    )
    assert store.has_delegation("away", store.db_time(now)) is True
    assert store.has_delegation("proxy", store.db_time(now)) is False
    assert store.has_delegation("away", store.db_time(now + datetime.timedelta(hours=2))) is False
    assert store.has_delegation("away", store.db_time(now - datetime.timedelta(hours=2))) is False
    DelegationRule.objects.filter(delegator=away).update(is_active=False)
    assert store.has_delegation("away", store.db_time(now)) is False
