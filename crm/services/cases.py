"""Writes of service cases (服务工单): open (from the portal, the e-mail-like intake or the
API), the status flow, the satisfaction rating, and the escalation steps the engine calls.

**The SLA clock.** Opening a case sets its first-response and resolution deadlines from the
SLA policy of its account's level, in business hours (:mod:`crm.sla`: working hours on
business days, China's public holidays and make-up workdays, the administrators' calendar).
While the case waits for the customer (``paused_at``) the clock stops; resuming pushes each
deadline not yet met by the business time the case was paused.

**The status flow.** One function per transition, each naming its source states; anything
else is refused (:class:`CaseRefused`, 409) and changes nothing. Each writes a
:class:`CaseEvent` in the same transaction.

====================  ============================  ==========
transition            from                          to
====================  ============================  ==========
:func:`case_respond`  new                           open
:func:`case_wait`     new, open                     waiting
:func:`case_resume`   waiting                       open
:func:`case_resolve`  new, open, waiting            resolved
:func:`case_close`    resolved                      closed
:func:`case_reopen`   resolved, closed              open
====================  ============================  ==========

A first answer of any kind (respond, wait, resolve) records the first response. Reopening
restarts the resolution clock from the moment of reopening (a new promise to the customer)
and clears the escalation.

**Escalation** runs on the engine (``crm/bpmn/case_escalation.bpmn``): a case with a
resolution deadline starts a run whose timers fire at the deadline (level 1: the handler's
team lead is notified) and :data:`SECOND_ESCALATION_HOURS` business hours later (level 2: the
manager above). A resume or a reopen starts a new run for the new deadline; the old run's
timers still fire, but :func:`case_escalate` does nothing for a deadline that is no longer the
case's, nor for a case resolved, closed or waiting. That check, made under the case's row
lock when the timer fires, is what makes a stale timer harmless — more robust than
cancelling runs, which could race with a timer already firing, and it needs no clean-up when
an instance was cancelled by an administrator.
"""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path
from typing import Final

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.models import (
    Account,
    AccountLevel,
    Case,
    CaseChannel,
    CaseEvent,
    CaseStatus,
    Contact,
    SlaPolicy,
)
from crm.selectors.cases import case_for, intake_match, sla_policy
from crm.selectors.visibility import account_for, is_sales_admin
from crm.sla import add_business_hours, add_business_time, business_time_between
from portal.errors import Refused
from portal.models import User
from portal.selectors import department_head
from portal.services import notification_send
from workflow.selectors.statistics import latest_definition_id
from workflow.services.definitions import definition_deploy
from workflow.services.engine import instance_start

__all__ = [
    "ESCALATION_APPLICATION",
    "ESCALATION_PROCESS",
    "KIND",
    "SECOND_ESCALATION_HOURS",
    "CaseRefused",
    "case_close",
    "case_escalate",
    "case_intake",
    "case_open",
    "case_rate",
    "case_reopen",
    "case_resolve",
    "case_respond",
    "case_resume",
    "case_wait",
    "ensure_deployed",
    "sla_policies_save",
]

KIND: Final = "crm"  # the notification kind of the CRM
ESCALATION_PROCESS: Final = "crm_case_escalation"
ESCALATION_APPLICATION: Final = "crm.case_escalate"
ESCALATION_FILE: Final = Path(__file__).resolve().parent.parent / "bpmn" / "case_escalation.bpmn"
# the manager above is told this many business hours after the team lead
SECOND_ESCALATION_HOURS: Final = 4
PRIORITIES: Final = (1, 2, 3)
MAX_TEXT: Final = 20_000


class CaseRefused(Refused):
    """409: the case's state refuses the transition; nothing changed."""

    code = "case_refused"


# --- helpers -------------------------------------------------------------------------------------


def _now() -> datetime.datetime:
    return timezone.now()


def _event(case: Case, kind: str, *, by: User | None, text: str = "") -> None:
    CaseEvent.objects.create(
        case=case, kind=kind, actor=by.username if by else "", text=text, at=_now()
    )


def case_url(case_id: int) -> str:
    try:
        return reverse("crm:case-detail", args=[case_id])
    except NoReverseMatch:  # pragma: no cover - the pages define it
        return ""


def ensure_deployed() -> None:
    """Deploy the escalation process if it is not deployed yet (joins the caller's
    transaction; the application ``crm.case_escalate`` must be registered: the app's
    ``ready()`` does it)."""
    if latest_definition_id(ESCALATION_PROCESS) is None:
        definition_deploy(xml=ESCALATION_FILE.read_bytes(), source_name=ESCALATION_FILE.name)


def _escalation_start(case: Case) -> None:
    """Start a run watching the case's current resolution deadline (none without one)."""
    if case.resolution_due is None:
        case.escalation_instance_id = None
        return
    ensure_deployed()
    second = add_business_hours(case.resolution_due, SECOND_ESCALATION_HOURS)
    case.escalation_instance_id = instance_start(
        ESCALATION_PROCESS,
        variables={
            "case": case.pk,
            "due": case.resolution_due.isoformat(),
            "second_due": second.isoformat(),
        },
        business_key=f"crm-case-{case.pk}",
        title=case.number,
    )


def _text(value: str, field: str, label: str, *, required: bool, limit: int) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: _("%(field)s: this field is required.") % {"field": label}})
    if len(value) > limit:
        raise ValidationError(
            {
                field: _("%(field)s: at most %(limit)d characters.")
                % {"field": label, "limit": limit}
            }
        )
    return value


# --- open ----------------------------------------------------------------------------------------


def _open(
    *,
    by: User,
    account: Account,
    subject: str,
    description: str,
    contact_id: int | None,
    channel: str,
    priority: int,
) -> Case:
    subject = _text(subject, "subject", _("Subject"), required=True, limit=200)
    description = _text(
        description, "description", _("Description"), required=False, limit=MAX_TEXT
    )
    if channel not in CaseChannel.values:
        raise ValidationError({"channel": _("Channel: choose one of the list.")})
    if priority not in PRIORITIES:
        raise ValidationError({"priority": _("Priority: choose high, normal or low.")})
    if account.merged_into_id is not None:
        raise ValidationError(
            {"account": _("Account: this account was merged into another; choose that one.")}
        )
    contact = None
    if contact_id is not None:
        contact = Contact.objects.filter(pk=contact_id, account=account).first()
        if contact is None:
            raise ValidationError({"contact": _("Contact: choose a contact of the account.")})
    now = _now()
    policy = sla_policy(account.level)
    case = Case.objects.create(
        number=f"tmp-{uuid.uuid4().hex[:24]}",
        account=account,
        contact=contact,
        subject=subject,
        description=description,
        channel=channel,
        priority=priority,
        status=CaseStatus.NEW,
        owner=by,
        opened_at=now,
        first_response_due=(
            add_business_hours(now, policy.first_response_hours) if policy else None
        ),
        resolution_due=add_business_hours(now, policy.resolution_hours) if policy else None,
    )
    case.number = f"CS{timezone.localtime(now):%Y%m}-{case.pk:06d}"
    _escalation_start(case)
    case.save(update_fields=["number", "escalation_instance_id"])
    _event(case, "opened", by=by, text=case.channel)
    return case


@transaction.atomic(durable=True)
def case_open(
    *,
    by: User,
    account_id: int,
    subject: str,
    description: str = "",
    contact_id: int | None = None,
    channel: str = CaseChannel.PORTAL,
    priority: int = 2,
) -> Case:
    """Open a case on an account ``by`` may see (else 404), handled by ``by``; its deadlines
    come from the SLA of the account's level (none when the level has no policy) and its
    escalation run starts. A missing subject, a contact of another account, a merged
    account, an unknown channel or priority: a field error, nothing written."""
    account = account_for(by, account_id)
    return _open(
        by=by,
        account=account,
        subject=subject,
        description=description,
        contact_id=contact_id,
        channel=channel,
        priority=priority,
    )


@transaction.atomic(durable=True)
def case_intake(
    *,
    by: User,
    sender: str,
    subject: str,
    body: str,
    account_id: int | None = None,
    priority: int = 2,
) -> Case:
    """A case from an e-mail-like message (from, subject, body): the account and contact are
    the sender's (:func:`crm.selectors.cases.intake_match`); when nothing or several accounts
    match, ``account_id`` (chosen by the person) decides, else a field error on ``account``.
    The sender is kept in the first event."""
    sender = _text(sender, "sender", _("From"), required=True, limit=254)
    if "@" not in sender:
        raise ValidationError({"sender": _("From: give the sender's e-mail address.")})
    match = intake_match(by, sender)
    if account_id is not None:
        account = account_for(by, account_id)
        contact = (
            match.contact if match.contact and match.contact.account_id == account.pk else None
        )
    elif match.account is not None:
        account, contact = match.account, match.contact
    else:
        raise ValidationError(
            {
                "account": _(
                    "Account: the sender matches no account you can see, or several; "
                    "choose the account."
                )
            }
        )
    case = _open(
        by=by,
        account=account,
        subject=subject,
        description=body,
        contact_id=contact.pk if contact else None,
        channel=CaseChannel.EMAIL,
        priority=priority,
    )
    _event(case, "intake", by=by, text=sender)
    return case


# --- the status flow ------------------------------------------------------------------------------


def _locked(by: User, case_id: int, sources: tuple[str, ...], refusal: str) -> Case:
    """The case (404 if ``by`` may not see it), row-locked, in one of ``sources``; else
    :class:`CaseRefused` with ``refusal`` (a sentence with ``%(status)s``)."""
    case_for(by, case_id)
    case = Case.objects.select_for_update().get(pk=case_id)
    if case.status not in sources:
        raise CaseRefused(refusal % {"status": case.get_status_display()})
    return case


def _first_response(case: Case, now: datetime.datetime) -> None:
    if case.first_responded_at is None:
        case.first_responded_at = now


def _unpause(case: Case, now: datetime.datetime) -> None:
    """Push the deadlines not yet met by the business time the case was paused."""
    if case.paused_at is None:
        return
    paused = business_time_between(case.paused_at, now)
    if paused > datetime.timedelta(0):
        if case.resolution_due is not None:
            case.resolution_due = add_business_time(case.resolution_due, paused)
        if case.first_responded_at is None and case.first_response_due is not None:
            case.first_response_due = add_business_time(case.first_response_due, paused)
    case.paused_at = None


FIELDS: Final = [
    "status",
    "first_responded_at",
    "first_response_due",
    "resolution_due",
    "resolved_at",
    "closed_at",
    "paused_at",
    "escalation_level",
    "escalation_instance_id",
]


@transaction.atomic(durable=True)
def case_respond(*, by: User, case_id: int, text: str = "") -> Case:
    """The first response to a new case: it is in progress (new → open)."""
    case = _locked(
        by,
        case_id,
        (CaseStatus.NEW,),
        _("Only a new case can be answered; this one is “%(status)s”."),
    )
    _first_response(case, _now())
    case.status = CaseStatus.OPEN
    if case.owner_id is None:
        case.owner = by
    case.save(update_fields=[*FIELDS, "owner"])
    _event(case, "responded", by=by, text=text.strip()[:MAX_TEXT])
    return case


@transaction.atomic(durable=True)
def case_wait(*, by: User, case_id: int, text: str = "") -> Case:
    """Wait for the customer (new or open → waiting): the SLA clock stops (``paused_at``)."""
    case = _locked(
        by,
        case_id,
        (CaseStatus.NEW, CaseStatus.OPEN),
        _("Only a new or open case can wait for the customer; this one is “%(status)s”."),
    )
    now = _now()
    _first_response(case, now)
    case.status = CaseStatus.WAITING
    case.paused_at = now
    case.save(update_fields=FIELDS)
    _event(case, "waiting", by=by, text=text.strip()[:MAX_TEXT])
    return case


@transaction.atomic(durable=True)
def case_resume(*, by: User, case_id: int, text: str = "") -> Case:
    """The customer answered (waiting → open): the deadlines move by the paused business
    time, and a new escalation run watches the new resolution deadline."""
    case = _locked(
        by,
        case_id,
        (CaseStatus.WAITING,),
        _("Only a case waiting for the customer can be resumed; this one is “%(status)s”."),
    )
    _unpause(case, _now())
    case.status = CaseStatus.OPEN
    _escalation_start(case)
    case.save(update_fields=FIELDS)
    _event(case, "resumed", by=by, text=text.strip()[:MAX_TEXT])
    return case


@transaction.atomic(durable=True)
def case_resolve(*, by: User, case_id: int, text: str = "") -> Case:
    """Resolved (new, open or waiting → resolved); a waiting case's deadlines move by its
    pause first, so the SLA is judged on working time only."""
    case = _locked(
        by,
        case_id,
        (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.WAITING),
        _("This case is “%(status)s” already; it cannot be resolved again."),
    )
    now = _now()
    _unpause(case, now)
    _first_response(case, now)
    case.status = CaseStatus.RESOLVED
    case.resolved_at = now
    case.save(update_fields=FIELDS)
    _event(case, "resolved", by=by, text=text.strip()[:MAX_TEXT])
    return case


@transaction.atomic(durable=True)
def case_close(*, by: User, case_id: int, text: str = "") -> Case:
    """Closed after it was resolved (resolved → closed)."""
    case = _locked(
        by,
        case_id,
        (CaseStatus.RESOLVED,),
        _("Only a resolved case can be closed; this one is “%(status)s”."),
    )
    case.status = CaseStatus.CLOSED
    case.closed_at = _now()
    case.save(update_fields=FIELDS)
    _event(case, "closed", by=by, text=text.strip()[:MAX_TEXT])
    return case


@transaction.atomic(durable=True)
def case_reopen(*, by: User, case_id: int, text: str = "") -> Case:
    """Reopened (resolved or closed → open): the resolution clock starts again from now with
    the account level's resolution hours, the escalation starts over. Needs a reason."""
    reason = _text(text, "text", _("Reason"), required=True, limit=MAX_TEXT)
    case = _locked(
        by,
        case_id,
        (CaseStatus.RESOLVED, CaseStatus.CLOSED),
        _("Only a resolved or closed case can be reopened; this one is “%(status)s”."),
    )
    now = _now()
    policy = sla_policy(Account.objects.get(pk=case.account_id).level)
    case.status = CaseStatus.OPEN
    case.resolved_at = None
    case.closed_at = None
    case.escalation_level = 0
    case.resolution_due = add_business_hours(now, policy.resolution_hours) if policy else None
    _escalation_start(case)
    case.save(update_fields=FIELDS)
    _event(case, "reopened", by=by, text=reason)
    return case


TRANSITIONS: Final = {
    "respond": case_respond,
    "wait": case_wait,
    "resume": case_resume,
    "resolve": case_resolve,
    "close": case_close,
    "reopen": case_reopen,
}


# --- satisfaction ---------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def case_rate(*, by: User, case_id: int, satisfaction: int, comment: str = "") -> Case:
    """The customer's satisfaction (1 to 5, and a comment) after the case was resolved or
    closed, once; given by someone who sees the case (the handler on the customer's
    behalf). A score outside 1-5 is a field error; a second rating or a case not yet
    resolved is refused. Nothing changes then."""
    if isinstance(satisfaction, bool) or satisfaction not in (1, 2, 3, 4, 5):
        raise ValidationError(
            {"satisfaction": _("Satisfaction: give a score from 1 (poor) to 5 (excellent).")}
        )
    comment = _text(comment, "comment", _("Comment"), required=False, limit=2000)
    case = _locked(
        by,
        case_id,
        (CaseStatus.RESOLVED, CaseStatus.CLOSED),
        _("Only a resolved or closed case can be rated; this one is “%(status)s”."),
    )
    if case.satisfaction is not None:
        raise CaseRefused(_("This case was rated already; a rating is given once."))
    case.satisfaction = satisfaction
    case.satisfaction_comment = comment
    case.save(update_fields=["satisfaction", "satisfaction_comment"])
    _event(case, "rated", by=by, text=f"{satisfaction}/5 {comment}".strip())
    return case


# --- escalation (the engine's step) ---------------------------------------------------------------


def _same_moment(a: datetime.datetime | None, iso: str) -> bool:
    if a is None:
        return False
    try:
        b = datetime.datetime.fromisoformat(iso)
    except ValueError:
        return False
    if b.tzinfo is None:
        return False
    return abs(a - b) < datetime.timedelta(seconds=1)


@transaction.atomic
def case_escalate(*, case_id: int, level: int, due: str) -> bool:
    """The escalation run's step (application ``crm.case_escalate``, inline in the timer's
    transaction): raise the case to ``level`` (1: the handler's team lead, 2: the manager
    above them) and notify that person — only if the case is still unresolved, not waiting
    for the customer, its resolution deadline is still ``due`` (else a newer run watches it),
    and it is not at this level already. Whether it escalated."""
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if case is None or case.status not in (CaseStatus.NEW, CaseStatus.OPEN):
        return False
    if case.paused_at is not None or not _same_moment(case.resolution_due, due):
        return False
    if case.escalation_level >= level:
        return False
    case.escalation_level = level
    case.save(update_fields=["escalation_level"])
    handler = case.owner or Account.objects.select_related("owner").get(pk=case.account_id).owner
    boss = department_head(handler, levels=level)
    _event(
        case,
        "escalated",
        by=None,
        text=_("Level %(level)d: %(name)s")
        % {"level": level, "name": boss.display_name if boss else _("nobody above")},
    )
    if boss is not None:
        with translation.override(boss.preferred_language or None):  # the reader's language
            _tell_escalated(case, boss, handler, level, due)
    return True


def _tell_escalated(case: Case, boss: User, handler: User, level: int, due: str) -> None:
    notification_send(
        recipient=boss,
        kind=KIND,
        title=_("Case %(number)s is past its resolution deadline") % {"number": case.number},
        body=_(
            "“%(subject)s” of %(account)s, handled by %(handler)s, was due %(due)s and is "
            "not resolved."
        )
        % {
            "subject": case.subject,
            "account": Account.objects.get(pk=case.account_id).name,
            "handler": handler.display_name,
            "due": timezone.localtime(case.resolution_due).strftime("%Y-%m-%d %H:%M")
            if case.resolution_due
            else "",
        },
        url=case_url(case.pk),
        dedup_key=f"crm:case-escalated:{case.pk}:{level}:{due}",
    )


# --- SLA policies ------------------------------------------------------------------------------

MAX_SLA_HOURS: Final = 2000


@transaction.atomic(durable=True)
def sla_policies_save(*, by: User, hours: dict[str, tuple[int | None, int | None]]) -> None:
    """Set the SLA of each customer level (``level -> (first response, resolution)`` in
    business hours; both None: the level has no SLA). Only sales administrators; each value
    a whole number from 1 to :data:`MAX_SLA_HOURS`, the first response no later than the
    resolution, an unknown level refused — all checked before anything is written. Applies
    to cases opened from now on."""
    if not is_sales_admin(by):
        raise PermissionDenied(_("Only sales administrators may change the SLA policies."))
    errors: dict[str, str] = {}
    for level, (first, resolution) in hours.items():
        if level not in AccountLevel.values:
            errors[level] = _("%(level)s: there is no such customer level.") % {"level": level}
            continue
        label = AccountLevel(level).label
        if (first is None) != (resolution is None):
            errors[level] = _("%(level)s: give both hours, or neither (no SLA).") % {"level": label}
        elif first is not None and resolution is not None:
            if not (1 <= first <= MAX_SLA_HOURS and 1 <= resolution <= MAX_SLA_HOURS):
                errors[level] = _("%(level)s: hours are whole numbers from 1 to %(max)d.") % {
                    "level": label,
                    "max": MAX_SLA_HOURS,
                }
            elif first > resolution:
                errors[level] = _(
                    "%(level)s: the first response cannot be due after the resolution."
                ) % {"level": label}
    if errors:
        raise ValidationError(errors)
    for level, (first, resolution) in hours.items():
        if first is None or resolution is None:
            SlaPolicy.objects.filter(level=level).delete()
        else:
            SlaPolicy.objects.update_or_create(
                level=level,
                defaults={"first_response_hours": first, "resolution_hours": resolution},
            )
