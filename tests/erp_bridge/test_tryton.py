"""The Tryton adapter against a real Tryton server (``conftest.tryton``: the demo database of
``erp_bridge/tryton_demo.py`` on loopback, one server for this module)."""

from __future__ import annotations

import dataclasses
import datetime
import secrets
import socket
import sqlite3
from decimal import Decimal
from typing import Any

import pytest
from stdnum.cn import uscc

from erp_bridge.adapters.tryton import TrytonGateway, classify_message
from erp_bridge.gateway import (
    Customer,
    Department,
    Employee,
    ErpError,
    ExpensePosting,
    Gateway,
    SalesOrder,
    SalesOrderLine,
)
from tests.erp_bridge.conftest import TrytonServer, free_port


def _reference(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4).upper()}"


def _key() -> str:
    return secrets.token_urlsafe(12)


def test_the_adapter_is_a_gateway(tryton: TrytonServer) -> None:
    assert isinstance(tryton.gateway, Gateway)
    assert tryton.gateway.name == "tryton"
    assert tryton.gateway.connected is True
    assert tryton.password not in repr(tryton.gateway)


# --- master data --------------------------------------------------------------------------------


def test_products_and_price_lists_come_from_tryton(tryton: TrytonServer) -> None:
    products = {product.code: product for product in tryton.gateway.products()}
    assert products["P0001"].name == "工业传感器 S100"
    assert products["P0001"].list_price == Decimal("1280.00")
    assert products["P0001"].currency == "CNY"
    assert products["P0006"].name == "安装调试服务（人天）"
    assert len(products) == 8

    lists = {price_list.code: price_list for price_list in tryton.gateway.price_lists()}
    assert lists["PL01"].name == "经销商价格"
    assert {(line.product_code, line.price) for line in lists["PL01"].lines} == {
        ("P0001", Decimal("1150.00")),
        ("P0002", Decimal("4120.00")),
        ("P0003", Decimal("2110.00")),
    }


def test_customers_come_with_tax_code_contacts_and_address(tryton: TrytonServer) -> None:
    customers = {customer.code: customer for customer in tryton.gateway.customers()}
    first = customers["C0001"]
    assert first.name == "杭州云帆机械制造有限公司"
    assert first.tax_code.startswith("91330106MA2B3C4D5")
    assert len(first.tax_code) == 18
    assert first.phone == "0571-88123456"
    assert first.email == "purchase@yunfan.example.cn"
    assert first.address == "杭州西湖区文三路 90 号"
    # employees and the company are parties too, but not customers
    assert not any(code.startswith("E") or code == "COMPANY" for code in customers)


def test_employees_and_departments_come_from_tryton(tryton: TrytonServer) -> None:
    employees = {employee.code: employee for employee in tryton.gateway.employees()}
    assert employees["E000001"].name == "王秀英"
    assert employees["E000001"].department_code == "FIN"
    assert employees["E000001"].email == "wangxiuying@example.cn"
    assert employees["E000001"].start_date == datetime.date(2018, 3, 1)
    assert employees["E000001"].active is True

    departments = {department.code: department for department in tryton.gateway.departments()}
    assert departments["HQ"].name == "总经办"
    assert departments["HQ"].parent_code == ""
    assert departments["FIN-ACC"].parent_code == "FIN"
    assert departments["SALES-E"].name == "华东大区"


# --- sales orders and invoices --------------------------------------------------------------------


def test_a_sales_order_is_created_once_confirmed_and_numbered(tryton: TrytonServer) -> None:
    reference = _reference("SO")
    order = SalesOrder(
        reference=reference,
        customer_code="C0002",
        lines=(
            SalesOrderLine(product_code="P0001", quantity=Decimal(2)),  # the list price
            SalesOrderLine(product_code="P0006", quantity=Decimal(3), unit_price=Decimal("1400")),
        ),
        description="门户报价单转销售订单",
    )
    first = tryton.gateway.sales_order_create(order, idempotency_key=_key())
    again = tryton.new_gateway().sales_order_create(order, idempotency_key=_key())

    assert first.number
    assert first.state in ("confirmed", "processing")
    assert first.total == Decimal("2") * Decimal("1280.00") + Decimal("3") * Decimal("1400")
    assert first.currency == "CNY"
    assert again == first
    sales = tryton.search_read(
        "sale.sale", [["reference", "=", reference]], ["number", "state", "description"]
    )
    assert len(sales) == 1
    assert sales[0]["number"] == first.number
    assert sales[0]["description"] == "门户报价单转销售订单"


def test_a_customers_price_list_prices_the_order(tryton: TrytonServer) -> None:
    # the demo's C0004 buys at price list PL02
    order = SalesOrder(
        reference=_reference("SO"),
        customer_code="C0004",
        lines=(SalesOrderLine(product_code="P0004", quantity=Decimal(1)),),
    )

    status = tryton.gateway.sales_order_create(order, idempotency_key=_key())

    assert status.total == Decimal("2990.00")  # PL02's price, not the list price 3260


def test_an_unknown_product_or_customer_is_a_permanent_refusal(tryton: TrytonServer) -> None:
    reference = _reference("SO")
    unknown_product = SalesOrder(
        reference=reference,
        customer_code="C0001",
        lines=(SalesOrderLine(product_code="P9999", quantity=Decimal(1)),),
    )
    with pytest.raises(ErpError) as refused:
        tryton.gateway.sales_order_create(unknown_product, idempotency_key=_key())
    assert refused.value.permanent is True
    assert refused.value.code == "unknown_product"
    assert "P9999" in refused.value.message

    unknown_customer = SalesOrder(
        reference=reference,
        customer_code="C9999",
        lines=(SalesOrderLine(product_code="P0001", quantity=Decimal(1)),),
    )
    with pytest.raises(ErpError) as refused:
        tryton.gateway.sales_order_create(unknown_customer, idempotency_key=_key())
    assert (refused.value.permanent, refused.value.code) == (True, "unknown_customer")
    assert tryton.search_read("sale.sale", [["reference", "=", reference]], ["id"]) == []


def test_order_status_and_invoices_follow_tryton(tryton: TrytonServer) -> None:
    reference = _reference("SO")
    order = SalesOrder(
        reference=reference,
        customer_code="C0003",
        lines=(SalesOrderLine(product_code="P0007", quantity=Decimal(1)),),
    )
    created = tryton.gateway.sales_order_create(order, idempotency_key=_key())
    assert created.invoiced is False
    assert tryton.gateway.invoices(reference) == []  # a draft invoice has no number yet

    sale = tryton.search_read("sale.sale", [["reference", "=", reference]], ["invoices"])
    tryton.rpc("model.account.invoice.post", sale[0]["invoices"])

    status = tryton.gateway.sales_order_status(reference)
    assert status.invoiced is True
    assert status.shipped is False  # a service: nothing to ship, and Tryton says "none"
    (invoice,) = tryton.gateway.invoices(reference)
    assert invoice.number.startswith(f"FP{datetime.date.today().year}-")
    assert invoice.order_reference == reference
    assert invoice.amount == Decimal("12000.00")
    assert invoice.currency == "CNY"
    assert invoice.payment_state == "unpaid"
    assert invoice.due_date is not None
    assert invoice.due_date > datetime.date.today()  # the customer's 30-day payment term

    with pytest.raises(ErpError) as unknown:
        tryton.gateway.sales_order_status(_reference("SO"))
    assert (unknown.value.permanent, unknown.value.code) == (True, "unknown_order")


# --- expense postings and budgets -----------------------------------------------------------------


def test_an_expense_is_posted_once_with_a_number(tryton: TrytonServer) -> None:
    reference = _reference("EXP")
    before = tryton.gateway.budget("SALES", datetime.date.today().year)
    posting = ExpensePosting(
        reference=reference,
        employee_code="E000002",
        amount=Decimal("386.50"),
        cost_centre="SALES",
        description="上海出差高铁票",
    )

    first = tryton.gateway.expense_post(posting, idempotency_key=_key())
    again = tryton.new_gateway().expense_post(posting, idempotency_key=_key())

    assert first.state == "posted"
    assert first.number.startswith(f"JZ{datetime.date.today().year}-")
    assert again == first
    moves = tryton.search_read(
        "account.move", [["description", "like", f"[{reference}]%"]], ["state", "number"]
    )
    assert len(moves) == 1
    assert moves[0]["state"] == "posted"
    lines = tryton.search_read(
        "account.move.line",
        [["move", "=", moves[0]["id"]]],
        ["account.code", "party.code", "debit", "credit"],
    )
    debit = next(line for line in lines if line["debit"]["decimal"] != "0")
    credit = next(line for line in lines if line["credit"]["decimal"] != "0")
    assert debit["account."]["code"] == "6602.SALES"
    assert credit["party."]["code"] == "E000002"

    after = tryton.gateway.budget("SALES", datetime.date.today().year)
    assert after.amount == Decimal("200000.00")
    assert after.spent == before.spent + Decimal("386.50")
    assert after.available == after.amount - after.spent


def test_a_date_outside_the_fiscal_year_is_a_closed_period(tryton: TrytonServer) -> None:
    posting = ExpensePosting(
        reference=_reference("EXP"),
        employee_code="E000003",
        amount=Decimal("100"),
        date=datetime.date(2000, 1, 15),
    )
    with pytest.raises(ErpError) as refused:
        tryton.gateway.expense_post(posting, idempotency_key=_key())
    assert (refused.value.permanent, refused.value.code) == (True, "closed_period")


def test_a_closed_period_is_refused(tryton: TrytonServer) -> None:
    today = datetime.date.today()
    periods = tryton.search_read(
        "account.period", [["type", "=", "standard"]], ["start_date", "end_date"]
    )
    other = next(
        period
        for period in periods
        if not (
            datetime.date(**_date(period["start_date"]))
            <= today
            <= datetime.date(**_date(period["end_date"]))
        )
    )
    tryton.rpc("model.account.period.close", [other["id"]])
    posting = ExpensePosting(
        reference=_reference("EXP"),
        employee_code="E000003",
        amount=Decimal("100"),
        date=datetime.date(**_date(other["start_date"])),
    )
    with pytest.raises(ErpError) as refused:
        tryton.gateway.expense_post(posting, idempotency_key=_key())
    assert (refused.value.permanent, refused.value.code) == (True, "closed_period")
    assert (
        tryton.search_read(
            "account.move", [["description", "like", f"[{posting.reference}]%"]], ["id"]
        )
        == []
    )


def _date(value: dict[str, int]) -> dict[str, int]:
    return {"year": value["year"], "month": value["month"], "day": value["day"]}


def test_an_unknown_employee_or_cost_centre_is_refused(tryton: TrytonServer) -> None:
    posting = ExpensePosting(
        reference=_reference("EXP"), employee_code="E999999", amount=Decimal(1)
    )
    with pytest.raises(ErpError) as refused:
        tryton.gateway.expense_post(posting, idempotency_key=_key())
    assert (refused.value.permanent, refused.value.code) == (True, "unknown_employee")

    with pytest.raises(ErpError) as refused:
        tryton.gateway.budget("NOPE", datetime.date.today().year)
    assert (refused.value.permanent, refused.value.code) == (True, "unknown_cost_centre")


# --- HR and customers -------------------------------------------------------------------------


def test_an_employee_is_created_once(tryton: TrytonServer) -> None:
    employee = Employee(
        code="E000101",
        name="周晓梅",
        department_code="HR",
        email="zhouxiaomei@example.cn",
        start_date=datetime.date(2026, 1, 5),
    )
    first = tryton.gateway.employee_create(employee, idempotency_key=_key())
    again = tryton.gateway.employee_create(employee, idempotency_key=_key())

    assert first == again
    assert (first.code, first.name, first.department_code) == ("E000101", "周晓梅", "HR")
    assert first.email == "zhouxiaomei@example.cn"
    assert first.start_date == datetime.date(2026, 1, 5)
    found = tryton.search_read("company.employee", [["party.code", "=", "E000101"]], ["id"])
    assert len(found) == 1
    assert first in tryton.gateway.employees()

    stranger = Employee(code="E000102", name="钱多多", department_code="NOPE")
    with pytest.raises(ErpError) as refused:
        tryton.gateway.employee_create(stranger, idempotency_key=_key())
    assert (refused.value.permanent, refused.value.code) == (True, "unknown_department")


def test_a_department_is_created_then_renamed(tryton: TrytonServer) -> None:
    created = tryton.gateway.department_upsert(
        Department(code="IT-SEC", name="信息安全组", parent_code="IT"), idempotency_key=_key()
    )
    tryton.gateway.department_upsert(
        Department(code="IT-SEC", name="信息安全组", parent_code="IT"), idempotency_key=_key()
    )
    renamed = tryton.gateway.department_upsert(
        Department(code="IT-SEC", name="网络安全组", parent_code="IT"), idempotency_key=_key()
    )

    assert renamed.erp_id == created.erp_id
    departments = {department.code: department for department in tryton.gateway.departments()}
    assert departments["IT-SEC"].name == "网络安全组"
    assert departments["IT-SEC"].parent_code == "IT"
    assert len(tryton.search_read("party.category", [["name", "like", "[IT-SEC]%"]], ["id"])) == 1


def test_a_customer_is_created_then_updated(tryton: TrytonServer) -> None:
    customer = Customer(
        code="C0201",
        name="南京紫金山软件有限公司",
        tax_code=_uscc("91320102MA1X2Y3T4"),
        phone="025-84561234",
        email="info@zijin.example.cn",
        address="南京市玄武区珠江路 88 号",
    )
    created = tryton.gateway.customer_upsert(customer, idempotency_key=_key())
    changed = dataclasses.replace(customer, name="南京紫金山软件股份有限公司", phone="025-84569999")
    updated = tryton.gateway.customer_upsert(changed, idempotency_key=_key())

    assert updated.erp_id == created.erp_id
    customers = {c.code: c for c in tryton.gateway.customers()}
    assert customers["C0201"] == updated
    assert customers["C0201"].name == "南京紫金山软件股份有限公司"
    assert customers["C0201"].phone == "025-84569999"
    assert len(tryton.search_read("party.party", [["code", "=", "C0201"]], ["id"])) == 1

    wrong = _uscc("91320102MA1X2Y3T4")[:-1] + (
        "1" if _uscc("91320102MA1X2Y3T4")[-1] != "1" else "2"
    )
    bad = Customer(code="C0202", name="错误税号公司", tax_code=wrong)
    with pytest.raises(ErpError) as refused:
        tryton.gateway.customer_upsert(bad, idempotency_key=_key())
    assert refused.value.permanent is True  # Tryton's own check of the code
    assert wrong in refused.value.message
    assert tryton.search_read("party.party", [["code", "=", "C0202"]], ["id"]) == []


def _uscc(body: str) -> str:
    """A unified social credit code with its right check character."""
    return body + uscc.calc_check_digit(body)


# --- sessions and failures ------------------------------------------------------------------------


def test_an_expired_session_logs_in_again(tryton: TrytonServer) -> None:
    gateway = tryton.new_gateway()
    assert gateway.products()
    with sqlite3.connect(tryton.db_file) as connection:  # Tryton forgets every session
        connection.execute("DELETE FROM ir_session")

    assert [p.code for p in gateway.products()] == [p.code for p in tryton.gateway.products()]
    with sqlite3.connect(tryton.db_file) as connection:
        sessions = connection.execute("SELECT COUNT(*) FROM ir_session").fetchone()[0]
    assert sessions >= 1


def test_a_wrong_password_is_a_permanent_auth_error(tryton: TrytonServer) -> None:
    gateway = tryton.new_gateway(password=secrets.token_urlsafe(16))
    with pytest.raises(ErpError) as refused:
        gateway.products()
    assert (refused.value.permanent, refused.value.code) == (True, "auth")


def test_tryton_down_is_a_temporary_error_and_the_gateway_recovers(
    tryton: TrytonServer,
) -> None:
    gateway = tryton.new_gateway(timeout=5, retries=1)
    assert gateway.departments()
    tryton.stop()
    try:
        with pytest.raises(ErpError) as down:
            gateway.departments()
        assert down.value.permanent is False
        posting = ExpensePosting(
            reference=_reference("EXP"), employee_code="E000001", amount=Decimal(5)
        )
        with pytest.raises(ErpError) as write:
            gateway.expense_post(posting, idempotency_key=_key())
        assert write.value.permanent is False
    finally:
        tryton.start()
    assert gateway.departments()


def test_nothing_listening_or_no_answer_is_a_temporary_error() -> None:
    refused = TrytonGateway(
        url=f"http://127.0.0.1:{free_port()}",
        database="erp",
        user="admin",
        password=secrets.token_urlsafe(12),
        retries=0,
    )
    with pytest.raises(ErpError) as error:
        refused.products()
    assert error.value.permanent is False

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        slow = TrytonGateway(
            url=f"http://127.0.0.1:{silent.getsockname()[1]}",
            database="erp",
            user="admin",
            password=secrets.token_urlsafe(12),
            timeout=0.3,
            retries=1,
            backoff=0.01,
        )
        with pytest.raises(ErpError) as error:
            slow.products()
    assert error.value.permanent is False
    assert "0.3" in error.value.message


def test_missing_settings_are_named(settings: Any) -> None:
    settings.ERP_URL = "http://127.0.0.1:8300"
    settings.ERP_DATABASE = ""
    with pytest.raises(ErpError) as error:
        TrytonGateway.from_settings()
    assert (error.value.permanent, error.value.code) == (True, "not_configured")
    assert "ERP_DATABASE" in error.value.message


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (
            'To continue, you must create a period for the date "01/15/2000" and company "X".',
            "closed_period",
        ),
        ('To continue, you must reopen the fiscal year "2025" of company "X".', "closed_period"),
        (
            'You cannot add/modify/delete lines on closed journal-period "EXP - 2026-01".',
            "closed_period",
        ),
        ('You are not allowed to create records of "Account Move".', "auth"),
        ("The code on party must be unique.", "duplicate"),
        ("A value is required for field Name.", ""),
    ],
)
def test_trytons_messages_are_classified(message: str, code: str) -> None:
    assert classify_message(message) == code
