"""Sales services: lead assignment (rules, round-robin), qualification, conversion (one step,
duplicates, twice refused), the stage rules of opportunity_move, activities and reminders.
Every refusal is checked to have changed nothing."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from crm.models import (
    Account,
    Activity,
    AssignmentRule,
    Contact,
    Lead,
    LeadStatus,
    Opportunity,
    OpportunityEvent,
    Stage,
)
from crm.services import sales as services
from portal import registry
from portal.errors import NotFound
from portal.models import Notification, User
from tests.crm import sales_fixtures as make
from tests.factories import UserFactory, english

pytestmark = pytest.mark.django_db
SOON = datetime.date(2027, 3, 31)


def snapshot() -> tuple[int, ...]:
    return (
        Lead.objects.count(),
        Account.objects.count(),
        Contact.objects.count(),
        Opportunity.objects.count(),
        OpportunityEvent.objects.count(),
        Activity.objects.count(),
    )


# --- leads ---------------------------------------------------------------------------------------


def test_a_lead_goes_round_robin_to_the_members_of_the_matching_rule(
    employee: User, colleague: User, dept_head: User
) -> None:
    shanghai = AssignmentRule.objects.create(name="上海", province="上海", order=1)
    shanghai.members.add(employee, colleague)
    anywhere = AssignmentRule.objects.create(name="其他", order=2)
    anywhere.members.add(dept_head)

    owners = [
        services.lead_create(by=dept_head, company=f"公司{i}", province="上海").owner
        for i in range(3)
    ]
    first, second = sorted([employee, colleague], key=lambda u: u.pk)
    assert owners == [first, second, first]
    other = services.lead_create(by=employee, company="北京某公司", province="北京")
    assert other.owner == dept_head
    shanghai.refresh_from_db()
    assert shanghai.last_assigned == first


def test_inactive_members_and_rules_are_passed_over(employee: User, colleague: User) -> None:
    rule = AssignmentRule.objects.create(name="all", order=1)
    rule.members.add(colleague)
    colleague.is_active = False
    colleague.save()
    AssignmentRule.objects.create(name="off", order=0, active=False).members.add(employee)
    lead = services.lead_create(by=employee, company="无规则公司")
    assert lead.owner == employee  # no usable rule: the creator


def test_assign_to_me_skips_the_rules(employee: User, colleague: User) -> None:
    AssignmentRule.objects.create(name="all").members.add(colleague)
    assert services.lead_create(by=employee, company="甲", assign_to_me=True).owner == employee


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"company": "  "}, "company"),
        ({"company": "x", "phone": "call me"}, "phone"),
        ({"company": "x", "email": "not-an-email"}, "email"),
        ({"company": "x", "source": "radio"}, "source"),
        ({"company": "x" * 201}, "company"),
    ],
)
def test_a_bad_lead_is_refused_by_field(employee: User, fields: dict[str, Any], field: str) -> None:
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        services.lead_create(by=employee, **fields)
    assert field in error.value.message_dict
    assert snapshot() == before


def test_disqualify_needs_a_reason_and_qualify_brings_it_back(employee: User) -> None:
    lead = services.lead_create(by=employee, company="甲", assign_to_me=True)
    with pytest.raises(ValidationError) as error:
        services.lead_disqualify(lead.pk, by=employee, reason=" ")
    assert "reason" in error.value.message_dict
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
    services.lead_disqualify(lead.pk, by=employee, reason="预算不足")
    lead.refresh_from_db()
    assert (lead.status, lead.disqualified_reason) == (LeadStatus.DISQUALIFIED, "预算不足")
    services.lead_qualify(lead.pk, by=employee)
    lead.refresh_from_db()
    assert (lead.status, lead.disqualified_reason) == (LeadStatus.QUALIFIED, "")


def test_an_outsider_cannot_touch_a_lead(employee: User, outsider: User) -> None:
    lead = services.lead_create(by=employee, company="甲", assign_to_me=True)
    with pytest.raises(NotFound):
        services.lead_qualify(lead.pk, by=outsider)
    with pytest.raises(NotFound):
        services.lead_convert(lead.pk, by=outsider)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


# --- conversion ----------------------------------------------------------------------------------


def test_conversion_makes_account_contact_and_opportunity_once(employee: User) -> None:
    lead = services.lead_create(
        by=employee,
        company="杭州云帆信息技术有限公司",
        contact_name="陈静",
        phone="13900000002",
        province="浙江",
        industry="it",
        assign_to_me=True,
    )
    result = services.lead_convert(
        lead.pk, by=employee, amount="120000", expected_close=SOON, credit_code=make.credit_code(7)
    )
    assert not result.attached
    account = result.account
    assert (account.name, account.owner, account.department) == (
        "杭州云帆信息技术有限公司",
        employee,
        employee.department,
    )
    assert account.credit_code == make.credit_code(7)
    assert result.contact is not None and result.contact.account == account
    opportunity = result.opportunity
    assert (opportunity.account, opportunity.contact, opportunity.stage) == (
        account,
        result.contact,
        Stage.QUALIFICATION,
    )
    assert opportunity.amount == Decimal("120000")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert (lead.converted_account, lead.converted_opportunity) == (account, opportunity)
    assert OpportunityEvent.objects.filter(opportunity=opportunity, kind="created").count() == 1
    # the account was opened as every account is (crm.services.accounts.account_open): its
    # history says where it came from, the search finds it by a word of its name or the contact
    created = account.events.get(kind="created")
    assert (created.actor, created.data["lead"], created.data["owner"]) == (
        employee.username,
        lead.pk,
        employee.username,
    )
    assert account.events.filter(kind="contact_added").count() == 1
    assert "云帆" in account.search and "陈静" in account.search

    before = snapshot()
    with pytest.raises(ValidationError) as error:
        services.lead_convert(lead.pk, by=employee)
    assert "status" in error.value.message_dict
    assert snapshot() == before


def test_a_likely_duplicate_is_offered_and_can_be_attached_to(employee: User) -> None:
    existing = make.account(employee, "杭州云帆信息技术有限公司")
    lead = services.lead_create(
        by=employee, company="杭州云帆信息技术 有限公司", contact_name="陈静", assign_to_me=True
    )
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        services.lead_convert(lead.pk, by=employee)
    assert "account" in error.value.message_dict
    assert existing.name in " ".join(error.value.message_dict["account"])
    assert snapshot() == before

    result = services.lead_convert(lead.pk, by=employee, account_id=existing.pk)
    assert result.attached and result.account == existing
    assert Account.objects.count() == 1
    assert result.opportunity.account == existing


def test_create_anyway_makes_a_second_account_with_the_same_name(employee: User) -> None:
    make.account(employee, "宁波港盛贸易有限公司")
    lead = services.lead_create(by=employee, company="宁波港盛贸易有限公司", assign_to_me=True)
    result = services.lead_convert(lead.pk, by=employee, create_anyway=True)
    assert Account.objects.filter(name="宁波港盛贸易有限公司").count() == 2
    assert not result.attached


def test_an_account_one_cannot_see_is_neither_named_nor_duplicated(
    employee: User, outsider: User
) -> None:
    code = make.credit_code(9)
    make.account(outsider, "保密客户有限公司", credit_code=code)
    lead = services.lead_create(by=employee, company="保密客户有限公司", assign_to_me=True)
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        services.lead_convert(lead.pk, by=employee, credit_code=code)
    assert set(error.value.message_dict) == {"credit_code"}  # exists: not who or where
    assert "保密" not in str(error.value)
    assert snapshot() == before
    # without the credit code the name alone does not stop a person who cannot see it
    result = services.lead_convert(lead.pk, by=employee)
    assert result.account.owner == employee


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"credit_code": "91310000000000000X"}, "credit_code"),
    ],
)
def test_bad_conversion_input_changes_nothing(
    employee: User, options: dict[str, Any], field: str
) -> None:
    lead = services.lead_create(by=employee, company="甲公司", assign_to_me=True)
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        services.lead_convert(lead.pk, by=employee, **options)
    assert field in error.value.message_dict
    assert snapshot() == before
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


def test_a_disqualified_lead_is_not_converted(employee: User) -> None:
    lead = services.lead_create(by=employee, company="甲", assign_to_me=True)
    services.lead_disqualify(lead.pk, by=employee, reason="重复")
    before = snapshot()
    with pytest.raises(ValidationError):
        services.lead_convert(lead.pk, by=employee)
    assert snapshot() == before


# --- opportunities -------------------------------------------------------------------------------


def test_proposal_needs_amount_and_expected_close(employee: User) -> None:
    opportunity = make.opportunity(make.account(employee))
    with pytest.raises(ValidationError) as error:
        services.opportunity_move(opportunity.pk, by=employee, stage=Stage.PROPOSAL)
    assert set(error.value.message_dict) == {"amount", "expected_close"}
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.probability) == (Stage.QUALIFICATION, 10)
    assert not OpportunityEvent.objects.filter(opportunity=opportunity).exists()


def test_a_move_sets_probability_closed_at_and_records_an_event(employee: User) -> None:
    opportunity = make.opportunity(make.account(employee), amount="5000", expected_close=SOON)
    services.opportunity_move(opportunity.pk, by=employee, stage=Stage.NEEDS)
    opportunity.refresh_from_db()
    assert opportunity.probability == 20
    services.opportunity_move(opportunity.pk, by=employee, stage=Stage.NEGOTIATION)
    opportunity.refresh_from_db()
    assert (opportunity.probability, opportunity.closed_at) == (70, None)
    services.opportunity_move(opportunity.pk, by=employee, stage=Stage.WON)
    opportunity.refresh_from_db()
    assert opportunity.probability == 100
    assert opportunity.closed_at is not None
    events = list(
        OpportunityEvent.objects.filter(opportunity=opportunity, kind="moved")
        .order_by("id")
        .values_list("from_stage", "to_stage")
    )
    assert events == [
        ("qualification", "needs"),
        ("needs", "negotiation"),
        ("negotiation", "won"),
    ]
    services.opportunity_move(opportunity.pk, by=employee, stage=Stage.NEGOTIATION)
    opportunity.refresh_from_db()
    assert opportunity.closed_at is None  # reopened


def test_a_probability_set_by_hand_stays_until_closed(employee: User) -> None:
    opportunity = make.opportunity(make.account(employee), amount="5000", expected_close=SOON)
    services.opportunity_update(opportunity.pk, by=employee, probability=35)
    services.opportunity_move(opportunity.pk, by=employee, stage=Stage.PROPOSAL)
    opportunity.refresh_from_db()
    assert opportunity.probability == 35
    services.opportunity_move(opportunity.pk, by=employee, stage=Stage.LOST, lost_reason="价格")
    opportunity.refresh_from_db()
    assert (opportunity.probability, opportunity.lost_reason) == (0, "价格")
    assert opportunity.closed_at is not None


def test_lost_needs_a_reason(employee: User) -> None:
    opportunity = make.opportunity(make.account(employee))
    with pytest.raises(ValidationError) as error:
        services.opportunity_move(opportunity.pk, by=employee, stage=Stage.LOST)
    assert set(error.value.message_dict) == {"lost_reason"}
    opportunity.refresh_from_db()
    assert opportunity.stage == Stage.QUALIFICATION and opportunity.closed_at is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"probability": 101}, "probability"),
        ({"name": ""}, "name"),
        ({"amount": "0"}, "amount"),  # in the proposal stage
        ({"expected_close": None}, "expected_close"),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(
    employee: User, changes: dict[str, object], field: str
) -> None:
    opportunity = make.opportunity(
        make.account(employee), stage=Stage.PROPOSAL, amount="900", expected_close=SOON
    )
    with pytest.raises(ValidationError) as error:
        services.opportunity_update(opportunity.pk, by=employee, **changes)
    assert field in error.value.message_dict
    fresh = Opportunity.objects.get(pk=opportunity.pk)
    assert (fresh.amount, fresh.probability, fresh.name, fresh.expected_close) == (
        Decimal("900"),
        opportunity.probability,
        opportunity.name,
        SOON,
    )
    assert not OpportunityEvent.objects.exists()


def test_a_bad_stage_and_an_invisible_opportunity_are_refused(
    employee: User, outsider: User
) -> None:
    opportunity = make.opportunity(make.account(employee))
    with pytest.raises(ValidationError):
        services.opportunity_move(opportunity.pk, by=employee, stage="closed")
    with pytest.raises(NotFound):
        services.opportunity_move(opportunity.pk, by=outsider, stage=Stage.NEEDS)
    opportunity.refresh_from_db()
    assert opportunity.stage == Stage.QUALIFICATION


def test_a_manager_up_the_tree_may_move_his_teams_opportunities(
    employee: User, dept_head: User
) -> None:
    opportunity = make.opportunity(make.account(employee))
    services.opportunity_move(opportunity.pk, by=dept_head, stage=Stage.NEEDS)
    opportunity.refresh_from_db()
    assert opportunity.stage == Stage.NEEDS


def test_a_card_takes_its_place_and_the_column_makes_room(employee: User) -> None:
    account = make.account(employee)
    a = make.opportunity(account, stage=Stage.NEEDS, position=0)
    b = make.opportunity(account, stage=Stage.NEEDS, position=1)
    moved = make.opportunity(account)
    services.opportunity_move(moved.pk, by=employee, stage=Stage.NEEDS, position=1)
    order = list(
        Opportunity.objects.filter(stage=Stage.NEEDS).order_by("position", "id").values_list("pk")
    )
    assert order == [(a.pk,), (moved.pk,), (b.pk,)]


def test_opportunity_create_refuses_a_negative_amount_and_a_foreign_contact(
    employee: User,
) -> None:
    account = make.account(employee)
    other = make.contact(make.account(employee, "别家有限公司"))
    with pytest.raises(ValidationError) as error:
        services.opportunity_create(by=employee, account_id=account.pk, name="x", amount="-1")
    assert "amount" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.opportunity_create(
            by=employee, account_id=account.pk, name="x", contact_id=other.pk
        )
    assert "contact" in error.value.message_dict
    assert not Opportunity.objects.exists()
    created = services.opportunity_create(by=employee, account_id=account.pk, name="新项目")
    assert (created.stage, created.probability, created.owner) == (
        Stage.QUALIFICATION,
        10,
        employee,
    )


# --- activities ----------------------------------------------------------------------------------


def test_logging_a_visit_moves_the_accounts_last_activity(employee: User) -> None:
    account = make.account(employee)
    visit = services.activity_log(by=employee, account_id=account.pk, kind="visit", subject="拜访")
    account.refresh_from_db()
    assert account.last_activity_at == visit.at
    assert visit.done_at is not None


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"kind": "task"}, "due_at"),
        ({"kind": "fax"}, "kind"),
        ({"kind": "call", "subject": ""}, "subject"),
        ({"kind": "call", "remind_at": timezone.now()}, "remind_at"),
        (
            {
                "kind": "task",
                "due_at": timezone.now(),
                "remind_at": timezone.now() + datetime.timedelta(days=1),
            },
            "remind_at",
        ),
    ],
)
def test_bad_activities_are_refused(employee: User, options: dict[str, object], field: str) -> None:
    account = make.account(employee)
    fields = {"subject": "回访", **options}
    with pytest.raises(ValidationError) as error:
        services.activity_log(by=employee, account_id=account.pk, **fields)  # type: ignore[arg-type]
    assert field in error.value.message_dict
    assert not Activity.objects.exists()


def test_an_activity_on_another_accounts_opportunity_is_refused(employee: User) -> None:
    account = make.account(employee)
    foreign = make.opportunity(make.account(employee, "别家有限公司"))
    with pytest.raises(ValidationError) as error:
        services.activity_log(
            by=employee,
            account_id=account.pk,
            kind="call",
            subject="x",
            opportunity_id=foreign.pk,
        )
    assert "opportunity" in error.value.message_dict
    assert not Activity.objects.exists()


@pytest.fixture
def followup_kind() -> Iterator[None]:
    """The reminders' notification kind, as the app registers it (if it does not yet)."""
    if registry.notification_kinds.get(services.KIND) is not None:
        yield
        return
    registry.notification_kinds.register(registry.NotificationKind(services.KIND, "CRM"))
    yield
    registry.notification_kinds.unregister(services.KIND)


@pytest.mark.usefixtures("followup_kind")
def test_reminders_notify_the_owner_once_and_done_ends_it(employee: User, outsider: User) -> None:
    english(employee)  # the notice is written in the owner's language
    account = make.account(employee)
    now = timezone.now()
    due = services.activity_log(
        by=employee,
        account_id=account.pk,
        kind="task",
        subject="报价回访",
        due_at=now + datetime.timedelta(hours=2),
        remind_at=now - datetime.timedelta(minutes=1),
    )
    later = services.activity_log(
        by=employee,
        account_id=account.pk,
        kind="task",
        subject="下周回访",
        due_at=now + datetime.timedelta(days=7),
        remind_at=now + datetime.timedelta(days=6),
    )
    assert services.followups_remind(now=now) == 1
    assert services.followups_remind(now=now) == 0
    notices = Notification.objects.filter(recipient=employee, kind=services.KIND)
    assert [n.title for n in notices] == ["Follow-up due: 报价回访"]
    with pytest.raises(NotFound):
        services.activity_done(later.pk, by=outsider)
    services.activity_done(due.pk, by=employee)
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.done_at is not None and later.done_at is None


@pytest.mark.usefixtures("followup_kind")
def test_a_done_followup_is_not_reminded(employee: User) -> None:
    now = timezone.now()
    done = make.followup(
        make.account(employee),
        employee,
        due_in=datetime.timedelta(hours=1),
        remind_at=now - datetime.timedelta(hours=1),
        done_at=now,
    )
    assert services.followups_remind(now=now) == 0
    done.refresh_from_db()
    assert done.reminded_at is None


@pytest.mark.usefixtures("followup_kind")
def test_an_inactive_owner_is_skipped_but_marked(employee: User) -> None:
    other = UserFactory.create(department=employee.department)
    now = timezone.now()
    make.followup(
        make.account(other),
        other,
        due_in=datetime.timedelta(hours=1),
        remind_at=now - datetime.timedelta(minutes=5),
    )
    other.is_active = False
    other.save()
    assert services.followups_remind(now=now) == 1
    assert not Notification.objects.exists()
