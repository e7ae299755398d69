"""Every read of sales: leads, opportunities (the kanban board, the forecast), activities
and the timelines, each starting from what the person may see.

- An **opportunity** or an **activity** is seen iff its account is (``accounts_for``).
- A **lead** has no account yet: its owner sees it, the heads of the owner's department and
  the departments above it see it, and sales administrators see every lead (an unassigned
  one too).
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.db import connections
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from crm.duplicates import likely_duplicates
from crm.models import (
    Account,
    Activity,
    Contact,
    Lead,
    Opportunity,
    OpportunityEvent,
    Stage,
)
from crm.selectors.visibility import (
    Reach,
    accounts_for,
    is_sales_admin,
    reach_of,
    team_condition,
    visible_opportunities,
)
from portal.errors import NotFound
from portal.models import Department, User, person_name

__all__ = [
    "Board",
    "Card",
    "Column",
    "ForecastRow",
    "TimelineEntry",
    "activities_for",
    "board",
    "forecast",
    "lead_duplicates",
    "lead_for",
    "leads_for",
    "my_followups",
    "my_pipeline",
    "opportunities_for",
    "opportunity_for",
    "timeline",
]

OPEN_STAGES = (Stage.QUALIFICATION, Stage.NEEDS, Stage.PROPOSAL, Stage.NEGOTIATION)
COLUMN_LIMIT = 30


# --- leads ---------------------------------------------------------------------------------------


def leads_for(user: User) -> QuerySet[Lead]:
    """The leads ``user`` may see (module docstring)."""
    if not user.is_authenticated or not user.is_active:
        return Lead.objects.none()
    if is_sales_admin(user):
        return Lead.objects.all()
    seen = Q(owner=user)
    for path in Department.objects.filter(head=user, is_active=True).values_list("path", flat=True):
        seen |= Q(owner__department__path__startswith=path)
    return Lead.objects.filter(seen)


def lead_for(user: User, lead_id: int) -> Lead:
    found = leads_for(user).select_related("owner", "converted_account").filter(pk=lead_id).first()
    if found is None:
        raise NotFound(_("There is no such lead, or you may not see it."))
    return found


def lead_duplicates(user: User, lead: Lead, *, credit_code: str = "") -> list[Account]:
    """The accounts ``user`` sees that are likely the lead's company (``crm.duplicates``: the
    same credit code, normalized name, phone or e-mail; merged accounts left out). What they
    may not see is never named."""
    matches = likely_duplicates(
        name=lead.company, credit_code=credit_code or None, phone=lead.phone, email=lead.email
    )
    if not matches:
        return []
    return list(
        accounts_for(user).filter(pk__in=[m.account_id for m in matches]).order_by("name", "id")
    )


# --- opportunities -------------------------------------------------------------------------------


def opportunities_for(user: User, reach: Reach | None = None) -> QuerySet[Opportunity]:
    """The opportunities of the accounts ``user`` sees (``reach``: see
    :func:`~crm.selectors.visibility.accounts_for`)."""
    if not user.is_authenticated or not user.is_active:
        return Opportunity.objects.none()
    if is_sales_admin(user):
        return Opportunity.objects.all()
    return Opportunity.objects.filter(visible_opportunities(user, reach))


def opportunity_owners(user: User, reach: Reach | None = None) -> QuerySet[User]:
    """The people to filter the board and the forecast by: the owners of the opportunities
    on the accounts ``user`` owns or is on the team of, and ``user`` and the members of the
    departments ``user`` heads and below when they own any opportunity. (Asking of every
    salesperson whether they own one ``user`` sees scans each one's opportunities: 50-70 ms
    at 100,000.) Someone of another department with an opportunity on an account of such a
    department is on the board but not in this list. Sales administrators: everyone owning
    an opportunity."""
    owns = Exists(Opportunity.objects.filter(owner=OuterRef("pk")))
    if is_sales_admin(user):
        return User.objects.filter(owns)
    reach = reach or reach_of(user)
    near = Opportunity.objects.filter(
        Q(account_owner=user) | team_condition(user, reach, account="account_id")
    ).values("owner_id")
    mine = Q(pk=user.pk)
    if reach.department_ids:
        mine |= Q(department_id__in=reach.department_ids)
    return User.objects.filter(Q(pk__in=near) | (mine & owns))


def opportunity_for(user: User, opportunity_id: int) -> Opportunity:
    found = (
        opportunities_for(user)
        .select_related("account", "owner", "contact")
        .filter(pk=opportunity_id)
        .first()
    )
    if found is None:
        raise NotFound(_("There is no such opportunity, or you may not see it."))
    return found


def filtered(
    rows: QuerySet[Opportunity],
    *,
    owner_id: int | None = None,
    department: Department | None = None,
) -> QuerySet[Opportunity]:
    """``rows`` of one owner and/or of the owners in one department and those below it.
    The department's people are read first and named by id: joined instead, PostgreSQL
    walked each person's opportunities one by one (a region's board: 27 -> 18 ms)."""
    if owner_id is not None:
        rows = rows.filter(owner_id=owner_id)
    if department is not None:
        members = User.objects.filter(department__path__startswith=department.path)
        rows = rows.filter(owner_id__in=list(members.values_list("pk", flat=True)))
    return rows


@dataclass(frozen=True, slots=True)
class Card:
    """An opportunity as its kanban card shows it (read as values: 180 cards with their
    account and owner as model instances took 8 ms, as values 2.5 ms)."""

    pk: int
    name: str
    stage: str
    amount: Decimal
    probability: int
    expected_close: datetime.date | None
    position: int
    committed: bool
    account_name: str
    owner_name: str


@dataclass
class Column:
    stage: str
    label: str
    cards: list[Card] = field(default_factory=list)
    count: int = 0
    amount: Decimal = Decimal("0")

    @property
    def more(self) -> int:
        return self.count - len(self.cards)


@dataclass
class Board:
    columns: list[Column]


Ranked = list[tuple[int, str, int, Decimal | None]]
"""A board's cards by stage and position: (id, stage, the stage's count, its amount)."""


# Up to this many visible rows the board reads them all and cuts each stage in Python
# (a salesperson's 800: 2 ms); above, each stage's first cards by a walk per stage.
FEW_CARDS = 8000


def _ranked(rows: QuerySet[Opportunity], limit: int) -> Ranked:
    """The first ``limit`` of each stage of ``rows`` with the stage's count and amount: the
    counts and sums grouped (no sort), then the cards. When the person sees few (at most
    :data:`FEW_CARDS`), every visible row's id, stage and position, cut per stage here;
    when many, each stage's first ``limit`` as one UNION ALL of sub-selects, where
    PostgreSQL's statistics choose per stage between walking the (stage, position) index
    and a top-N sort (a director's region: ~0.2 ms a stage). Who sees what is on the
    opportunity's own row (:func:`~crm.selectors.visibility.visible_opportunities`), so
    neither reads an account. Two queries."""
    totals = {
        stage: (count, amount)
        for stage, count, amount in rows.order_by()
        .values_list("stage")
        .annotate(count=Count("id"), amount=Sum("amount"))
    }
    if not totals:
        return []
    if sum(count for count, _amount in totals.values()) <= FEW_CARDS:
        found = list(rows.order_by().values_list("pk", "stage", "position"))
    else:
        found = _heads(rows, list(totals), limit)
    found.sort(key=itemgetter(1, 2, 0))
    ranked: Ranked = []
    taken: Counter[str] = Counter()
    for pk, card_stage, _position in found:
        taken[card_stage] += 1
        if taken[card_stage] <= limit:
            ranked.append((pk, card_stage, *totals[card_stage]))
    return ranked


def _heads(rows: QuerySet[Opportunity], stages: list[str], limit: int) -> list[tuple[Any, ...]]:
    """Each stage's first ``limit`` (id, stage, position) of ``rows``, in one statement on
    both databases: each walk a sub-select (SQLite allows no LIMIT on a member of a UNION
    itself, so Django's union() would not do there)."""
    parts, params = [], []
    for n, stage in enumerate(stages):
        head = rows.filter(stage=stage).order_by("position", "id")
        sql, head_params = (
            head.values_list("pk", "stage", "position")[:limit]
            .query.get_compiler(using=rows.db)
            .as_sql()
        )
        parts.append(f"SELECT * FROM ({sql}) head{n}")  # noqa: S608 (Django-compiled, values are parameters)
        params.extend(head_params)
    with connections[rows.db].cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return list(cursor.fetchall())


def _cards(ids: list[int]) -> dict[int, Card]:
    """The cards of the opportunities ``ids``, with their account's and owner's names."""
    return {
        row[0]: Card(*row[:9], person_name(row[10], row[11]) or row[9])
        for row in Opportunity.objects.filter(pk__in=ids).values_list(
            "id",
            "name",
            "stage",
            "amount",
            "probability",
            "expected_close",
            "position",
            "committed",
            "account__name",
            "owner__username",
            "owner__first_name",
            "owner__last_name",
        )
    }


def board(
    user: User,
    *,
    reach: Reach | None = None,
    owner_id: int | None = None,
    department: Department | None = None,
    stage: str | None = None,
    limit: int = COLUMN_LIMIT,
    closed_since: datetime.datetime | None = None,
) -> Board:
    """The pipeline kanban: a column per stage with its first ``limit`` cards (by
    ``position``) and the column's count and amount. Three queries: the visible
    opportunities counted and summed by stage, each stage's first cards (:func:`_ranked`),
    then those cards with their account's and owner's names. Won and lost columns
    show what closed since ``closed_since`` (default: 90 days ago). ``stage``: that column
    only (its "more" link). ``reach``: see :func:`~crm.selectors.visibility.accounts_for`."""
    since = closed_since or (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=90))
    rows = filtered(
        opportunities_for(user, reach), owner_id=owner_id, department=department
    ).filter(Q(stage__in=OPEN_STAGES) | Q(closed_at__gte=since))
    if stage is not None:
        rows = rows.filter(stage=stage)
    ranked = _ranked(rows, limit)
    found = _cards([pk for pk, *_rest in ranked]) if ranked else {}
    columns = {
        value: Column(value, str(label))
        for value, label in Stage.choices
        if stage is None or value == stage
    }
    for pk, card_stage, count, amount in ranked:
        column = columns[card_stage]
        column.count = count
        column.amount = amount or Decimal("0")
        if pk in found:
            column.cards.append(found[pk])
    return Board(list(columns.values()))


# --- the forecast --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastRow:
    month: datetime.date
    owner: str
    department: str
    count: int
    pipeline: Decimal  # the open amount
    weighted: Decimal  # the open amount × probability
    committed: Decimal  # the open amount the owners committed
    won: Decimal


def forecast(
    user: User,
    *,
    start: datetime.date,
    months: int = 6,
    owner_id: int | None = None,
    department: Department | None = None,
    reach: Reach | None = None,
) -> list[ForecastRow]:
    """By expected close month, owner and department (the owner's): the open pipeline, the
    same weighted by each opportunity's probability, what the owners committed, and what was
    won — for the ``months`` months from ``start``'s month. Lost opportunities count nowhere;
    an open opportunity without an expected close date is outside every month. One query."""
    first = start.replace(day=1)
    index = first.year * 12 + first.month - 1 + months
    end = datetime.date(index // 12, index % 12 + 1, 1)
    money = DecimalField(max_digits=20, decimal_places=4)
    is_open = Q(stage__in=OPEN_STAGES)
    rows = (
        filtered(opportunities_for(user, reach), owner_id=owner_id, department=department)
        .filter(expected_close__gte=first, expected_close__lt=end)
        .exclude(stage=Stage.LOST)
        .annotate(month=TruncMonth("expected_close"))
        .values(
            "month",
            "owner__username",
            "owner__first_name",
            "owner__last_name",
            "owner__department__name",
        )
        .annotate(
            count=Count("id"),
            pipeline=Sum("amount", filter=is_open),
            weighted=Sum(F("amount") * F("probability"), filter=is_open, output_field=money),
            committed=Sum("amount", filter=is_open & Q(committed=True)),
            won=Sum("amount", filter=Q(stage=Stage.WON)),
        )
        .order_by("month", "owner__department__name", "owner__username")
    )
    cent = Decimal("0.01")
    found = []
    for row in rows:
        person = f"{row['owner__last_name']}{row['owner__first_name']}" or row["owner__username"]
        month = row["month"]
        if isinstance(month, datetime.datetime):
            month = month.date()
        found.append(
            ForecastRow(
                month=month,
                owner=person,
                department=row["owner__department__name"] or "",
                count=row["count"],
                pipeline=Decimal(row["pipeline"] or 0).quantize(cent),
                weighted=(Decimal(row["weighted"] or 0) / 100).quantize(cent),
                committed=Decimal(row["committed"] or 0).quantize(cent),
                won=Decimal(row["won"] or 0).quantize(cent),
            )
        )
    return found


# --- activities and timelines --------------------------------------------------------------------


def activities_for(user: User) -> QuerySet[Activity]:
    """The activities of the accounts ``user`` sees."""
    if is_sales_admin(user):
        return Activity.objects.all()
    return Activity.objects.filter(account__in=accounts_for(user))


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a timeline: an activity or a stage event of an opportunity."""

    kind: str  # "activity" or "event"
    at: datetime.datetime
    activity: Activity | None = None
    event: OpportunityEvent | None = None

    @property
    def stage_label(self) -> str:
        return str(Stage(self.event.to_stage).label) if self.event else ""

    @property
    def from_label(self) -> str:
        if self.event is None or not self.event.from_stage:
            return ""
        return str(Stage(self.event.from_stage).label)


def timeline(
    *,
    account: Account | None = None,
    contact: Contact | None = None,
    opportunity: Opportunity | None = None,
    limit: int = 50,
) -> list[TimelineEntry]:
    """The newest ``limit`` activities and opportunity stage events of one account, contact
    or opportunity (the caller got it through a visibility selector), newest first. Two
    queries."""
    activities = Activity.objects.select_related("owner", "contact", "opportunity")
    events = OpportunityEvent.objects.select_related("opportunity").exclude(kind="edited")
    if opportunity is not None:
        activities = activities.filter(opportunity=opportunity)
        events = events.filter(opportunity=opportunity)
    elif contact is not None:
        activities = activities.filter(contact=contact)
        events = events.filter(opportunity__contact=contact)
    elif account is not None:
        activities = activities.filter(account=account)
        events = events.filter(opportunity__account=account)
    else:
        raise ValueError("timeline of what?")
    entries = [
        TimelineEntry("activity", a.due_at if a.done_at is None and a.due_at else a.at, activity=a)
        for a in activities.order_by("-at", "-id")[:limit]
    ]
    entries += [
        TimelineEntry("event", e.at, event=e) for e in events.order_by("-at", "-id")[:limit]
    ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


# --- the dashboard -------------------------------------------------------------------------------


def my_followups(user: User, *, limit: int = 8) -> list[Activity]:
    """``user``'s open follow-ups, the soonest due first (the partial index
    ``crm_activity_open_followup``)."""
    return list(
        Activity.objects.filter(owner=user, done_at__isnull=True, due_at__isnull=False)
        .select_related("account")
        .order_by("due_at", "id")[:limit]
    )


def my_pipeline(user: User) -> list[dict[str, Any]]:
    """``user``'s open opportunities by stage: count, amount, weighted amount. One query."""
    money = DecimalField(max_digits=20, decimal_places=4)
    totals: dict[str, dict[str, Any]] = {
        row["stage"]: dict(row)
        for row in opportunities_for(user)
        .filter(owner=user, stage__in=OPEN_STAGES)
        .values("stage")
        .annotate(
            n=Count("id"),
            total=Sum("amount"),
            weighted=Sum(F("amount") * F("probability"), output_field=money),
        )
        .order_by()
    }
    return [
        {
            "stage": stage,
            "label": str(Stage(stage).label),
            "count": totals.get(stage, {}).get("n", 0),
            "amount": Decimal(totals.get(stage, {}).get("total") or 0),
            "weighted": (Decimal(totals.get(stage, {}).get("weighted") or 0) / 100).quantize(
                Decimal("0.01")
            ),
        }
        for stage in OPEN_STAGES
    ]
