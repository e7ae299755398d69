"""The CRM lists' exports (Excel by default, ``?format=csv``): the leads, the quotes and
the service cases, each with its list's filters, only the rows the person sees, typed cells
(money as numbers with two decimals, dates and times as dates)."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from crm.models import Account, Case, CaseStatus, Lead, LeadStatus, Quote, QuoteStatus
from crm.services import cases as case_services
from crm.services import sales as sales_services
from portal.models import User
from tests.crm.cases_fixtures import *  # noqa: F403  (the fixtures)
from tests.crm.quotes_fixtures import *  # noqa: F403  (the fixtures)
from tests.crm.quotes_fixtures import MakeQuote
from tests.factories import english

pytestmark = pytest.mark.django_db


def workbook_rows(answer: Any) -> list[list[Any]]:
    assert answer.status_code == 200, answer.content[:500]
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(answer.content)).worksheets[0]
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def workbook_cells(answer: Any) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(answer.content)).worksheets[0]
    return [list(row) for row in sheet.iter_rows()]


def csv_rows(answer: Any) -> list[list[str]]:
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


# --- leads ----------------------------------------------------------------------------------------


@pytest.fixture
def leads(employee: User, colleague: User) -> dict[str, Lead]:
    mine = sales_services.lead_create(
        by=employee, company="宁波海联贸易有限公司", phone="0574-8888 1234", assign_to_me=True
    )
    qualified = sales_services.lead_create(
        by=employee, company="杭州明远电子有限公司", assign_to_me=True
    )
    Lead.objects.filter(pk=qualified.pk).update(status=LeadStatus.QUALIFIED)
    theirs = sales_services.lead_create(
        by=colleague, company="苏州瑞丰食品有限公司", assign_to_me=True
    )
    return {"mine": mine, "qualified": qualified, "theirs": theirs}


def test_the_lead_export_has_the_leads_the_person_sees(
    employee: User, leads: dict[str, Lead], login: Callable[[User], Client]
) -> None:
    english(employee)
    rows = workbook_rows(login(employee).get(reverse("crm:lead_export")))
    assert rows[0][0] == "Company" and rows[0][-1] == "Created"
    assert {row[0] for row in rows[1:]} == {"宁波海联贸易有限公司", "杭州明远电子有限公司"}
    assert all(isinstance(row[-1], datetime.datetime) for row in rows[1:])


def test_the_lead_export_keeps_the_lists_filter(
    employee: User, leads: dict[str, Lead], login: Callable[[User], Client]
) -> None:
    client = login(employee)
    rows = csv_rows(
        client.get(reverse("crm:lead_export"), {"status": "qualified", "format": "csv"})
    )
    assert [row[0] for row in rows[1:]] == ["杭州明远电子有限公司"]
    page = client.get(reverse("crm:leads"), {"status": "qualified"}).content.decode()
    assert reverse("crm:lead_export") + "?status=qualified&amp;format=csv" in page


def test_a_department_head_exports_the_leads_of_their_department(
    dept_head: User, outsider: User, leads: dict[str, Lead], login: Callable[[User], Client]
) -> None:
    rows = workbook_rows(login(dept_head).get(reverse("crm:lead_export")))
    assert len(rows) == 4  # header and the three leads of 销售部's people
    nothing = workbook_rows(login(outsider).get(reverse("crm:lead_export")))
    assert len(nothing) == 1


# --- quotes ---------------------------------------------------------------------------------------


def test_the_quote_export_has_money_and_dates_typed(
    employee: User, make_quote: MakeQuote, login: Callable[[User], Client]
) -> None:
    english(employee)
    quote = make_quote(discount=10)
    Quote.objects.filter(pk=quote.pk).update(valid_until=datetime.date(2027, 1, 31))
    quote.refresh_from_db()
    answer = login(employee).get(reverse("crm:quote_export"))
    rows = workbook_rows(answer)
    assert rows[0][:6] == ["Number", "Account", "Status", "Currency", "List total", "Total"]
    number, account_name, _status, currency, list_total, total = rows[1][:6]
    assert (number, account_name, currency) == (quote.number, "上海华东精密机械有限公司", "CNY")
    assert float(total) == float(quote.total) and float(list_total) == float(quote.list_total)
    cells = workbook_cells(answer)[1]
    assert cells[5].number_format == "#,##0.00"
    assert cells[7].value == datetime.datetime(2027, 1, 31)
    assert cells[7].number_format == "yyyy-mm-dd"
    assert isinstance(cells[10].value, datetime.datetime)


def test_the_quote_export_keeps_the_status_filter(
    employee: User, make_quote: MakeQuote, login: Callable[[User], Client]
) -> None:
    draft = make_quote()
    approved = make_quote(quantity=2)
    Quote.objects.filter(pk=approved.pk).update(status=QuoteStatus.APPROVED)
    client = login(employee)
    rows = csv_rows(client.get(reverse("crm:quote_export"), {"status": "draft", "format": "csv"}))
    assert [row[0] for row in rows[1:]] == [draft.number]
    both = csv_rows(client.get(reverse("crm:quote_export"), {"format": "csv"}))
    assert {row[0] for row in both[1:]} == {draft.number, approved.number}
    page = client.get(reverse("crm:quote_list"), {"status": "draft"}).content.decode()
    assert reverse("crm:quote_export") + "?status=draft&amp;format=xlsx" in page


def test_who_does_not_see_the_account_exports_no_quote(
    outsider: User, make_quote: MakeQuote, login: Callable[[User], Client]
) -> None:
    make_quote()
    assert len(workbook_rows(login(outsider).get(reverse("crm:quote_export")))) == 1


# --- cases ----------------------------------------------------------------------------------------


@pytest.fixture
def cases(employee: User, case_account: Account) -> dict[str, Case]:
    printer = case_services.case_open(by=employee, account_id=case_account.pk, subject="打印机卡纸")
    invoice = case_services.case_open(
        by=employee, account_id=case_account.pk, subject="发票抬头错误"
    )
    Case.objects.filter(pk=invoice.pk).update(
        status=CaseStatus.RESOLVED, resolved_at=timezone.now()
    )
    return {"printer": printer, "invoice": invoice}


def test_the_case_export_has_the_cases_with_their_dates(
    employee: User, cases: dict[str, Case], login: Callable[[User], Client]
) -> None:
    english(employee)
    rows = workbook_rows(login(employee).get(reverse("crm:case-export")))
    assert rows[0][:3] == ["Number", "Subject", "Account"]
    assert {row[1] for row in rows[1:]} == {"打印机卡纸", "发票抬头错误"}
    by_subject = {row[1]: row for row in rows[1:]}
    assert isinstance(by_subject["打印机卡纸"][5], datetime.datetime)  # opened
    assert by_subject["打印机卡纸"][8] is None  # not resolved
    assert isinstance(by_subject["发票抬头错误"][8], datetime.datetime)


@pytest.mark.parametrize(
    ("query", "subjects"),
    [
        ({"status": "active"}, ["打印机卡纸"]),
        ({"status": "resolved"}, ["发票抬头错误"]),
        ({"q": "发票"}, ["发票抬头错误"]),
        ({"mine": "1"}, ["发票抬头错误", "打印机卡纸"]),
    ],
)
def test_the_case_export_keeps_the_lists_filters(
    query: dict[str, str],
    subjects: list[str],
    employee: User,
    cases: dict[str, Case],
    login: Callable[[User], Client],
) -> None:
    client = login(employee)
    rows = csv_rows(client.get(reverse("crm:case-export"), {**query, "format": "csv"}))
    assert sorted(row[1] for row in rows[1:]) == sorted(subjects)
    page = client.get(reverse("crm:case-list"), query).content.decode()
    assert reverse("crm:case-export") + "?" in page


def test_who_does_not_see_the_account_exports_no_case(
    outsider: User, colleague: User, cases: dict[str, Case], login: Callable[[User], Client]
) -> None:
    assert len(workbook_rows(login(outsider).get(reverse("crm:case-export")))) == 1
