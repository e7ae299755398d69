"""What each outbox message does when a worker delivers it, and how its result comes back.

:func:`connect` (called once from ``ErpBridgeConfig.ready``) registers the operations with
the outbox (``erp_bridge/outbox.py``) and the ERP bridge's department listener with the
portal:

- ``expense.post`` (``erp.post_expense``, ``erp.reserve_budget``): the expense posting to ERP
  finance. Delivered: the request's history shows "ERP: posted, number JV…" and, while it
  runs, its variable ``erp_posting`` gets the number and ``state: "posted"``. Refused (dead
  letter): the history shows the ERP's refusal in the reader's language
  (``erp_bridge/errors.py``) and the initiator is notified.
- ``employee.create`` (``hris.sync_employee``): the new employee in the ERP's HR; delivered,
  the local copy (``EmployeeRecord``) holds the ERP's id and the history says so.
- ``department.upsert``: a department a person created, renamed or moved in the portal
  (``portal.services.department_save`` tells :func:`department_changed`, in the saving
  transaction); messages of one department go out in the order they were written.
- ``customer.upsert``: a customer to the ERP; delivered, the local copy holds the ERP's id.
- ``sales_order.create``: a sales order; delivered, ``OrderRecord`` holds the ERP's number,
  state and total.

``deliver`` runs with no lock held and returns the ERP's answer as JSON (the message's
``result``); ``delivered`` and ``dead`` run inside the outbox's settling transaction, so what
they record commits with the message's new state.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext_lazy, gettext_noop

from erp_bridge import gateway as g
from erp_bridge.adapters import gateway
from erp_bridge.errors import refusal, refusal_text
from erp_bridge.models import Customer, EmployeeRecord, OrderRecord, OutboxMessage
from erp_bridge.outbox import Operation, outbox_put, register_operation
from erp_bridge.webhooks import event_publish
from portal import registry
from portal.models import Department, User
from portal.services import notification_send
from workflow.links import instance_url
from workflow.selectors.status import request_facts
from workflow.services.external import instance_system_event

__all__ = ["SYSTEM", "connect", "department_changed"]

SYSTEM = "ERP"  # how the requests' history names the system on the other side


def _date(text: Any) -> datetime.date | None:
    return datetime.date.fromisoformat(str(text)) if text else None


# --- a request hears back -------------------------------------------------------------------


def _tell_initiator(message: OutboxMessage, title: Any) -> None:
    """The request's initiator learns that the ERP refused its change, in their language,
    once per message."""
    if message.instance_id is None:
        return
    found = request_facts(message.instance_id)
    user = User.objects.filter(username=found[0], is_active=True).first() if found else None
    if found is None or user is None:
        return
    with translation.override(user.preferred_language or None):
        notification_send(
            recipient=user,
            kind="workflow",
            title=str(title) % {"title": found[1] or f"#{message.instance_id}"},
            body=refusal_text((message.error_code, message.last_error)),
            url=instance_url(message.instance_id),
            dedup_key=f"outbox:{message.pk}:dead",
        )


def refused(message: OutboxMessage) -> None:
    """A dead letter of a request: its history shows the refusal (in each reader's language
    where the code is known, else the ERP's own text) and its initiator is told."""
    if message.instance_id is None:
        return
    text, data = refusal(message.error_code, message.last_error)
    instance_system_event(
        message.instance_id,
        system=SYSTEM,
        event="refused",
        text=text,
        data={**data, "operation": message.operation},
    )
    _tell_initiator(message, gettext_lazy("The ERP refused a change of your request %(title)s"))


# --- expense.post ---------------------------------------------------------------------------


def expense_deliver(message: OutboxMessage) -> Mapping[str, Any]:
    p = message.payload
    posting = gateway().expense_post(
        g.ExpensePosting(
            reference=str(p["reference"]),
            employee_code=str(p["employee_code"]),
            amount=Decimal(str(p["amount"])),
            currency=str(p.get("currency") or "CNY"),
            cost_centre=str(p.get("cost_centre") or ""),
            description=str(p.get("description") or ""),
            date=_date(p.get("date")),
        ),
        idempotency_key=message.idempotency_key,
    )
    return {"reference": posting.reference, "number": posting.number, "state": posting.state}


def expense_delivered(message: OutboxMessage) -> None:
    if message.instance_id is None:
        return
    result = message.result
    state = str(result.get("state") or "posted")
    posting = {"reference": result.get("reference"), "number": result.get("number")}
    instance_system_event(
        message.instance_id,
        system=SYSTEM,
        event=state,
        text=(
            gettext_noop("posted, number %(number)s")
            if state == "posted"
            else gettext_noop("received as a draft, number %(number)s")
        ),
        data=posting,
        variables={"erp_posting": {**posting, "state": state}},
    )


# --- employee.create ------------------------------------------------------------------------


def employee_deliver(message: OutboxMessage) -> Mapping[str, Any]:
    p = message.payload
    employee = gateway().employee_create(
        g.Employee(
            code=str(p["code"]),
            name=str(p["name"]),
            department_code=str(p.get("department_code") or ""),
            email=str(p.get("email") or ""),
            start_date=_date(p.get("start_date")),
        ),
        idempotency_key=message.idempotency_key,
    )
    return {"code": employee.code, "name": employee.name, "erp_id": employee.erp_id}


def employee_delivered(message: OutboxMessage) -> None:
    p, result = message.payload, message.result
    EmployeeRecord.objects.update_or_create(
        code=str(p["code"]),
        defaults={
            "name": str(p["name"]),
            "department_code": str(p.get("department_code") or ""),
            "email": str(p.get("email") or ""),
            "erp_id": str(result.get("erp_id") or ""),
            "active": True,
            "synced_at": timezone.now(),
        },
    )
    if message.instance_id is not None:
        instance_system_event(
            message.instance_id,
            system=SYSTEM,
            event="created",
            text=gettext_noop("created the employee %(code)s (%(name)s)"),
            data={"code": p["code"], "name": p["name"], "erp_id": result.get("erp_id", "")},
        )


# --- department.upsert ----------------------------------------------------------------------


def department_changed(department_id: int, created: bool) -> None:
    """The portal's department listener: the department's code, name and parent's code go
    to the ERP through the outbox, in the transaction that saved it."""
    department = Department.objects.get(pk=department_id)
    parent = Department.objects.get_parent(department)
    outbox_put(
        operation="department.upsert",
        aggregate=f"department:{department.code}",
        payload={
            "code": department.code,
            "name": department.name,
            "parent_code": parent.code if parent is not None else "",
            "created": created,
        },
    )


def department_deliver(message: OutboxMessage) -> Mapping[str, Any]:
    p = message.payload
    department = gateway().department_upsert(
        g.Department(
            code=str(p["code"]), name=str(p["name"]), parent_code=str(p.get("parent_code") or "")
        ),
        idempotency_key=message.idempotency_key,
    )
    return {"code": department.code, "erp_id": department.erp_id}


# --- customer.upsert ------------------------------------------------------------------------


CUSTOMER_FIELDS = ("name", "tax_code", "phone", "email", "address")


def customer_deliver(message: OutboxMessage) -> Mapping[str, Any]:
    p = message.payload
    customer = gateway().customer_upsert(
        g.Customer(
            code=str(p["code"]),
            active=bool(p.get("active", True)),
            **{name: str(p.get(name) or "") for name in CUSTOMER_FIELDS},
        ),
        idempotency_key=message.idempotency_key,
    )
    return {"code": customer.code, "erp_id": customer.erp_id}


def customer_delivered(message: OutboxMessage) -> None:
    p = message.payload
    Customer.objects.update_or_create(
        code=str(p["code"]),
        defaults={
            **{name: str(p.get(name) or "") for name in CUSTOMER_FIELDS},
            "active": bool(p.get("active", True)),
            "erp_id": str(message.result.get("erp_id") or ""),
            "synced_at": timezone.now(),
        },
    )


# --- sales_order.create ---------------------------------------------------------------------


def sales_order_deliver(message: OutboxMessage) -> Mapping[str, Any]:
    p = message.payload
    status = gateway().sales_order_create(
        g.SalesOrder(
            reference=str(p["reference"]),
            customer_code=str(p["customer_code"]),
            lines=tuple(
                g.SalesOrderLine(
                    product_code=str(line["product_code"]),
                    quantity=Decimal(str(line["quantity"])),
                    unit_price=(
                        None
                        if line.get("unit_price") in (None, "")
                        else Decimal(str(line["unit_price"]))
                    ),
                )
                for line in p.get("lines") or ()
            ),
            currency=str(p.get("currency") or "CNY"),
            description=str(p.get("description") or ""),
        ),
        idempotency_key=message.idempotency_key,
    )
    return {
        "reference": status.reference,
        "number": status.number,
        "state": status.state,
        "total": str(status.total),
        "currency": status.currency,
        "erp_id": status.erp_id,
    }


def sales_order_delivered(message: OutboxMessage) -> None:
    p, result = message.payload, message.result
    now = timezone.now()
    _order, created = OrderRecord.objects.update_or_create(
        reference=str(p["reference"]),
        defaults={
            "customer_code": str(p["customer_code"]),
            "number": str(result.get("number") or ""),
            "state": str(result.get("state") or "confirmed"),
            "total": Decimal(str(result.get("total") or "0")),
            "currency": str(result.get("currency") or p.get("currency") or "CNY"),
            "instance_id": message.instance_id,
            "updated_at": now,
        },
        create_defaults={
            "customer_code": str(p["customer_code"]),
            "number": str(result.get("number") or ""),
            "state": str(result.get("state") or "confirmed"),
            "total": Decimal(str(result.get("total") or "0")),
            "currency": str(result.get("currency") or p.get("currency") or "CNY"),
            "instance_id": message.instance_id,
            "created_at": now,
            "updated_at": now,
        },
    )
    if created:  # the systems that subscribed learn of it once, in this transaction
        event_publish(
            event="order.created",
            data={
                "reference": p["reference"],
                "customer_code": p["customer_code"],
                "number": result.get("number", ""),
                "state": result.get("state", ""),
                "total": result.get("total", ""),
                "currency": result.get("currency", ""),
            },
            aggregate=f"order:{p['reference']}",
        )
    if message.instance_id is not None:
        instance_system_event(
            message.instance_id,
            system=SYSTEM,
            event="created",
            text=gettext_noop("created the sales order, number %(number)s"),
            data={"reference": p["reference"], "number": result.get("number", "")},
        )


def connect() -> None:
    """Register the outbox operations and the department listener (once, from ``ready()``)."""
    for operation in (
        Operation(
            "expense.post",
            gettext_lazy("Post an expense claim"),
            expense_deliver,
            expense_delivered,
            refused,
        ),
        Operation(
            "employee.create",
            gettext_lazy("Create an employee"),
            employee_deliver,
            employee_delivered,
            refused,
        ),
        Operation(
            "department.upsert", gettext_lazy("Create or change a department"), department_deliver
        ),
        Operation(
            "customer.upsert",
            gettext_lazy("Create or change a customer"),
            customer_deliver,
            customer_delivered,
        ),
        Operation(
            "sales_order.create",
            gettext_lazy("Create a sales order"),
            sales_order_deliver,
            sales_order_delivered,
            refused,
        ),
    ):
        register_operation(operation)
    registry.department_listeners.register(
        registry.DepartmentListener("erp_bridge", department_changed)
    )
