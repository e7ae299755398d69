"""The generic HTTP adapter against the reference ERP on loopback (``reference_erp.py``),
through a connection configured as an administrator would (``http_fixtures.py``): every
gateway operation, OAuth2 tokens and their renewal, time-outs and retries, exactly-once
writes by idempotency key, the ERP's business refusals, every refusal of a bad
configuration at save, the admin's "test connection", and the secret kept out of every
message."""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from erp_bridge import gateway as g
from erp_bridge.adapters.http import HttpGateway
from erp_bridge.gateway import ErpError
from erp_bridge.models.connections import HttpConnection, HttpOperation
from portal.models import User
from tests.erp_bridge.http_fixtures import (
    REFERENCE_OPERATIONS,
    SECRET_ENV,
    reference_config,
    reference_connection,
    reference_definition_json,
)
from tests.erp_bridge.reference_erp import ReferenceErp

pytestmark = pytest.mark.django_db


@pytest.fixture
def erp(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReferenceErp]:
    server = ReferenceErp().start()
    monkeypatch.setenv(SECRET_ENV, server.client_secret)
    yield server
    server.stop()


@pytest.fixture
def connection(erp: ReferenceErp) -> HttpConnection:
    return reference_connection(erp)


@pytest.fixture
def gateway(connection: HttpConnection) -> Iterator[HttpGateway]:
    with HttpGateway.from_settings() as served:
        yield served


def order(reference: str = "SO-2026-0001", *, product: str = "P-1001", customer: str = "C-001"):
    return g.SalesOrder(
        reference=reference,
        customer_code=customer,
        lines=(
            g.SalesOrderLine(product, Decimal("100"), Decimal("0.80")),
            g.SalesOrderLine("P-1002", Decimal("2")),
        ),
        description="华东区季度补货",
    )


def key() -> str:
    return secrets.token_hex(8)


# --- every operation ------------------------------------------------------------------------


def test_the_gateway_is_the_http_adapter_and_connected(gateway: HttpGateway) -> None:
    assert isinstance(gateway, g.Gateway)
    assert (gateway.name, gateway.connected) == ("http", True)


def test_master_data_reads_map_their_fields_to_our_records(gateway: HttpGateway) -> None:
    products = {p.code: p for p in gateway.products()}
    assert products["P-1001"] == g.Product(
        code="P-1001",
        name="不锈钢螺栓 M8",
        unit="Pcs",
        list_price=Decimal("0.85"),
        currency="CNY",
        active=True,
        erp_id="100001",
    )
    assert products["P-1003"].active is False  # FForbidStatus "B" through the value table

    [price_list] = gateway.price_lists()
    assert (price_list.code, price_list.name, price_list.erp_id) == (
        "PL-STD",
        "标准销售价目表",
        "500001",
    )
    assert price_list.lines == (
        g.PriceListLine("P-1001", Decimal("0.80"), Decimal("0")),
        g.PriceListLine("P-1001", Decimal("0.72"), Decimal("1000")),
        g.PriceListLine("P-1002", Decimal("120.00"), Decimal("0")),
    )

    customers = {c.code: c for c in gateway.customers()}
    assert customers["C-001"].tax_code == "91310000MA1FL4XQ2B"
    assert customers["C-001"].name == "上海华东机电有限公司"

    [employee] = gateway.employees()
    assert employee == g.Employee(
        code="E0001",
        name="张伟",
        department_code="D0101",
        email="zhangwei@example.com",
        start_date=datetime.date(2024, 3, 1),
        active=True,
        erp_id="400001",
    )
    departments = {d.code: d.parent_code for d in gateway.departments()}
    assert departments == {"D01": "", "D0101": "D01"}


def test_customer_upsert_creates_then_updates(erp: ReferenceErp, gateway: HttpGateway) -> None:
    created = gateway.customer_upsert(
        g.Customer(code="C-100", name="苏州新区精密制造", phone="0512-6666"), idempotency_key=key()
    )
    assert created.code == "C-100" and created.erp_id == "200003"
    assert created.phone == "0512-6666"  # not in the answer: taken from what was sent
    updated = gateway.customer_upsert(
        g.Customer(code="C-100", name="苏州新区精密制造股份"), idempotency_key=key()
    )
    assert updated.erp_id == created.erp_id
    assert erp.customers["C-100"]["FName"] == "苏州新区精密制造股份"


def test_sales_order_create_sends_lines_and_reads_the_erp_number(
    erp: ReferenceErp, gateway: HttpGateway
) -> None:
    idempotency_key = key()
    status = gateway.sales_order_create(order(), idempotency_key=idempotency_key)
    assert status == g.SalesOrderStatus(
        reference="SO-2026-0001",
        number="XSDD000001",
        state="confirmed",
        total=Decimal("336.00"),  # 100 x 0.80 + 2 x 128.00 (the ERP's list price)
        currency="CNY",
        erp_id="600001",
    )
    [received] = erp.received
    assert received.idempotency_key == idempotency_key
    assert received.body["FormId"] == "SAL_SaleOrder"
    assert received.body["Model"]["FCustId"] == {"FNumber": "C-001"}
    lines = received.body["Model"]["FSaleOrderEntry"]
    assert lines[0] == {"FMaterialId": {"FNumber": "P-1001"}, "FQty": "100", "FTaxPrice": "0.80"}
    assert lines[1]["FTaxPrice"] is None  # None: the ERP's price list decides


def test_amounts_go_as_json_numbers_when_the_operation_says_so(
    erp: ReferenceErp, connection: HttpConnection
) -> None:
    connection.operations.filter(operation="sales_order_create").update(decimal_format="number")
    with HttpGateway.from_settings() as gateway:
        gateway.sales_order_create(order(), idempotency_key=key())
    line = erp.received[0].body["Model"]["FSaleOrderEntry"][0]
    # the server parses JSON numbers as Decimal: a number arrived, not a text
    assert line["FQty"] == Decimal("100") and not isinstance(line["FQty"], str)
    assert line["FTaxPrice"] == Decimal("0.8")


def test_an_amount_too_precise_for_a_json_number_is_refused(
    erp: ReferenceErp, connection: HttpConnection
) -> None:
    connection.operations.filter(operation="expense_post").update(decimal_format="number")
    posting = g.ExpensePosting(
        reference="BX-9", employee_code="E0001", amount=Decimal("12345678901234567.89")
    )
    with HttpGateway.from_settings() as gateway, pytest.raises(ErpError) as refused:
        gateway.expense_post(posting, idempotency_key=key())
    assert (refused.value.permanent, refused.value.code) == (True, "invalid")
    assert erp.received == []


def test_expense_employee_and_department_writes(erp: ReferenceErp, gateway: HttpGateway) -> None:
    posting = gateway.expense_post(
        g.ExpensePosting(
            reference="BX-2026-0042",
            employee_code="E0001",
            amount=Decimal("386.50"),
            cost_centre="CC-SALES",
            description="上海出差交通费",
            date=datetime.date(2026, 11, 30),
        ),
        idempotency_key=key(),
    )
    assert posting.reference == "BX-2026-0042"
    assert posting.state == "posted" and posting.number.startswith("FYBX")
    sent = erp.expenses["BX-2026-0042"]
    assert (sent["FAmount"], sent["FDate"]) == ("386.50", "2026-11-30")

    employee = gateway.employee_create(
        g.Employee(
            code="E0100",
            name="李娜",
            department_code="D0101",
            start_date=datetime.date(2026, 12, 1),
        ),
        idempotency_key=key(),
    )
    assert employee.erp_id and employee.start_date == datetime.date(2026, 12, 1)
    assert erp.employees["E0100"]["FJoinDate"] == "2026-12-01"

    department = gateway.department_upsert(
        g.Department(code="D0102", name="财务部", parent_code="D01"), idempotency_key=key()
    )
    assert department.erp_id == "300003"
    assert erp.departments["D0102"]["FParentId"] == {"FNumber": "D01"}


def test_status_reads_order_invoices_budget(erp: ReferenceErp, gateway: HttpGateway) -> None:
    gateway.sales_order_create(order("SO/2026 #7"), idempotency_key=key())
    erp.invoice_order("SO/2026 #7", paid=True)
    status = gateway.sales_order_status("SO/2026 #7")  # quoted into the path
    assert (status.number, status.state, status.invoiced) == ("XSDD000001", "confirmed", True)
    [invoice] = gateway.invoices("SO/2026 #7")
    assert invoice == g.Invoice(
        number="AR000002",
        order_reference="SO/2026 #7",
        amount=Decimal("336.00"),
        currency="CNY",
        payment_state="paid",
        due_date=datetime.date(2026, 12, 31),
    )
    assert gateway.invoices("SO-NONE") == []
    budget = gateway.budget("CC-SALES", 2026)
    assert budget == g.Budget("CC-SALES", 2026, Decimal("500000.00"), Decimal("123456.78"))
    assert budget.available == Decimal("376543.22")


def test_reference_config_serves_without_the_database(erp: ReferenceErp) -> None:
    with HttpGateway(reference_config(erp)) as gateway:
        assert [d.code for d in gateway.departments()] == ["D01", "D0101"]
    assert '"sales_order_create"' in reference_definition_json()


# --- configuration as the gateway finds it ---------------------------------------------------


def test_from_settings_without_an_active_connection_is_not_configured(erp: ReferenceErp) -> None:
    reference_connection(erp, active=False)
    with pytest.raises(ErpError) as refused:
        HttpGateway.from_settings()
    assert (refused.value.permanent, refused.value.code) == (True, "not_configured")


def test_an_operation_not_configured_is_refused(connection: HttpConnection) -> None:
    connection.operations.filter(operation="budget").delete()
    with HttpGateway.from_settings() as gateway, pytest.raises(ErpError) as refused:
        gateway.budget("CC-SALES", 2026)
    assert (refused.value.permanent, refused.value.code) == (True, "not_configured")


def test_a_secret_variable_unset_at_call_time_is_not_configured(
    gateway: HttpGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV)
    with pytest.raises(ErpError) as refused:
        gateway.products()
    assert (refused.value.permanent, refused.value.code) == (True, "not_configured")
    assert SECRET_ENV in refused.value.message


# --- tokens ------------------------------------------------------------------------------------


def test_the_token_is_fetched_once_and_kept(erp: ReferenceErp, gateway: HttpGateway) -> None:
    gateway.products()
    gateway.customers()
    gateway.sales_order_create(order(), idempotency_key=key())
    assert erp.token_requests == 1


def test_a_401_fetches_a_new_token_once_and_repeats_the_call(
    erp: ReferenceErp, gateway: HttpGateway
) -> None:
    gateway.products()
    erp.expire_tokens()  # the ERP revoked it before its time
    assert len(gateway.customers()) == 2
    assert erp.token_requests == 2


def test_a_token_near_its_end_is_renewed_before_use(
    erp: ReferenceErp, gateway: HttpGateway
) -> None:
    erp.advertised_ttl = 0  # each token is announced as ending now: every call renews it
    gateway.products()
    gateway.products()
    assert erp.token_requests == 2


def test_a_wrong_secret_is_a_permanent_auth_error(
    erp: ReferenceErp, gateway: HttpGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = secrets.token_urlsafe(24)
    monkeypatch.setenv(SECRET_ENV, wrong)
    erp.echo_credentials = True  # a careless ERP repeats the secret in its refusal
    with pytest.raises(ErpError) as refused:
        gateway.products()
    assert (refused.value.permanent, refused.value.code) == (True, "auth")
    assert "invalid_client" in refused.value.message
    assert wrong not in str(refused.value) and wrong not in refused.value.message
    assert "[redacted]" in refused.value.message


# --- time-outs, retries, exactly once -----------------------------------------------------------


def test_a_read_slower_than_the_time_out_is_temporary(erp: ReferenceErp) -> None:
    reference_connection(erp, timeout_seconds=0.3, read_retries=0)
    erp.slow_seconds = 1.0
    with HttpGateway.from_settings() as gateway, pytest.raises(ErpError) as failed:
        gateway.products()
    assert failed.value.permanent is False
    assert "0.3 s" in failed.value.message


def test_a_slow_write_then_a_retry_with_the_same_key_makes_one_order(erp: ReferenceErp) -> None:
    reference_connection(erp, timeout_seconds=0.3)
    idempotency_key = key()
    erp.slow_seconds = 1.0  # the ERP commits, then answers too late
    with HttpGateway.from_settings() as gateway:
        with pytest.raises(ErpError) as failed:
            gateway.sales_order_create(order(), idempotency_key=idempotency_key)
        assert failed.value.permanent is False
        erp.slow_seconds = 0
        status = gateway.sales_order_create(order(), idempotency_key=idempotency_key)
    assert status.number == "XSDD000001"
    assert list(erp.orders) == ["SO-2026-0001"]
    assert [r.idempotency_key for r in erp.received] == [idempotency_key, idempotency_key]


def test_a_read_is_retried_after_503s(erp: ReferenceErp, gateway: HttpGateway) -> None:
    gateway.products()  # the token first, so the failures meet the read itself
    erp.fail_next(2)
    assert len(gateway.customers()) == 2  # read_retries = 2: the third try answers
    erp.fail_next(3)
    with pytest.raises(ErpError) as failed:
        gateway.customers()
    assert failed.value.permanent is False
    assert "503" in failed.value.message


def test_a_write_is_sent_once_per_call(erp: ReferenceErp, gateway: HttpGateway) -> None:
    gateway.products()
    erp.fail_next(2)
    with pytest.raises(ErpError) as failed:
        gateway.sales_order_create(order(), idempotency_key=key())
    assert failed.value.permanent is False
    assert erp.take_failure() == 503  # one 503 left: only one request went out
    assert erp.orders == {}


def test_an_erp_that_is_down_is_temporary_and_works_when_back(
    erp: ReferenceErp, gateway: HttpGateway
) -> None:
    gateway.products()
    erp.down()
    with pytest.raises(ErpError) as failed:
        gateway.products()
    assert failed.value.permanent is False
    erp.up()
    assert len(gateway.products()) == 3


# --- the ERP's business refusals ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "code", "text"),
    [
        ({"product": "P-404"}, "unknown_product", "编码为“P-404”的物料不存在"),
        ({"customer": "C-404"}, "unknown_customer", "编码为“C-404”的客户不存在"),
    ],
)
def test_an_unknown_product_or_customer_is_refused_with_the_erps_message(
    erp: ReferenceErp, gateway: HttpGateway, kwargs: dict[str, str], code: str, text: str
) -> None:
    with pytest.raises(ErpError) as refused:
        gateway.sales_order_create(order(**kwargs), idempotency_key=key())
    assert (refused.value.permanent, refused.value.code, refused.value.message) == (
        True,
        code,
        text,
    )
    assert erp.orders == {}


def test_a_closed_period_is_refused_with_the_erps_message(
    erp: ReferenceErp, gateway: HttpGateway
) -> None:
    erp.closed_through = datetime.date(2026, 10, 31)
    posting = g.ExpensePosting(
        reference="BX-OLD",
        employee_code="E0001",
        amount=Decimal("10"),
        date=datetime.date(2026, 10, 3),
    )
    with pytest.raises(ErpError) as refused:
        gateway.expense_post(posting, idempotency_key=key())
    assert (refused.value.permanent, refused.value.code) == (True, "closed_period")
    assert "会计期间已结账" in refused.value.message
    assert erp.expenses == {}


def test_an_unknown_order_status_is_permanent(gateway: HttpGateway) -> None:
    with pytest.raises(ErpError) as refused:
        gateway.sales_order_status("SO-NONE")
    assert refused.value.permanent is True
    assert "SO-NONE" in refused.value.message


def test_a_connection_table_names_an_erp_code(erp: ReferenceErp) -> None:
    reference_connection(erp, error_codes={"STAFF_NOT_EXIST": "invalid"})
    posting = g.ExpensePosting(reference="BX-1", employee_code="E404", amount=Decimal("1"))
    with HttpGateway.from_settings() as gateway, pytest.raises(ErpError) as refused:
        gateway.expense_post(posting, idempotency_key=key())
    assert (refused.value.code, refused.value.message) == ("invalid", "编码为“E404”的员工不存在")


def test_an_answer_the_mapping_cannot_read_is_invalid(erp: ReferenceErp, connection) -> None:
    connection.operations.filter(operation="products").update(
        response_mapping={
            "FNumber": "code",
            "FName": "name",
            "FName.x": "erp_id",
            "FBaseUnitId": "unit",
        }
    )
    with HttpGateway.from_settings() as gateway, pytest.raises(ErpError) as refused:
        gateway.products()  # FBaseUnitId is an object, not a unit's name
    assert (refused.value.permanent, refused.value.code) == (True, "invalid")
    assert "unit" in refused.value.message


# --- the secret stays secret ------------------------------------------------------------------


def test_the_secret_and_token_never_appear_in_repr_errors_or_logs(
    erp: ReferenceErp, gateway: HttpGateway, caplog: pytest.LogCaptureFixture, connection
) -> None:
    caplog.set_level(logging.DEBUG)
    gateway.products()
    token = next(iter(erp.tokens))
    erp.fail_next(3)
    messages: list[str] = []
    with pytest.raises(ErpError) as failed:
        gateway.customers()
    messages.append(str(failed.value))
    erp.down()
    with pytest.raises(ErpError) as failed:
        gateway.customers()
    messages.append(str(failed.value))
    shown = " ".join(
        [
            *messages,
            repr(gateway),
            repr(gateway.config),
            str(connection),
            repr(connection),
            caplog.text,
        ]
    )
    assert caplog.records  # the retries were logged ...
    assert erp.client_secret not in shown  # ... without the secret
    assert token not in shown


# --- refusals at save, one per field ----------------------------------------------------------

BAD_CONNECTIONS: list[tuple[str, dict[str, Any]]] = [
    ("base_url", {"base_url": "ftp://erp.example.com"}),
    ("base_url", {"base_url": "https://"}),
    ("base_url", {"base_url": "erp.example.com/api"}),
    ("token_url", {"token_url": "file:///etc/passwd"}),
    ("client_id", {"client_id": ""}),
    ("client_secret_env", {"client_secret_env": "ERP SECRET"}),
    ("client_secret_env", {"client_secret_env": "ERP_HTTP_SECRET_NOBODY_SET"}),
    ("timeout_seconds", {"timeout_seconds": 0}),
    ("timeout_seconds", {"timeout_seconds": 600}),
    ("read_retries", {"read_retries": 11}),
    ("extra_headers", {"extra_headers": ["X-Acct-Id"]}),
    ("extra_headers", {"extra_headers": {"X-Acct-Id": 1001}}),
    ("extra_headers", {"extra_headers": {"Authorization": "Basic abc"}}),
    ("error_codes", {"error_codes": {"E1": "unknown_planet"}}),
]


@pytest.mark.parametrize(
    ("field", "overrides"),
    BAD_CONNECTIONS,
    ids=[f"{f}-{i}" for i, (f, _o) in enumerate(BAD_CONNECTIONS)],
)
def test_a_bad_connection_is_refused_naming_the_field(
    erp: ReferenceErp, field: str, overrides: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as refused:
        reference_connection(erp, **overrides)
    assert field in refused.value.message_dict
    assert HttpConnection.objects.count() == 0


def test_a_second_active_connection_is_refused(erp: ReferenceErp, connection) -> None:
    with pytest.raises(ValidationError) as refused:
        reference_connection(erp, name="用友 BIP")
    assert "active" in refused.value.message_dict
    assert HttpConnection.objects.count() == 1


BAD_OPERATIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("operation", "products", {"operation": "stock_levels"}),
    ("method", "sales_order_create", {"method": "GET"}),
    ("path", "sales_order_status", {"path": "/k3cloud/sales-orders/{order_number}"}),
    ("path", "products", {"path": "/k3cloud/materials/{code}"}),
    ("path", "products", {"path": "https://elsewhere.example.com/materials"}),
    ("path", "budget", {"path": "/budgets/{cost_centre"}),
    ("request_mapping", "invoices", {"request_mapping": ["FSrcBillNo"]}),
    ("request_mapping", "invoices", {"request_mapping": {"FSrcBillNo": 7}}),
    ("request_mapping", "invoices", {"request_mapping": {"FSrcBillNo": "reference"}}),
    ("request_mapping", "customer_upsert", {"request_mapping": {"Model.FNumber": "number"}}),
    (
        "request_mapping",
        "sales_order_create",
        {"request_mapping": {"FEntity[].FQty": "lines[].qty"}},
    ),
    (
        "request_mapping",
        "sales_order_create",
        {"request_mapping": {"FEntity.FQty": "lines[].quantity"}},
    ),
    ("request_mapping", "sales_order_create", {"request_mapping": {"FEntity[]": "lines"}}),
    ("request_mapping", "customer_upsert", {"request_mapping": {"Model..FName": "name"}}),
    ("response_mapping", "products", {"response_mapping": {"FNumber": "code", "FName": "title"}}),
    ("response_mapping", "products", {"response_mapping": {"FNumber": "code"}}),
    (
        "response_mapping",
        "price_lists",
        {
            "response_mapping": {
                "FNumber": "code",
                "FName": "name",
                "FEntity[].FPrice": "lines[].price",
            }
        },
    ),
    ("value_map", "products", {"value_map": {"enabled": {"A": "true"}}}),
    ("value_map", "products", {"value_map": {"active": "A=true"}}),
    ("result_path", "products", {"result_path": "data[].rows"}),
    ("request_constants", "products", {"request_constants": ["FormId"]}),
]


@pytest.mark.parametrize(
    ("field", "operation", "overrides"),
    BAD_OPERATIONS,
    ids=[f"{f}-{i}" for i, (f, _n, _o) in enumerate(BAD_OPERATIONS)],
)
def test_a_bad_operation_is_refused_naming_the_field(
    connection: HttpConnection, field: str, operation: str, overrides: dict[str, Any]
) -> None:
    connection.operations.filter(operation=operation).delete()
    before = HttpOperation.objects.count()
    fields = {"operation": operation, **REFERENCE_OPERATIONS[operation], **overrides}
    row = HttpOperation(connection=connection, **fields)
    with pytest.raises(ValidationError) as refused:
        row.full_clean()
    assert field in refused.value.message_dict
    assert HttpOperation.objects.count() == before


# --- the admin ----------------------------------------------------------------------------------


def admin_url(view: str = "") -> str:
    return f"/admin/erp_bridge/httpconnection/{view}"


def test_the_admin_shows_connections_with_their_operations(
    login, superuser: User, connection
) -> None:
    client: Client = login(superuser)
    assert client.get(admin_url()).status_code == 200
    page = client.get(admin_url(f"{connection.pk}/change/"))
    assert page.status_code == 200
    assert page.context["inline_admin_formsets"][0].formset.queryset.count() == len(
        REFERENCE_OPERATIONS
    )
    assert client.get(admin_url("add/")).status_code == 200


def test_the_admin_refuses_a_bad_address_naming_the_field(login, superuser: User, erp) -> None:
    client: Client = login(superuser)
    answer = client.post(
        admin_url("add/"),
        {
            "name": "SAP 网关",
            "base_url": "sap-gateway:8000",
            "token_url": "",
            "client_id": "",
            "client_secret_env": "",
            "scope": "",
            "timeout_seconds": "10",
            "read_retries": "2",
            "extra_headers": "{}",
            "error_codes": "{}",
            "operations-TOTAL_FORMS": "0",
            "operations-INITIAL_FORMS": "0",
        },
    )
    assert answer.status_code == 200
    assert "base_url" in answer.context["adminform"].form.errors
    assert HttpConnection.objects.count() == 0


def test_the_admin_action_tests_a_connection_and_saves_nothing(
    login, superuser: User, erp: ReferenceErp, connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    client: Client = login(superuser)
    before = HttpConnection.objects.values().get()
    answer = client.post(
        admin_url(), {"action": "test_connection", "_selected_action": [connection.pk]}, follow=True
    )
    shown = [str(m) for m in answer.context["messages"]]
    assert len(shown) == 1 and "3" in shown[0] and "products" in shown[0]
    assert erp.token_requests == 1

    wrong = secrets.token_urlsafe(24)
    monkeypatch.setenv(SECRET_ENV, wrong)
    erp.echo_credentials = True
    answer = client.post(
        admin_url(), {"action": "test_connection", "_selected_action": [connection.pk]}, follow=True
    )
    [message] = answer.context["messages"]
    assert message.level_tag == "error" and "invalid_client" in str(message)
    assert wrong not in answer.content.decode()
    assert HttpConnection.objects.values().get() == before
