"""Reads of the organization: managers, department heads, role and department members,
delegation and the announcements a person may read."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import DelegationRule, Notification
from portal.selectors import (
    MAX_DELEGATION_CHAIN,
    announcements_for,
    delegate_for,
    department_head,
    department_members,
    notifications_for,
    role_members,
    unread_notification_count,
    user_manager,
)
from tests.factories import AnnouncementFactory, UserFactory, role

pytestmark = pytest.mark.django_db


@pytest.fixture
def ceo(org):
    """The head of 总经办, the root of the tree."""
    user = UserFactory.create(
        username="ceo", first_name="强", last_name="陈", department=org["root"]
    )
    org["root"].head = user
    org["root"].save()
    return user


# --- managers and department heads -------------------------------------------------------


def test_user_manager_is_the_direct_manager(employee, dept_head, ceo):
    boss = UserFactory.create(username="boss", department=employee.department)
    employee.manager = boss
    employee.save()
    assert user_manager(employee) == boss


def test_user_manager_falls_back_to_the_department_head(org, dept_head):
    newcomer = UserFactory.create(username="newcomer", department=org["east"], manager=None)
    # 华东区 has no head, so the head of 销售部 above it is the manager.
    assert user_manager(newcomer) == dept_head


def test_user_manager_skips_an_inactive_direct_manager(employee, dept_head, ceo):
    other_boss = UserFactory.create(
        username="gone", department=employee.department, is_active=False
    )
    employee.manager = other_boss
    employee.save()
    assert user_manager(employee) == dept_head


def test_user_manager_of_a_head_is_the_head_above(dept_head, ceo):
    # dept_head heads 销售部 and has no direct manager: not herself, but the CEO.
    assert dept_head.manager is None
    assert user_manager(dept_head) == ceo


def test_user_manager_is_none_at_the_top(ceo, superuser):
    assert user_manager(ceo) is None
    assert user_manager(superuser) is None  # no department at all


def test_department_head_levels_skip_vacant_heads(org, employee, dept_head, ceo):
    # employee is in 华东区 (vacant head) below 销售部 (dept_head) below 总经办 (ceo).
    assert org["east"].head is None
    assert department_head(employee, levels=1) == dept_head
    assert department_head(employee, levels=2) == ceo
    assert department_head(employee, levels=3) is None


def test_department_head_levels_with_every_head_filled(org, employee, dept_head, ceo):
    east_lead = UserFactory.create(username="eastlead", department=org["east"])
    org["east"].head = east_lead
    org["east"].save()
    assert department_head(employee, levels=1) == east_lead
    assert department_head(employee, levels=2) == dept_head
    assert department_head(employee, levels=3) == ceo


def test_department_head_skips_an_inactive_head(org, employee, dept_head, ceo):
    dept_head.is_active = False
    dept_head.save()
    assert department_head(employee, levels=1) == ceo
    assert department_head(employee, levels=2) is None


def test_department_head_skips_the_user_being_head(dept_head, ceo):
    assert department_head(dept_head, levels=1) == ceo
    assert department_head(dept_head, levels=2) is None
    assert department_head(ceo, levels=1) is None


def test_department_head_without_department_or_with_bad_level(superuser, employee):
    assert department_head(superuser) is None
    with pytest.raises(ValueError):
        department_head(employee, levels=0)


# --- role and department members ---------------------------------------------------------


def test_role_members_are_the_active_holders(dept_head, employee, colleague):
    reviewer = role("finance_reviewer", "财务审核")
    employee.groups.add(reviewer)
    colleague.groups.add(reviewer)
    colleague.is_active = False
    colleague.save()
    assert list(role_members("finance_reviewer")) == [employee]
    assert list(role_members("dept_head")) == [dept_head]
    assert list(role_members("no_such_role")) == []


def test_role_members_are_distinct(employee):
    employee.groups.add(role("a"), role("b"))
    assert list(role_members("a")) == [employee]


def test_department_members_include_sub_departments(
    org, dept_head, employee, colleague, outsider, hr_admin
):
    assert set(department_members(org["sales"])) == {dept_head, employee, colleague}
    assert set(department_members(org["east"])) == {employee, colleague}
    assert set(department_members(org["root"])) == {
        dept_head,
        employee,
        colleague,
        outsider,
        hr_admin,
    }


def test_department_members_without_sub_departments(org, dept_head, employee, colleague):
    assert list(department_members(org["sales"], include_sub=False)) == [dept_head]
    assert list(department_members(org["root"], include_sub=False)) == []


def test_department_members_leave_out_inactive_people(org, employee, colleague):
    colleague.is_active = False
    colleague.save()
    assert list(department_members(org["east"])) == [employee]


# --- delegation --------------------------------------------------------------------------

NOW = timezone.now()


def delegate(delegator, to, *, days=(-1, 2), process_keys=(), **kwargs):
    return DelegationRule.objects.create(
        delegator=delegator,
        delegate=to,
        starts_at=NOW + timedelta(days=days[0]),
        ends_at=NOW + timedelta(days=days[1]),
        process_keys=list(process_keys),
        **kwargs,
    )


def test_no_rule_means_no_delegate(employee):
    assert delegate_for(employee, at=NOW) is None


def test_rule_for_all_processes(employee, colleague):
    delegate(employee, colleague)
    assert delegate_for(employee, at=NOW) == colleague
    assert delegate_for(employee, process_key="leave", at=NOW) == colleague


def test_rule_limited_to_named_processes(employee, colleague):
    delegate(employee, colleague, process_keys=["expense_claim"])
    assert delegate_for(employee, process_key="expense_claim", at=NOW) == colleague
    assert delegate_for(employee, process_key="leave", at=NOW) is None
    assert delegate_for(employee, at=NOW) is None


def test_rule_applies_only_inside_its_time_window(employee, colleague):
    rule = delegate(employee, colleague, days=(1, 3))
    assert delegate_for(employee, at=NOW) is None
    assert delegate_for(employee, at=rule.starts_at) == colleague
    assert delegate_for(employee, at=rule.ends_at - timedelta(seconds=1)) == colleague
    assert delegate_for(employee, at=rule.ends_at) is None


def test_rule_defaults_to_now(employee, colleague):
    delegate(employee, colleague, days=(-1, 1))
    assert delegate_for(employee) == colleague
    DelegationRule.objects.update(ends_at=timezone.now() - timedelta(minutes=1))
    assert delegate_for(employee) is None


def test_inactive_rule_or_inactive_delegate_is_ignored(employee, colleague):
    rule = delegate(employee, colleague, is_active=False)
    assert delegate_for(employee, at=NOW) is None
    rule.is_active = True
    rule.save()
    colleague.is_active = False
    colleague.save()
    assert delegate_for(employee, at=NOW) is None


def test_latest_rule_wins(employee, colleague, outsider):
    delegate(employee, colleague, days=(-3, 3))
    delegate(employee, outsider, days=(-1, 1))
    assert delegate_for(employee, at=NOW) == outsider


def test_delegation_chain_is_followed(employee, colleague, outsider):
    delegate(employee, colleague)
    delegate(colleague, outsider)
    assert delegate_for(employee, at=NOW) == outsider
    assert delegate_for(colleague, at=NOW) == outsider


def test_delegation_chain_stops_at_a_rule_that_does_not_cover_the_process(
    employee, colleague, outsider
):
    delegate(employee, colleague)
    delegate(colleague, outsider, process_keys=["leave"])
    assert delegate_for(employee, process_key="expense_claim", at=NOW) == colleague
    assert delegate_for(employee, process_key="leave", at=NOW) == outsider


def test_delegation_cycle_ends_before_it_repeats(employee, colleague, outsider):
    delegate(employee, colleague)
    delegate(colleague, employee)
    assert delegate_for(employee, at=NOW) == colleague
    assert delegate_for(colleague, at=NOW) == employee
    # A longer cycle A → B → C → A ends at C.
    DelegationRule.objects.all().delete()
    delegate(employee, colleague)
    delegate(colleague, outsider)
    delegate(outsider, employee)
    assert delegate_for(employee, at=NOW) == outsider


def test_delegation_chain_is_cut_after_the_maximum_length(org):
    people = [UserFactory.create(username=f"p{i}") for i in range(MAX_DELEGATION_CHAIN + 2)]
    for absent, proxy in itertools.pairwise(people):
        delegate(absent, proxy)
    assert delegate_for(people[0], at=NOW) == people[MAX_DELEGATION_CHAIN]


# --- announcements -----------------------------------------------------------------------


def visible(user, **kwargs):
    return set(announcements_for(user, **kwargs).values_list("title", flat=True))


def test_untargeted_announcement_reaches_everyone(employee, outsider, superuser):
    AnnouncementFactory.create(title="全员")
    for user in (employee, outsider, superuser):
        assert visible(user) == {"全员"}


def test_department_targeting_reaches_its_members_and_sub_departments(
    org, employee, dept_head, outsider
):
    AnnouncementFactory.create(title="销售").target_departments.add(org["sales"])
    AnnouncementFactory.create(title="华东").target_departments.add(org["east"])
    # employee is in 华东区 below 销售部: both reach her.
    assert visible(employee) == {"销售", "华东"}
    # dept_head is in 销售部: a notice for 华东区 does not go up to her.
    assert visible(dept_head) == {"销售"}
    assert visible(outsider) == set()


def test_role_targeting_reaches_role_holders(employee, dept_head, outsider):
    AnnouncementFactory.create(title="负责人").target_roles.add(role("dept_head"))
    assert visible(dept_head) == {"负责人"}
    assert visible(employee) == set()
    assert visible(outsider) == set()


def test_announcement_for_several_audiences_is_listed_once(org, dept_head):
    announcement = AnnouncementFactory.create(title="双重")
    announcement.target_departments.add(org["sales"], org["root"])
    announcement.target_roles.add(role("dept_head"))
    assert list(announcements_for(dept_head).values_list("title", flat=True)) == ["双重"]


def test_expired_and_future_announcements_are_hidden(employee):
    now = timezone.now()
    AnnouncementFactory.create(
        title="过期", published_at=now - timedelta(days=5), expires_at=now - timedelta(days=1)
    )
    AnnouncementFactory.create(title="将来", published_at=now + timedelta(days=1))
    AnnouncementFactory.create(
        title="有效", published_at=now - timedelta(days=1), expires_at=now + timedelta(days=1)
    )
    assert visible(employee) == {"有效"}
    assert visible(employee, at=now + timedelta(days=2)) == {"将来"}
    assert visible(employee, at=now - timedelta(days=3)) == {"过期"}


def test_announcements_are_pinned_first_then_newest(employee):
    now = timezone.now()
    AnnouncementFactory.create(title="旧", published_at=now - timedelta(days=3))
    AnnouncementFactory.create(title="新", published_at=now - timedelta(days=1))
    AnnouncementFactory.create(title="置顶", published_at=now - timedelta(days=9), is_pinned=True)
    titles = list(announcements_for(employee).values_list("title", flat=True))
    assert titles == ["置顶", "新", "旧"]


# --- notifications -----------------------------------------------------------------------


def test_unread_count_and_notifications_are_per_person(employee, colleague):
    Notification.objects.create(recipient=employee, kind="system", title="1")
    Notification.objects.create(recipient=employee, kind="system", title="2")
    Notification.objects.create(
        recipient=employee, kind="system", title="3", read_at=timezone.now()
    )
    Notification.objects.create(recipient=colleague, kind="system", title="x")
    assert unread_notification_count(employee) == 2
    assert unread_notification_count(colleague) == 1
    assert set(notifications_for(employee).values_list("title", flat=True)) == {"1", "2", "3"}


# --- finding people ------------------------------------------------------------------------


def test_a_search_finds_people_by_any_part_of_their_name_number_or_department(org, employee):
    """``people_matching`` reads ``User.search_text`` (kept by the database): the user name
    and employee number in any case, the name in either order, either part of it, and the
    department's name; a match never spans two parts."""
    from portal.selectors import people_matching

    english = UserFactory.create(
        username="Wei.Zhang", first_name="Wei", last_name="Zhang", employee_no="E0042"
    )
    employee.employee_no = "E0007"
    employee.save()

    def found(text: str) -> set[str]:
        return set(people_matching(text).values_list("username", flat=True))

    assert found("张伟") == found("伟") == found(" 张 ") == found("伟张") == {"zhangwei"}
    # 张伟 and Wei Zhang: family name first with no space (ZhangWei), given name first with
    # and without a space
    assert found("ZHANGWEI") == {"zhangwei", "Wei.Zhang"}
    assert found("wei zhang") == found("WeiZhang") == {"Wei.Zhang"}
    assert found("zhang wei") == set()
    assert found("wei.ZHANG") == found("e0042") == found("E004") == {"Wei.Zhang"}
    assert found("E00") == {"zhangwei", "Wei.Zhang"}
    assert "zhangwei" in found("华东")  # the department 华东区
    assert found("zhangwei\x1fe0007") == found("g\x1fe") == found("weie0007") == set()
    english.last_name = "Li"
    english.save()  # the database writes the column again
    assert found("wei li") == {"Wei.Zhang"} and found("wei zhang") == set()
