"""Writes of marketing campaigns (营销活动): create and edit a campaign, its status, its members
(from its segment or one by one), and the responses of its members — optionally followed up
by a lead or an opportunity linked to the campaign, whose won revenue makes its ROI.

Who may act (``crm.selectors.campaigns``): creating needs ``crm.add_campaign`` or sales
administration; changing a campaign, its members and responses needs being its owner, a sales
administrator or holding ``crm.change_campaign`` (else ``PermissionDenied``: the person sees
the campaign). A campaign one may not see is :class:`~portal.errors.NotFound`; members are
only ever accounts the acting person sees. Bad input is a ``ValidationError`` keyed by the
field, raised before anything is written; each service opens its transaction and takes the
campaign's row lock.

**Status**: planned → running → done, one step at a time (:data:`TRANSITIONS`); a done
campaign's members no longer change (:class:`CampaignRefused`, 409), though late responses
are still recorded.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Campaign, CampaignMember, Contact, Lead, LeadSource, Opportunity
from crm.selectors.campaigns import (
    campaign_for,
    campaign_may_change,
    campaign_may_create,
    campaign_member_for,
    segment_accounts,
    segment_clean,
)
from crm.selectors.visibility import accounts_for, is_sales_admin
from crm.services import sales
from portal.errors import Refused
from portal.models import User

__all__ = [
    "EDITABLE",
    "TRANSITIONS",
    "CampaignRefused",
    "FollowUp",
    "ResponseResult",
    "campaign_create",
    "campaign_member_remove",
    "campaign_member_respond",
    "campaign_members_add",
    "campaign_members_add_segment",
    "campaign_update",
]

# the status a campaign may move to, and the states it may come from
TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    Campaign.Status.RUNNING: (Campaign.Status.PLANNED,),
    Campaign.Status.DONE: (Campaign.Status.RUNNING,),
}
EDITABLE: Final = frozenset(
    {"name", "channel", "starts_on", "ends_on", "cost", "segment", "status"}
)
MAX_COST: Final = Decimal("999999999999.99")
MAX_IDS: Final = 500  # accounts added by id in one call
FollowUp = Literal["", "lead", "opportunity"]


class CampaignRefused(Refused):
    """409: the campaign's status refuses the change (a done campaign's members); nothing
    changed."""

    code = "campaign_refused"


# --- input ------------------------------------------------------------------------------------


def _name(value: Any) -> str:
    text = str(value or "").strip()
    if not text:
        raise ValidationError({"name": _("Name: this field is required.")})
    if len(text) > 200:
        raise ValidationError({"name": _("Name: at most 200 characters.")})
    return text


def _channel(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > 60:
        raise ValidationError({"channel": _("Channel: at most 60 characters.")})
    return text


def _cost(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    try:
        cost = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError({"cost": _("Cost: enter an amount.")}) from None
    if not cost.is_finite():
        raise ValidationError({"cost": _("Cost: enter an amount.")})
    if cost < 0:
        raise ValidationError({"cost": _("Cost: it cannot be negative.")})
    if cost > MAX_COST or cost != cost.quantize(Decimal("0.01")):
        raise ValidationError({"cost": _("Cost: at most 12 digits and 2 decimals.")})
    return cost.quantize(Decimal("0.01"))


def _date(value: Any, field: str) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
        raise ValidationError({field: _("Enter a valid date.")})
    day: datetime.date = value
    return day


def _dates(starts_on: datetime.date | None, ends_on: datetime.date | None) -> None:
    if starts_on and ends_on and ends_on < starts_on:
        raise ValidationError({"ends_on": _("Ends: not before the campaign starts.")})


def _locked(by: User, campaign_id: int) -> Campaign:
    """The campaign, locked, if ``by`` sees it (else NotFound) and may change it (else
    PermissionDenied)."""
    campaign = campaign_for(by, campaign_id)
    if not campaign_may_change(by, campaign):
        raise PermissionDenied(
            _("Only the campaign's owner or a sales administrator may change it.")
        )
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


def _members_may_change(campaign: Campaign) -> None:
    if campaign.status == Campaign.Status.DONE:
        raise CampaignRefused(_("The campaign is done: its members no longer change."))


# --- the campaign -----------------------------------------------------------------------------


@transaction.atomic(durable=True)
def campaign_create(
    *,
    by: User,
    name: str,
    channel: str = "",
    starts_on: datetime.date | None = None,
    ends_on: datetime.date | None = None,
    cost: Any = 0,
    segment: dict[str, Any] | None = None,
    owner: User | None = None,
) -> Campaign:
    """A new campaign, planned, owned by ``by`` (who needs ``crm.add_campaign`` or sales
    administration) or by ``owner`` (a sales administrator hands it to someone). Name
    required, cost not negative, not ending before it starts, the segment checked
    (``segment_clean``)."""
    if not campaign_may_create(by):
        raise PermissionDenied(_("You may not create campaigns."))
    if owner is not None and owner.pk != by.pk and not is_sales_admin(by):
        raise PermissionDenied(_("Only a sales administrator creates campaigns for others."))
    values: dict[str, Any] = {
        "name": _name(name),
        "channel": _channel(channel),
        "cost": _cost(cost),
        "segment": segment_clean(segment).as_json(),
    }
    first, last = _date(starts_on, "starts_on"), _date(ends_on, "ends_on")
    _dates(first, last)
    return Campaign.objects.create(
        **values, starts_on=first, ends_on=last, owner=owner or by, created_at=timezone.now()
    )


_CLEANERS: Final[dict[str, Any]] = {
    "name": _name,
    "channel": _channel,
    "starts_on": lambda value: _date(value, "starts_on"),
    "ends_on": lambda value: _date(value, "ends_on"),
    "cost": _cost,
    "segment": lambda value: segment_clean(value).as_json(),
}


@transaction.atomic(durable=True)
def campaign_update(campaign_id: int, *, by: User, **changes: Any) -> Campaign:
    """Edit a campaign's fields (:data:`EDITABLE`); ``status`` moves it one step along
    :data:`TRANSITIONS` (the same status again is no change). The rules of
    :func:`campaign_create` hold for the result."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    values: dict[str, Any] = {
        key: _CLEANERS[key](value) for key, value in changes.items() if key in _CLEANERS
    }
    campaign = _locked(by, campaign_id)
    _dates(values.get("starts_on", campaign.starts_on), values.get("ends_on", campaign.ends_on))
    status = changes.get("status")
    if status is not None and status != campaign.status:
        sources = TRANSITIONS.get(status)
        if sources is None or campaign.status not in sources:
            raise ValidationError(
                {
                    "status": _("Status: a campaign %(now)s cannot become %(wanted)s.")
                    % {
                        "now": campaign.get_status_display(),
                        "wanted": Campaign.Status(status).label
                        if status in Campaign.Status.values
                        else status,
                    }
                }
            )
        values["status"] = status
    changed = sorted(key for key, value in values.items() if getattr(campaign, key) != value)
    for key in changed:
        setattr(campaign, key, values[key])
    if changed:
        campaign.save(update_fields=changed)
    return campaign


# --- members ----------------------------------------------------------------------------------


def _add(campaign: Campaign, account_ids: list[int]) -> int:
    """Add these accounts (already checked) that are not members yet; how many were added."""
    present = set(
        CampaignMember.objects.filter(campaign=campaign, account_id__in=account_ids).values_list(
            "account_id", flat=True
        )
    )
    now = timezone.now()
    fresh = [
        CampaignMember(campaign=campaign, account_id=pk, added_at=now)
        for pk in account_ids
        if pk not in present
    ]
    # the campaign's row lock serializes adds; ignore_conflicts is the belt to those braces
    CampaignMember.objects.bulk_create(fresh, batch_size=1000, ignore_conflicts=True)
    return len(fresh)


@transaction.atomic(durable=True)
def campaign_members_add_segment(*, by: User, campaign_id: int) -> int:
    """Add the accounts of the campaign's segment that ``by`` sees; members already there are
    kept as they are (their responses too). How many were added."""
    campaign = _locked(by, campaign_id)
    _members_may_change(campaign)
    found = segment_accounts(by, segment_clean(campaign.segment))
    return _add(campaign, list(found.order_by().values_list("pk", flat=True)))


@transaction.atomic(durable=True)
def campaign_members_add(*, by: User, campaign_id: int, account_ids: list[int]) -> int:
    """Add these accounts (each one ``by`` sees, not merged away); members already there are
    kept. How many were added."""
    wanted = list(dict.fromkeys(account_ids))
    if not wanted:
        raise ValidationError({"accounts": _("Accounts: give at least one account.")})
    if len(wanted) > MAX_IDS:
        raise ValidationError(
            {"accounts": _("Accounts: at most %(count)d at a time.") % {"count": MAX_IDS}}
        )
    campaign = _locked(by, campaign_id)
    _members_may_change(campaign)
    seen = set(
        accounts_for(by)
        .filter(pk__in=wanted, merged_into__isnull=True)
        .values_list("pk", flat=True)
    )
    missing = [pk for pk in wanted if pk not in seen]
    if missing:
        raise ValidationError(
            {
                "accounts": _("Accounts: no account you can see has the id %(ids)s.")
                % {"ids": ", ".join(str(pk) for pk in missing[:10])}
            }
        )
    return _add(campaign, wanted)


@transaction.atomic(durable=True)
def campaign_member_remove(*, by: User, campaign_id: int, member_id: int) -> None:
    """Take a member (whose account ``by`` sees) off the campaign, response and all."""
    campaign = _locked(by, campaign_id)
    _members_may_change(campaign)
    member = campaign_member_for(by, campaign, member_id)
    member.delete()


# --- responses --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseResult:
    """The member with its response, and the lead or opportunity made from it (if any)."""

    member: CampaignMember
    lead: Lead | None = None
    opportunity: Opportunity | None = None


def _response_values(
    response: Any, responded_on: datetime.date | None
) -> tuple[str, datetime.date]:
    text = str(response or "").strip()
    if not text:
        raise ValidationError({"response": _("Response: this field is required.")})
    if len(text) > 200:
        raise ValidationError({"response": _("Response: at most 200 characters.")})
    today = timezone.localdate()
    day = _date(responded_on, "responded_on") or today
    if day > today:
        raise ValidationError({"responded_on": _("Responded on: not in the future.")})
    return text, day


@transaction.atomic(durable=True)
def _response_record(
    *,
    by: User,
    campaign_id: int,
    member_id: int,
    text: str,
    day: datetime.date,
    contact_id: int | None,
) -> CampaignMember:
    campaign = _locked(by, campaign_id)
    member = campaign_member_for(by, campaign, member_id)
    member = CampaignMember.objects.select_for_update().get(pk=member.pk)
    if contact_id is not None:
        if not Contact.objects.filter(pk=contact_id, account_id=member.account_id).exists():
            raise ValidationError({"contact": _("Contact: choose a contact of this account.")})
        member.contact_id = contact_id
    member.response = text
    member.responded_at = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    member.save(update_fields=["response", "responded_at", "contact"])
    return member


def campaign_member_respond(
    *,
    by: User,
    campaign_id: int,
    member_id: int,
    response: str,
    responded_on: datetime.date | None = None,
    contact_id: int | None = None,
    follow_up: FollowUp = "",
    opportunity_name: str = "",
    amount: Any = None,
    expected_close: datetime.date | None = None,
) -> ResponseResult:
    """Record a member's response (the day, default today and never in the future, and what
    they said; a later response replaces it), and optionally follow it up: ``lead`` makes a
    lead of the member's company owned by ``by`` (``crm.services.sales.lead_create``),
    ``opportunity`` an opportunity on the member's account
    (``crm.services.sales.opportunity_create``, ``opportunity_name`` defaulting to the
    campaign's and the account's names); either is linked to the campaign.

    The sales services open their own transactions, so the follow-up is made first, linked to
    the campaign as it is made (its bad input changes nothing), and the response is then
    recorded."""
    text, day = _response_values(response, responded_on)
    if follow_up not in ("", "lead", "opportunity"):
        raise ValidationError({"follow_up": _("Follow-up: choose one of the list.")})
    campaign = campaign_for(by, campaign_id)
    if not campaign_may_change(by, campaign):
        raise PermissionDenied(
            _("Only the campaign's owner or a sales administrator may change it.")
        )
    member = campaign_member_for(by, campaign, member_id)
    if (
        contact_id is not None
        and not Contact.objects.filter(pk=contact_id, account_id=member.account_id).exists()
    ):
        raise ValidationError({"contact": _("Contact: choose a contact of this account.")})
    lead: Lead | None = None
    opportunity: Opportunity | None = None
    account = member.account
    if follow_up == "lead":
        contact = member.contact if contact_id is None else Contact.objects.get(pk=contact_id)
        lead = sales.lead_create(
            by=by,
            company=account.name,
            contact_name=contact.name if contact else "",
            phone=account.phone,
            email=account.email,
            source=LeadSource.CAMPAIGN,
            industry=account.industry,
            province=account.province,
            city=account.city,
            notes=text,
            assign_to_me=True,
            campaign=campaign,
        )
    elif follow_up == "opportunity":
        opportunity = sales.opportunity_create(
            by=by,
            account_id=account.pk,
            name=(opportunity_name or "").strip() or f"{campaign.name} · {account.name}"[:200],
            amount=amount,
            expected_close=expected_close,
            contact_id=contact_id if contact_id is not None else member.contact_id,
            campaign=campaign,
        )
    member = _response_record(
        by=by,
        campaign_id=campaign.pk,
        member_id=member.pk,
        text=text,
        day=day,
        contact_id=contact_id,
    )
    return ResponseResult(member, lead, opportunity)
