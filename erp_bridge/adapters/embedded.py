"""The embedded adapter: no ERP is connected. Master data are the portal's own tables
(``Product``, ``PriceList``, ``Customer``, ``EmployeeRecord``, kept in the admin or by
import) and the documents the portal would send to an ERP go into a local order book
(``EmbeddedDocument``), numbered here, so that ``make run`` and the demo work on one
machine. The pages say plainly that no ERP is connected (``connected = False``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from erp_bridge import gateway as g
from erp_bridge.gateway import ErpError
from erp_bridge.models import Customer, EmbeddedDocument, EmployeeRecord, PriceList, Product

__all__ = ["EmbeddedGateway"]

_PREFIX = {"sales_order": "SO", "expense_posting": "JV", "employee": "EMP", "department": "DEP"}


def _document(
    kind: str, key: str, idempotency_key: str, state: str, data: dict[str, Any]
) -> EmbeddedDocument:
    """The document of ``kind`` under ``key``, made now unless it exists (a second delivery
    of the same message, or the same business key again, returns the first)."""
    found = EmbeddedDocument.objects.filter(kind=kind, key=key).first()
    if found is not None:
        return found
    now = timezone.now()
    try:
        with transaction.atomic():
            document = EmbeddedDocument.objects.create(
                kind=kind,
                key=key,
                number="",
                state=state,
                data=data,
                idempotency_key=idempotency_key,
                created_at=now,
                updated_at=now,
            )
            document.number = f"{_PREFIX[kind]}{now:%Y%m}{document.pk:06d}"
            document.save(update_fields=["number"])
            return document
    except IntegrityError:  # the same key made at the same moment by another worker
        return EmbeddedDocument.objects.get(kind=kind, key=key)


def _decimal(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


class EmbeddedGateway:
    name = "embedded"
    connected = False

    # --- master data: the portal's own tables ---------------------------------------------

    def products(self) -> list[g.Product]:
        return [
            g.Product(
                code=p.code,
                name=p.name,
                unit=p.unit,
                list_price=p.list_price,
                currency=p.currency,
                active=p.active,
                erp_id=str(p.pk),
            )
            for p in Product.objects.order_by("code")
        ]

    def price_lists(self) -> list[g.PriceList]:
        return [
            g.PriceList(
                code=price_list.code,
                name=price_list.name,
                currency=price_list.currency,
                lines=tuple(
                    g.PriceListLine(
                        product_code=line.product.code,
                        price=line.price,
                        min_quantity=line.min_quantity,
                    )
                    for line in price_list.lines.select_related("product").order_by("pk")
                ),
                erp_id=str(price_list.pk),
            )
            for price_list in PriceList.objects.order_by("code")
        ]

    def customers(self) -> list[g.Customer]:
        return [
            g.Customer(
                code=c.code,
                name=c.name,
                tax_code=c.tax_code,
                phone=c.phone,
                email=c.email,
                address=c.address,
                active=c.active,
                erp_id=str(c.pk),
            )
            for c in Customer.objects.order_by("code")
        ]

    def employees(self) -> list[g.Employee]:
        return [
            g.Employee(
                code=e.code,
                name=e.name,
                department_code=e.department_code,
                email=e.email,
                active=e.active,
                erp_id=str(e.pk),
            )
            for e in EmployeeRecord.objects.order_by("code")
        ]

    def departments(self) -> list[g.Department]:
        return [
            g.Department(
                code=d.key,
                name=str(d.data.get("name", "")),
                parent_code=str(d.data.get("parent_code", "")),
                erp_id=d.number,
            )
            for d in EmbeddedDocument.objects.filter(kind="department").order_by("key")
        ]

    # --- writes -------------------------------------------------------------------------------

    def customer_upsert(self, customer: g.Customer, *, idempotency_key: str) -> g.Customer:
        row, _created = Customer.objects.update_or_create(
            code=customer.code,
            defaults={
                "name": customer.name,
                "tax_code": customer.tax_code,
                "phone": customer.phone,
                "email": customer.email,
                "address": customer.address,
                "active": customer.active,
                "synced_at": timezone.now(),
            },
        )
        return g.Customer(**{**_fields(customer), "erp_id": str(row.pk)})

    def sales_order_create(
        self, order: g.SalesOrder, *, idempotency_key: str
    ) -> g.SalesOrderStatus:
        customer = Customer.objects.filter(code=order.customer_code, active=True).first()
        if customer is None:
            raise ErpError(
                f"unknown customer {order.customer_code}", permanent=True, code="unknown_customer"
            )
        codes = {line.product_code for line in order.lines}
        prices = dict(
            Product.objects.filter(code__in=codes, active=True).values_list("code", "list_price")
        )
        unknown = sorted(codes - set(prices))
        if unknown:
            raise ErpError(
                f"unknown product {', '.join(unknown)}", permanent=True, code="unknown_product"
            )
        if not order.lines or any(line.quantity <= 0 for line in order.lines):
            raise ErpError("an order needs lines with a quantity", permanent=True, code="invalid")
        total = sum(
            (
                line.quantity
                * (line.unit_price if line.unit_price is not None else prices[line.product_code])
                for line in order.lines
            ),
            Decimal("0"),
        )
        document = _document(
            "sales_order",
            order.reference,
            idempotency_key,
            "confirmed",
            {
                "customer_code": order.customer_code,
                "currency": order.currency,
                "description": order.description,
                "total": _decimal(total),
                "lines": [
                    {
                        "product_code": line.product_code,
                        "quantity": str(line.quantity),
                        "unit_price": None if line.unit_price is None else str(line.unit_price),
                    }
                    for line in order.lines
                ],
            },
        )
        return self._status(document)

    def expense_post(self, posting: g.ExpensePosting, *, idempotency_key: str) -> g.Posting:
        if posting.amount <= 0:
            raise ErpError("the amount must be positive", permanent=True, code="invalid")
        today = timezone.localdate()
        date = posting.date or today
        if date.year < today.year - 1:  # the embedded books keep this year and the last
            raise ErpError(
                f"the period of {date.isoformat()} is closed", permanent=True, code="closed_period"
            )
        document = _document(
            "expense_posting",
            posting.reference,
            idempotency_key,
            "posted",
            {
                "employee_code": posting.employee_code,
                "amount": _decimal(posting.amount),
                "currency": posting.currency,
                "cost_centre": posting.cost_centre,
                "description": posting.description,
                "date": date.isoformat(),
            },
        )
        return g.Posting(reference=posting.reference, number=document.number, state="posted")

    def employee_create(self, employee: g.Employee, *, idempotency_key: str) -> g.Employee:
        row, _created = EmployeeRecord.objects.get_or_create(
            code=employee.code,
            defaults={
                "name": employee.name,
                "department_code": employee.department_code,
                "email": employee.email,
                "synced_at": timezone.now(),
            },
        )
        _document("employee", employee.code, idempotency_key, "active", {"name": employee.name})
        return g.Employee(**{**_fields(employee), "erp_id": str(row.pk)})

    def department_upsert(self, department: g.Department, *, idempotency_key: str) -> g.Department:
        data = {"name": department.name, "parent_code": department.parent_code}
        document = _document("department", department.code, idempotency_key, "active", data)
        if document.data != data:  # renamed or moved
            document.data = data
            document.updated_at = timezone.now()
            document.save(update_fields=["data", "updated_at"])
        return g.Department(
            code=department.code,
            name=department.name,
            parent_code=department.parent_code,
            erp_id=document.number,
        )

    # --- status reads -------------------------------------------------------------------------

    def _status(self, document: EmbeddedDocument) -> g.SalesOrderStatus:
        return g.SalesOrderStatus(
            reference=document.key,
            number=document.number,
            state=document.state,  # type: ignore[arg-type]  # written from OrderState only
            shipped=bool(document.data.get("shipped")),
            invoiced=bool(document.data.get("invoiced")),
            total=Decimal(str(document.data.get("total", "0"))),
            currency=str(document.data.get("currency", "CNY")),
            erp_id=str(document.pk),
        )

    def sales_order_status(self, reference: str) -> g.SalesOrderStatus:
        document = EmbeddedDocument.objects.filter(kind="sales_order", key=reference).first()
        if document is None:
            raise ErpError(f"no sales order {reference}", permanent=True, code="unknown_order")
        return self._status(document)

    def invoices(self, order_reference: str) -> list[g.Invoice]:
        document = EmbeddedDocument.objects.filter(kind="sales_order", key=order_reference).first()
        if document is None or not document.data.get("invoiced"):
            return []
        return [
            g.Invoice(
                number=f"INV{document.number[2:]}",
                order_reference=order_reference,
                amount=Decimal(str(document.data.get("total", "0"))),
                currency=str(document.data.get("currency", "CNY")),
                payment_state="paid" if document.data.get("paid") else "unpaid",
            )
        ]

    def budget(self, cost_centre: str, year: int) -> g.Budget:
        """The embedded books have no budgets of their own: what was posted to the cost
        centre this year, against no limit (``amount`` 0 means "no budget kept here")."""
        spent = Decimal("0")
        for data in EmbeddedDocument.objects.filter(kind="expense_posting").values_list(
            "data", flat=True
        ):
            if data.get("cost_centre") == cost_centre and str(data.get("date", "")).startswith(
                str(year)
            ):
                spent += Decimal(str(data.get("amount", "0")))
        return g.Budget(cost_centre=cost_centre, year=year, amount=Decimal("0"), spent=spent)


def _fields(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}
