"""The embedded adapter (no ERP connected): master data from the portal's own tables, an
order book numbered here, every write idempotent by its business key."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from erp_bridge import gateway as g
from erp_bridge.adapters.embedded import EmbeddedGateway
from erp_bridge.gateway import ErpError
from erp_bridge.models import Customer, EmbeddedDocument, EmployeeRecord, PriceList, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def erp() -> EmbeddedGateway:
    Product.objects.create(code="P0001", name="办公椅", list_price=Decimal("399.00"))
    Product.objects.create(code="P0002", name="停产的桌子", active=False)
    Customer.objects.create(code="C0001", name="上海明远贸易有限公司")
    return EmbeddedGateway()


def order(reference: str = "SO-1", product: str = "P0001", quantity: str = "2") -> g.SalesOrder:
    line = g.SalesOrderLine(product_code=product, quantity=Decimal(quantity))
    return g.SalesOrder(reference=reference, customer_code="C0001", lines=(line,))


def test_master_data_come_from_the_portals_tables(erp: EmbeddedGateway) -> None:
    price_list = PriceList.objects.create(code="PL1", name="经销价")
    price_list.lines.create(product=Product.objects.get(code="P0001"), price=Decimal("350"))
    assert [p.code for p in erp.products()] == ["P0001", "P0002"]
    assert erp.customers()[0].name == "上海明远贸易有限公司"
    assert erp.price_lists()[0].lines[0] == g.PriceListLine(
        "P0001", Decimal("350.00"), Decimal("0.00")
    )
    assert erp.connected is False


def test_a_sales_order_is_numbered_once_whatever_the_retries(erp: EmbeddedGateway) -> None:
    first = erp.sales_order_create(order(), idempotency_key="k1")
    again = erp.sales_order_create(order(), idempotency_key="k1")
    assert first == again
    assert first.number.startswith("SO") and first.state == "confirmed"
    assert first.total == Decimal("798.00")
    assert EmbeddedDocument.objects.filter(kind="sales_order").count() == 1
    assert erp.sales_order_status("SO-1") == first
    assert erp.invoices("SO-1") == []


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (order(product="P9999"), "unknown_product"),
        (order(product="P0002"), "unknown_product"),  # inactive
        (order(quantity="0"), "invalid"),
        (g.SalesOrder(reference="x", customer_code="C404", lines=()), "unknown_customer"),
    ],
)
def test_a_bad_order_is_refused_for_good_and_nothing_is_booked(
    erp: EmbeddedGateway, bad: g.SalesOrder, code: str
) -> None:
    with pytest.raises(ErpError) as refused:
        erp.sales_order_create(bad, idempotency_key="k")
    assert refused.value.permanent and refused.value.code == code
    assert not EmbeddedDocument.objects.exists()


def test_an_expense_posting_is_posted_once_and_an_old_period_is_closed(
    erp: EmbeddedGateway,
) -> None:
    posting = g.ExpensePosting(
        reference="EXP-7", employee_code="E000001", amount=Decimal("1280.5"), cost_centre="CC01"
    )
    first = erp.expense_post(posting, idempotency_key="k")
    assert erp.expense_post(posting, idempotency_key="k2") == first
    assert first.number.startswith("JV") and first.state == "posted"
    year = timezone.localdate().year
    assert erp.budget("CC01", year).spent == Decimal("1280.50")
    old = g.ExpensePosting(
        reference="EXP-8",
        employee_code="E000001",
        amount=Decimal("1"),
        date=datetime.date(year - 3, 1, 1),
    )
    with pytest.raises(ErpError) as closed:
        erp.expense_post(old, idempotency_key="k3")
    assert closed.value.code == "closed_period" and closed.value.permanent


def test_employees_and_departments(erp: EmbeddedGateway) -> None:
    employee = g.Employee(code="E000009", name="陈静", department_code="SALES")
    erp.employee_create(employee, idempotency_key="k")
    erp.employee_create(employee, idempotency_key="k")
    assert EmployeeRecord.objects.get(code="E000009").name == "陈静"
    erp.department_upsert(g.Department(code="SALES", name="销售部"), idempotency_key="d1")
    renamed = erp.department_upsert(
        g.Department(code="SALES", name="销售一部"), idempotency_key="d2"
    )
    assert [d.name for d in erp.departments()] == ["销售一部"]
    assert renamed.erp_id.startswith("DEP")
