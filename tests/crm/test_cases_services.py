"""Service cases' writes (crm/services/cases.py): opening with SLA deadlines, the status flow
with its refusals (nothing changed), the paused clock, the e-mail-like intake's matching,
and the satisfaction rating."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from crm.models import Account, AccountLevel, Case, CaseChannel, CaseEvent, CaseStatus, Contact
from crm.services import cases as services
from portal.errors import NotFound
from portal.models import User
from tests.crm.cases_fixtures import *  # noqa: F403  (the fixtures)
from tests.crm.cases_fixtures import Clock, at, make_account
from workflow.models import ProcessInstance

pytestmark = pytest.mark.django_db


def snapshot(case_id: int) -> tuple[dict[str, Any], int]:
    """The case's row and its number of events, to prove that a refusal changed nothing."""
    row: dict[str, Any] = dict(Case.objects.filter(pk=case_id).values().get())
    return row, CaseEvent.objects.filter(case_id=case_id).count()


def open_case(by: User, account: Account, **more: Any) -> Case:
    return services.case_open(by=by, account_id=account.pk, subject="主轴异响", **more)


# --- opening -----------------------------------------------------------------------------------


def test_a_case_opened_friday_1730_gets_its_deadlines_in_business_hours(
    employee: User, case_world: dict[str, Any], clock: Clock
) -> None:
    clock.set(at(3, 6, 17, 30))  # a Friday; level B: 4 h first response, 16 h resolution
    case = open_case(employee, case_world["account"], contact_id=case_world["contact"].pk)
    assert case.status == CaseStatus.NEW
    assert case.first_response_due == at(3, 9, 13, 30)  # 0.5 h Friday + 3.5 h Monday
    assert case.resolution_due == at(3, 10, 17, 30)  # 0.5 + 8 + 7.5
    assert case.owner == employee and case.contact == case_world["contact"]
    assert case.number.startswith("CS202603-")
    assert list(case.events.values_list("kind", flat=True)) == ["opened"]
    assert case.escalation_instance_id is not None and case.resolution_due is not None
    run = ProcessInstance.objects.get(pk=case.escalation_instance_id)
    assert run.definition_key == services.ESCALATION_PROCESS
    assert run.variables["due"] == case.resolution_due.isoformat()


def test_a_level_without_a_policy_has_no_deadlines_and_no_escalation(
    employee: User, case_world: dict[str, Any]
) -> None:
    small = make_account(employee, name="杭州小微贸易有限公司", level=AccountLevel.SMALL)
    case = open_case(employee, small)
    assert case.first_response_due is None and case.resolution_due is None
    assert case.escalation_instance_id is None


def test_an_outsider_cannot_open_a_case_on_an_account_they_do_not_see(
    outsider: User, case_world: dict[str, Any]
) -> None:
    with pytest.raises(NotFound):
        open_case(outsider, case_world["account"])
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("more", "field"),
    [
        ({"subject": "  "}, "subject"),
        ({"priority": 7}, "priority"),
        ({"channel": "fax"}, "channel"),
    ],
)
def test_bad_input_is_a_field_error_and_opens_nothing(
    employee: User, case_world: dict[str, Any], more: dict[str, Any], field: str
) -> None:
    values = {"subject": "主轴异响", **more}
    with pytest.raises(ValidationError) as error:
        services.case_open(by=employee, account_id=case_world["account"].pk, **values)
    assert field in error.value.message_dict
    assert not Case.objects.exists() and not ProcessInstance.objects.exists()


def test_a_contact_of_another_account_is_refused(
    employee: User, case_world: dict[str, Any]
) -> None:
    other = make_account(employee, name="苏州锐达电子有限公司")
    stranger = Contact.objects.create(account=other, name="王磊", created_at=other.created_at)
    with pytest.raises(ValidationError) as error:
        open_case(employee, case_world["account"], contact_id=stranger.pk)
    assert "contact" in error.value.message_dict
    assert not Case.objects.exists()


# --- the status flow ----------------------------------------------------------------------------


def test_the_whole_flow_records_each_step(
    employee: User, case_world: dict[str, Any], clock: Clock
) -> None:
    clock.set(at(3, 9, 9))
    case = open_case(employee, case_world["account"])
    clock.set(at(3, 9, 10))
    case = services.case_respond(by=employee, case_id=case.pk, text="已联系客户")
    assert case.status == CaseStatus.OPEN and case.first_responded_at == at(3, 9, 10)
    clock.set(at(3, 9, 15))
    case = services.case_resolve(by=employee, case_id=case.pk)
    assert case.status == CaseStatus.RESOLVED and case.resolved_at == at(3, 9, 15)
    case = services.case_close(by=employee, case_id=case.pk)
    assert case.status == CaseStatus.CLOSED
    clock.set(at(3, 10, 9))
    case = services.case_reopen(by=employee, case_id=case.pk, text="问题复现")
    assert case.status == CaseStatus.OPEN and case.resolved_at is None
    assert case.resolution_due == at(3, 11, 18)  # 16 business hours from Tuesday 09:00
    kinds = list(case.events.order_by("id").values_list("kind", flat=True))
    assert kinds == ["opened", "responded", "resolved", "closed", "reopened"]


@pytest.mark.parametrize(
    ("prepare", "action"),
    [
        ([], "resume"),
        ([], "close"),
        ([], "reopen"),
        (["respond"], "respond"),
        (["resolve"], "wait"),
        (["resolve", "close"], "resolve"),
        (["wait"], "close"),
    ],
)
def test_a_bad_transition_is_refused_and_changes_nothing(
    employee: User, case_world: dict[str, Any], prepare: list[str], action: str
) -> None:
    case = open_case(employee, case_world["account"])
    for step in prepare:
        services.TRANSITIONS[step](by=employee, case_id=case.pk, text="x")
    before = snapshot(case.pk)
    with pytest.raises(services.CaseRefused):
        services.TRANSITIONS[action](by=employee, case_id=case.pk, text="x")
    assert snapshot(case.pk) == before


def test_a_reopen_needs_a_reason(employee: User, case_world: dict[str, Any]) -> None:
    case = open_case(employee, case_world["account"])
    services.case_resolve(by=employee, case_id=case.pk)
    before = snapshot(case.pk)
    with pytest.raises(ValidationError) as error:
        services.case_reopen(by=employee, case_id=case.pk, text=" ")
    assert "text" in error.value.message_dict
    assert snapshot(case.pk) == before


def test_an_outsider_cannot_move_a_case(
    employee: User, outsider: User, case_world: dict[str, Any]
) -> None:
    case = open_case(employee, case_world["account"])
    before = snapshot(case.pk)
    with pytest.raises(NotFound):
        services.case_respond(by=outsider, case_id=case.pk)
    assert snapshot(case.pk) == before


def test_the_team_lead_sees_and_moves_the_case(
    employee: User, dept_head: User, case_world: dict[str, Any]
) -> None:
    case = open_case(employee, case_world["account"])
    assert services.case_respond(by=dept_head, case_id=case.pk).status == CaseStatus.OPEN


# --- the paused clock -----------------------------------------------------------------------------


def test_waiting_for_the_customer_stops_the_clock(
    employee: User, case_world: dict[str, Any], clock: Clock
) -> None:
    clock.set(at(3, 9, 9))  # Monday
    case = open_case(employee, case_world["account"])
    assert case.resolution_due == at(3, 10, 18)
    clock.set(at(3, 9, 10))
    case = services.case_wait(by=employee, case_id=case.pk, text="请客户提供日志")
    assert case.status == CaseStatus.WAITING and case.paused_at == at(3, 9, 10)
    assert case.first_responded_at == at(3, 9, 10)  # asking the customer answers them
    first_run = case.escalation_instance_id
    clock.set(at(3, 10, 10))  # one full business day later (8 h)
    case = services.case_resume(by=employee, case_id=case.pk)
    assert case.status == CaseStatus.OPEN and case.paused_at is None
    assert case.resolution_due == at(3, 11, 18)  # pushed by the 8 paused business hours
    assert case.escalation_instance_id != first_run
    assert case.escalation_instance_id is not None
    run = ProcessInstance.objects.get(pk=case.escalation_instance_id)
    assert run.variables["due"] == at(3, 11, 18).isoformat()


def test_a_pause_over_national_day_pushes_only_by_working_time(
    employee: User, case_world: dict[str, Any], clock: Clock
) -> None:
    clock.set(at(9, 29, 9))  # Tuesday; due 16 h later: Wednesday Sep 30 18:00
    case = open_case(employee, case_world["account"])
    assert case.resolution_due == at(9, 30, 18)
    clock.set(at(9, 30, 17))
    services.case_wait(by=employee, case_id=case.pk)
    clock.set(at(10, 8, 10))  # back after the holiday: paused 1 h + 1 h of working time
    case = services.case_resume(by=employee, case_id=case.pk)
    assert case.resolution_due == at(10, 8, 11)


def test_resolving_a_waiting_case_counts_only_working_time(
    employee: User, case_world: dict[str, Any], clock: Clock
) -> None:
    clock.set(at(3, 9, 9))
    case = open_case(employee, case_world["account"])
    clock.set(at(3, 9, 10))
    services.case_wait(by=employee, case_id=case.pk)
    clock.set(at(3, 12, 10))  # three business days paused: a late resolution by the wall clock
    case = services.case_resolve(by=employee, case_id=case.pk)
    assert case.resolution_due == at(3, 13, 18) and case.resolved_at == at(3, 12, 10)
    assert case.resolved_at <= case.resolution_due  # met


# --- intake -------------------------------------------------------------------------------------


def test_intake_matches_a_contacts_address(employee: User, case_world: dict[str, Any]) -> None:
    case = services.case_intake(
        by=employee, sender="Chen.Jing@hengxin-jx.com", subject="设备报警", body="E-203 报警"
    )
    assert case.account == case_world["account"] and case.contact == case_world["contact"]
    assert case.channel == CaseChannel.EMAIL and case.description == "E-203 报警"
    kinds = list(case.events.order_by("id").values_list("kind", "text"))
    assert kinds[0][0] == "opened" and kinds[1] == ("intake", "Chen.Jing@hengxin-jx.com")


def test_intake_matches_the_senders_company_domain(
    employee: User, case_world: dict[str, Any]
) -> None:
    case = services.case_intake(
        by=employee, sender="li.ming@hengxin-jx.com", subject="设备报警", body=""
    )
    assert case.account == case_world["account"] and case.contact is None


def test_a_public_mailbox_does_not_match_by_domain(
    employee: User, case_world: dict[str, Any]
) -> None:
    make_account(employee, name="宁波海曙五金厂", email="nbhs@163.com")
    with pytest.raises(ValidationError) as error:
        services.case_intake(by=employee, sender="someone@163.com", subject="询价", body="")
    assert "account" in error.value.message_dict
    assert not Case.objects.exists()
    case = services.case_intake(
        by=employee,
        sender="someone@163.com",
        subject="询价",
        body="",
        account_id=case_world["account"].pk,
    )
    assert case.account == case_world["account"] and case.contact is None


def test_a_domain_of_several_accounts_needs_a_choice(
    employee: User, case_world: dict[str, Any]
) -> None:
    make_account(employee, name="恒信精密（苏州）有限公司", email="sz@hengxin-jx.com")
    with pytest.raises(ValidationError):
        services.case_intake(by=employee, sender="x@hengxin-jx.com", subject="s", body="")
    assert not Case.objects.exists()


def test_intake_sees_only_the_accounts_the_person_sees(
    outsider: User, case_world: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        services.case_intake(by=outsider, sender="chen.jing@hengxin-jx.com", subject="s", body="")
    with pytest.raises(NotFound):
        services.case_intake(
            by=outsider,
            sender="chen.jing@hengxin-jx.com",
            subject="s",
            body="",
            account_id=case_world["account"].pk,
        )
    assert not Case.objects.exists()


def test_intake_needs_an_address(employee: User, case_world: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as error:
        services.case_intake(by=employee, sender="陈静", subject="s", body="")
    assert "sender" in error.value.message_dict


# --- satisfaction ---------------------------------------------------------------------------------


def test_a_rating_is_given_once_after_resolving(employee: User, case_world: dict[str, Any]) -> None:
    case = open_case(employee, case_world["account"])
    with pytest.raises(services.CaseRefused):
        services.case_rate(by=employee, case_id=case.pk, satisfaction=5)
    services.case_resolve(by=employee, case_id=case.pk)
    for bad in (0, 6, True):
        with pytest.raises(ValidationError) as error:
            services.case_rate(by=employee, case_id=case.pk, satisfaction=bad)
        assert "satisfaction" in error.value.message_dict
    case = services.case_rate(by=employee, case_id=case.pk, satisfaction=4, comment="响应及时")
    assert (case.satisfaction, case.satisfaction_comment) == (4, "响应及时")
    before = snapshot(case.pk)
    with pytest.raises(services.CaseRefused):
        services.case_rate(by=employee, case_id=case.pk, satisfaction=1)
    assert snapshot(case.pk) == before
