"""The quote pages as each persona: list, detail, editor, submit, accept, retry, the
printout (HTML and PDF), the approval matrix, and the approval's task page showing the lines."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from crm.models import Account, ApprovalRule, Quote, QuoteStatus
from crm.services import quotes as services
from erp_bridge.models import OutboxMessage
from portal.models import User
from tests.crm.quotes_fixtures import *  # noqa: F403  (the fixtures)
from tests.crm.quotes_fixtures import MakeQuote
from workflow.models import Task, TaskState

pytestmark = pytest.mark.django_db
Login = Callable[[User], Client]


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _english(user: User) -> User:
    user.preferred_language = "en"
    user.save(update_fields=["preferred_language"])
    return user


def test_the_owner_sees_the_list_and_the_quote_an_outsider_gets_404(
    login: Login, employee: User, outsider: User, make_quote: MakeQuote
) -> None:
    quote = make_quote(discount=5)
    page = login(employee).get(reverse("crm:quote_list"))
    assert page.status_code == 200 and quote.number in page.content.decode()
    detail = login(employee).get(reverse("crm:quote_detail", args=[quote.pk]))
    assert detail.status_code == 200 and "人体工学办公椅" in detail.content.decode()
    stranger = login(outsider)
    assert quote.number not in stranger.get(reverse("crm:quote_list")).content.decode()
    for name in ("crm:quote_detail", "crm:quote_edit", "crm:quote_print"):
        assert stranger.get(reverse(name, args=[quote.pk])).status_code == 404
    for name in ("crm:quote_submit", "crm:quote_accept", "crm:quote_retry"):
        assert stranger.post(reverse(name, args=[quote.pk])).status_code == 404
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.DRAFT


def test_a_quote_is_made_in_the_editor_and_bad_input_is_shown(
    login: Login, employee: User, account: Account
) -> None:
    client = login(_english(employee))
    url = reverse("crm:quote_create") + f"?account={account.pk}"
    assert client.get(url).status_code == 200
    form = {
        "account": account.pk,
        "price_list_code": "",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-0-product_code": "P0003",
        "lines-0-quantity": "2",
        "lines-0-discount": "150",
        "lines-1-product_code": "",
    }
    bad = client.post(reverse("crm:quote_create"), form)
    assert bad.status_code == 400
    assert "the discount must be between 0 and 100" in bad.content.decode()
    assert not Quote.objects.exists()
    form["lines-0-discount"] = "10"
    made = client.post(reverse("crm:quote_create"), form)
    quote = Quote.objects.get()
    assert made.status_code == 302 and made["Location"] == reverse(
        "crm:quote_detail", args=[quote.pk]
    )
    assert str(quote.total) == "3418.20"  # 2 × 1,899.00 × 90 %


@pytest.mark.usefixtures("matrix")
def test_submit_then_the_director_sees_the_lines_on_the_task_page(
    login: Login, employee: User, director: User, make_quote: MakeQuote
) -> None:
    quote = make_quote(discount=25)
    answer = login(employee).post(reverse("crm:quote_submit", args=[quote.pk]))
    assert answer.status_code == 302
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PENDING
    task = Task.objects.get(instance_id=quote.approval_instance_id, state=TaskState.OPEN)
    page = login(director).get(reverse("workflow:task", args=[task.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="quote-panel"' in html and "人体工学办公椅" in html and quote.number in html


def test_an_approved_quote_prints_as_html_and_pdf_a_draft_does_not(
    login: Login, employee: User, make_quote: MakeQuote
) -> None:
    quote = make_quote(discount=5)
    client = login(employee)
    assert client.get(reverse("crm:quote_print", args=[quote.pk])).status_code == 404
    services.quote_submit(by=employee, quote_id=quote.pk)
    html = client.get(reverse("crm:quote_print", args=[quote.pk]))
    assert html.status_code == 200 and "人体工学办公椅" in html.content.decode()
    pdf = client.get(reverse("crm:quote_print", args=[quote.pk]) + "?format=pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_accept_needs_the_confirmation_and_writes_the_order(
    login: Login, employee: User, make_quote: MakeQuote
) -> None:
    quote = services.quote_submit(by=employee, quote_id=make_quote(discount=5).pk)
    client = login(employee)
    client.post(reverse("crm:quote_accept", args=[quote.pk]), {})
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.APPROVED
    assert not OutboxMessage.objects.exists()
    client.post(reverse("crm:quote_accept", args=[quote.pk]), {"confirmed": "on"})
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.ACCEPTED
    assert OutboxMessage.objects.get().idempotency_key == f"quote:{quote.number}"
    page = client.get(reverse("crm:quote_detail", args=[quote.pk]))
    assert 'data-testid="quote-order"' in page.content.decode()


def test_the_matrix_page_is_read_by_all_and_changed_by_sales_admins(
    login: Login, employee: User, sales_admin: User, matrix: list[ApprovalRule]
) -> None:
    url = reverse("crm:approval_matrix")
    assert login(employee).get(url).status_code == 200
    assert login(employee).post(url, {}).status_code == 403
    assert ApprovalRule.objects.count() == len(matrix)
    form = {
        "rules-TOTAL_FORMS": "2",
        "rules-INITIAL_FORMS": "0",
        "rules-0-min_discount": "15",
        "rules-0-min_total": "0",
        "rules-0-level": "sales_manager",
        "rules-1-min_discount": "-3",
        "rules-1-min_total": "0",
        "rules-1-level": "sales_director",
    }
    client = login(_english(sales_admin))
    bad = client.post(url, form)
    assert bad.status_code == 400 and "Row 2" in bad.content.decode()
    assert ApprovalRule.objects.count() == len(matrix)
    form["rules-1-min_discount"] = "30"
    assert client.post(url, form).status_code == 302
    assert sorted(ApprovalRule.objects.values_list("level", flat=True)) == [
        "sales_director",
        "sales_manager",
    ]
