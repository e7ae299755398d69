"""Quotes through their services: pricing from the ERP's data, the approval matrix, the
approval on the engine, the customer's acceptance into the outbox, the ERP's order coming
back (embedded ERP), a refusal and its retry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from crm.models import Account, ApproverLevel, Quote, QuoteLine, QuoteStatus
from crm.selectors import quotes as selectors
from crm.services import quotes as services
from erp_bridge.models import OrderRecord, OutboxMessage, Product
from erp_bridge.outbox import outbox_deliver_due
from erp_bridge.services import outbox_put
from portal.errors import NotFound, Refused
from portal.models import User
from tests.crm.quotes_fixtures import *  # noqa: F403  (the fixtures)
from tests.crm.quotes_fixtures import MakeQuote
from workflow.models import InstanceState, ProcessInstance, Task, TaskState
from workflow.services.approvals import task_approve, task_reject, task_return
from workflow.services.steps import ActionRefused

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    """The messages asserted are the English ones (the default language is zh-Hans)."""
    with translation.override("en"):
        yield


def _open_task(quote: Quote) -> Task:
    assert quote.approval_instance_id is not None
    return Task.objects.get(instance_id=quote.approval_instance_id, state=TaskState.OPEN)


# --- pricing -----------------------------------------------------------------------------


def test_lines_take_the_erps_data_and_the_service_computes_the_totals(
    account: Account, employee: User
) -> None:
    quote = services.quote_create(
        by=employee,
        account_id=account.pk,
        lines=[
            services.LineInput("P0001", "10", discount="25"),  # 1,299.00 list
            services.LineInput("P0004", "3", unit_price="180"),  # 199.00 list
            services.LineInput("P0005", "2"),  # 135.00, no discount
        ],
    )
    chair, keys, paper = quote.lines.order_by("position")
    assert (chair.product_name, chair.unit, chair.list_price) == (
        "人体工学办公椅",
        "把",
        Decimal("1299.00"),
    )
    assert (chair.unit_price, chair.amount) == (Decimal("974.25"), Decimal("9742.50"))
    assert (keys.discount, keys.amount) == (Decimal("9.55"), Decimal("540.00"))
    assert (paper.discount, paper.amount) == (Decimal("0.00"), Decimal("270.00"))
    quote.refresh_from_db()
    assert quote.list_total == Decimal("12990.00") + Decimal("597.00") + Decimal("270.00")
    assert quote.total == Decimal("9742.50") + Decimal("540.00") + Decimal("270.00")
    # overall: 1 - 10552.50 / 13857.00
    assert quote.discount == Decimal("23.85")
    assert re.fullmatch(r"Q-\d{4}-000001", quote.number)


def test_a_price_list_gives_the_base_price_and_numbers_follow_each_other(
    account: Account, employee: User
) -> None:
    first = services.quote_create(
        by=employee, account_id=account.pk, lines=[services.LineInput("P0002", "1")]
    )
    second = services.quote_create(
        by=employee,
        account_id=account.pk,
        price_list_code="PL-DEALER",
        lines=[services.LineInput("P0002", "1")],
    )
    line = second.lines.get()
    assert line.list_price == Decimal("2412.00")  # 90 % of 2,680.00
    assert int(second.number[-6:]) == int(first.number[-6:]) + 1


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (services.LineInput("P0001", "-1"), "quantity"),
        (services.LineInput("P0001", "1", discount="120"), "discount"),
        (services.LineInput("P0001", "1", unit_price="-5"), "unit price"),
        (services.LineInput("NO-SUCH", "1"), "NO-SUCH"),
        (services.LineInput("P0001", "abc"), "quantity"),
    ],
)
def test_bad_lines_are_field_errors_and_nothing_changes(
    account: Account, employee: User, make_quote: MakeQuote, line: services.LineInput, words: str
) -> None:
    draft = make_quote(discount=5)
    before = list(QuoteLine.objects.values_list("pk", "amount"))
    with pytest.raises(ValidationError) as caught:
        services.quote_update(by=employee, quote_id=draft.pk, lines=[line])
    assert words in " ".join(caught.value.message_dict["lines"])
    assert "Line 1" in " ".join(caught.value.message_dict["lines"])
    assert list(QuoteLine.objects.values_list("pk", "amount")) == before
    with pytest.raises(ValidationError):
        services.quote_create(by=employee, account_id=account.pk, lines=[line])
    assert Quote.objects.count() == 1


def test_an_account_out_of_sight_is_not_found(account: Account, outsider: User) -> None:
    with pytest.raises(NotFound):
        services.quote_create(
            by=outsider, account_id=account.pk, lines=[services.LineInput("P0001", "1")]
        )
    with pytest.raises(NotFound):
        selectors.quote_for(outsider, 1)


# --- the matrix ------------------------------------------------------------------------------


@pytest.mark.usefixtures("matrix")
@pytest.mark.parametrize(
    ("discount", "total", "level"),
    [
        ("5", "100000", ""),
        ("10", "9999", ""),
        ("10", "10000", ApproverLevel.SALES_MANAGER),
        ("25", "1000", ApproverLevel.SALES_DIRECTOR),
        ("25", "500000", ApproverLevel.GENERAL_MANAGER),
        ("45", "10", ApproverLevel.GENERAL_MANAGER),
    ],
)
def test_the_matrix_picks_the_highest_level_that_applies(
    discount: str, total: str, level: str
) -> None:
    assert selectors.approval_level(Decimal(discount), Decimal(total)) == level


def test_only_sales_admins_change_the_matrix_and_bad_cells_change_nothing(
    employee: User, sales_admin: User, matrix: list[object]
) -> None:
    with pytest.raises(Refused):
        services.approval_matrix_save(by=employee, rules=[])
    with pytest.raises(ValidationError) as caught:
        services.approval_matrix_save(
            by=sales_admin,
            rules=[
                services.RuleInput("15", "0", ApproverLevel.SALES_MANAGER),
                services.RuleInput("150", "0", ApproverLevel.SALES_DIRECTOR),
            ],
        )
    assert "Row 2" in " ".join(caught.value.message_dict["rules"])
    assert selectors.approval_level(Decimal("25"), Decimal("1")) == ApproverLevel.SALES_DIRECTOR
    services.approval_matrix_save(
        by=sales_admin, rules=[services.RuleInput("15", "0", ApproverLevel.SALES_MANAGER)]
    )
    assert selectors.approval_level(Decimal("50"), Decimal("1")) == ApproverLevel.SALES_MANAGER


# --- the approval ------------------------------------------------------------------------------


@pytest.mark.usefixtures("matrix")
def test_a_quote_the_matrix_does_not_name_is_approved_on_submit(
    employee: User, make_quote: MakeQuote
) -> None:
    quote = services.quote_submit(by=employee, quote_id=make_quote(discount=5).pk)
    assert quote.status == QuoteStatus.APPROVED
    assert quote.approval_instance_id is None


@pytest.mark.usefixtures("matrix")
def test_a_25_percent_discount_is_approved_by_the_director(
    employee: User, director: User, colleague: User, make_quote: MakeQuote
) -> None:
    quote = services.quote_submit(by=employee, quote_id=make_quote(discount=25).pk)
    assert (quote.status, quote.approval_level) == (QuoteStatus.PENDING, "sales_director")
    task = _open_task(quote)
    assert task.element_id == "Task_SalesDirector"
    with pytest.raises(ActionRefused):  # not a candidate: the engine refuses
        task_approve(task.pk, user=colleague)
    task_approve(task.pk, user=director, comment="同意")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
    assert quote.approval_instance_id is not None
    instance = ProcessInstance.objects.get(pk=quote.approval_instance_id)
    assert instance.state == InstanceState.COMPLETED


@pytest.mark.usefixtures("matrix")
def test_the_general_manager_level_goes_to_the_general_managers_role(
    employee: User, general_manager: User, make_quote: MakeQuote
) -> None:
    quote = services.quote_submit(by=employee, quote_id=make_quote(discount=45).pk)
    task = _open_task(quote)
    assert task.element_id == "Task_GeneralManager"
    task_approve(task.pk, user=general_manager)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED


@pytest.mark.usefixtures("matrix")
def test_a_rejection_makes_it_a_draft_with_the_approvers_opinion(
    employee: User, director: User, make_quote: MakeQuote
) -> None:
    quote = services.quote_submit(by=employee, quote_id=make_quote(discount=25).pk)
    task_reject(_open_task(quote).pk, user=director, comment="折扣太大，最多 15%")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT
    note = selectors.approval_note(quote)
    assert note is not None and note.comment == "折扣太大，最多 15%" and not note.returned
    # revised and submitted again: a new approval, within the director's reach no more
    services.quote_update(
        by=employee, quote_id=quote.pk, lines=[services.LineInput("P0001", "10", discount="5")]
    )
    assert services.quote_submit(by=employee, quote_id=quote.pk).status == QuoteStatus.APPROVED


@pytest.mark.usefixtures("matrix")
def test_a_returned_quote_is_revised_and_its_request_cancelled(
    employee: User, director: User, make_quote: MakeQuote
) -> None:
    quote = services.quote_submit(by=employee, quote_id=make_quote(discount=25).pk)
    instance_id = quote.approval_instance_id
    assert instance_id is not None
    task_return(_open_task(quote).pk, user=director, target="initiator", comment="请补充说明")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PENDING
    note = selectors.approval_note(quote)
    assert note is not None and note.returned and note.comment == "请补充说明"
    quote = services.quote_update(
        by=employee, quote_id=quote.pk, lines=[services.LineInput("P0001", "10", discount="22")]
    )
    assert quote.status == QuoteStatus.DRAFT
    assert ProcessInstance.objects.get(pk=instance_id).state == InstanceState.CANCELLED
    again = services.quote_submit(by=employee, quote_id=quote.pk)
    assert again.status == QuoteStatus.PENDING and again.approval_instance_id != instance_id


def test_only_the_owner_or_a_sales_admin_changes_a_quote(
    employee: User, colleague: User, dept_head: User, make_quote: MakeQuote
) -> None:
    quote = make_quote(discount=5)
    with pytest.raises(NotFound):  # the colleague does not see the account
        services.quote_submit(by=colleague, quote_id=quote.pk)
    with pytest.raises(Refused):  # the head sees it (department) but does not own it
        services.quote_submit(by=dept_head, quote_id=quote.pk)
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.DRAFT


# --- acceptance and the ERP order -----------------------------------------------------------


def _approved(employee: User, make_quote: MakeQuote, **kwargs: str) -> Quote:
    return services.quote_submit(by=employee, quote_id=make_quote(**kwargs).pk)


def test_accepting_writes_the_sales_order_to_the_outbox(
    employee: User, make_quote: MakeQuote
) -> None:
    quote = _approved(employee, make_quote, discount="5")
    with pytest.raises(ValidationError):
        services.quote_accept(by=employee, quote_id=quote.pk, confirmed=False)
    assert not OutboxMessage.objects.exists()
    quote = services.quote_accept(by=employee, quote_id=quote.pk, confirmed=True)
    assert (quote.status, quote.order_reference) == (QuoteStatus.ACCEPTED, quote.number)
    message = OutboxMessage.objects.get()
    assert message.operation == "sales_order.create"
    assert message.idempotency_key == f"quote:{quote.number}"
    assert message.aggregate == "customer:C0001"
    assert message.payload["lines"] == [
        {"product_code": "P0001", "quantity": "10.00", "unit_price": "1234.05"}
    ]
    assert message.payload["reference"] == quote.number
    with pytest.raises(Refused):  # accepted once
        services.quote_accept(by=employee, quote_id=quote.pk, confirmed=True)


def test_the_acceptance_and_its_message_roll_back_together(
    employee: User, make_quote: MakeQuote, monkeypatch: pytest.MonkeyPatch
) -> None:
    quote = _approved(employee, make_quote, discount="5")

    def put_then_fail(**kwargs: Any) -> None:
        outbox_put(**kwargs)
        raise RuntimeError("the database went away after the message was written")

    monkeypatch.setattr("crm.services.quotes.outbox_put", put_then_fail)
    with pytest.raises(RuntimeError):
        services.quote_accept(by=employee, quote_id=quote.pk, confirmed=True)
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.APPROVED
    assert not OutboxMessage.objects.exists()


def _account_include(user: User, account: Account) -> str:
    request = RequestFactory().get("/")
    request.user = user
    template = Template('{% include "crm/quotes/_account_quotes.html" %}')
    return template.render(Context({"request": request, "account": account}))


def test_the_embedded_erps_order_number_shows_on_the_account(
    employee: User, account: Account, make_quote: MakeQuote
) -> None:
    quote = _approved(employee, make_quote, discount="5")
    quote = services.quote_accept(by=employee, quote_id=quote.pk, confirmed=True)
    outbox_deliver_due()
    order = OrderRecord.objects.get(reference=quote.number)
    assert order.number.startswith("SO")
    state = selectors.order_state(quote)
    assert state is not None and state.order is not None and state.order.number == order.number
    assert selectors.shown_status(quote, order)[0] == "ordered"
    html = _account_include(employee, account)
    assert order.number in html and quote.number in html
    assert 'data-status="ordered"' in html


def test_a_refused_order_stays_accepted_shows_why_and_a_retry_sends_it(
    employee: User, colleague: User, make_quote: MakeQuote
) -> None:
    quote = _approved(employee, make_quote, discount="5")
    Product.objects.filter(code="P0001").update(active=False)  # gone from the ERP since
    quote = services.quote_accept(by=employee, quote_id=quote.pk, confirmed=True)
    outbox_deliver_due()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
    state = selectors.order_state(quote)
    assert state is not None and state.order is None
    assert state.refusal == "The ERP does not know one of the products."
    with pytest.raises(NotFound):
        services.quote_order_retry(by=colleague, quote_id=quote.pk)
    Product.objects.filter(code="P0001").update(active=True)  # fixed in the ERP
    services.quote_order_retry(by=employee, quote_id=quote.pk)
    with pytest.raises(Refused):  # no longer a dead letter
        services.quote_order_retry(by=employee, quote_id=quote.pk)
    outbox_deliver_due()
    assert OrderRecord.objects.get(reference=quote.number).number.startswith("SO")
    state = selectors.order_state(quote)
    assert state is not None and state.order is not None and not state.refusal
