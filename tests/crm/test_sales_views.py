"""Sales pages as each persona: the owner works, the manager up the tree sees, the outsider
gets 404; the kanban board in a bounded number of queries; the move endpoint's JSON answer
(field errors in the user's language); the forecast and its CSV; the phone form; portlets."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm import portlets_sales
from crm.models import Activity, AssignmentRule, Lead, LeadStatus, Opportunity, Stage
from crm.selectors import sales as selectors
from crm.services import accounts
from crm.services import sales as services
from portal.models import Department, User
from tests.crm import sales_fixtures as make
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Login = Callable[[User], Client]
SOON = datetime.date(2027, 3, 31)


def test_the_pages_answer_the_owner_and_404_the_outsider(
    employee: User, outsider: User, dept_head: User, login: Login
) -> None:
    account = make.account(employee)
    opportunity = make.opportunity(account, amount="100", expected_close=SOON)
    lead = services.lead_create(by=employee, company="线索公司", assign_to_me=True)
    pages = [
        reverse("crm:lead", args=[lead.pk]),
        reverse("crm:lead_convert", args=[lead.pk]),
        reverse("crm:opportunity", args=[opportunity.pk]),
        reverse("crm:opportunity_edit", args=[opportunity.pk]),
        reverse("crm:activity_create", args=[account.pk]),
        reverse("crm:timeline", args=["account", account.pk]),
        reverse("crm:timeline", args=["opportunity", opportunity.pk]),
    ]
    client = login(employee)
    for url in pages:
        assert client.get(url).status_code == 200, url
    client = login(dept_head)
    for url in pages:
        assert client.get(url).status_code == 200, url
    client = login(outsider)
    for url in pages:
        assert client.get(url).status_code == 404, url
    for url in (reverse("crm:leads"), reverse("crm:pipeline"), reverse("crm:forecast")):
        response = client.get(url)
        assert response.status_code == 200
        assert "线索公司" not in response.content.decode()
        assert opportunity.name not in response.content.decode()


def test_an_outsiders_move_is_404_and_changes_nothing(
    employee: User, outsider: User, login: Login
) -> None:
    opportunity = make.opportunity(make.account(employee))
    response = login(outsider).post(
        reverse("crm:opportunity_move", args=[opportunity.pk]), {"stage": "needs"}
    )
    assert response.status_code == 404
    opportunity.refresh_from_db()
    assert opportunity.stage == Stage.QUALIFICATION


def test_the_kanban_shows_the_cards_in_a_bounded_number_of_queries(
    employee: User,
    colleague: User,
    dept_head: User,
    org: dict[str, object],
    login: Login,
    django_assert_max_num_queries: Any,
) -> None:
    for person in (employee, colleague):
        account = make.account(person, f"{person.username} 有限公司")
        for stage in (Stage.QUALIFICATION, Stage.NEEDS, Stage.PROPOSAL):
            for _ in range(4):
                make.opportunity(account, stage=stage, amount="10", expected_close=SOON)
    client = login(dept_head)
    url = reverse("crm:pipeline") + f"?department={org['sales'].pk}"  # type: ignore[attr-defined]
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count('class="sales-card"') == 24
    board = response.context["board"]
    counts = {column.stage: column.count for column in board.columns}
    assert counts[Stage.NEEDS] == 8


def test_a_column_shows_its_first_cards_and_a_more_link(employee: User, login: Login) -> None:
    account = make.account(employee)
    for i in range(selectors.COLUMN_LIMIT + 3):
        make.opportunity(account, position=i)
    response = login(employee).get(reverse("crm:pipeline"))
    column = response.context["board"].columns[0]
    assert (len(column.cards), column.more) == (selectors.COLUMN_LIMIT, 3)
    assert [c.position for c in column.cards] == list(range(selectors.COLUMN_LIMIT))
    more = login(employee).get(reverse("crm:pipeline") + "?stage=qualification")
    assert len(more.context["board"].columns[0].cards) == selectors.COLUMN_LIMIT + 3


def test_the_owner_filter(employee: User, colleague: User, dept_head: User, login: Login) -> None:
    mine = make.opportunity(make.account(employee), name="我的项目")
    theirs = make.opportunity(make.account(colleague, "别家有限公司"), name="别人的项目")
    page = login(dept_head).get(reverse("crm:pipeline") + f"?owner={employee.pk}")
    text = page.content.decode()
    assert mine.name in text and theirs.name not in text


def test_the_owner_choices_are_the_people_whose_opportunities_one_sees(
    org: dict[str, Department],
    employee: User,
    colleague: User,
    dept_head: User,
    outsider: User,
    login: Login,
) -> None:
    """The board's owner filter offers the owners of opportunities on the accounts one owns
    or is on the team of, and the people of the departments one heads who own one; never
    someone whose opportunities one does not see."""
    mine = make.account(employee)
    make.opportunity(mine, name="我的项目")
    teamed = make.account(outsider, "财务部的客户有限公司")
    make.opportunity(teamed, name="财务部的项目")
    make.opportunity(make.account(colleague, "别家有限公司"), name="别人的项目")
    stranger = UserFactory.create(username="zhaolei", department=org["hr"])
    make.opportunity(make.account(stranger, "陌生有限公司"), owner=stranger)
    UserFactory.create(username="sunli", department=employee.department)  # owns none

    def offered(person: User) -> set[str]:
        page = login(person).get(reverse("crm:pipeline"))
        return {
            User.objects.get(pk=pk).username
            for pk, _label in page.context["filter_form"].fields["owner"].choices
            if pk
        }

    assert offered(employee) == {"zhangwei"}
    accounts.team_add(by=outsider, account_id=teamed.pk, user=employee)
    assert offered(employee) == {"zhangwei", "liuyang"}  # the team account's owner
    # the department head: the members who own an opportunity (not the idle one, not the
    # stranger of no department, not the finance department's owner of a team account)
    assert offered(dept_head) == {"zhangwei", "wangfang"}
    assert offered(stranger) == {"zhaolei"}


def test_a_refused_move_answers_the_field_error_in_the_users_language(
    employee: User, login: Login
) -> None:
    opportunity = make.opportunity(make.account(employee))
    client = login(employee)
    client.cookies["django_language"] = "zh-hans"
    response = client.post(
        reverse("crm:opportunity_move", args=[opportunity.pk]),
        {"stage": "won", "position": "0"},
        headers={"Accept": "application/json", "Accept-Language": "zh-hans"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False
    assert set(body["errors"]) == {"amount", "expected_close"}
    assert body["message"]
    opportunity.refresh_from_db()
    assert opportunity.stage == Stage.QUALIFICATION


def test_a_move_by_the_form_redirects_back_and_by_script_answers_json(
    employee: User, login: Login
) -> None:
    opportunity = make.opportunity(make.account(employee), amount="500", expected_close=SOON)
    client = login(employee)
    response = client.post(
        reverse("crm:opportunity_move", args=[opportunity.pk]),
        {"stage": "proposal", "next": "/evil.example.com"},
    )
    assert response.status_code == 302
    response = client.post(
        reverse("crm:opportunity_move", args=[opportunity.pk]),
        {"stage": "won", "position": "3"},
        headers={"Accept": "application/json"},
    )
    assert response.json() == {
        "ok": True,
        "id": opportunity.pk,
        "stage": "won",
        "position": 3,
        "probability": 100,
    }
    response = client.post(
        reverse("crm:opportunity_move", args=[opportunity.pk]),
        {"stage": "lost"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["lost_reason"]


def test_lead_create_convert_through_the_pages(employee: User, login: Login) -> None:
    client = login(employee)
    response = client.post(
        reverse("crm:lead_create"),
        {
            "company": "苏州精工机械有限公司",
            "contact_name": "周强",
            "phone": "13700000003",
            "source": "exhibition",
            "industry": "manufacturing",
            "assign_to_me": "on",
        },
    )
    lead = Lead.objects.get()
    assert response.status_code == 302
    response = client.post(
        reverse("crm:lead_convert", args=[lead.pk]),
        {"account": "new", "opportunity_name": "产线改造", "amount": "-3"},
    )
    assert response.status_code == 400
    assert not Opportunity.objects.exists()
    response = client.post(
        reverse("crm:lead_convert", args=[lead.pk]),
        {"account": "new", "opportunity_name": "产线改造", "amount": "80000"},
    )
    opportunity = Opportunity.objects.get()
    assert response["Location"] == reverse("crm:opportunity", args=[opportunity.pk])
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    # the second lead of the same company is offered the existing account
    second = services.lead_create(by=employee, company="苏州精工机械 有限公司", assign_to_me=True)
    page = client.get(reverse("crm:lead_convert", args=[second.pk]))
    assert "苏州精工机械有限公司" in page.content.decode()
    response = client.post(
        reverse("crm:lead_convert", args=[second.pk]),
        {"account": str(opportunity.account_id), "offered": "1"},
    )
    assert response.status_code == 302
    assert Opportunity.objects.filter(account=opportunity.account).count() == 2


def test_disqualify_without_a_reason_is_a_field_error(employee: User, login: Login) -> None:
    lead = services.lead_create(by=employee, company="甲", assign_to_me=True)
    response = login(employee).post(reverse("crm:lead_disqualify", args=[lead.pk]), {})
    assert response.status_code == 400
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


def test_the_forecast_table_and_csv(employee: User, colleague: User, login: Login) -> None:
    account = make.account(employee)
    month = timezone.localdate().replace(day=15)
    make.opportunity(
        account,
        stage=Stage.PROPOSAL,
        amount="1000",
        expected_close=month,
        probability=50,
        committed=True,
    )
    make.opportunity(account, stage=Stage.NEEDS, amount="400", expected_close=month, probability=20)
    make.opportunity(
        account,
        stage=Stage.LOST,
        amount="9999",
        expected_close=month,
        probability=0,
        lost_reason="x",
    )
    make.opportunity(make.account(colleague, "别家有限公司"), amount="777", expected_close=month)
    client = login(employee)
    rows = client.get(reverse("crm:forecast")).context["rows"]
    assert len(rows) == 1
    row = rows[0]
    assert (row.count, row.pipeline, row.weighted, row.committed, row.won) == (
        2,
        Decimal("1400.00"),
        Decimal("580.00"),
        Decimal("1000.00"),
        Decimal("0.00"),
    )
    response = client.get(reverse("crm:forecast") + "?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2
    assert lines[1].endswith("2,1400.00,580.00,1000.00,0.00")
    bad = client.get(reverse("crm:forecast") + "?months=99")
    assert bad.status_code == 200 and bad.context["filter_form"].errors


def test_logging_a_visit_from_the_phone_form(employee: User, login: Login) -> None:
    account = make.account(employee)
    contact = make.contact(account)
    client = login(employee)
    page = client.get(reverse("crm:activity_create", args=[account.pk]))
    assert 'name="kind"' in page.content.decode()
    response = client.post(
        reverse("crm:activity_create", args=[account.pk]),
        {"kind": "visit", "subject": "上门拜访", "contact": str(contact.pk)},
    )
    assert response.status_code == 302
    visit = Activity.objects.get()
    assert (visit.kind, visit.contact, visit.owner) == ("visit", contact, employee)
    response = client.post(
        reverse("crm:activity_create", args=[account.pk]), {"kind": "task", "subject": "回访"}
    )
    assert response.status_code == 400
    assert Activity.objects.count() == 1


def test_followups_page_done_and_portlets(employee: User, outsider: User, login: Login) -> None:
    account = make.account(employee)
    task = make.followup(account, employee, due_in=datetime.timedelta(hours=-1), subject="逾期回访")
    make.opportunity(
        account, stage=Stage.PROPOSAL, amount="300", expected_close=SOON, probability=50
    )
    client = login(employee)
    page = client.get(reverse("crm:followups"))
    assert "逾期回访" in page.content.decode()
    request = page.wsgi_request
    assert [a.pk for a in portlets_sales.followups_context(request)["followups"]] == [task.pk]
    pipeline = {row["stage"]: row for row in portlets_sales.pipeline_context(request)["pipeline"]}
    assert (pipeline["proposal"]["count"], pipeline["proposal"]["weighted"]) == (
        1,
        Decimal("150.00"),
    )
    assert login(outsider).post(reverse("crm:activity_done", args=[task.pk])).status_code == 404
    task.refresh_from_db()
    assert task.done_at is None
    client = login(employee)
    assert client.post(reverse("crm:activity_done", args=[task.pk])).status_code == 302
    task.refresh_from_db()
    assert task.done_at is not None


def test_the_timeline_mixes_activities_and_stage_moves(employee: User, login: Login) -> None:
    account = make.account(employee)
    opportunity = make.opportunity(account, amount="10", expected_close=SOON)
    services.activity_log(
        by=employee,
        account_id=account.pk,
        kind="call",
        subject="电话沟通",
        opportunity_id=opportunity.pk,
    )
    services.opportunity_move(opportunity.pk, by=employee, stage=Stage.PROPOSAL)
    entries = selectors.timeline(account=account)
    assert [e.kind for e in entries] == ["event", "activity"]
    html = login(employee).get(reverse("crm:timeline", args=["account", account.pk]))
    assert "电话沟通" in html.content.decode()


def test_a_lead_given_by_the_rules_to_someone_else_leaves_the_creator_on_the_list(
    employee: User, login: Login
) -> None:
    other = UserFactory.create(department=employee.department)
    AssignmentRule.objects.create(name="all").members.add(other)
    response = login(employee).post(
        reverse("crm:lead_create"), {"company": "乙", "source": "website", "industry": "it"}
    )
    assert response["Location"] == reverse("crm:leads")
    assert Lead.objects.get().owner == other


@pytest.mark.parametrize("few", [selectors.FEW_CARDS, 0], ids=["read-all", "walks"])
def test_the_board_ranks_counts_and_sums_each_stage(
    few: int,
    org: dict[str, Department],
    employee: User,
    colleague: User,
    dept_head: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each stage's first cards by position (ties: the id), its count and its amount, as
    a plain reading of the opportunities the person sees gives them, for any limit, both
    when the board reads every visible row and when it walks each stage."""
    monkeypatch.setattr(selectors, "FEW_CARDS", few)
    accounts = [
        make.account(person, f"客户{n}有限公司")
        for n in range(3)
        for person in (employee, colleague)
    ]
    stages = (Stage.QUALIFICATION, Stage.NEEDS, Stage.PROPOSAL, Stage.WON)
    for n in range(40):
        make.opportunity(
            accounts[n % len(accounts)],
            name=f"项目{n}",
            stage=stages[n % len(stages)],
            amount=str(1000 + n),
            expected_close=SOON,
            position=(n * 7) % 5,  # ties: the id decides
            closed_at=timezone.now() if stages[n % len(stages)] == Stage.WON else None,
        )
    since = timezone.now() - datetime.timedelta(days=90)
    for person, owners in ((employee, {employee.pk}), (dept_head, {employee.pk, colleague.pk})):
        rows = selectors.opportunities_for(person).filter(
            Q(stage__in=selectors.OPEN_STAGES) | Q(closed_at__gte=since)
        )
        seen = sorted(
            (
                o
                for o in Opportunity.objects.select_related("account")
                if o.account.owner_id in owners
            ),
            key=lambda o: (o.stage, o.position, o.pk),
        )
        for limit in (1, 4, 30):
            expected = []
            for stage in sorted({o.stage for o in seen}):
                in_stage = [o for o in seen if o.stage == stage]
                amount = sum(o.amount for o in in_stage)
                expected += [(o.pk, stage, len(in_stage), amount) for o in in_stage[:limit]]
            assert selectors._ranked(rows, limit) == expected and expected
    admin = UserFactory.create(username="xiaoguan", department=org["sales"])
    admin.user_permissions.add(
        Permission.objects.get(content_type__app_label="crm", codename="administer_sales")
    )
    admin = User.objects.get(pk=admin.pk)
    board = selectors.board(admin, limit=4)
    won = next(column for column in board.columns if column.stage == Stage.WON)
    assert won.count == 10 and [c.name for c in won.cards] == [
        o.name for o in Opportunity.objects.filter(stage=Stage.WON).order_by("position", "id")[:4]
    ]
    assert board.columns == selectors.board(dept_head, limit=4).columns  # he sees them all too
