"""The analysis selectors on small hand-made data, with the figures worked out by hand: RFM
scores and segments, the funnel, win rates and median cycles, the weighted pipeline, months
without sales, SLA attainment; and what a salesperson, their manager and an outsider see."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from crm.models import Account, AccountLevel, Case, CaseStatus, Lead, LeadStatus, Opportunity, Stage
from crm.selectors import analysis
from crm.selectors.analysis import Scope, Segment
from portal.models import Department, User
from tests.crm import sales_fixtures as make
from tests.crm.cases_fixtures import make_account

pytestmark = pytest.mark.django_db
SH = zoneinfo.ZoneInfo("Asia/Shanghai")
YEAR = Scope(datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))


def on(month: int, day: int, hour: int = 12, year: int = 2026) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, tzinfo=SH)


def closed(
    account: Account,
    amount: str,
    at: datetime.datetime,
    *,
    stage: str = Stage.WON,
    created: datetime.datetime | None = None,
    owner: User | None = None,
) -> Opportunity:
    """An opportunity won (or lost) at ``at``, created at ``created`` (default: 10 days
    before)."""
    found = make.opportunity(account, owner, stage=stage, amount=amount)
    Opportunity.objects.filter(pk=found.pk).update(
        closed_at=at, created_at=created or at - datetime.timedelta(days=10)
    )
    found.refresh_from_db()
    return found


@pytest.fixture
def five(employee: User) -> dict[str, Account]:
    """Five customers of the employee (the figures in test_rfm_scores_and_segments)."""
    accounts = {key: make.account(employee, name=f"客户{key}") for key in "ABCDE"}
    for amount, at in (("100000", on(12, 20)), ("50000", on(11, 1)), ("30000", on(10, 1))):
        closed(accounts["A"], amount, at)
    closed(accounts["B"], "200000", on(3, 1))
    closed(accounts["B"], "100000", on(2, 1))
    closed(accounts["C"], "5000", on(12, 1))
    closed(accounts["D"], "1000", on(1, 10))
    closed(accounts["E"], "80000", on(6, 15))
    closed(accounts["E"], "20000", on(6, 20))
    closed(accounts["D"], "999999", on(5, 5), stage=Stage.LOST)  # lost: counts nowhere
    closed(accounts["D"], "777", on(12, 30, year=2025))  # before the period
    return accounts


def _rows(user: User, scope: Scope = YEAR) -> dict[str, analysis.RfmRow]:
    summary = analysis.rfm_summary(user, scope)
    return {
        row.name[-1]: row
        for row in analysis.rfm_page(analysis.rfm_rows(user, scope, summary), scope)
    }


def test_rfm_scores_and_segments(employee: User, five: dict[str, Account]) -> None:
    # R by last win: D 01-10, B 03-01, E 06-20, C 12-01, A 12-20 → 1..5 (mean 3)
    # F: C, D 1 win (rank 1 → 1); B, E 2 (rank 3 → 3); A 3 (rank 5 → 5) (mean 2.6)
    # M: D 1 000, C 5 000, E 100 000, A 180 000, B 300 000 → 1..5 (mean 3)
    rows = _rows(employee)
    scores = {key: (row.r_score, row.f_score, row.m_score) for key, row in rows.items()}
    assert scores == {
        "A": (5, 5, 4),
        "B": (2, 3, 5),
        "C": (4, 1, 2),
        "D": (1, 1, 1),
        "E": (3, 3, 3),
    }
    assert {key: row.segment for key, row in rows.items()} == {
        "A": Segment.IMPORTANT_VALUE,
        "B": Segment.IMPORTANT_RETENTION,
        "C": Segment.GENERAL_DEVELOPMENT,
        "D": Segment.GENERAL_WINBACK,
        "E": Segment.GENERAL_RETENTION,  # R 3 and M 3 are not above their means of 3
    }
    a = rows["A"]
    assert (a.frequency, a.monetary, a.recency_days) == (3, Decimal("180000.00"), 11)
    assert a.last_won == datetime.date(2026, 12, 20)


def test_rfm_summary_counts_every_segment(employee: User, five: dict[str, Account]) -> None:
    summary = analysis.rfm_summary(employee, YEAR)
    assert summary.accounts == 5
    assert (summary.mean_r, summary.mean_f, summary.mean_m) == (3.0, 2.6, 3.0)
    counts = dict(summary.segments)
    assert list(counts) == list(Segment)
    assert counts[Segment.IMPORTANT_VALUE] == 1
    assert counts[Segment.GENERAL_RETENTION] == 1
    assert counts[Segment.IMPORTANT_DEVELOPMENT] == 0
    assert sum(counts.values()) == 5


def test_rfm_list_puts_the_most_valuable_first(employee: User, five: dict[str, Account]) -> None:
    assert list(_rows(employee)) == ["A", "B", "C", "E", "D"]


def test_rfm_ties_share_a_score(employee: User) -> None:
    for key in "XY":
        closed(make.account(employee, name=f"客户{key}"), "500", on(4, 1))
    rows = _rows(employee)
    assert rows["X"].r_score == rows["Y"].r_score == 1
    assert rows["X"].m_score == rows["Y"].m_score == 1
    assert rows["X"].segment == Segment.GENERAL_WINBACK


def test_rfm_without_wins_is_empty(employee: User) -> None:
    summary = analysis.rfm_summary(employee, YEAR)
    assert summary.accounts == 0
    assert all(count == 0 for _segment, count in summary.segments)


def test_rfm_sees_only_visible_accounts(
    employee: User, colleague: User, dept_head: User, outsider: User, five: dict[str, Account]
) -> None:
    theirs = make.account(colleague, name="客户Z")
    closed(theirs, "1", on(7, 1))
    assert "Z" not in _rows(employee)
    assert set(_rows(dept_head)) == {"A", "B", "C", "D", "E", "Z"}
    assert _rows(outsider) == {}
    assert analysis.rfm_summary(outsider, YEAR).accounts == 0


def test_rfm_by_owner(
    employee: User, colleague: User, dept_head: User, five: dict[str, Account]
) -> None:
    closed(make.account(colleague, name="客户Z"), "1", on(7, 1))
    scope = Scope(YEAR.first, YEAR.last, owner_id=colleague.pk)
    assert set(_rows(dept_head, scope)) == {"Z"}


def _lead(owner: User | None, status: str, created: datetime.datetime, **more: Any) -> Lead:
    return Lead.objects.create(
        company="线索", owner=owner, status=status, created_at=created, **more
    )


def test_funnel_counts_and_rates(employee: User, colleague: User, dept_head: User) -> None:
    account = make.account(employee)
    won = make.opportunity(account, stage=Stage.WON, amount="10")
    open_one = make.opportunity(account, amount="10")
    for status in (LeadStatus.NEW, LeadStatus.NEW, LeadStatus.DISQUALIFIED, LeadStatus.QUALIFIED):
        _lead(employee, status, on(3, 1))
    _lead(employee, LeadStatus.CONVERTED, on(3, 2), converted_opportunity=won)
    _lead(employee, LeadStatus.CONVERTED, on(3, 3), converted_opportunity=open_one)
    _lead(employee, LeadStatus.CONVERTED, on(3, 4))  # its opportunity is gone
    _lead(employee, LeadStatus.NEW, on(3, 1, year=2025))  # before the period
    _lead(colleague, LeadStatus.NEW, on(3, 1))  # not the employee's
    steps = {step.key: step for step in analysis.funnel(employee, YEAR)}
    assert [(key, step.count) for key, step in steps.items()] == [
        ("leads", 7),
        ("qualified", 4),
        ("converted", 3),
        ("opportunities", 2),
        ("won", 1),
    ]
    assert steps["leads"].step_rate is None
    assert steps["qualified"].step_rate == pytest.approx(4 / 7)
    assert steps["converted"].step_rate == pytest.approx(3 / 4)
    assert steps["won"].step_rate == pytest.approx(1 / 2)
    assert steps["won"].overall_rate == pytest.approx(1 / 7)
    assert analysis.funnel(dept_head, YEAR)[0].count == 8
    only = Scope(YEAR.first, YEAR.last, owner_id=colleague.pk)
    assert analysis.funnel(dept_head, only)[0].count == 1


def test_funnel_without_leads_has_no_rates(employee: User) -> None:
    steps = analysis.funnel(employee, YEAR)
    assert [step.count for step in steps] == [0, 0, 0, 0, 0]
    assert all(step.step_rate is None for step in steps[1:])


def test_win_rate_and_median_cycle_by_owner(
    employee: User, colleague: User, dept_head: User
) -> None:
    mine = make.account(employee)
    theirs = make.account(colleague)
    # the employee: won after 10, 20, 40 and 50 days (median 30, average 30), lost 1
    for days in (10, 20, 40, 50):
        closed(mine, "100", on(5, 1), created=on(5, 1) - datetime.timedelta(days=days))
    closed(mine, "100", on(5, 2), stage=Stage.LOST)
    # the colleague: won after 3, 4 and 11 days (median 4, average 6), lost 3
    for days in (3, 4, 11):
        closed(theirs, "50", on(6, 1), created=on(6, 1) - datetime.timedelta(days=days))
    for _n in range(3):
        closed(theirs, "50", on(6, 2), stage=Stage.LOST)
    make.opportunity(mine, amount="999")  # open: counts nowhere
    rows = {row.label: row for row in analysis.win_rates(dept_head, YEAR).owners}
    zhang, wang = rows["张伟"], rows["王芳"]
    assert (zhang.won, zhang.lost, zhang.win_rate) == (4, 1, 0.8)
    assert (zhang.average_days, zhang.median_days) == (30.0, 30.0)
    assert zhang.won_amount == Decimal("400.00")
    assert (wang.won, wang.lost, wang.win_rate) == (3, 3, 0.5)
    assert (wang.average_days, wang.median_days) == (6.0, 4.0)
    assert [row.label for row in analysis.win_rates(employee, YEAR).owners] == ["张伟"]


def test_win_rate_by_department(employee: User, colleague: User, dept_head: User) -> None:
    closed(make.account(employee), "100", on(5, 1))
    closed(make.account(colleague), "100", on(5, 1), stage=Stage.LOST)
    closed(make.account(dept_head), "100", on(5, 1))
    rows = {row.label: row for row in analysis.win_rates(dept_head, YEAR).departments}
    assert (rows["华东区"].won, rows["华东区"].lost, rows["华东区"].win_rate) == (1, 1, 0.5)
    assert (rows["销售部"].won, rows["销售部"].lost) == (1, 0)
    assert rows["销售部"].median_days == 10.0


def test_pipeline_weighted_by_stage(employee: User, colleague: User) -> None:
    account = make.account(employee)
    make.opportunity(account, stage=Stage.QUALIFICATION, amount="1000", probability=10)
    make.opportunity(account, stage=Stage.QUALIFICATION, amount="500.50", probability=20)
    make.opportunity(account, stage=Stage.NEGOTIATION, amount="2000", probability=75)
    make.opportunity(account, stage=Stage.WON, amount="7777")
    make.opportunity(make.account(colleague), stage=Stage.PROPOSAL, amount="5")
    rows = analysis.pipeline_by_stage(employee, YEAR)
    assert [row.stage for row in rows] == ["qualification", "needs", "proposal", "negotiation"]
    first, needs, proposal, negotiation = rows
    assert (first.count, first.amount, first.weighted) == (
        2,
        Decimal("1500.50"),
        Decimal("200.10"),
    )
    assert (needs.count, needs.amount, needs.weighted) == (0, Decimal("0.00"), Decimal("0.00"))
    assert proposal.count == 0  # the colleague's
    assert negotiation.weighted == Decimal("1500.00")


def test_sales_by_month_has_every_month(employee: User) -> None:
    account = make.account(employee)
    closed(account, "100", on(2, 3))
    closed(account, "250.5", on(2, 28, hour=23))
    closed(account, "7", on(3, 1, hour=0))  # 3月1日 0点 in Shanghai: still March
    closed(account, "9", on(3, 5), stage=Stage.LOST)
    rows = analysis.sales_by_month(employee, YEAR)
    assert len(rows) == 12
    assert rows[0] == analysis.MonthSales(datetime.date(2026, 1, 1), 0, Decimal("0.00"))
    assert (rows[1].count, rows[1].amount) == (2, Decimal("350.50"))
    assert (rows[2].count, rows[2].amount) == (1, Decimal("7.00"))
    assert all(row.count == 0 for row in rows[3:])


def test_default_period_is_twelve_months() -> None:
    first, last = analysis.default_period(datetime.date(2026, 12, 6))
    assert (first, last) == (datetime.date(2026, 1, 1), datetime.date(2026, 12, 6))
    assert len(Scope(first, last).months()) == 12
    first, _last = analysis.default_period(datetime.date(2027, 3, 31))
    assert first == datetime.date(2026, 4, 1)


def _case(account: Account, opened: datetime.datetime, **fields: Any) -> Case:
    return Case.objects.create(
        number=f"CS{Case.objects.count() + 1:05d}",
        account=account,
        subject="故障",
        opened_at=opened,
        first_response_due=opened + datetime.timedelta(hours=4),
        resolution_due=opened + datetime.timedelta(hours=16),
        **fields,
    )


def test_sla_attainment_by_month_and_level(employee: User, colleague: User) -> None:
    key = make_account(employee, name="重点客户", level=AccountLevel.KEY)
    strategic = make_account(employee, name="战略客户", level=AccountLevel.STRATEGIC, code="S1")
    hours = datetime.timedelta(hours=1)
    march = on(3, 2, hour=9)
    # key, March: answered in time and resolved in time; answered late and resolved late;
    # unanswered and overdue (open); waiting for the customer past the deadline (paused)
    _case(key, march, first_responded_at=march + hours, resolved_at=march + 2 * hours)
    _case(key, march, first_responded_at=march + 5 * hours, resolved_at=march + 20 * hours)
    _case(key, march, status=CaseStatus.OPEN)
    _case(key, march, status=CaseStatus.WAITING, first_responded_at=march + hours)
    # strategic, May: answered in time, not due yet
    may = on(5, 6, hour=9)
    _case(strategic, may, first_responded_at=may + hours)
    _case(make_account(colleague, name="别人的", code="O1"), march)  # not the employee's
    now = on(5, 6, hour=10)
    by_level, by_month = analysis.sla_attainment(employee, YEAR, now=now)
    assert [(row.month.month, row.level) for row in by_level] == [(3, "B"), (5, "A")]
    march_key, may_strategic = by_level
    assert (march_key.cases, march_key.response_met, march_key.response_breached) == (4, 2, 2)
    assert (march_key.resolution_met, march_key.resolution_breached) == (1, 2)
    assert march_key.response_rate == 0.5
    assert march_key.resolution_rate == pytest.approx(1 / 3)
    assert (may_strategic.response_met, may_strategic.resolution_met) == (1, 0)
    assert may_strategic.resolution_rate is None  # nothing due yet
    assert len(by_month) == 12
    assert by_month[2].cases == 4 and by_month[0].cases == 0 and by_month[0].response_rate is None


def test_filter_choices_are_what_one_sees(
    employee: User, colleague: User, dept_head: User, outsider: User, org: dict[str, Department]
) -> None:
    make.account(employee)
    make.account(colleague)
    assert [name for _pk, name in analysis.owners_for_filter(employee)] == ["张伟"]
    assert {name for _pk, name in analysis.owners_for_filter(dept_head)} == {"张伟", "王芳"}
    assert analysis.owners_for_filter(outsider) == []
    assert [d.name for d in analysis.departments_for_filter(dept_head)] == ["销售部", "华东区"]
    assert [d.name for d in analysis.departments_for_filter(employee)] == ["华东区"]


def test_department_scope_includes_those_below(
    employee: User, dept_head: User, org: dict[str, Department]
) -> None:
    closed(make.account(employee), "100", on(4, 1))
    sales = Scope(YEAR.first, YEAR.last, department=org["sales"])
    finance = Scope(YEAR.first, YEAR.last, department=org["finance"])
    assert sum(row.count for row in analysis.sales_by_month(dept_head, sales)) == 1
    assert sum(row.count for row in analysis.sales_by_month(dept_head, finance)) == 0
    assert timezone.is_aware(sales.start)
