"""The one gateway to the company's ERP: the operations the portal asks of it and the records
they take and return. Adapters implement :class:`Gateway` (``erp_bridge/adapters/``):
``tryton`` (JSON-RPC to a Tryton server), ``http`` (a generic JSON/REST ERP configured by an
administrator: Kingdee, Yonyou, SAP gateways) and ``embedded`` (no ERP connected: the
portal's own master-data tables and a local order book). Which one serves is the setting
``ERP_ADAPTER``; :func:`gateway` returns it.

Every write takes an ``idempotency_key`` and must be safe to call again with the same key:
the outbox retries after a time-out without knowing whether the first call arrived, so an
adapter looks the key up (or lets the ERP do it) before it creates anything.

Every failure is an :class:`ErpError` that says whether a retry can help: a network error or
a time-out is temporary (``permanent=False``); a business refusal by the ERP (unknown
product, closed period) is permanent and carries the ERP's own message and, where the adapter
recognises it, a stable ``code`` that ``erp_bridge/errors.py`` turns into the user's language.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "Budget",
    "Customer",
    "Department",
    "Employee",
    "ErpError",
    "ExpensePosting",
    "Gateway",
    "Invoice",
    "OrderState",
    "PaymentState",
    "Posting",
    "PriceList",
    "PriceListLine",
    "Product",
    "SalesOrder",
    "SalesOrderLine",
    "SalesOrderStatus",
]


class ErpError(Exception):
    """A gateway call failed. ``permanent``: a retry cannot help (the ERP refused the
    business change); otherwise the outbox retries with backoff. ``code``: a stable name for
    a refusal the adapter recognised (``unknown_product``, ``closed_period``,
    ``unknown_customer``, ``duplicate``, ``invalid``, ``auth``, ``not_configured``), empty
    when it did not. ``message`` is the ERP's own text, kept for administrators."""

    def __init__(self, message: str, *, permanent: bool = False, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code


# --- master data (pulled into local read copies) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Product:
    code: str  # the data dictionary's product code, the key both sides share
    name: str
    unit: str = "unit"
    list_price: Decimal = Decimal("0")
    currency: str = "CNY"
    active: bool = True
    erp_id: str = ""  # the ERP's own id, for the adapter's later calls


@dataclass(frozen=True, slots=True)
class PriceListLine:
    product_code: str
    price: Decimal
    min_quantity: Decimal = Decimal("0")


@dataclass(frozen=True, slots=True)
class PriceList:
    code: str
    name: str
    currency: str = "CNY"
    lines: tuple[PriceListLine, ...] = ()
    erp_id: str = ""


@dataclass(frozen=True, slots=True)
class Customer:
    code: str  # customer code
    name: str
    tax_code: str = ""  # the unified social credit code (统一社会信用代码)
    phone: str = ""
    email: str = ""
    address: str = ""
    active: bool = True
    erp_id: str = ""


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    name: str
    parent_code: str = ""
    erp_id: str = ""


@dataclass(frozen=True, slots=True)
class Employee:
    code: str  # employee number
    name: str
    department_code: str = ""
    email: str = ""
    start_date: datetime.date | None = None
    active: bool = True
    erp_id: str = ""


# --- documents (written through the outbox) ------------------------------------------------------

OrderState = Literal["draft", "quotation", "confirmed", "processing", "done", "cancelled"]
PaymentState = Literal["unpaid", "partially_paid", "paid", "cancelled"]


@dataclass(frozen=True, slots=True)
class SalesOrderLine:
    product_code: str
    quantity: Decimal
    unit_price: Decimal | None = None  # None: the ERP's price list decides


@dataclass(frozen=True, slots=True)
class SalesOrder:
    reference: str  # the portal's number for the order, unique; the ERP keeps it
    customer_code: str
    lines: tuple[SalesOrderLine, ...]
    currency: str = "CNY"
    description: str = ""


@dataclass(frozen=True, slots=True)
class SalesOrderStatus:
    reference: str
    number: str  # the ERP's own number (empty until the ERP gives one)
    state: OrderState
    shipped: bool = False
    invoiced: bool = False
    total: Decimal = Decimal("0")
    currency: str = "CNY"
    erp_id: str = ""


@dataclass(frozen=True, slots=True)
class Invoice:
    number: str
    order_reference: str
    amount: Decimal
    currency: str
    payment_state: PaymentState
    due_date: datetime.date | None = None
    erp_id: str = ""


@dataclass(frozen=True, slots=True)
class ExpensePosting:
    reference: str  # the portal's reference (the expense claim's request number), unique
    employee_code: str
    amount: Decimal
    currency: str = "CNY"
    cost_centre: str = ""
    description: str = ""
    date: datetime.date | None = None  # the accounting date; None: today


@dataclass(frozen=True, slots=True)
class Posting:
    reference: str
    number: str  # the ERP's document number (a journal entry's, a voucher's)
    state: Literal["draft", "posted"] = "posted"
    erp_id: str = ""


@dataclass(frozen=True, slots=True)
class Budget:
    cost_centre: str
    year: int
    amount: Decimal
    spent: Decimal
    currency: str = "CNY"

    @property
    def available(self) -> Decimal:
        return self.amount - self.spent


@runtime_checkable
class Gateway(Protocol):
    """What the portal asks of an ERP. ``name``: ``embedded`` / ``tryton`` / ``http``;
    ``connected``: False for the embedded adapter, whose pages say that no ERP is connected.
    Reads raise :class:`ErpError` like writes; adapters retry idempotent reads themselves."""

    name: str
    connected: bool

    # master data
    def products(self) -> list[Product]: ...
    def price_lists(self) -> list[PriceList]: ...
    def customers(self) -> list[Customer]: ...
    def employees(self) -> list[Employee]: ...
    def departments(self) -> list[Department]: ...

    # writes: each idempotent by its key
    def customer_upsert(self, customer: Customer, *, idempotency_key: str) -> Customer: ...
    def sales_order_create(
        self, order: SalesOrder, *, idempotency_key: str
    ) -> SalesOrderStatus: ...
    def expense_post(self, posting: ExpensePosting, *, idempotency_key: str) -> Posting: ...
    def employee_create(self, employee: Employee, *, idempotency_key: str) -> Employee: ...
    def department_upsert(self, department: Department, *, idempotency_key: str) -> Department: ...

    # status reads (polling, for ERPs without webhooks)
    def sales_order_status(self, reference: str) -> SalesOrderStatus: ...
    def invoices(self, order_reference: str) -> list[Invoice]: ...
    def budget(self, cost_centre: str, year: int) -> Budget: ...


@dataclass(slots=True)
class Records:
    """Master data in one bundle (the embedded adapter's seed, a test's fixture)."""

    products: list[Product] = field(default_factory=list)
    price_lists: list[PriceList] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    employees: list[Employee] = field(default_factory=list)
    departments: list[Department] = field(default_factory=list)
