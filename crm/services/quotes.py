"""Writes of the CRM's quotes, from the first line to the ERP's sales order.

The life of a quote (each transition one function below, naming its source states)::

    draft --submit--> approved                (the matrix asks for nobody)
    draft --submit--> pending --approve--> approved        (the engine's approval)
                      pending --reject/cancel--> draft      (the approver's opinion shown)
                      pending (returned: 退回) --edit--> draft
    approved --accept--> accepted  (+ the ERP sales order in the outbox, same transaction)
    accepted: shown as *ordered* once the ERP recorded the order (crm.selectors.quotes)

**Prices come from the ERP** (the local copies read through ``erp_bridge.selectors``): a
line takes the product's code, name and unit, and its list price (the price list's price
when the quote names one that lists the product). The person gives a quantity and either a
discount % or a unit price; the other, the line's amount, the quote's list total, total
and overall discount % are computed here, never taken from a form.

**Numbers** are ``Q-<year>-<six digits>``, one more than the year's highest; two quotes
made at once race for the same number: the unique index refuses the second, which takes
the next number (a savepoint per try), so no lock is held and no number is given twice.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import quote_approval as quote_process
from crm.models import (
    Account,
    ApprovalRule,
    ApproverLevel,
    Opportunity,
    Quote,
    QuoteLine,
    QuoteStatus,
)
from crm.selectors.quotes import (
    approval_level,
    approval_note,
    base_price,
    may_edit,
    order_key,
    price_list_by_code,
    product_by_code,
)
from crm.selectors.visibility import account_for, is_sales_admin
from erp_bridge.services import outbox_put, outbox_retry
from portal.errors import NotFound, Refused
from portal.models import User

__all__ = [
    "MAX_LINES",
    "LineInput",
    "RuleInput",
    "approval_matrix_save",
    "quote_accept",
    "quote_approved_by_engine",
    "quote_create",
    "quote_order_retry",
    "quote_submit",
    "quote_unsubmitted_by_engine",
    "quote_update",
]

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
MAX_LINES = 200
MAX_AMOUNT = Decimal("999999999999.99")  # 14 digits, 2 decimals
NUMBER_TRIES = 20


@dataclass(frozen=True)
class LineInput:
    """One line as a person gives it: the product's code, the quantity, and a discount %
    or a unit price (a unit price given wins; neither: the base price)."""

    product_code: str
    quantity: Any
    discount: Any = None
    unit_price: Any = None


@dataclass(frozen=True)
class _Line:
    product_code: str
    product_name: str
    unit: str
    quantity: Decimal
    list_price: Decimal
    unit_price: Decimal
    discount: Decimal
    amount: Decimal


def _decimal(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError from None
    if not number.is_finite():
        raise ValueError
    return number


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _priced(index: int, given: LineInput, price_list_code: str, errors: list[str]) -> _Line | None:
    """One line priced from the ERP's data, or None with its problems added to ``errors``
    (each naming the line and the field)."""
    number = {"n": index + 1}
    problems = len(errors)
    product = product_by_code(given.product_code)
    if product is None or not product.active:
        errors.append(
            _("Line %(n)s: the ERP has no product with the code “%(code)s”.")
            % {**number, "code": (given.product_code or "").strip()[:40]}
        )
    try:
        quantity = _decimal(given.quantity)
    except ValueError:
        quantity = None
    if quantity is None or quantity < CENT or quantity > MAX_AMOUNT:
        errors.append(_("Line %(n)s: the quantity must be a number above 0.") % number)
    try:
        discount, unit_price = _decimal(given.discount), _decimal(given.unit_price)
    except ValueError:
        errors.append(_("Line %(n)s: the discount and the unit price must be numbers.") % number)
        return None
    if discount is not None and not Decimal(0) <= discount <= HUNDRED:
        errors.append(_("Line %(n)s: the discount must be between 0 and 100 %%.") % number)
    if unit_price is not None and not Decimal(0) <= unit_price <= MAX_AMOUNT:
        errors.append(_("Line %(n)s: the unit price cannot be negative.") % number)
    if len(errors) > problems or product is None or quantity is None:
        return None
    quantity = _cents(quantity)
    listed = _cents(base_price(product, price_list_code, quantity))
    if unit_price is not None:
        unit_price = _cents(unit_price)
        discount = _cents((1 - unit_price / listed) * HUNDRED) if listed else Decimal(0)
        discount = min(max(discount, Decimal(0)), HUNDRED)  # above the list price: no discount
    else:
        discount = _cents(discount or Decimal(0))
        unit_price = _cents(listed * (HUNDRED - discount) / HUNDRED)
    amount = _cents(unit_price * quantity)
    if amount > MAX_AMOUNT:
        errors.append(_("Line %(n)s: the amount is too large.") % number)
        return None
    return _Line(
        product.code,
        product.name[:200],
        product.unit[:20],
        quantity,
        listed,
        unit_price,
        discount,
        amount,
    )


def _price_lines(lines: Sequence[LineInput], price_list_code: str) -> list[_Line]:
    """Every line priced, or ``ValidationError`` under ``lines`` naming each bad one."""
    errors: list[str] = []
    if len(lines) > MAX_LINES:
        raise ValidationError({"lines": [_("A quote has at most %(n)s lines.") % {"n": MAX_LINES}]})
    priced = [_priced(i, line, price_list_code, errors) for i, line in enumerate(lines)]
    if errors:
        raise ValidationError({"lines": errors})
    return [line for line in priced if line is not None]


def _totals(lines: Sequence[_Line]) -> tuple[Decimal, Decimal, Decimal]:
    """``(list total, total, overall discount %)``: the discount is how far the total is
    below the list total (0 when the list total is 0 or the total above it)."""
    list_total = _cents(sum((line.list_price * line.quantity for line in lines), Decimal(0)))
    total = _cents(sum((line.amount for line in lines), Decimal(0)))
    if list_total <= 0 or total >= list_total:
        return list_total, total, Decimal(0)
    return list_total, total, _cents((1 - total / list_total) * HUNDRED)


def _check_header(price_list_code: str, currency: str) -> None:
    errors: dict[str, list[str]] = {}
    if price_list_code and price_list_by_code(price_list_code) is None:
        errors["price_list_code"] = [
            _("The ERP has no price list with the code “%(code)s”.") % {"code": price_list_code}
        ]
    if len(currency) != 3 or not currency.isalpha():
        errors["currency"] = [_("The currency is a three-letter code such as CNY.")]
    if errors:
        raise ValidationError(errors)


def _write_lines(quote: Quote, lines: Sequence[_Line]) -> None:
    quote.lines.all().delete()
    QuoteLine.objects.bulk_create(
        QuoteLine(
            quote=quote,
            position=position,
            product_code=line.product_code,
            product_name=line.product_name,
            unit=line.unit,
            quantity=line.quantity,
            list_price=line.list_price,
            unit_price=line.unit_price,
            discount=line.discount,
            amount=line.amount,
        )
        for position, line in enumerate(lines)
    )
    quote.list_total, quote.total, quote.discount = _totals(lines)


def _next_number(year: int) -> str:
    prefix = f"Q-{year}-"
    last = (
        Quote.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return f"{prefix}{(int(last[len(prefix) :]) + 1 if last else 1):06d}"


@transaction.atomic(durable=True)
def quote_create(
    *,
    by: User,
    account_id: int,
    lines: Sequence[LineInput],
    opportunity_id: int | None = None,
    price_list_code: str = "",
    currency: str = "CNY",
    valid_until: datetime.date | None = None,
    notes: str = "",
) -> Quote:
    """A draft quote for an account ``by`` sees (else NotFound), priced from the ERP's data;
    ``by`` becomes its owner. Bad lines or header: ``ValidationError``, nothing made."""
    account: Account = account_for(by, account_id)
    opportunity = None
    if opportunity_id is not None:
        opportunity = Opportunity.objects.filter(pk=opportunity_id, account=account).first()
        if opportunity is None:
            raise ValidationError(
                {"opportunity": [_("Choose an opportunity of the quote's account.")]}
            )
    price_list_code, currency = price_list_code.strip(), (currency or "CNY").strip().upper()
    _check_header(price_list_code, currency)
    priced = _price_lines(lines, price_list_code)
    now = timezone.now()
    for _try in range(NUMBER_TRIES):
        try:
            with transaction.atomic():
                quote = Quote.objects.create(
                    number=_next_number(timezone.localdate().year),
                    account=account,
                    opportunity=opportunity,
                    price_list_code=price_list_code,
                    currency=currency,
                    valid_until=valid_until,
                    notes=notes.strip(),
                    created_by=by,
                    created_at=now,
                    updated_at=now,
                )
                break
        except IntegrityError:  # another quote took the number first: take the next one
            continue
    else:
        raise Refused(_("No quote number could be given; please try again."))
    _write_lines(quote, priced)
    quote.save(update_fields=["list_total", "total", "discount"])
    return quote


def _locked(by: User, quote_id: int) -> Quote:
    """The quote under its lock if ``by`` may see it (NotFound) and change it (Refused)."""
    quote = Quote.objects.select_for_update().filter(pk=quote_id).first()
    if quote is None:
        raise NotFound(_("There is no such quote, or you may not see it."))
    account_for(by, quote.account_id)  # NotFound when the account is out of sight
    if not may_edit(by, quote):
        raise Refused(_("Only the quote's owner or a sales administrator may change it."))
    return quote


def _reopen_returned(by: User, quote: Quote) -> None:
    """A quote whose approval was returned (退回) becomes a draft again: the returned
    request is cancelled (its history keeps the approver's opinion)."""
    note = approval_note(quote)
    if quote.status == QuoteStatus.PENDING and note is not None and note.returned:
        if quote.approval_instance_id is not None:
            quote_process.approval_cancel(
                instance_id=quote.approval_instance_id,
                by=by,
                reason=_("The quote is being revised."),
            )
        quote.status = QuoteStatus.DRAFT


@transaction.atomic(durable=True)
def quote_update(
    *,
    by: User,
    quote_id: int,
    lines: Sequence[LineInput],
    price_list_code: str | None = None,
    valid_until: datetime.date | None = None,
    notes: str | None = None,
) -> Quote:
    """Replace a draft's lines (and header); a returned quote becomes a draft again. Who:
    its owner or a sales admin. Any other state: Refused; bad input: ValidationError."""
    quote = _locked(by, quote_id)
    _reopen_returned(by, quote)
    if quote.status != QuoteStatus.DRAFT:
        raise Refused(
            _("Only a draft can be changed; this quote is %(status)s.")
            % {"status": quote.get_status_display()}
        )
    if price_list_code is not None:
        quote.price_list_code = price_list_code.strip()
    _check_header(quote.price_list_code, quote.currency)
    priced = _price_lines(lines, quote.price_list_code)
    _write_lines(quote, priced)
    if valid_until is not None:
        quote.valid_until = valid_until
    if notes is not None:
        quote.notes = notes.strip()
    quote.updated_at = timezone.now()
    quote.save()
    return quote


@transaction.atomic(durable=True)
def _prepare_submit(*, by: User, quote_id: int) -> tuple[Quote, str]:
    quote = _locked(by, quote_id)
    _reopen_returned(by, quote)
    if quote.status != QuoteStatus.DRAFT:
        raise Refused(
            _("Only a draft can be submitted; this quote is %(status)s.")
            % {"status": quote.get_status_display()}
        )
    if not quote.lines.exists():
        raise ValidationError({"lines": [_("A quote needs at least one line.")]})
    level = approval_level(quote.discount, quote.total)
    quote.approval_level = level
    quote.approval_instance_id = None
    quote.status = QuoteStatus.PENDING if level else QuoteStatus.APPROVED
    quote.updated_at = timezone.now()
    quote.save(update_fields=["approval_level", "approval_instance_id", "status", "updated_at"])
    return quote, level


@transaction.atomic(durable=True)
def _record_start(*, quote_id: int, instance_id: int | None) -> Quote:
    quote = Quote.objects.select_for_update().get(pk=quote_id)
    if instance_id is None:  # the start failed: the quote is a draft again
        if quote.status == QuoteStatus.PENDING and quote.approval_instance_id is None:
            quote.status = QuoteStatus.DRAFT
            quote.save(update_fields=["status"])
        return quote
    if quote.approval_instance_id is None:
        quote.approval_instance_id = instance_id
        quote.save(update_fields=["approval_instance_id"])
    return quote


def quote_submit(*, by: User, quote_id: int) -> Quote:
    """Send a draft on: when the approval matrix asks for nobody it is approved at once;
    else it waits (pending) for the approval process ``crm_quote_approval`` this starts,
    at the level the matrix names (the highest a rule reaching the quote's discount and
    total asks for). Who: the owner or a sales admin.

    Not one transaction: a request starts through ``request_submit``, which runs in its own
    (durable) one. The quote is made pending under its lock first, then the request starts,
    then the quote records it; if the start fails, the quote is a draft again. The approval's
    last step finds the quote by its number, so it approves even before the id is recorded."""
    quote, level = _prepare_submit(by=by, quote_id=quote_id)
    if not level:
        return quote
    try:
        quote_process.ensure_deployed()
        instance_id = quote_process.approval_start(by=by, quote=quote)
    except BaseException:
        _record_start(quote_id=quote.pk, instance_id=None)
        raise
    return _record_start(quote_id=quote.pk, instance_id=instance_id)


@transaction.atomic
def quote_approved_by_engine(*, number: str, instance_id: int) -> bool:
    """The approval's last step (the inline application ``crm.quote_approve``, in the
    approver's transaction): the pending quote ``number`` is approved. Whether it was (a
    quote no longer pending, or waiting on another request, stays as it is)."""
    quote = Quote.objects.select_for_update().filter(number=number).first()
    if quote is None or quote.status != QuoteStatus.PENDING:
        return False
    if quote.approval_instance_id not in (None, instance_id):
        return False
    quote.status = QuoteStatus.APPROVED
    quote.approval_instance_id = instance_id
    quote.updated_at = timezone.now()
    quote.save(update_fields=["status", "approval_instance_id", "updated_at"])
    return True


@transaction.atomic
def quote_unsubmitted_by_engine(*, instance_id: int) -> bool:
    """The approval ended without approving (rejected, cancelled, terminated; the engine's
    end listener, in the ending transaction): the quote it was for is a draft again, its
    approval kept so its page shows the approver's opinion. Whether a quote changed."""
    quote = (
        Quote.objects.select_for_update()
        .filter(approval_instance_id=instance_id, status=QuoteStatus.PENDING)
        .first()
    )
    if quote is None:
        return False
    quote.status = QuoteStatus.DRAFT
    quote.updated_at = timezone.now()
    quote.save(update_fields=["status", "updated_at"])
    return True


def _order_payload(quote: Quote) -> dict[str, Any]:
    return {
        "reference": quote.number,
        "customer_code": quote.account.code,
        "lines": [
            {
                "product_code": line.product_code,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
            }
            for line in quote.lines.all()
        ],
        "currency": quote.currency,
        "description": f"{quote.number} {quote.account.name}"[:200],
    }


@transaction.atomic(durable=True)
def quote_accept(*, by: User, quote_id: int, confirmed: bool) -> Quote:
    """The customer accepted an approved quote (``by`` confirms it: ``confirmed``): it is
    accepted and, in the same transaction, its sales order is written to the ERP outbox
    (``sales_order.create``, idempotency key ``quote:<number>``); both commit or neither.
    Who: the owner or a sales admin."""
    if not confirmed:
        raise ValidationError({"confirmed": [_("Confirm that the customer accepted this quote.")]})
    quote = _locked(by, quote_id)
    if quote.status != QuoteStatus.APPROVED:
        raise Refused(
            _("Only an approved quote can be accepted; this quote is %(status)s.")
            % {"status": quote.get_status_display()}
        )
    quote.status = QuoteStatus.ACCEPTED
    quote.order_reference = quote.number
    quote.order_error = ""
    quote.updated_at = timezone.now()
    quote.save(update_fields=["status", "order_reference", "order_error", "updated_at"])
    outbox_put(
        operation="sales_order.create",
        aggregate=f"customer:{quote.account.code}",
        payload=_order_payload(quote),
        idempotency_key=order_key(quote),
        created_by=by.get_username(),
    )
    return quote


@transaction.atomic(durable=True)
def quote_order_retry(*, by: User, quote_id: int) -> Quote:
    """Send a refused sales order again (after the cause was fixed in the ERP: the product
    exists again): its dead outbox message goes back in line. Who: the quote's owner or a
    sales admin; only while the message is a dead letter (else Refused)."""
    quote = _locked(by, quote_id)
    if quote.status != QuoteStatus.ACCEPTED or not quote.order_reference:
        raise Refused(_("Only an accepted quote's order can be sent again."))
    outbox_retry(idempotency_key=order_key(quote), by=by)
    quote.order_error = ""
    quote.updated_at = timezone.now()
    quote.save(update_fields=["order_error", "updated_at"])
    return quote


@dataclass(frozen=True)
class RuleInput:
    min_discount: Any
    min_total: Any
    level: str


@transaction.atomic(durable=True)
def approval_matrix_save(*, by: User, rules: Sequence[RuleInput]) -> list[ApprovalRule]:
    """Replace the quote approval matrix with ``rules``. Who: sales administrators. A bad
    cell (a discount outside 0–100, a negative total, an unknown level) is a field error
    naming the row; nothing is changed."""
    if not is_sales_admin(by):
        raise Refused(_("Only sales administrators may change the approval matrix."))
    errors: list[str] = []
    made: list[ApprovalRule] = []
    for index, rule in enumerate(rules):
        row = {"n": index + 1}
        try:
            discount, total = _decimal(rule.min_discount), _decimal(rule.min_total)
        except ValueError:
            errors.append(_("Row %(n)s: the discount and the total must be numbers.") % row)
            continue
        discount, total = discount or Decimal(0), total or Decimal(0)
        if not Decimal(0) <= discount <= HUNDRED:
            errors.append(_("Row %(n)s: the discount must be between 0 and 100 %%.") % row)
        if not Decimal(0) <= total <= MAX_AMOUNT:
            errors.append(_("Row %(n)s: the total cannot be negative.") % row)
        if rule.level not in ApproverLevel.values:
            errors.append(_("Row %(n)s: choose the approver.") % row)
        made.append(
            ApprovalRule(min_discount=_cents(discount), min_total=_cents(total), level=rule.level)
        )
    if errors:
        raise ValidationError({"rules": errors})
    ApprovalRule.objects.all().delete()
    return ApprovalRule.objects.bulk_create(made)
