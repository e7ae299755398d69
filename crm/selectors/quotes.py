"""Reads of the CRM's quotes: the quotes a person may see (through their accounts:
:mod:`crm.selectors.visibility`), the approval matrix's answer for a discount and a total,
the ERP's prices of a product, and what became of an accepted quote's sales order.

**Status on read.** A quote's stored status is draft → pending → approved → accepted. Two
states are read, not stored, so that no hook of another app has to write the CRM's tables:

- *ordered*: the ERP recorded the sales order (``erp_bridge``'s ``OrderRecord`` whose
  reference is the quote's number exists): :func:`shown_status`;
- *returned* (退回): the approval is back with its initiator (the approver returned it); the
  quote may be revised like a draft, and the approver's opinion is shown
  (:func:`approval_note`).

A refused order (the outbox message is a dead letter) is read from the message, by its
idempotency key ``quote:<number>`` (:func:`order_state`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from crm.models import ApprovalRule, ApproverLevel, Quote, QuoteStatus
from crm.selectors.visibility import Viewer, accounts_for, is_sales_admin
from erp_bridge import selectors as erp
from erp_bridge.errors import refusal_text
from portal.errors import NotFound
from portal.models import User
from workflow.selectors.status import last_decision, resubmission_task

__all__ = [
    "LEVEL_RANK",
    "ApprovalNote",
    "OrderState",
    "QuoteRow",
    "approval_level",
    "approval_note",
    "base_price",
    "may_edit",
    "order_key",
    "order_state",
    "orders_of",
    "price_list_by_code",
    "product_by_code",
    "quote_for",
    "quote_rows",
    "quote_with_lines",
    "quotes_for",
    "shown_status",
]

# the approver levels from the lowest to the highest: the highest a rule asks for decides
LEVEL_RANK: dict[str, int] = {
    ApproverLevel.SALES_MANAGER: 1,
    ApproverLevel.SALES_DIRECTOR: 2,
    ApproverLevel.GENERAL_MANAGER: 3,
}


def quotes_for(user: Viewer) -> QuerySet[Quote]:
    """The quotes ``user`` may see: those of the accounts they see."""
    if isinstance(user, User) and is_sales_admin(user):
        return Quote.objects.select_related("account", "opportunity", "created_by")
    return Quote.objects.filter(account__in=accounts_for(user)).select_related(
        "account", "opportunity", "created_by"
    )


def quote_for(user: Viewer, quote_id: int) -> Quote:
    """The quote if ``user`` may see it, else :class:`NotFound`."""
    found = quotes_for(user).filter(pk=quote_id).first()
    if found is None:
        raise NotFound(_("There is no such quote, or you may not see it."))
    return found


def approval_level(discount: Decimal, total: Decimal) -> str:
    """The approver the matrix asks for a quote with ``discount`` % off its list total and
    ``total``: of the rules whose both thresholds the quote reaches, the highest level;
    "" when no rule applies (no approval needed)."""
    levels = ApprovalRule.objects.filter(
        min_discount__lte=discount, min_total__lte=total
    ).values_list("level", flat=True)
    return max(levels, key=lambda level: LEVEL_RANK.get(level, 0), default="")


def product_by_code(code: str) -> Any | None:
    """The ERP product with exactly this code (the local copy), active or not."""
    code = (code or "").strip()
    if not code:
        return None
    for product in erp.products_matching(code, per_page=50).object_list:
        if product.code == code:
            return product
    return None


def price_list_by_code(code: str) -> Any | None:
    """The ERP price list with exactly this code (the local copy), if any."""
    code = (code or "").strip()
    if not code:
        return None
    for price_list in erp.price_lists_matching(code, per_page=50).object_list:
        if price_list.code == code:
            return price_list
    return None


def base_price(product: Any, price_list_code: str, quantity: Decimal) -> Decimal:
    """The price a line starts from: the price list's price for the product at this
    quantity (its line with the highest minimum quantity not above it), else the product's
    list price."""
    if price_list_code:
        price_list = price_list_by_code(price_list_code)
        if price_list is not None:
            line = (
                price_list.lines.filter(product__code=product.code, min_quantity__lte=quantity)
                .order_by("-min_quantity")
                .first()
            )
            if line is not None:
                return Decimal(line.price)
    return Decimal(product.list_price)


def may_edit(user: Viewer, quote: Quote) -> bool:
    """Who changes a quote and sends it on: its owner (who made it) and sales admins."""
    return bool(
        isinstance(user, User)
        and user.is_active
        and (quote.created_by_id == user.pk or is_sales_admin(user))
    )


@dataclass(frozen=True)
class ApprovalNote:
    """The approval's last decision, for the quote's page: who, how, with what opinion;
    ``returned``: the approval waits with the quote's owner to be revised."""

    actor: str
    outcome: str
    comment: str
    returned: bool


def approval_note(quote: Quote) -> ApprovalNote | None:
    """The last decision of the quote's approval (None before anyone decided)."""
    if quote.approval_instance_id is None:
        return None
    decision = last_decision(quote.approval_instance_id)
    returned = (
        quote.status == QuoteStatus.PENDING
        and resubmission_task(quote.approval_instance_id) is not None
    )
    if decision is None:
        return None
    return ApprovalNote(decision.actor, decision.outcome, decision.comment, returned)


def order_key(quote: Quote) -> str:
    """The outbox idempotency key of the quote's sales order."""
    return f"quote:{quote.number}"


@dataclass(frozen=True)
class OrderState:
    """An accepted quote's sales order: ``order`` the ERP's record (number, shipped,
    invoiced, paid) once it exists; ``refusal`` the ERP's refusal in the reader's language
    when the message is a dead letter (a retry is offered); ``waiting`` while it is on its
    way."""

    order: Any | None
    refusal: str
    waiting: bool


def order_state(quote: Quote) -> OrderState | None:
    """What became of the quote's sales order (None: the customer has not accepted)."""
    if not quote.order_reference:
        return None
    order = erp.order_for(quote.order_reference)
    if order is not None:
        return OrderState(order, "", False)
    message = erp.outbox_message_for_key(order_key(quote))
    if message is not None and message.state == "dead":
        return OrderState(None, refusal_text((message.error_code, message.last_error)), False)
    return OrderState(None, "", message is not None and message.state == "pending")


def orders_of(quotes: list[Quote]) -> dict[str, Any]:
    """The ERP's orders of ``quotes``, by quote number (one query)."""
    return erp.orders_for([q.order_reference for q in quotes if q.order_reference])


def shown_status(quote: Quote, order: Any | None) -> tuple[str, str]:
    """``(status, label)`` as people read it: ordered once the ERP recorded the order."""
    if order is not None and quote.status == QuoteStatus.ACCEPTED:
        return QuoteStatus.ORDERED.value, str(QuoteStatus.ORDERED.label)
    return quote.status, str(QuoteStatus(quote.status).label)


def quote_with_lines(quote_id: Any) -> Quote | None:
    """The quote and its lines by id, whoever asks: for the approval's task page, whose
    approver was given the quote to judge by the engine (the task page checks the task)."""
    try:
        pk = int(quote_id)
    except (TypeError, ValueError):
        return None
    return (
        Quote.objects.select_related("account", "created_by")
        .prefetch_related("lines")
        .filter(pk=pk)
        .first()
    )


@dataclass(frozen=True)
class QuoteRow:
    """A quote as the account's and opportunity's pages list it."""

    quote: Quote
    status: str
    label: str
    order: Any | None


def quote_rows(
    user: Viewer,
    *,
    account_id: int | None = None,
    opportunity_id: int | None = None,
    limit: int = 20,
) -> list[QuoteRow]:
    """An account's (or opportunity's) latest quotes ``user`` may see, with their ERP
    orders; two queries."""
    rows = quotes_for(user)
    if account_id is not None:
        rows = rows.filter(account_id=account_id)
    if opportunity_id is not None:
        rows = rows.filter(opportunity_id=opportunity_id)
    quotes = list(rows.order_by("-created_at", "-id")[:limit])
    orders = orders_of(quotes)
    found = []
    for quote in quotes:
        order = orders.get(quote.order_reference)
        status, label = shown_status(quote, order)
        found.append(QuoteRow(quote, status, label, order))
    return found
