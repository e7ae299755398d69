"""Customer and sales analysis (客户分析): the figures of the analysis pages, each over what
the person may see only — opportunities, accounts and cases through ``accounts_for``, leads
as :func:`crm.selectors.sales.leads_for` — and computed by the database (aggregates,
``Case``/``When``, ``TruncMonth``, window functions), the same on SQLite and PostgreSQL.

Every analysis takes a :class:`Scope`: the period (first and last day, both included, in the
portal's time zone), and optionally one owner and one department (with the departments below
it). The owner of an opportunity or a lead is its own owner; for the customer value (RFM) and
the service cases it is the account's owner, and the department the account's department.

- **Customer value (RFM)**: per account that won in the period, R (recency) = days from its
  last won close to the period's last day, F (frequency) = opportunities won, M (monetary) =
  the amount won. Each is scored 1–5 by quintile of rank: ``1 + 5 × (rank − 1) ÷ n`` with the
  rank over all scored accounts, the worst first (the oldest last win, the fewest wins, the
  smallest amount), so that ties share a score and both databases agree (``NTILE`` would split
  ties by chance). A score is *high* when it is above the mean of that score; the three
  high/low answers give the eight classic segments (重要价值客户 … 一般挽留客户,
  :class:`Segment`).
- **Conversion funnel**: leads created in the period → qualified (qualified or converted) →
  converted → converted into an opportunity one sees → won.
- **Win rate and cycle time** by owner and by department (the owner's): opportunities closed
  in the period, won ÷ (won + lost), and the average and median days from created to won.
- **Pipeline by stage**: the opportunities open now (the period does not apply: it is a
  snapshot), count, amount and amount × probability, in the stages' order.
- **Sales by month**: won amount and count per month of the close date; every month of the
  period present, empty ones as zero.
- **Case SLA attainment**: cases opened in the period by month and customer level: the first
  response and the resolution met or breached (as :func:`crm.selectors.cases.sla_state`
  judges: late, or overdue now and not waiting for the customer), and the share met.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, TypeVar, cast

from django.db.models import (
    Avg,
    Case,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Length, Rank, RowNumber, Substr, TruncMonth
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.functional import Promise, cached_property
from django.utils.translation import gettext_lazy as _

from crm.models import Account, AccountLevel, CaseStatus, Lead, LeadStatus, Opportunity, Stage
from crm.models import Case as ServiceCase
from crm.selectors.sales import OPEN_STAGES, filtered, leads_for
from crm.selectors.visibility import accounts_for, is_sales_admin
from portal.models import Department, User, localized_name

__all__ = [
    "FunnelStep",
    "MonthSales",
    "RfmRow",
    "RfmSummary",
    "Scope",
    "Seen",
    "Segment",
    "SlaRow",
    "StageRow",
    "WinRateRow",
    "WinRates",
    "default_period",
    "departments_for_filter",
    "funnel",
    "month_start",
    "owners_for_filter",
    "pipeline_by_stage",
    "rfm_page",
    "rfm_rows",
    "rfm_summary",
    "sales_by_month",
    "sla_attainment",
    "win_rates",
]

Row = TypeVar("Row", bound=Model)
SCORES: Final = 5
CENT: Final = Decimal("0.01")
MONEY = DecimalField(max_digits=20, decimal_places=4)


# --- who sees what, and the scope ---------------------------------------------------------------


class Seen:
    """What one person sees, each set read from the visibility selectors once: a page that
    asks several questions asks "what may they see" once (each visibility selector reads the
    person's teams and departments when called). Every selector here takes the person or
    their ``Seen``."""

    def __init__(self, user: User) -> None:
        self.user = user

    @cached_property
    def accounts(self) -> QuerySet[Account]:
        return accounts_for(self.user)

    @cached_property
    def opportunities(self) -> QuerySet[Opportunity]:
        """As :func:`crm.selectors.sales.opportunities_for`: those of the accounts seen."""
        if is_sales_admin(self.user):
            return Opportunity.objects.all()
        return Opportunity.objects.filter(account__in=self.accounts.values("pk"))

    @cached_property
    def leads(self) -> QuerySet[Lead]:
        return leads_for(self.user)

    @cached_property
    def cases(self) -> QuerySet[ServiceCase]:
        """As :func:`crm.selectors.cases.cases_for`: those of the accounts seen."""
        return ServiceCase.objects.filter(account__in=self.accounts.values("pk"))


Who = User | Seen


def seen_by(who: Who) -> Seen:
    return who if isinstance(who, Seen) else Seen(who)


def month_start(day: datetime.date, back: int = 0) -> datetime.date:
    """The first day of ``day``'s month, ``back`` months earlier."""
    index = day.year * 12 + day.month - 1 - back
    return datetime.date(index // 12, index % 12 + 1, 1)


def default_period(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The last twelve months: from the first day of the month eleven months ago to today."""
    today = today or timezone.localdate()
    return month_start(today, 11), today


@dataclass(frozen=True)
class Scope:
    """What an analysis covers (module docstring)."""

    first: datetime.date
    last: datetime.date
    owner_id: int | None = None
    department: Department | None = None

    @property
    def start(self) -> datetime.datetime:
        """The period's first moment, in the portal's time zone."""
        return timezone.make_aware(datetime.datetime.combine(self.first, datetime.time.min))

    @property
    def end(self) -> datetime.datetime:
        """The moment after the period (the next day's start)."""
        following = self.last + datetime.timedelta(days=1)
        return timezone.make_aware(datetime.datetime.combine(following, datetime.time.min))

    def months(self) -> list[datetime.date]:
        """The first day of every month the period touches, oldest first."""
        found, month = [], month_start(self.first)
        while month <= self.last:
            found.append(month)
            month = month_start(month + datetime.timedelta(days=32))
        return found

    def closed_in(self, rows: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
        return rows.filter(closed_at__gte=self.start, closed_at__lt=self.end)

    def of_opportunities(self, seen: Seen) -> QuerySet[Opportunity]:
        """The opportunities seen, of the scope's owner and department."""
        return filtered(seen.opportunities, owner_id=self.owner_id, department=self.department)

    def of_accounts(self, rows: QuerySet[Row], prefix: str = "") -> QuerySet[Row]:
        """``rows`` narrowed to accounts of the scope's owner and department (``prefix``: the
        path from ``rows`` to the account, e.g. ``account__``)."""
        if self.owner_id is not None:
            rows = rows.filter(**{f"{prefix}owner_id": self.owner_id})
        if self.department is not None:
            rows = rows.filter(**{f"{prefix}department__path__startswith": self.department.path})
        return rows


def _as_date(value: datetime.date | datetime.datetime) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


# --- the filters' choices ------------------------------------------------------------------------


def owners_for_filter(who: Who) -> list[tuple[int, str]]:
    """The people whose accounts, opportunities or leads the person sees (one query)."""
    seen = seen_by(who)
    found = (
        Q(pk__in=seen.opportunities.values("owner_id"))
        | Q(pk__in=seen.accounts.values("owner_id"))
        | Q(pk__in=seen.leads.exclude(owner=None).values("owner_id"))
    )
    people = User.objects.filter(found).only("id", "username", "first_name", "last_name")
    return [(person.pk, person.display_name) for person in people.order_by("username")]


def departments_for_filter(who: Who) -> list[Department]:
    """Sales administrators: every active department; others: their own and those at or below
    a department they head (one query)."""
    user = seen_by(who).user
    rows = Department.objects.filter(is_active=True).only("id", "name", "name_en", "path")
    if not is_sales_admin(user):
        headed_above = Department.objects.filter(
            head=user, is_active=True, path=Substr(OuterRef("path"), 1, Length("path"))
        )
        rows = rows.filter(Q(pk=user.department_id) | Exists(headed_above))
    return list(rows.order_by("path"))


# --- customer value (RFM) ------------------------------------------------------------------------


class Segment(enum.IntEnum):
    """The eight RFM segments, the most valuable first; the value's bits say which scores are
    high (M 4, R 2, F 1), so that ordering by it ranks the money first, then recency."""

    IMPORTANT_VALUE = 7  # 重要价值客户: big, recent, frequent
    IMPORTANT_DEVELOPMENT = 6  # 重要发展客户: big and recent, seldom
    IMPORTANT_RETENTION = 5  # 重要保持客户: big and frequent, not lately
    IMPORTANT_WINBACK = 4  # 重要挽留客户: big, but seldom and not lately
    GENERAL_VALUE = 3  # 一般价值客户: recent and frequent, small
    GENERAL_DEVELOPMENT = 2  # 一般发展客户: recent, small, seldom
    GENERAL_RETENTION = 1  # 一般保持客户: frequent, small, not lately
    GENERAL_WINBACK = 0  # 一般挽留客户: small, seldom, not lately

    @property
    def label(self) -> str:
        return str(SEGMENT_LABELS[self])


SEGMENT_LABELS: Final[dict[Segment, Promise]] = {
    Segment.IMPORTANT_VALUE: _("important value customers"),
    Segment.IMPORTANT_DEVELOPMENT: _("important customers to develop"),
    Segment.IMPORTANT_RETENTION: _("important customers to retain"),
    Segment.IMPORTANT_WINBACK: _("important customers to win back"),
    Segment.GENERAL_VALUE: _("general value customers"),
    Segment.GENERAL_DEVELOPMENT: _("general customers to develop"),
    Segment.GENERAL_RETENTION: _("general customers to retain"),
    Segment.GENERAL_WINBACK: _("general customers to win back"),
}


class OverRows(ExpressionWrapper):  # type: ignore[type-arg]  # generic in the stubs only
    """An expression over window functions: computed on each row of a grouped query, so it
    is never a grouping column itself (Django would group by arithmetic that holds no
    aggregate, and a window function may not stand in ``GROUP BY``)."""

    def get_group_by_cols(self) -> list[Any]:
        return []


def _quintile(order: Any) -> OverRows:
    """1–5 by the quintile of the rank over every row, ``order`` ascending (the worst first);
    ties share the rank, so they share the score."""
    rank = Window(Rank(), order_by=order)
    size = Window(Count("account_id"))
    return OverRows(
        Value(1) + Value(SCORES) * (rank - Value(1)) / size, output_field=IntegerField()
    )


def _rfm_base(seen: Seen, scope: Scope) -> QuerySet[Any]:
    """One row per account won from in the period: its aggregates and the three scores."""
    won = scope.closed_in(seen.opportunities).filter(
        stage=Stage.WON, account__merged_into__isnull=True
    )
    return (
        scope.of_accounts(won, "account__")
        .values("account_id", "account__code", "account__name", "account__level")
        .annotate(last_won=Max("closed_at"), frequency=Count("id"), monetary=Sum("amount"))
        .annotate(
            r_score=_quintile(F("last_won").asc()),
            f_score=_quintile(F("frequency").asc()),
            m_score=_quintile(F("monetary").asc()),
        )
        .order_by()
    )


@dataclass(frozen=True)
class RfmSummary:
    """The scored accounts: how many, the mean of each score, and the accounts per segment
    (every segment present, in :class:`Segment`'s order)."""

    accounts: int
    mean_r: float
    mean_f: float
    mean_m: float
    segments: list[tuple[Segment, int]]


def _segment_code(summary: RfmSummary) -> Any:
    def high(score: str, mean: float, bit: int) -> Case:
        return Case(
            When(GreaterThan(F(score), Value(mean)), then=Value(bit)),
            default=Value(0),
            output_field=IntegerField(),
        )

    return OverRows(
        high("m_score", summary.mean_m, 4)
        + high("r_score", summary.mean_r, 2)
        + high("f_score", summary.mean_f, 1),
        output_field=IntegerField(),
    )


def rfm_summary(who: Who, scope: Scope) -> RfmSummary:
    """The means of the scores and the accounts per segment (two queries: the means, then the
    counts by segment, both over the scored accounts as a subquery)."""
    base = _rfm_base(seen_by(who), scope)
    means = base.aggregate(
        accounts=Count("account_id"), r=Avg("r_score"), f=Avg("f_score"), m=Avg("m_score")
    )
    summary = RfmSummary(
        accounts=means["accounts"] or 0,
        mean_r=float(means["r"] or 0),
        mean_f=float(means["f"] or 0),
        mean_m=float(means["m"] or 0),
        segments=[],
    )
    counts: dict[int, int] = {}
    if summary.accounts:
        counted = base.annotate(segment=_segment_code(summary)).aggregate(
            **{f"s{s.value}": Count("account_id", filter=Q(segment=s.value)) for s in Segment}
        )
        counts = {int(key[1:]): value or 0 for key, value in counted.items()}
    return RfmSummary(
        summary.accounts,
        summary.mean_r,
        summary.mean_f,
        summary.mean_m,
        [(segment, counts.get(segment.value, 0)) for segment in Segment],
    )


@dataclass(frozen=True)
class RfmRow:
    """An account's RFM figures, scores and segment."""

    account_id: int
    code: str
    name: str
    level: str
    last_won: datetime.date
    recency_days: int
    frequency: int
    monetary: Decimal
    r_score: int
    f_score: int
    m_score: int
    segment: Segment

    @property
    def level_label(self) -> str:
        return str(AccountLevel(self.level).label) if self.level in AccountLevel.values else ""

    @property
    def segment_label(self) -> str:
        return self.segment.label


def rfm_rows(who: Who, scope: Scope, summary: RfmSummary) -> QuerySet[Any]:
    """The scored accounts with their segment code, the most valuable first (by segment, then
    amount), lazily: the page slices it (:func:`rfm_page`), the export reads it whole."""
    rows: QuerySet[Any] = (
        _rfm_base(seen_by(who), scope)
        .annotate(segment=_segment_code(summary))
        .order_by("-segment", "-monetary", "account__name", "account_id")
    )
    return rows


def rfm_page(rows: Iterable[dict[str, Any]], scope: Scope) -> list[RfmRow]:
    """Typed rows of (a slice of) :func:`rfm_rows`."""
    return [
        RfmRow(
            account_id=row["account_id"],
            code=row["account__code"],
            name=row["account__name"],
            level=row["account__level"],
            last_won=timezone.localdate(row["last_won"]),
            recency_days=(scope.last - timezone.localdate(row["last_won"])).days,
            frequency=row["frequency"],
            monetary=_money(row["monetary"]),
            r_score=row["r_score"],
            f_score=row["f_score"],
            m_score=row["m_score"],
            segment=Segment(row["segment"]),
        )
        for row in rows
    ]


# --- the conversion funnel -----------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelStep:
    """One step of the funnel: how many reached it, the share of the step before and of the
    leads (None when the step before had none)."""

    key: str
    label: str
    count: int
    step_rate: float | None
    overall_rate: float | None


FUNNEL_LABELS: Final[dict[str, Promise]] = {
    "leads": _("leads created"),
    "qualified": _("qualified"),
    "converted": _("converted"),
    "opportunities": _("opportunities"),
    "won": _("won"),
}


def funnel(who: Who, scope: Scope) -> list[FunnelStep]:
    """Leads created in the period → qualified → converted → opportunities → won (one query;
    module docstring). Owner and department: the lead's owner."""
    seen = seen_by(who)
    leads: QuerySet[Lead] = seen.leads.filter(created_at__gte=scope.start, created_at__lt=scope.end)
    if scope.owner_id is not None:
        leads = leads.filter(owner_id=scope.owner_id)
    if scope.department is not None:
        leads = leads.filter(owner__department__path__startswith=scope.department.path)
    reached = Q(status__in=(LeadStatus.QUALIFIED, LeadStatus.CONVERTED))
    converted = Q(status=LeadStatus.CONVERTED)
    kept = converted & Q(converted_opportunity__in=seen.opportunities.values("pk"))
    counts = leads.aggregate(
        leads=Count("id"),
        qualified=Count("id", filter=reached),
        converted=Count("id", filter=converted),
        opportunities=Count("id", filter=kept),
        won=Count("id", filter=kept & Q(converted_opportunity__stage=Stage.WON)),
    )
    steps, before = [], None
    for key, label in FUNNEL_LABELS.items():
        count = counts[key] or 0
        steps.append(
            FunnelStep(
                key=key,
                label=str(label),
                count=count,
                step_rate=None if before is None else _ratio(count, before),
                overall_rate=_ratio(count, counts["leads"] or 0),
            )
        )
        before = count
    return steps


# --- win rate and cycle time ---------------------------------------------------------------------


@dataclass(frozen=True)
class WinRateRow:
    """An owner's or a department's closed opportunities: won, lost, the win rate, and the
    days from created to won (average and median; None without a win)."""

    key: int | None
    label: str
    won: int
    lost: int
    won_amount: Decimal
    average_days: float | None
    median_days: float | None

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def win_rate(self) -> float | None:
        return _ratio(self.won, self.closed)


def _days(value: datetime.timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 86400, 1)


@dataclass(frozen=True)
class WinRates:
    """The win rates by owner and by department, the most won first."""

    owners: list[WinRateRow]
    departments: list[WinRateRow]


@dataclass
class _Group:
    label: str
    won: int = 0
    lost: int = 0
    won_amount: Decimal = Decimal("0")
    cycles: datetime.timedelta = datetime.timedelta()
    middle: list[datetime.timedelta] = field(default_factory=list)

    def row(self, key: int | None) -> WinRateRow:
        return WinRateRow(
            key=key,
            label=self.label,
            won=self.won,
            lost=self.lost,
            won_amount=_money(self.won_amount),
            average_days=_days(self.cycles / self.won) if self.won else None,
            median_days=_days(sum(self.middle, datetime.timedelta()) / len(self.middle))
            if self.middle
            else None,
        )


def _middle(place: int, size: int) -> bool:
    """Whether the ``place``-th of ``size`` sorted values is the middle one or one of the
    middle two."""
    return place in ((size + 1) // 2, (size + 2) // 2)


def win_rates(who: Who, scope: Scope) -> WinRates:
    """By owner and by the owner's department: the opportunities closed in the period — won,
    lost, the win rate, the amount won, the average and median days from created to won. Two
    queries: the counts and sums per owner (their departments' are the sums of their
    owners'), and the middle one or two cycles of each owner and of each department, which
    the database finds (row number and count over the group) for the medians."""
    closed = scope.closed_in(scope.of_opportunities(seen_by(who))).filter(
        stage__in=(Stage.WON, Stage.LOST)
    )
    cycle = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
    is_won = Q(stage=Stage.WON)
    owner, department = "owner_id", "owner__department_id"
    totals = (
        closed.values(
            owner,
            department,
            "owner__username",
            "owner__first_name",
            "owner__last_name",
            "owner__department__name",
            "owner__department__name_en",
        )
        .annotate(
            won=Count("id", filter=is_won),
            lost=Count("id", filter=Q(stage=Stage.LOST)),
            won_amount=Sum("amount", filter=is_won),
            cycles=Sum(cycle, filter=is_won),
        )
        .order_by()
    )
    owners: dict[int | None, _Group] = {}
    departments: dict[int | None, _Group] = {}
    for row in totals:
        person = User(
            username=row["owner__username"],
            first_name=row["owner__first_name"],
            last_name=row["owner__last_name"],
        )
        name = localized_name(
            row["owner__department__name"] or "—", row["owner__department__name_en"] or ""
        )
        for groups, key, label in (
            (owners, row[owner], person.display_name),
            (departments, row[department], name),
        ):
            group = groups.setdefault(key, _Group(label))
            group.won += row["won"]
            group.lost += row["lost"]
            group.won_amount += Decimal(row["won_amount"] or 0)
            group.cycles += row["cycles"] or datetime.timedelta()
    middles = (
        closed.filter(is_won)
        .annotate(
            cycle=cycle,
            owner_place=Window(RowNumber(), partition_by=[F(owner)], order_by=[cycle.asc(), "id"]),
            owner_size=Window(Count("id"), partition_by=[F(owner)]),
            department_place=Window(
                RowNumber(), partition_by=[F(department)], order_by=[cycle.asc(), "id"]
            ),
            department_size=Window(Count("id"), partition_by=[F(department)]),
        )
        .filter(
            Q(owner_place=(F("owner_size") + 1) / 2)
            | Q(owner_place=(F("owner_size") + 2) / 2)
            | Q(department_place=(F("department_size") + 1) / 2)
            | Q(department_place=(F("department_size") + 2) / 2)
        )
        .values_list(
            owner,
            department,
            "cycle",
            "owner_place",
            "owner_size",
            "department_place",
            "department_size",
        )
    )
    for owner_id, department_id, length, o_place, o_size, d_place, d_size in middles:
        if _middle(o_place, o_size):
            owners[owner_id].middle.append(length)
        if _middle(d_place, d_size):
            departments[department_id].middle.append(length)

    def ranked(groups: dict[int | None, _Group]) -> list[WinRateRow]:
        rows = [group.row(key) for key, group in groups.items()]
        rows.sort(key=lambda r: (-r.won, -(r.win_rate or 0), r.label))
        return rows

    return WinRates(ranked(owners), ranked(departments))


# --- the pipeline by stage -----------------------------------------------------------------------


@dataclass(frozen=True)
class StageRow:
    """An open stage: its opportunities, their amount and the amount × probability."""

    stage: str
    label: str
    count: int
    amount: Decimal
    weighted: Decimal


def pipeline_by_stage(who: Who, scope: Scope) -> list[StageRow]:
    """The open opportunities now, per stage in the model's order, every open stage present
    (one query)."""
    rows: Any = (
        scope.of_opportunities(seen_by(who))
        .filter(stage__in=OPEN_STAGES)
        .values("stage")
        .annotate(
            count=Count("id"),
            total=Sum("amount"),
            weighted=Sum(F("amount") * F("probability"), output_field=MONEY),
        )
        .order_by()
    )
    totals: dict[str, dict[str, Any]] = {row["stage"]: row for row in rows}
    return [
        StageRow(
            stage=stage,
            label=str(Stage(stage).label),
            count=totals.get(stage, {}).get("count", 0),
            amount=_money(totals.get(stage, {}).get("total")),
            weighted=_money(Decimal(totals.get(stage, {}).get("weighted") or 0) / 100),
        )
        for stage in OPEN_STAGES
    ]


# --- sales by month ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthSales:
    month: datetime.date
    count: int
    amount: Decimal


def sales_by_month(who: Who, scope: Scope) -> list[MonthSales]:
    """Won amount and count per month of the close date (in the portal's time zone), every
    month of the period present (one query)."""
    rows: Any = (
        scope.closed_in(scope.of_opportunities(seen_by(who)))
        .filter(stage=Stage.WON)
        .values(month=TruncMonth("closed_at"))
        .annotate(count=Count("id"), total=Sum("amount"))
        .order_by()
    )
    found: dict[datetime.date, dict[str, Any]] = {_as_date(row["month"]): row for row in rows}
    return [
        MonthSales(
            month=month,
            count=found.get(month, {}).get("count", 0),
            amount=_money(found.get(month, {}).get("total")),
        )
        for month in scope.months()
    ]


# --- case SLA attainment -------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaRow:
    """Cases opened in one month for customers of one level (``level`` empty: every level of
    the month, the month's total): first responses and resolutions met or breached."""

    month: datetime.date
    level: str
    cases: int
    response_met: int
    response_breached: int
    resolution_met: int
    resolution_breached: int

    @property
    def level_label(self) -> str:
        return str(AccountLevel(self.level).label) if self.level in AccountLevel.values else ""

    @property
    def response_rate(self) -> float | None:
        return _ratio(self.response_met, self.response_met + self.response_breached)

    @property
    def resolution_rate(self) -> float | None:
        return _ratio(self.resolution_met, self.resolution_met + self.resolution_breached)


def _sla_counts(now: datetime.datetime) -> dict[str, Any]:
    answered = Q(first_responded_at__isnull=False)
    resolved = Q(resolved_at__isnull=False)
    return {
        "cases": Count("id"),
        "response_met": Count(
            "id", filter=answered & Q(first_responded_at__lte=F("first_response_due"))
        ),
        "response_breached": Count(
            "id",
            filter=(answered & Q(first_responded_at__gt=F("first_response_due")))
            | Q(first_responded_at__isnull=True, first_response_due__lt=now),
        ),
        "resolution_met": Count("id", filter=resolved & Q(resolved_at__lte=F("resolution_due"))),
        "resolution_breached": Count(
            "id",
            filter=(resolved & Q(resolved_at__gt=F("resolution_due")))
            | (Q(resolved_at__isnull=True, resolution_due__lt=now) & ~Q(status=CaseStatus.WAITING)),
        ),
    }


def sla_attainment(
    who: Who, scope: Scope, *, now: datetime.datetime | None = None
) -> tuple[list[SlaRow], list[SlaRow]]:
    """Per month opened and customer level (the rows that have cases), and per month (every
    month of the period, the totals): first response and resolution met or breached; a
    deadline not yet passed counts in neither (two queries)."""
    now = now or timezone.now()
    cases: QuerySet[ServiceCase] = scope.of_accounts(
        seen_by(who).cases.filter(opened_at__gte=scope.start, opened_at__lt=scope.end), "account__"
    )
    counts = _sla_counts(now)
    by_level = [
        SlaRow(month=_as_date(row["month"]), level=row["account__level"], **_pick(row))
        for row in cases.values("account__level", month=TruncMonth("opened_at"))
        .annotate(**counts)
        .order_by("month", "account__level")
    ]
    totals = {
        _as_date(row["month"]): row
        for row in cases.values(month=TruncMonth("opened_at")).annotate(**counts).order_by()
    }
    empty = dict.fromkeys(counts, 0)
    by_month = [
        SlaRow(month=month, level="", **_pick(totals.get(month, empty))) for month in scope.months()
    ]
    return by_level, by_month


def _pick(row: Mapping[str, object]) -> dict[str, int]:
    return {
        key: int(cast(int, row[key]) or 0)
        for key in (
            "cases",
            "response_met",
            "response_breached",
            "resolution_met",
            "resolution_breached",
        )
    }
