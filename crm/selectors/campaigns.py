"""Reads of marketing campaigns (营销活动): who sees and changes a campaign, its segment (a
saved filter over accounts) and the accounts it finds, its members, and its results (ROI).

**Who sees a campaign** (:func:`campaigns_for`): sales administrators
(``crm.administer_sales``, superusers) and people holding ``crm.view_campaign`` see every
campaign; everyone else sees the campaigns they own. A campaign one may not see answers 404.
**Who changes it** (:func:`campaign_may_change`): its owner, sales administrators and people
holding ``crm.change_campaign``; **who creates one** (:func:`campaign_may_create`): sales
administrators and people holding ``crm.add_campaign``.

**Members** are accounts; a member list shows only the accounts the viewer sees
(:func:`crm.selectors.visibility.accounts_for`), while a campaign's totals
(:func:`campaign_results`) count every member, lead and opportunity of it.

**A segment** (:class:`Segment`, stored in ``Campaign.segment`` as JSON) narrows the accounts
the acting person sees (never more): by province, city, industry, level (each a list: any of
them), the owner's department (with the departments below it), the owner, and the last
activity (some activity within N days, or none within N days: never counts as none).
:func:`segment_clean` checks a segment given as a mapping; an unknown key or value is a field
error named by the key.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from django.core.exceptions import ValidationError
from django.db.models import (
    Count,
    DecimalField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import (
    Account,
    AccountLevel,
    Campaign,
    CampaignMember,
    Industry,
    Lead,
    Opportunity,
    Stage,
)
from crm.selectors.accounts import AccountFilters, account_list
from crm.selectors.visibility import Viewer, accounts_for, is_sales_admin
from portal.errors import NotFound
from portal.exports import Column, Sheet, take
from portal.models import Department, User

__all__ = [
    "ACTIVITY_CHOICES",
    "NOT_WITHIN",
    "SEGMENT_KEYS",
    "WITHIN",
    "CampaignResults",
    "Segment",
    "SegmentPreview",
    "campaign_for",
    "campaign_may_change",
    "campaign_may_create",
    "campaign_member_for",
    "campaign_results",
    "campaigns_for",
    "campaigns_sheet",
    "members_for",
    "members_sheet",
    "results_of",
    "segment_accounts",
    "segment_clean",
    "segment_preview",
    "with_figures",
]

WITHIN: Final = "within"
NOT_WITHIN: Final = "not_within"
ACTIVITY_CHOICES: Final = (WITHIN, NOT_WITHIN)
MAX_DAYS: Final = 3650
MAX_VALUES: Final = 50  # places in one list of a segment
SEGMENT_KEYS: Final = (
    "provinces",
    "cities",
    "industries",
    "levels",
    "department",
    "owner",
    "activity",
    "activity_days",
)
PREVIEW_SAMPLE: Final = 5


# --- who sees and changes a campaign ----------------------------------------------------------


def _active(user: Viewer) -> bool:
    return bool(user.is_authenticated and user.is_active and isinstance(user, User))


def campaigns_for(user: Viewer) -> QuerySet[Campaign]:
    """The campaigns ``user`` may see (module docstring)."""
    if not _active(user) or not isinstance(user, User):
        return Campaign.objects.none()
    if is_sales_admin(user) or user.has_perm("crm.view_campaign"):
        return Campaign.objects.all()
    return Campaign.objects.filter(owner=user)


def campaign_for(user: Viewer, campaign_id: int) -> Campaign:
    """The campaign if ``user`` may see it, else :class:`NotFound`."""
    found = campaigns_for(user).select_related("owner").filter(pk=campaign_id).first()
    if found is None:
        raise NotFound(_("There is no such campaign, or you may not see it."))
    return found


def campaign_may_create(user: Viewer) -> bool:
    """Sales administrators and people holding ``crm.add_campaign``."""
    return _active(user) and (is_sales_admin(user) or user.has_perm("crm.add_campaign"))


def campaign_may_change(user: Viewer, campaign: Campaign) -> bool:
    """Its owner, sales administrators and people holding ``crm.change_campaign``."""
    if not _active(user):
        return False
    return (
        campaign.owner_id == user.pk or is_sales_admin(user) or user.has_perm("crm.change_campaign")
    )


# --- the segment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A saved filter over accounts (module docstring); empty fields do not filter."""

    provinces: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    department: int | None = None
    owner: int | None = None
    activity: str = ""
    activity_days: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The segment as ``Campaign.segment`` stores it (only the filters that are set)."""
        values: dict[str, Any] = {
            "provinces": list(self.provinces),
            "cities": list(self.cities),
            "industries": list(self.industries),
            "levels": list(self.levels),
            "department": self.department,
            "owner": self.owner,
            "activity": self.activity,
            "activity_days": self.activity_days if self.activity else None,
        }
        return {key: value for key, value in values.items() if value not in (None, "", [])}

    @property
    def is_empty(self) -> bool:
        return not self.as_json()


def _texts(value: Any, key: str, label: str, limit: int) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError({key: _("%(field)s: give a list of names.") % {"field": label}})
    names = tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(names) > MAX_VALUES:
        raise ValidationError(
            {key: _("%(field)s: at most %(count)d values.") % {"field": label, "count": MAX_VALUES}}
        )
    if any(len(name) > limit for name in names):
        raise ValidationError(
            {
                key: _("%(field)s: each name has at most %(limit)d characters.")
                % {"field": label, "limit": limit}
            }
        )
    return names


def _choices(value: Any, key: str, label: str, allowed: list[str]) -> tuple[str, ...]:
    found = _texts(value, key, label, 40)
    unknown = [v for v in found if v not in allowed]
    if unknown:
        raise ValidationError(
            {
                key: _("%(field)s: unknown value %(values)s.")
                % {"field": label, "values": ", ".join(unknown)}
            }
        )
    return found


def _whole(value: Any, key: str, label: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        value = "x"
    try:
        number = int(str(value))
    except ValueError:
        raise ValidationError(
            {key: _("%(field)s: enter a whole number.") % {"field": label}}
        ) from None
    if number < 1:
        raise ValidationError({key: _("%(field)s: enter a whole number.") % {"field": label}})
    return number


def segment_clean(raw: Mapping[str, Any] | None) -> Segment:
    """The segment ``raw`` describes, checked: only the keys of :data:`SEGMENT_KEYS`, the
    industries and levels of the CRM, a department and an owner that exist, the activity
    filter with its number of days (1 to 3650). A wrong one is a ``ValidationError`` keyed by
    the segment's key (an unknown key: ``segment``)."""
    if raw is None:
        return Segment()
    if not isinstance(raw, Mapping):
        raise ValidationError({"segment": _("Segment: give the filters as an object.")})
    unknown = sorted(str(key) for key in raw if key not in SEGMENT_KEYS)
    if unknown:
        raise ValidationError(
            {"segment": _("Segment: unknown filter %(keys)s.") % {"keys": ", ".join(unknown)}}
        )
    provinces = _texts(raw.get("provinces"), "provinces", _("Provinces"), 20)
    cities = _texts(raw.get("cities"), "cities", _("Cities"), 30)
    industries = _choices(raw.get("industries"), "industries", _("Industries"), Industry.values)
    levels = _choices(raw.get("levels"), "levels", _("Levels"), AccountLevel.values)
    department = _whole(raw.get("department"), "department", _("Owner's department"))
    if department is not None and not Department.objects.filter(pk=department).exists():
        raise ValidationError({"department": _("Owner's department: there is no such department.")})
    owner = _whole(raw.get("owner"), "owner", _("Owner"))
    if owner is not None and not User.objects.filter(pk=owner).exists():
        raise ValidationError({"owner": _("Owner: there is no such person.")})
    activity = raw.get("activity") or ""
    if activity not in ("", *ACTIVITY_CHOICES):
        raise ValidationError({"activity": _("Last activity: choose one of the list.")})
    days = _whole(raw.get("activity_days"), "activity_days", _("Days"))
    if activity and days is None:
        raise ValidationError({"activity_days": _("Days: give the number of days.")})
    if days is not None and days > MAX_DAYS:
        raise ValidationError({"activity_days": _("Days: at most %(days)d.") % {"days": MAX_DAYS}})
    return Segment(
        provinces=provinces,
        cities=cities,
        industries=industries,
        levels=levels,
        department=department,
        owner=owner,
        activity=activity,
        activity_days=days if activity else None,
    )


def segment_accounts(
    user: Viewer, segment: Segment, *, now: datetime.datetime | None = None
) -> QuerySet[Account]:
    """The accounts of ``segment`` among those ``user`` sees (merged-away accounts left out),
    newest change first."""
    if not isinstance(user, User):
        return Account.objects.none()
    rows = account_list(user, AccountFilters())
    if segment.provinces:
        rows = rows.filter(province__in=segment.provinces)
    if segment.cities:
        rows = rows.filter(city__in=segment.cities)
    if segment.industries:
        rows = rows.filter(industry__in=segment.industries)
    if segment.levels:
        rows = rows.filter(level__in=segment.levels)
    if segment.department is not None:
        path = (
            Department.objects.filter(pk=segment.department).values_list("path", flat=True).first()
        )
        rows = rows.filter(department__path__startswith=path) if path else rows.none()
    if segment.owner is not None:
        rows = rows.filter(owner_id=segment.owner)
    if segment.activity and segment.activity_days:
        since = (now or timezone.now()) - datetime.timedelta(days=segment.activity_days)
        if segment.activity == WITHIN:
            rows = rows.filter(last_activity_at__gte=since)
        else:
            rows = rows.filter(Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=since))
    return rows


@dataclass(frozen=True)
class SegmentPreview:
    """What a segment finds for a person: how many accounts, how many of them are not yet
    members of the campaign (all, without one), and a few of them by name."""

    count: int
    new: int
    sample: list[Account] = field(default_factory=list)


def segment_preview(
    user: Viewer, segment: Segment, campaign: Campaign | None = None
) -> SegmentPreview:
    """The count preview of a segment (three queries at most)."""
    rows = segment_accounts(user, segment)
    count = rows.count()
    new = count
    if campaign is not None and count:
        new = rows.exclude(campaigns__campaign=campaign).count()
    return SegmentPreview(count, new, list(rows[:PREVIEW_SAMPLE]))


# --- members ----------------------------------------------------------------------------------


def members_for(user: Viewer, campaign: Campaign) -> QuerySet[CampaignMember]:
    """The members of ``campaign`` whose account ``user`` sees, newest first."""
    return (
        campaign.members.filter(account__in=accounts_for(user).values("pk"))
        .select_related("account", "account__owner", "contact")
        .order_by("-added_at", "-pk")
    )


def campaign_member_for(user: Viewer, campaign: Campaign, member_id: int) -> CampaignMember:
    """A member of the campaign whose account ``user`` sees, else :class:`NotFound`."""
    found = members_for(user, campaign).filter(pk=member_id).first()
    if found is None:
        raise NotFound(_("There is no such member, or you may not see it."))
    return found


# --- results ----------------------------------------------------------------------------------


def _count(rows: QuerySet[Any]) -> Coalesce:
    counted = rows.order_by().values("campaign_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_figures(rows: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """``rows`` with each campaign's figures as columns (one query, subqueries per table):
    ``member_count``, ``responded_count``, ``lead_count``, ``opportunity_count``,
    ``won_count`` and ``won_revenue`` (the amount of its opportunities won)."""
    members = CampaignMember.objects.filter(campaign=OuterRef("pk"))
    opportunities = Opportunity.objects.filter(campaign=OuterRef("pk"))
    won = opportunities.filter(stage=Stage.WON)
    revenue = won.order_by().values("campaign_id").annotate(total=Sum("amount")).values("total")
    money = DecimalField(max_digits=16, decimal_places=2)
    return rows.annotate(
        member_count=_count(members),
        responded_count=_count(members.filter(responded_at__isnull=False)),
        lead_count=_count(Lead.objects.filter(campaign=OuterRef("pk"))),
        opportunity_count=_count(opportunities),
        won_count=_count(won),
        won_revenue=Coalesce(
            Subquery(revenue, output_field=money), Value(Decimal("0")), output_field=money
        ),
    )


@dataclass(frozen=True)
class CampaignResults:
    """A campaign's figures. ``response_rate`` and ``roi`` are fractions (0.25 = 25 %);
    ``roi`` = (won revenue − cost) / cost, None when the campaign cost nothing;
    ``cost_per_lead`` None without leads; ``response_rate`` None without members."""

    members: int
    responded: int
    leads: int
    opportunities: int
    won: int
    won_revenue: Decimal
    cost: Decimal

    @property
    def response_rate(self) -> Decimal | None:
        if not self.members:
            return None
        return Decimal(self.responded) / Decimal(self.members)

    @property
    def roi(self) -> Decimal | None:
        if not self.cost:
            return None
        return (self.won_revenue - self.cost) / self.cost

    @property
    def response_rate_percent(self) -> Decimal | None:
        rate = self.response_rate
        return None if rate is None else rate * 100

    @property
    def roi_percent(self) -> Decimal | None:
        roi = self.roi
        return None if roi is None else roi * 100

    @property
    def cost_per_lead(self) -> Decimal | None:
        if not self.leads:
            return None
        return (self.cost / self.leads).quantize(Decimal("0.01"))


def results_of(campaign: Campaign) -> CampaignResults:
    """The figures of a campaign read by :func:`with_figures`."""
    return CampaignResults(
        members=campaign.member_count,  # type: ignore[attr-defined]
        responded=campaign.responded_count,  # type: ignore[attr-defined]
        leads=campaign.lead_count,  # type: ignore[attr-defined]
        opportunities=campaign.opportunity_count,  # type: ignore[attr-defined]
        won=campaign.won_count,  # type: ignore[attr-defined]
        won_revenue=Decimal(campaign.won_revenue),  # type: ignore[attr-defined]
        cost=campaign.cost,
    )


def campaign_results(campaign: Campaign) -> CampaignResults:
    """The campaign's results, every member, lead and opportunity of it counted (one query)."""
    return results_of(with_figures(Campaign.objects.filter(pk=campaign.pk)).get())


# --- exports ----------------------------------------------------------------------------------


def campaigns_sheet(rows: QuerySet[Campaign]) -> Sheet:
    """The campaign list (``rows``, already what the person sees) with its figures."""
    columns = [
        Column(_("Name"), width=32),
        Column(_("Channel")),
        Column(_("Status")),
        Column(_("Starts"), "date"),
        Column(_("Ends"), "date"),
        Column(_("Owner")),
        Column(_("Members"), "number"),
        Column(_("Responded"), "number"),
        Column(_("Response rate"), "percent"),
        Column(_("Leads"), "number"),
        Column(_("Opportunities"), "number"),
        Column(_("Won"), "number"),
        Column(_("Won revenue"), "money", width=16),
        Column(_("Cost"), "money", width=16),
        Column(_("ROI"), "percent"),
    ]
    found = with_figures(rows.select_related("owner")).order_by("-created_at", "-pk")

    def line(campaign: Campaign) -> list[Any]:
        figures = results_of(campaign)
        return [
            campaign.name,
            campaign.channel,
            campaign.get_status_display(),
            campaign.starts_on,
            campaign.ends_on,
            campaign.owner.display_name,
            figures.members,
            figures.responded,
            figures.response_rate,
            figures.leads,
            figures.opportunities,
            figures.won,
            figures.won_revenue,
            figures.cost,
            figures.roi,
        ]

    lines, capped = take(line(c) for c in found.iterator(chunk_size=500))
    return Sheet(_("Campaigns"), columns, lines, capped)


def members_sheet(user: Viewer, campaign: Campaign) -> Sheet:
    """The members of ``campaign`` that ``user`` sees, with their responses."""
    columns = [
        Column(_("Customer code")),
        Column(_("Name"), width=32),
        Column(_("Level")),
        Column(_("Industry")),
        Column(_("Province")),
        Column(_("City")),
        Column(_("Owner")),
        Column(_("Added"), "datetime", width=18),
        Column(_("Responded"), "date"),
        Column(_("Response"), width=32),
    ]
    rows = members_for(user, campaign)
    lines, capped = take(
        [
            member.account.code,
            member.account.name,
            member.account.get_level_display(),
            member.account.get_industry_display(),
            member.account.province,
            member.account.city,
            member.account.owner.display_name,
            member.added_at,
            timezone.localtime(member.responded_at).date() if member.responded_at else None,
            member.response,
        ]
        for member in rows.iterator(chunk_size=1000)
    )
    return Sheet(f"{_('Campaign members')}-{campaign.name}"[:80], columns, lines, capped)
