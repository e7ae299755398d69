"""Reads of service cases. A case is seen iff its account is (:func:`accounts_for`); what a
person may not see answers 404. Selectors never write."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Final

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Account, Case, CaseEvent, CaseStatus, Contact, SlaPolicy
from crm.selectors.visibility import Viewer, accounts_for
from crm.sla import add_business_hours
from portal.errors import NotFound

__all__ = [
    "ACTIVE",
    "FREEMAIL_DOMAINS",
    "NEAR_BREACH_HOURS",
    "IntakeMatch",
    "SlaState",
    "case_events",
    "case_for",
    "cases_for",
    "cases_near_breach",
    "intake_match",
    "sla_policy",
    "sla_state",
]

# the states whose SLA clock runs (or is paused, for WAITING)
ACTIVE: Final = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.WAITING)
# "near breach" on the dashboard: due within this many business hours, or overdue
NEAR_BREACH_HOURS: Final = 4
# Public mailbox providers: a sender's domain there says nothing about their company, so an
# intake matches such a sender only by a contact's exact address.
FREEMAIL_DOMAINS: Final = frozenset(
    {
        "qq.com",
        "foxmail.com",
        "163.com",
        "126.com",
        "yeah.net",
        "sina.com",
        "sina.cn",
        "sohu.com",
        "aliyun.com",
        "139.com",
        "189.cn",
        "gmail.com",
        "outlook.com",
        "hotmail.com",
        "yahoo.com",
        "icloud.com",
    }
)


def cases_for(user: Viewer) -> QuerySet[Case]:
    """The cases ``user`` may see: those of the accounts they see."""
    return Case.objects.filter(account__in=accounts_for(user).values("pk"))


def case_for(user: Viewer, case_id: int) -> Case:
    """The case if ``user`` may see it, else :class:`NotFound`."""
    found = cases_for(user).select_related("account", "contact", "owner").filter(pk=case_id).first()
    if found is None:
        raise NotFound(_("There is no such case, or you may not see it."))
    return found


def case_events(case: Case) -> QuerySet[CaseEvent]:
    """The case's history, oldest first."""
    return case.events.order_by("at", "id")


def sla_policy(level: str) -> SlaPolicy | None:
    """The SLA of customers of ``level``; None when the level has none (no deadlines)."""
    return SlaPolicy.objects.filter(level=level).first()


SlaState = str  # "met", "breached", "running", "paused", "none"


def sla_state(case: Case, now: datetime.datetime | None = None) -> SlaState:
    """How the case stands against its resolution deadline: ``none`` (no SLA), ``paused``
    (waiting for the customer), ``running`` (in time), ``breached`` (the deadline passed
    unresolved, or it was resolved late), ``met`` (resolved in time)."""
    now = now or timezone.now()
    due = case.resolution_due
    if due is None:
        return "none"
    if case.resolved_at is not None:
        return "met" if case.resolved_at <= due else "breached"
    if case.status == CaseStatus.WAITING:
        return "paused"
    return "breached" if now > due else "running"


def cases_near_breach(
    user: Viewer, *, now: datetime.datetime | None = None, limit: int = 10
) -> list[Case]:
    """``user``'s own open cases (they handle them) whose next deadline — the first response
    while unanswered, else the resolution — is within :data:`NEAR_BREACH_HOURS` business hours
    or passed; soonest first. Cases waiting for the customer are paused and left out."""
    if not user.is_authenticated:
        return []
    now = now or timezone.now()
    horizon = add_business_hours(now, NEAR_BREACH_HOURS)
    mine = cases_for(user).filter(owner=user, status__in=(CaseStatus.NEW, CaseStatus.OPEN))
    response_due = Q(first_responded_at__isnull=True, first_response_due__lte=horizon)
    resolution_due = Q(resolution_due__lte=horizon)
    rows = list(
        mine.filter(response_due | resolution_due)
        .select_related("account")
        .order_by("resolution_due", "id")[: limit * 2]
    )
    rows.sort(key=lambda c: next_due(c) or horizon)
    return rows[:limit]


def next_due(case: Case) -> datetime.datetime | None:
    """The deadline the case is racing now: the first response while unanswered (if it has
    one), else the resolution."""
    if case.first_responded_at is None and case.first_response_due is not None:
        return case.first_response_due
    return case.resolution_due


@dataclass(frozen=True)
class IntakeMatch:
    """Who an e-mail-like intake is from: the contact with the sender's address (and its
    account), or else the one account of the sender's domain; ``candidates`` when several
    accounts share the domain (the person chooses)."""

    account: Account | None
    contact: Contact | None
    candidates: tuple[Account, ...] = ()


def sender_domain(sender: str) -> str:
    return sender.rpartition("@")[2].strip().lower()


def intake_match(user: Viewer, sender: str) -> IntakeMatch:
    """Match ``sender`` among the accounts ``user`` sees: a contact's e-mail (exactly, any
    case) first; then an account's or a contact's e-mail domain, unless it is a public
    mailbox provider (:data:`FREEMAIL_DOMAINS`). Merged accounts are skipped."""
    address = sender.strip()
    visible = accounts_for(user).filter(merged_into__isnull=True)
    if not address or "@" not in address:
        return IntakeMatch(None, None)
    contact = (
        Contact.objects.filter(account__in=visible.values("pk"), email__iexact=address)
        .select_related("account")
        .order_by("id")
        .first()
    )
    if contact is not None:
        return IntakeMatch(contact.account, contact)
    domain = sender_domain(address)
    if not domain or domain in FREEMAIL_DOMAINS:
        return IntakeMatch(None, None)
    suffix = "@" + domain
    by_domain = visible.filter(
        Q(email__iendswith=suffix) | Q(contacts__email__iendswith=suffix)
    ).distinct()
    found = tuple(by_domain.order_by("name", "id")[:20])
    if len(found) == 1:
        return IntakeMatch(found[0], None)
    return IntakeMatch(None, None, found)
