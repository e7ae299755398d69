"""Every write of sales: leads (created, assigned, qualified, disqualified, converted),
opportunities (created, edited, moved through the stages) and activities (logged, scheduled
as follow-ups with a reminder, done).

Who may act: what a person may see (``crm.selectors.sales``: leads through their owner,
everything else through its account, ``crm.selectors.accounts_for``) they may work on; what
they may not see is :class:`~portal.errors.NotFound`. Bad input is a Django
``ValidationError`` keyed by the field, raised before anything is written. Each service
opens its transaction (``atomic(durable=True)``) and takes the row lock of what it changes.

**Stages** (:func:`opportunity_move`, the one door of a stage change): proposal, negotiation
and won need an amount above zero and an expected close date; lost needs a lost reason; won
and lost set ``closed_at`` (moving back out of them clears it). The probability follows the
stage (:data:`STAGE_PROBABILITY`) unless someone set it by hand (it differs from its
stage's default): then it stays — except won (100) and lost (0). Every move is an
:class:`~crm.models.OpportunityEvent`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Min
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.models import (
    Account,
    Activity,
    ActivityKind,
    AssignmentRule,
    Campaign,
    Contact,
    Industry,
    Lead,
    LeadSource,
    LeadStatus,
    Opportunity,
    OpportunityEvent,
    Stage,
)
from crm.selectors import sales as selectors
from crm.selectors.visibility import account_for
from crm.services import accounts
from portal.choices import CodeRuleKey
from portal.codes import code_check
from portal.errors import NotFound
from portal.models import User, phone_validator
from portal.services import notification_send

__all__ = [
    "KIND",
    "STAGE_PROBABILITY",
    "ConvertResult",
    "activity_done",
    "activity_log",
    "followups_remind",
    "lead_assign_owner",
    "lead_convert",
    "lead_create",
    "lead_disqualify",
    "lead_qualify",
    "opportunity_create",
    "opportunity_move",
    "opportunity_update",
]

KIND = "crm_followup"  # the notification kind of follow-up reminders (register it in ready())
STAGE_PROBABILITY: dict[str, int] = {
    Stage.QUALIFICATION: 10,
    Stage.NEEDS: 20,
    Stage.PROPOSAL: 50,
    Stage.NEGOTIATION: 70,
    Stage.WON: 100,
    Stage.LOST: 0,
}
CLOSED = frozenset({Stage.WON, Stage.LOST})
PRICED = frozenset({Stage.PROPOSAL, Stage.NEGOTIATION, Stage.WON})  # amount + close date
MAX_AMOUNT = Decimal("999999999999.99")
REMIND_BATCH = 200


# --- small shared steps ------------------------------------------------------------------------


def _text(value: Any, field: str, *, limit: int, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError({field: [_("This field is required.")]})
    if len(text) > limit:
        raise ValidationError(
            {field: [_("At most %(limit)d characters, please.") % {"limit": limit}]}
        )
    return text


def _choice(value: Any, field: str, choices: Any, default: str) -> str:
    text = str(value or "") or default
    if text not in choices.values:
        raise ValidationError({field: [_("Choose one of the offered values.")]})
    return text


def _amount(value: Any, field: str = "amount") -> Decimal:
    """A money amount: a number, not negative, two decimals at most."""
    if value is None or value == "":
        return Decimal("0")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: [_("Enter a number.")]}) from None
    if not amount.is_finite():
        raise ValidationError({field: [_("Enter a number.")]})
    if amount < 0:
        raise ValidationError({field: [_("The amount cannot be negative.")]})
    if amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({field: [_("Enter an amount with at most two decimals.")]})
    return amount


def _phone(value: Any, field: str = "phone") -> str:
    text = _text(value, field, limit=30)
    if text:
        try:
            phone_validator(text)
        except ValidationError as error:
            raise ValidationError({field: error.messages}) from None
    return text


def _email(value: Any, field: str = "email") -> str:
    text = _text(value, field, limit=254)
    if text:
        try:
            validate_email(text)
        except ValidationError as error:
            raise ValidationError({field: error.messages}) from None
    return text


def _probability(value: Any) -> int:
    try:
        probability = int(value)
    except (TypeError, ValueError):
        raise ValidationError({"probability": [_("Enter a whole number from 0 to 100.")]}) from None
    if not 0 <= probability <= 100:
        raise ValidationError({"probability": [_("Enter a whole number from 0 to 100.")]})
    return probability


def _check_stage_fields(
    stage: str, *, amount: Decimal, expected_close: datetime.date | None, lost_reason: str
) -> None:
    """The fields a stage needs (module docstring), all problems at once."""
    problems: dict[str, list[str]] = {}
    if stage in PRICED:
        if amount <= 0:
            problems["amount"] = [_("From the proposal stage on, the amount must be above zero.")]
        if expected_close is None:
            problems["expected_close"] = [
                _("From the proposal stage on, give the expected close date.")
            ]
    if stage == Stage.LOST and not lost_reason:
        problems["lost_reason"] = [_("Say why the opportunity was lost.")]
    if problems:
        raise ValidationError(problems)


def _top_position(stage: str) -> int:
    """A place above every card of ``stage``'s column (new cards come first)."""
    lowest = Opportunity.objects.filter(stage=stage).aggregate(low=Min("position"))["low"]
    return 0 if lowest is None else lowest - 1


def _event(
    opportunity: Opportunity,
    kind: str,
    by: User | None,
    *,
    from_stage: str = "",
    now: datetime.datetime,
    **data: Any,
) -> None:
    OpportunityEvent.objects.create(
        opportunity=opportunity,
        kind=kind,
        from_stage=from_stage,
        to_stage=opportunity.stage,
        actor=by.display_name if by else "",
        data={
            "amount": str(opportunity.amount),
            "probability": opportunity.probability,
            "expected_close": (
                opportunity.expected_close.isoformat() if opportunity.expected_close else None
            ),
            **data,
        },
        at=now,
    )


def _locked_lead(by: User, lead_id: int) -> Lead:
    lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
    if lead is None or not selectors.leads_for(by).filter(pk=lead_id).exists():
        raise NotFound(_("There is no such lead, or you may not see it."))
    return lead


def _locked_opportunity(by: User, opportunity_id: int) -> Opportunity:
    opportunity = Opportunity.objects.select_for_update().filter(pk=opportunity_id).first()
    if (
        opportunity is None
        or not selectors.opportunities_for(by).filter(pk=opportunity_id).exists()
    ):
        raise NotFound(_("There is no such opportunity, or you may not see it."))
    return opportunity


# --- leads ---------------------------------------------------------------------------------------


def lead_assign_owner(*, province: str) -> User | None:
    """The owner the assignment rules give a new lead from ``province``: the first active rule
    (by ``order``) whose province matches (an empty province matches any) and that has an
    active member; among several members round-robin, the one after ``last_assigned`` (by
    id, wrapping round). The rule's row is locked while it is read and written, so two leads
    arriving together go to two people. Joins the caller's transaction."""
    rules = AssignmentRule.objects.select_for_update().filter(active=True).order_by("order", "id")
    for rule in rules:
        if rule.province and rule.province != province:
            continue
        members = list(rule.members.filter(is_active=True).order_by("id"))
        if not members:
            continue
        after = [m for m in members if rule.last_assigned_id and m.pk > rule.last_assigned_id]
        chosen = after[0] if after else members[0]
        rule.last_assigned = chosen
        rule.save(update_fields=["last_assigned"])
        return chosen
    return None


@transaction.atomic(durable=True)
def lead_create(
    *,
    by: User,
    company: str,
    contact_name: str = "",
    phone: str = "",
    email: str = "",
    source: str = LeadSource.OTHER,
    industry: str = Industry.OTHER,
    province: str = "",
    city: str = "",
    notes: str = "",
    assign_to_me: bool = False,
    campaign: Campaign | None = None,
) -> Lead:
    """A new lead. Its owner: the creator when they ask for it (``assign_to_me``), else the
    assignment rules (:func:`lead_assign_owner`), else the creator. ``campaign``: the campaign
    it came from (the caller decided that ``by`` may change it)."""
    fields = {
        "company": _text(company, "company", limit=200, required=True),
        "contact_name": _text(contact_name, "contact_name", limit=60),
        "phone": _phone(phone),
        "email": _email(email),
        "source": _choice(source, "source", LeadSource, LeadSource.OTHER),
        "industry": _choice(industry, "industry", Industry, Industry.OTHER),
        "province": _text(province, "province", limit=20),
        "city": _text(city, "city", limit=30),
        "notes": _text(notes, "notes", limit=5000),
    }
    owner = None if assign_to_me else lead_assign_owner(province=fields["province"])
    return Lead.objects.create(
        **fields, owner=owner or by, campaign=campaign, created_at=timezone.now()
    )


@transaction.atomic(durable=True)
def lead_qualify(lead_id: int, *, by: User) -> Lead:
    """A new lead is worth pursuing: qualified (a disqualified one may be qualified again)."""
    lead = _locked_lead(by, lead_id)
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationError({"status": [_("This lead has been converted already.")]})
    lead.status = LeadStatus.QUALIFIED
    lead.disqualified_reason = ""
    lead.save(update_fields=["status", "disqualified_reason"])
    return lead


@transaction.atomic(durable=True)
def lead_disqualify(lead_id: int, *, by: User, reason: str) -> Lead:
    """A lead not worth pursuing, with the reason (required)."""
    text = _text(reason, "reason", limit=200, required=True)
    lead = _locked_lead(by, lead_id)
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationError({"status": [_("This lead has been converted already.")]})
    lead.status = LeadStatus.DISQUALIFIED
    lead.disqualified_reason = text
    lead.save(update_fields=["status", "disqualified_reason"])
    return lead


@dataclass(frozen=True)
class ConvertResult:
    account: Account
    contact: Contact | None
    opportunity: Opportunity
    attached: bool  # to an existing account rather than a new one


@transaction.atomic(durable=True)
def lead_convert(
    lead_id: int,
    *,
    by: User,
    account_id: int | None = None,
    create_anyway: bool = False,
    credit_code: str = "",
    opportunity_name: str = "",
    amount: Any = None,
    expected_close: datetime.date | None = None,
) -> ConvertResult:
    """Turn a lead into an account, a contact (when the lead names one) and an opportunity,
    in one transaction. A converted lead is refused; so is a disqualified one (qualify it
    first). Duplicates: when accounts the person may see carry the same credit code or the
    same normalized name, conversion stops with an ``account`` error naming them unless the
    person chose one to attach to (``account_id``) or asked for a new one anyway
    (``create_anyway``; a credit code that exists already can never be created twice)."""
    money = _amount(amount)
    credit = _text(credit_code, "credit_code", limit=18).upper()
    lead = _locked_lead(by, lead_id)
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationError({"status": [_("This lead has been converted already.")]})
    if lead.status == LeadStatus.DISQUALIFIED:
        raise ValidationError({"status": [_("A disqualified lead cannot be converted.")]})
    name = _text(opportunity_name, "opportunity_name", limit=200) or lead.company[:200]
    owner = lead.owner or by
    now = timezone.now()
    attached = account_id is not None
    if account_id is not None:
        account = account_for(by, account_id)
        if account.merged_into_id is not None:
            raise ValidationError(
                {"account": [_("This account has been merged into another; choose that one.")]}
            )
    else:
        if credit:
            try:
                code_check(CodeRuleKey.USCC, credit)
            except ValidationError as error:
                raise ValidationError({"credit_code": error.messages}) from None
        duplicates = selectors.lead_duplicates(by, lead, credit_code=credit)
        same_code = [d for d in duplicates if credit and d.credit_code == credit]
        if same_code:
            raise ValidationError(
                {
                    "account": [
                        _("%(name)s has this credit code already; attach the lead to it.")
                        % {"name": same_code[0]}
                    ]
                }
            )
        if credit and Account.objects.filter(credit_code=credit).exists():
            raise ValidationError(
                {
                    "credit_code": [
                        _("An account with this credit code exists; ask its owner to share it.")
                    ]
                }
            )
        if duplicates and not create_anyway:
            names = ", ".join(str(d) for d in duplicates)
            raise ValidationError(
                {"account": [_("Accounts like this one exist: %(names)s.") % {"names": names}]}
            )
        if owner.department_id is None:
            raise ValidationError(
                {"owner": [_("The lead's owner belongs to no department; give it to someone.")]}
            )
        account = accounts.account_open(
            by=by,
            owner=owner,
            values={
                "code": accounts.next_free_code() or f"CL{lead.pk:07d}",
                "name": lead.company,
                "credit_code": credit,
                "industry": lead.industry,
                "province": lead.province,
                "city": lead.city,
                "phone": lead.phone,
                "email": lead.email,
            },
            force=True,  # the duplicates among the accounts the person sees were checked above
            lead=lead.pk,
        )
    contact = None
    if lead.contact_name:
        contact = accounts.contact_add(
            by=by,
            account=account,
            values={
                "name": lead.contact_name,
                "mobile": lead.phone,
                "email": lead.email,
                "is_primary": not attached,
            },
        )
    opportunity = Opportunity.objects.create(
        account=account,
        contact=contact,
        name=name,
        amount=money,
        expected_close=expected_close,
        probability=STAGE_PROBABILITY[Stage.QUALIFICATION],
        owner=owner,
        campaign=lead.campaign,
        position=_top_position(Stage.QUALIFICATION),
        created_at=now,
        stage_changed_at=now,
    )
    _event(opportunity, "created", by, now=now, lead=lead.pk)
    lead.status = LeadStatus.CONVERTED
    lead.converted_account = account
    lead.converted_opportunity = opportunity
    lead.converted_at = now
    lead.save(
        update_fields=["status", "converted_account", "converted_opportunity", "converted_at"]
    )
    return ConvertResult(account, contact, opportunity, attached)


# --- opportunities -------------------------------------------------------------------------------


def _contact_of(account: Account, contact_id: int | None) -> Contact | None:
    if contact_id is None:
        return None
    contact = Contact.objects.filter(pk=contact_id, account=account).first()
    if contact is None:
        raise ValidationError({"contact": [_("Choose a contact of this account.")]})
    return contact


@transaction.atomic(durable=True)
def opportunity_create(
    *,
    by: User,
    account_id: int,
    name: str,
    amount: Any = None,
    expected_close: datetime.date | None = None,
    contact_id: int | None = None,
    competitors: str = "",
    committed: bool = False,
    campaign: Campaign | None = None,
) -> Opportunity:
    """A new opportunity on an account the person sees, in the qualification stage, owned by
    them, at the top of its kanban column; ``campaign``: the campaign it came from (the
    caller decided that ``by`` may change it)."""
    fields = {
        "name": _text(name, "name", limit=200, required=True),
        "amount": _amount(amount),
        "competitors": _text(competitors, "competitors", limit=200),
    }
    account = account_for(by, account_id)
    if account.merged_into_id is not None:
        raise ValidationError(
            {"account": [_("This account has been merged into another; choose that one.")]}
        )
    contact = _contact_of(account, contact_id)
    now = timezone.now()
    opportunity = Opportunity.objects.create(
        account=account,
        contact=contact,
        **fields,
        expected_close=expected_close,
        committed=committed,
        campaign=campaign,
        probability=STAGE_PROBABILITY[Stage.QUALIFICATION],
        owner=by,
        position=_top_position(Stage.QUALIFICATION),
        created_at=now,
        stage_changed_at=now,
    )
    _event(opportunity, "created", by, now=now)
    return opportunity


_CLEANERS: dict[str, Any] = {
    "name": lambda value: _text(value, "name", limit=200, required=True),
    "amount": _amount,
    "probability": _probability,
    "expected_close": lambda value: value or None,
    "committed": bool,
    "competitors": lambda value: _text(value, "competitors", limit=200),
    "lost_reason": lambda value: _text(value, "lost_reason", limit=200),
}
EDITABLE = frozenset(
    {
        "name",
        "amount",
        "probability",
        "expected_close",
        "committed",
        "competitors",
        "lost_reason",
        "contact_id",
    }
)


@transaction.atomic(durable=True)
def opportunity_update(opportunity_id: int, *, by: User, **changes: Any) -> Opportunity:
    """Edit an opportunity's fields (not its stage: :func:`opportunity_move`); what its stage
    needs stays required (module docstring)."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    opportunity = _locked_opportunity(by, opportunity_id)
    values = {key: _CLEANERS[key](value) for key, value in changes.items() if key in _CLEANERS}
    if "contact_id" in changes:
        contact = _contact_of(opportunity.account, changes["contact_id"])
        values["contact_id"] = contact.pk if contact else None
    if opportunity.stage in CLOSED and "probability" in values:
        values["probability"] = STAGE_PROBABILITY[opportunity.stage]
    _check_stage_fields(
        opportunity.stage,
        amount=values.get("amount", opportunity.amount),
        expected_close=values.get("expected_close", opportunity.expected_close),
        lost_reason=values.get("lost_reason", opportunity.lost_reason),
    )
    changed = sorted(k for k, v in values.items() if getattr(opportunity, k) != v)
    for key, value in values.items():
        setattr(opportunity, key, value)
    if changed:
        opportunity.save(update_fields=changed)
        _event(
            opportunity,
            "edited",
            by,
            from_stage=opportunity.stage,
            now=timezone.now(),
            fields=changed,
        )
    return opportunity


@transaction.atomic(durable=True)
def opportunity_move(
    opportunity_id: int,
    *,
    by: User,
    stage: str,
    position: int | None = None,
    lost_reason: str = "",
    probability: int | None = None,
) -> Opportunity:
    """Move an opportunity to ``stage`` at ``position`` in its kanban column (the cards of
    that column from ``position`` down make room; None: the top). The rules of the module
    docstring; a refused move changes nothing."""
    if stage not in Stage.values:
        raise ValidationError({"stage": [_("Choose one of the offered values.")]})
    reason = _text(lost_reason, "lost_reason", limit=200)
    wanted = None if probability is None else _probability(probability)
    if position is not None and not isinstance(position, int):
        raise ValidationError({"position": [_("Enter a whole number.")]})
    opportunity = _locked_opportunity(by, opportunity_id)
    _check_stage_fields(
        stage,
        amount=opportunity.amount,
        expected_close=opportunity.expected_close,
        lost_reason=reason or opportunity.lost_reason,
    )
    now = timezone.now()
    before = opportunity.stage
    if stage in CLOSED:
        opportunity.probability = STAGE_PROBABILITY[stage]
    elif wanted is not None:
        opportunity.probability = wanted
    elif opportunity.probability == STAGE_PROBABILITY[before]:
        opportunity.probability = STAGE_PROBABILITY[stage]
    if stage == Stage.LOST and reason:
        opportunity.lost_reason = reason
    elif stage != Stage.LOST and before == Stage.LOST:
        opportunity.lost_reason = ""
    if stage != before:
        opportunity.stage = stage
        opportunity.stage_changed_at = now
        opportunity.closed_at = now if stage in CLOSED else None
    if position is None:
        position = _top_position(stage) if stage != before else opportunity.position
    else:
        # make room: the cards of the column at or below the place move one down
        Opportunity.objects.filter(stage=stage, position__gte=position).exclude(
            pk=opportunity.pk
        ).update(position=F("position") + 1)
    opportunity.position = position
    opportunity.save(
        update_fields=[
            "stage",
            "position",
            "probability",
            "lost_reason",
            "stage_changed_at",
            "closed_at",
        ]
    )
    if stage != before:
        _event(opportunity, "moved", by, from_stage=before, now=now)
    return opportunity


# --- activities ----------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def activity_log(
    *,
    by: User,
    account_id: int,
    kind: str,
    subject: str,
    notes: str = "",
    contact_id: int | None = None,
    opportunity_id: int | None = None,
    at: datetime.datetime | None = None,
    due_at: datetime.datetime | None = None,
    remind_at: datetime.datetime | None = None,
) -> Activity:
    """Log a call, visit, meeting or e-mail (done when logged unless it has a due time), or
    schedule a follow-up task (a due time is required). A reminder comes no later than the
    due time. The contact and the opportunity must be the account's. Logging a contact
    with the customer moves the account's ``last_activity_at``."""
    kind = _choice(kind, "kind", ActivityKind, "")
    fields = {
        "subject": _text(subject, "subject", limit=200, required=True),
        "notes": _text(notes, "notes", limit=10_000),
    }
    if kind == ActivityKind.TASK and due_at is None:
        raise ValidationError({"due_at": [_("A follow-up needs a due date.")]})
    if remind_at is not None and due_at is None:
        raise ValidationError({"remind_at": [_("A reminder needs a due date.")]})
    if remind_at is not None and due_at is not None and remind_at > due_at:
        raise ValidationError({"remind_at": [_("The reminder must come before the due time.")]})
    account = account_for(by, account_id)
    contact = _contact_of(account, contact_id)
    opportunity = None
    if opportunity_id is not None:
        opportunity = Opportunity.objects.filter(pk=opportunity_id, account=account).first()
        if opportunity is None:
            raise ValidationError({"opportunity": [_("Choose an opportunity of this account.")]})
    now = timezone.now()
    when = at or now
    activity = Activity.objects.create(
        kind=kind,
        **fields,
        account=account,
        contact=contact,
        opportunity=opportunity,
        owner=by,
        at=when,
        due_at=due_at,
        remind_at=remind_at,
        done_at=None if due_at is not None else now,
        created_at=now,
    )
    if kind != ActivityKind.TASK and (
        account.last_activity_at is None or account.last_activity_at < when
    ):
        Account.objects.filter(pk=account.pk).update(last_activity_at=when)
    return activity


@transaction.atomic(durable=True)
def activity_done(activity_id: int, *, by: User) -> Activity:
    """Mark a follow-up done (once: a second time changes nothing)."""
    activity = Activity.objects.select_for_update().filter(pk=activity_id).first()
    if activity is None or not selectors.activities_for(by).filter(pk=activity_id).exists():
        raise NotFound(_("There is no such activity, or you may not see it."))
    if activity.done_at is None:
        activity.done_at = timezone.now()
        activity.save(update_fields=["done_at"])
    return activity


def _followup_url(activity: Activity) -> str:
    return reverse("crm:followups") + f"#activity-{activity.pk}"


@transaction.atomic(durable=True)
def followups_remind(*, now: datetime.datetime | None = None) -> int:
    """Notify the owners of open follow-ups whose reminder time has passed (once each:
    ``reminded_at``, and the notice's dedup key); the number notified. Rows another worker
    holds are skipped, not waited for."""
    moment = now or timezone.now()
    due = list(
        Activity.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("owner", "account")
        .filter(remind_at__lte=moment, reminded_at__isnull=True, done_at__isnull=True)
        .order_by("remind_at", "id")[:REMIND_BATCH]
    )
    for activity in due:
        with translation.override(activity.owner.preferred_language or None):
            title = _("Follow-up due: %(subject)s") % {"subject": activity.subject}
        notification_send(
            recipient=activity.owner,
            kind=KIND,
            title=title,
            body=str(activity.account.name),
            url=_followup_url(activity),
            dedup_key=f"crm.followup:{activity.pk}",
            subject=f"crm.activity:{activity.pk}",
        )
    Activity.objects.filter(pk__in=[a.pk for a in due]).update(reminded_at=moment)
    return len(due)
