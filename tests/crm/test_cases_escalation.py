"""Escalation of overdue cases by the engine's timers (crm/bpmn/case_escalation.bpmn): the
timers are fired by moving the engine's clock, so a test proves both when they are due and
what the step does. A stale timer (the case resolved, waiting, or its deadline moved) does
nothing."""

from __future__ import annotations

from typing import Any

import pytest

from crm.models import AccountLevel, Case, CaseStatus
from crm.services import cases as services
from portal.models import Notification, User
from tests.crm.cases_fixtures import *  # noqa: F403  (the fixtures)
from tests.crm.cases_fixtures import Clock, at, make_account, run_timers_at
from workflow.models import Job, ProcessInstance

pytestmark = pytest.mark.django_db


def notices(user: User) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=services.KIND))


@pytest.fixture
def strategic_case(employee: User, case_world: dict[str, Any], clock: Clock) -> Case:
    """A level-A case (8 h to resolve) opened Wednesday Sep 30 17:00, the eve of National
    Day: its deadline lands after the holiday, Thursday Oct 8 17:00."""
    account = make_account(employee, name="中铁华东物资有限公司", level=AccountLevel.STRATEGIC)
    clock.set(at(9, 30, 17))
    return services.case_open(by=employee, account_id=account.pk, subject="发货单据缺失")


def test_the_deadline_lands_after_national_day_and_the_timer_waits_for_it(
    strategic_case: Case,
) -> None:
    assert strategic_case.resolution_due == at(10, 8, 17)
    [job] = Job.objects.filter(instance_id=strategic_case.escalation_instance_id, kind="timer")
    assert job.due_at == at(10, 8, 17)


def test_escalation_goes_to_the_team_lead_then_the_manager(
    strategic_case: Case,
    employee: User,
    dept_head: User,
    case_world: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gm = case_world["gm"]
    # eight wall-clock hours later it is the holiday: nothing is due yet
    assert run_timers_at(monkeypatch, at(10, 1, 10)) == 0
    assert run_timers_at(monkeypatch, at(10, 8, 16, 59)) == 0
    assert Case.objects.get(pk=strategic_case.pk).escalation_level == 0
    assert notices(dept_head) == []

    assert run_timers_at(monkeypatch, at(10, 8, 17, 1)) >= 1
    case = Case.objects.get(pk=strategic_case.pk)
    assert case.escalation_level == 1
    [notice] = notices(dept_head)
    assert case.number in notice.title and notice.url.endswith(f"/{case.pk}/")
    assert notices(gm) == []
    assert case.events.filter(kind="escalated").count() == 1

    # the manager above: four business hours later, Friday Oct 9 12:00
    assert run_timers_at(monkeypatch, at(10, 9, 11, 59)) == 0
    assert run_timers_at(monkeypatch, at(10, 9, 12, 1)) >= 1
    assert Case.objects.get(pk=case.pk).escalation_level == 2
    assert len(notices(gm)) == 1 and len(notices(dept_head)) == 1
    assert case.escalation_instance_id is not None
    assert ProcessInstance.objects.get(pk=case.escalation_instance_id).state == "completed"


def test_a_resolved_case_is_not_escalated(
    strategic_case: Case, employee: User, dept_head: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    services.case_resolve(by=employee, case_id=strategic_case.pk)
    assert run_timers_at(monkeypatch, at(10, 12, 12)) >= 1  # both timers fire, silently
    assert Case.objects.get(pk=strategic_case.pk).escalation_level == 0
    assert notices(dept_head) == []


def test_a_waiting_case_is_not_escalated(
    strategic_case: Case, employee: User, dept_head: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    services.case_wait(by=employee, case_id=strategic_case.pk)
    run_timers_at(monkeypatch, at(10, 8, 17, 1))
    assert Case.objects.get(pk=strategic_case.pk).escalation_level == 0
    assert notices(dept_head) == []


def test_a_resumed_case_escalates_at_its_new_deadline_only(
    strategic_case: Case,
    employee: User,
    dept_head: User,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock.set(at(9, 30, 17, 30))
    services.case_wait(by=employee, case_id=strategic_case.pk)
    clock.set(at(10, 8, 11))  # paused 0.5 h + 2 h of working time
    case = services.case_resume(by=employee, case_id=strategic_case.pk)
    assert case.resolution_due == at(10, 9, 10, 30)
    assert case.status == CaseStatus.OPEN
    # the first run's timer (Oct 8 17:00) fires and does nothing: the deadline moved
    assert run_timers_at(monkeypatch, at(10, 8, 17, 1)) >= 1
    assert Case.objects.get(pk=case.pk).escalation_level == 0
    assert notices(dept_head) == []
    run_timers_at(monkeypatch, at(10, 9, 10, 31))
    assert Case.objects.get(pk=case.pk).escalation_level == 1
    assert len(notices(dept_head)) == 1


def test_the_escalation_notice_is_in_its_readers_language(
    strategic_case: Case, dept_head: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever language the timer's worker runs in, the team lead reads the notice in his."""
    from django.utils import translation

    dept_head.preferred_language = "zh-hans"
    dept_head.save(update_fields=["preferred_language"])
    with translation.override("en"):
        assert run_timers_at(monkeypatch, at(10, 8, 17, 1)) >= 1
    [notice] = notices(dept_head)
    assert "已超过解决时限" in notice.title and "Case" not in notice.title
