"""Polling, for ERPs that send no webhooks: the open sales orders' status and invoices read
from the ERP and recorded through the same function the webhooks use; finished orders are
not asked again, a newer webhook report is not overwritten, an order the ERP does not know
is skipped. Against the reference ERP on loopback and the embedded order book."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from erp_bridge import gateway as g
from erp_bridge import webhooks
from erp_bridge.adapters import gateway, gateway_reset
from erp_bridge.models import (
    Customer,
    EmbeddedDocument,
    InterfaceCall,
    OrderRecord,
    OutboxMessage,
    Product,
)
from erp_bridge.sync import orders_poll
from erp_bridge.tasks import poll_orders
from tests.erp_bridge.http_fixtures import SECRET_ENV, reference_connection
from tests.erp_bridge.reference_erp import ReferenceErp

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _connected() -> None:
    webhooks.connect()


@pytest.fixture
def erp(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[ReferenceErp]:
    server = ReferenceErp().start()
    monkeypatch.setenv(SECRET_ENV, server.client_secret)
    reference_connection(server)
    settings.ERP_ADAPTER = "http"
    gateway_reset()
    yield server
    gateway_reset()
    server.stop()


def sent(reference: str, customer: str = "C-001", product: str = "P-1001") -> OrderRecord:
    """An order the portal sent to the ERP (as the outbox would) and its local record."""
    status = gateway().sales_order_create(
        g.SalesOrder(
            reference=reference,
            customer_code=customer,
            lines=(g.SalesOrderLine(product, Decimal("10")),),
        ),
        idempotency_key=secrets.token_hex(8),
    )
    return record(reference, number=status.number, state=status.state)


def record(reference: str, **fields: Any) -> OrderRecord:
    now = timezone.now()
    return OrderRecord.objects.create(
        reference=reference,
        customer_code="C-001",
        created_at=now,
        updated_at=now,
        **{"state": "confirmed", **fields},
    )


def test_polling_reads_shipment_invoice_and_payment(erp: ReferenceErp) -> None:
    order = sent("SO-2026-0101")
    assert orders_poll() == 1
    order.refresh_from_db()
    assert (order.state, order.shipped, order.invoiced, order.paid) == (
        "confirmed",
        False,
        False,
        False,
    )
    assert order.source_updated_at is not None
    erp.orders["SO-2026-0101"]["FShipped"] = True
    erp.invoice_order("SO-2026-0101", paid=False)
    orders_poll()
    order.refresh_from_db()
    assert (order.shipped, order.invoiced, order.paid) == (True, True, False)
    erp.invoices[-1]["FPayStatus"] = "C"  # 已付款
    orders_poll()
    order.refresh_from_db()
    assert order.paid is True
    calls = set(
        InterfaceCall.objects.filter(interface="erp:http").values_list("operation", flat=True)
    )
    assert {"sales_order_status", "invoices"} <= calls


def test_a_change_found_by_polling_is_published(erp: ReferenceErp, superuser: Any) -> None:
    webhooks.subscription_create(
        name="BI", url="https://bi.example.com/h", events=["order.updated"], by=superuser
    )
    sent("SO-2026-0102")
    erp.orders["SO-2026-0102"]["FShipped"] = True
    orders_poll()
    message = OutboxMessage.objects.get()
    assert message.payload["event"] == "order.updated"
    assert message.payload["data"]["shipped"] is True
    assert message.payload["data"]["source"] == "poll"
    orders_poll()  # nothing new: nothing published
    assert OutboxMessage.objects.count() == 1


def test_finished_orders_are_not_polled(erp: ReferenceErp) -> None:
    record("SO-DONE", state="done", paid=True)
    record("SO-CANCELLED", state="cancelled")
    unpaid = record("SO-DONE-UNPAID", state="done")
    erp.orders["SO-DONE-UNPAID"] = {
        "FID": 1,
        "FBillNo": "XSDD9",
        "F_PORTAL_REF": "SO-DONE-UNPAID",
        "FDocumentStatus": "C",
        "FBillAllAmount": Decimal("10"),
        "FSettleCurrId": "CNY",
        "FShipped": True,
        "FInvoiced": False,
    }
    erp.invoice_order("SO-DONE-UNPAID", paid=True)
    assert orders_poll() == 1  # only the order done but not yet paid is asked
    unpaid.refresh_from_db()
    assert (unpaid.paid, unpaid.shipped) == (True, True)
    assert not OrderRecord.objects.filter(
        reference__in=["SO-DONE", "SO-CANCELLED"], source_updated_at__isnull=False
    ).exists()


def test_an_order_the_erp_does_not_know_is_skipped_the_others_are_read(erp: ReferenceErp) -> None:
    record("SO-NOT-YET-SENT")
    order = sent("SO-2026-0103")
    assert orders_poll() == 1
    order.refresh_from_db()
    assert order.source_updated_at is not None
    assert OrderRecord.objects.get(reference="SO-NOT-YET-SENT").source_updated_at is None


def test_a_newer_webhook_report_is_not_overwritten_by_a_poll(erp: ReferenceErp) -> None:
    order = sent("SO-2026-0104")
    later = timezone.now() + datetime.timedelta(minutes=5)  # the ERP pushed after our read
    OrderRecord.objects.filter(pk=order.pk).update(
        state="processing", shipped=True, source_updated_at=later
    )
    assert orders_poll() == 0
    order.refresh_from_db()
    assert (order.state, order.shipped) == ("processing", True)


def test_polling_the_embedded_order_book(db: None) -> None:
    Customer.objects.create(code="C-001", name="上海华东机电有限公司")
    Product.objects.create(code="P-1", name="螺栓", list_price=Decimal("2.00"))
    order = sent("SO-2026-0201", product="P-1")
    document = EmbeddedDocument.objects.get(kind="sales_order", key="SO-2026-0201")
    document.state = "done"
    document.data = {**document.data, "shipped": True, "invoiced": True, "paid": True}
    document.save()
    assert poll_orders.delay().get() == 1  # the beat task
    order.refresh_from_db()
    assert (order.state, order.shipped, order.invoiced, order.paid) == ("done", True, True, True)
    assert orders_poll() == 0  # done and paid: final


def test_an_erp_that_is_down_ends_the_round(erp: ReferenceErp) -> None:
    first, second = sent("SO-2026-0105"), sent("SO-2026-0106")
    erp.down()
    assert orders_poll() == 0
    failed = InterfaceCall.objects.filter(operation="sales_order_status").exclude(outcome="ok")
    assert failed.count() == 1  # the first order's read failed; the second was not asked
    erp.up()
    assert orders_poll() == 2
    assert not OrderRecord.objects.filter(
        pk__in=[first.pk, second.pk], source_updated_at__isnull=True
    ).exists()
