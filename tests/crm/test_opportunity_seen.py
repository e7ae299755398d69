"""An opportunity carries copies of its account's owner and department, which decide who
sees it (``crm.selectors.visibility.visible_opportunities``); the database keeps them
(migration 0005's triggers) whatever writes the rows: these tests write them every way
the portal does and check the copies, and who sees the opportunity, after each."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Account, Opportunity
from crm.selectors import sales as selectors
from crm.services import accounts as services
from portal.models import Department, User
from tests.crm import sales_fixtures as make
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def copies(opportunity: Opportunity) -> tuple[int | None, int | None]:
    row = Opportunity.objects.values_list("account_owner_id", "account_department_id").get(
        pk=opportunity.pk
    )
    return row[0], row[1]


@pytest.fixture
def finance_person(org: dict[str, Department]) -> User:
    head = UserFactory.create(username="caiwu_head", department=org["finance"])
    org["finance"].head = head
    org["finance"].save()
    return UserFactory.create(username="caiwu", department=org["finance"])


def test_an_opportunity_gets_its_accounts_owner_and_department(employee: User) -> None:
    account = make.account(employee)
    created = make.opportunity(account)
    assert copies(created) == (employee.pk, employee.department_id)
    bulk = Opportunity.objects.bulk_create(
        [
            Opportunity(
                account=account,
                owner=employee,
                name="批量",
                created_at=created.created_at,
                stage_changed_at=created.created_at,
            )
        ]
    )
    assert copies(bulk[0]) == (employee.pk, employee.department_id)


def test_handing_the_account_over_moves_the_copies_and_who_sees_it(
    employee: User,
    dept_head: User,
    finance_person: User,
    org: dict[str, Department],
    login: Callable[[User], Client],
) -> None:
    account = make.account(employee)
    opportunity = make.opportunity(account, name="华东项目")
    stale = Opportunity.objects.get(pk=opportunity.pk)  # read before the hand-over
    services.account_assign(by=employee, account_id=account.pk, owner=finance_person)
    assert copies(opportunity) == (finance_person.pk, org["finance"].pk)
    # a full save of the instance read before writes every column: the copies stay right
    stale.name = "华东项目（改）"
    stale.save()
    assert copies(opportunity) == (finance_person.pk, org["finance"].pk)
    finance_head = User.objects.get(username="caiwu_head")
    assert selectors.opportunities_for(finance_head).filter(pk=opportunity.pk).exists()
    assert not selectors.opportunities_for(dept_head).filter(pk=opportunity.pk).exists()
    # the former owner stays on the team: still sees it, through the team, on the board too
    assert selectors.opportunities_for(employee).filter(pk=opportunity.pk).exists()
    page = login(dept_head).get(reverse("crm:opportunity", args=[opportunity.pk]))
    assert page.status_code == 404
    board = login(finance_head).get(reverse("crm:pipeline")).content.decode()
    assert "华东项目（改）" in board


def test_a_merge_moves_the_opportunities_under_the_survivors_owner(
    employee: User, finance_person: User, org: dict[str, Department]
) -> None:
    survivor = make.account(finance_person, "北京远帆科技有限公司")
    merged = make.account(employee, "北京远帆科技公司")
    opportunity = make.opportunity(merged)
    admin = UserFactory.create(username="root_admin", is_superuser=True)
    services.account_merge(by=admin, survivor_id=survivor.pk, merged_id=merged.pk)
    assert Opportunity.objects.get(pk=opportunity.pk).account_id == survivor.pk
    assert copies(opportunity) == (finance_person.pk, org["finance"].pk)


def test_a_change_written_around_the_services_is_followed_too(
    employee: User, colleague: User, finance_person: User, org: dict[str, Department]
) -> None:
    """The admin, a shell or a script may write the account's row directly."""
    account = make.account(employee)
    other = make.account(colleague, "杭州远帆网络科技有限公司")
    opportunity = make.opportunity(account)
    Account.objects.filter(pk=account.pk).update(owner=finance_person, department=org["finance"])
    assert copies(opportunity) == (finance_person.pk, org["finance"].pk)
    Opportunity.objects.filter(pk=opportunity.pk).update(account=other)
    assert copies(opportunity) == (colleague.pk, colleague.department_id)
    # the copies cannot be set to anything but the account's
    Opportunity.objects.filter(pk=opportunity.pk).update(account_owner=finance_person)
    assert copies(opportunity) == (colleague.pk, colleague.department_id)
