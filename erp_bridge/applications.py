"""The invoked applications that reach the company's other systems.

A service task names one (``camunda:class="erp.post_expense"``). The ERP and HR steps are
**inline** (``workflow.applications.Application.inline``): they write only this database, in
the engine's transaction, and what must reach the ERP leaves through the transactional outbox
(``erp_bridge/outbox.py``): the message commits with the step or not at all, a worker
delivers it after the commit with the step's idempotency key, and the delivery or the ERP's
refusal comes back into the request's history (``erp_bridge/deliveries.py``). So an
approval never waits for the ERP, and an ERP that is down loses nothing.

- ``erp.post_expense``: posts the approved expense claim to ERP finance (outbox
  ``expense.post``): the amount (``approved_amount`` when finance set one, else ``amount``),
  ``currency`` (default CNY), the cost centre (``cost_centre`` or ``cost_center``) if any,
  the accounting date (``posting_date``, default the day the ERP books it), the request's
  title as the description, the initiator's employee number, and the reference
  ``EXP-<request id>`` (unique and stable: a second delivery, or the step run again, finds
  the same posting). The variable ``erp_posting`` holds ``{"reference", "state": "queued"}``
  (and the ERP's number once posted, while the request still runs).
- ``erp.reserve_budget`` (the shared ``expense_approval.bpmn``, beside the finance review once
  the managers approved): the same expense posting through the outbox. The gateway has no
  budget reservation of its own; an expense posted against its cost centre is what uses the
  budget up in the ERP (``Gateway.budget``: ``spent``), so reserving the claim's budget and
  posting the claim are one document, sent once the approvers said yes.
- ``hris.sync_employee`` (the shared ``onboarding.bpmn``): opens the new employee's portal
  account (``portal.services.user_create``: no password, IT sets it up; the user name is the
  login IT reported in ``it_account``, else the employee number) and sends the employee to
  the ERP's HR (outbox ``employee.create``) with the name (``employee_name``), department
  (``department``, a department's code or name when it names one), ``start_date`` and
  manager (``manager_id``). The variable ``employee_account`` holds the user name, the
  employee number and ``state: "queued"``. The step run again (its job retried, the process
  moved back to it) opens no second account.
- ``dms.store_contract``: still a JSON ``POST`` of the process variables to the document
  system's bridge, ``DMS_BRIDGE_URL/store_contract``, as a job after the commit, with the
  job's idempotency key in the ``Idempotency-Key`` header; the JSON answer becomes the
  variable ``dms_store_contract``. Unset, the job fails permanently into an incident that
  says what to set.

A variable that is missing or wrong fails the step permanently with a message naming it
(``ApplicationError(permanent=True)``): the approver's action is refused and nothing is
written.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from erp_bridge.models import OutboxMessage
from erp_bridge.outbox import outbox_put
from portal.models import Department, User
from portal.selectors import next_employee_no, person_find
from portal.services import user_create
from workflow.applications import (
    Application,
    ApplicationCall,
    ApplicationError,
    applications,
    bridge_http_call,
)
from workflow.selectors.status import request_facts

__all__ = [
    "CONNECTORS",
    "connector",
    "expense_reference",
    "post_expense",
    "register_connectors",
    "reserve_budget",
    "split_name",
    "sync_employee",
]

# application name -> (setting with the base URL, operation path, label)
CONNECTORS: dict[str, tuple[str, str, Any]] = {
    "dms.store_contract": (
        "DMS_BRIDGE_URL",
        "store_contract",
        _("Store a contract in the document system"),
    ),
}


def connector(name: str) -> Application:
    setting, operation, label = CONNECTORS[name]

    def call_system(call: ApplicationCall) -> Mapping[str, Any] | None:
        base = getattr(settings, setting, "")
        if not base:
            raise ApplicationError(
                f"{name}: the connection is not configured; set {setting}", permanent=True
            )
        request = ApplicationCall(
            parameters={
                "url": f"{base.rstrip('/')}/{operation}",
                "method": "POST",
                "json": {"instance": call.instance_id, "variables": dict(call.variables)},
                "timeout": settings.BRIDGE_TIMEOUT,
                "result_variable": name.replace(".", "_"),
            },
            variables=call.variables,
            instance_id=call.instance_id,
            idempotency_key=call.idempotency_key,
        )
        return bridge_http_call(request)

    return Application(
        name,
        label,
        call_system,
        description=f"POST the process variables to {setting}/{operation}.",
    )


# --- reading the process variables ----------------------------------------------------------


def _refuse(name: str, problem: str) -> ApplicationError:
    return ApplicationError(f"{name}: {problem}", permanent=True)


def _text(call: ApplicationCall, name: str, variable: str, *, required: bool = False) -> str:
    value = call.variables.get(variable)
    if value is None or value == "":
        if required:
            raise _refuse(name, f"the variable {variable} is missing")
        return ""
    if not isinstance(value, str):
        raise _refuse(name, f"the variable {variable} must be text, not {value!r}")
    return value.strip()


def _amount(call: ApplicationCall, name: str) -> tuple[Decimal, str]:
    """The amount to post and the variable it came from: finance's approved amount when it
    set one, else the claimed amount."""
    variable = "amount"
    if call.variables.get("approved_amount") not in (None, ""):
        variable = "approved_amount"
    value = call.variables.get(variable)
    if value is None or value == "" or isinstance(value, bool):
        raise _refuse(name, f"the variable {variable} is missing")
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise _refuse(name, f"the variable {variable} is not an amount: {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise _refuse(name, f"the variable {variable} must be more than 0, not {value!r}")
    return amount.quantize(Decimal("0.01")), variable


def _date(call: ApplicationCall, name: str, variable: str) -> datetime.date | None:
    value = call.variables.get(variable)
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise _refuse(name, f"the variable {variable} is not a date: {value!r}") from None


def _instance(call: ApplicationCall, name: str) -> tuple[int, str]:
    """The request's id and title (the title is empty while the request is being started
    in this very action: its row is not written yet)."""
    if call.instance_id is None:
        raise _refuse(name, "runs only in a process")
    facts = request_facts(call.instance_id)
    return call.instance_id, facts[1] if facts else ""


def _initiator(call: ApplicationCall, name: str) -> User:
    username = str(call.variables.get("initiator") or "")
    user = User.objects.filter(username=username).first() if username else None
    if user is None:
        raise _refuse(name, f"the variable initiator names no account: {username!r}")
    return user


# --- the expense posting --------------------------------------------------------------------


def expense_reference(instance_id: int) -> str:
    """The portal's reference of a request's expense posting (unique, stable)."""
    return f"EXP-{instance_id}"


def _post(call: ApplicationCall, name: str) -> Mapping[str, Any]:
    instance_id, title = _instance(call, name)
    initiator = _initiator(call, name)
    if not initiator.employee_no:
        raise _refuse(
            name, f"the initiator {initiator.username} has no employee number for the ERP"
        )
    amount, _variable = _amount(call, name)
    currency = _text(call, name, "currency").upper() or "CNY"
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise _refuse(name, f"the variable currency is not a currency code: {currency!r}")
    cost_centre = _text(call, name, "cost_centre") or _text(call, name, "cost_center")
    posting_date = _date(call, name, "posting_date")
    description = title or _text(call, name, "description") or _text(call, name, "reason")
    reference = expense_reference(instance_id)
    outbox_put(
        operation="expense.post",
        aggregate=f"employee:{initiator.employee_no}",
        payload={
            "reference": reference,
            "employee_code": initiator.employee_no,
            "amount": str(amount),
            "currency": currency,
            "cost_centre": cost_centre,
            "description": description[:200],
            "date": posting_date.isoformat() if posting_date else "",
        },
        idempotency_key=call.idempotency_key,
        instance_id=instance_id,
        created_by=initiator.username,
    )
    return {"erp_posting": {"reference": reference, "state": "queued"}}


def post_expense(call: ApplicationCall) -> Mapping[str, Any]:
    """``erp.post_expense``: the approved claim's posting, queued in the outbox (inline)."""
    return _post(call, "erp.post_expense")


def reserve_budget(call: ApplicationCall) -> Mapping[str, Any]:
    """``erp.reserve_budget``: the same posting as ``erp.post_expense`` (module docstring)."""
    return _post(call, "erp.reserve_budget")


# --- the new employee -----------------------------------------------------------------------

_CJK = re.compile(r"^[\u4e00-\u9fff·]+$")


def split_name(full_name: str) -> tuple[str, str]:
    """(given name, family name): a Chinese name is family name first with no space (张伟:
    张 + 伟; a four-character name has a two-character family name, 欧阳明月); another is
    given names first, family name last ("Anna Maria Schmidt")."""
    text = " ".join(full_name.split())
    if _CJK.match(text):
        cut = 2 if len(text) >= 4 else 1
        return text[cut:], text[:cut]
    given, _space, family = text.rpartition(" ")
    return (given, family) if given else (text, "")


def _department(value: str) -> Department | None:
    if not value:
        return None
    return (
        Department.objects.filter(Q(code__iexact=value) | Q(name=value) | Q(name_en__iexact=value))
        .order_by("pk")
        .first()
    )


def sync_employee(call: ApplicationCall) -> Mapping[str, Any]:
    """``hris.sync_employee``: the new employee's portal account and its outbox message to
    the ERP's HR (inline; once per request, however often the step runs)."""
    name = "hris.sync_employee"
    instance_id, _title = _instance(call, name)
    earlier = call.variables.get("employee_account")
    if (
        isinstance(earlier, Mapping)
        and User.objects.filter(username=str(earlier.get("username") or "")).exists()
    ):
        return {"employee_account": dict(earlier)}  # the step ran before: the same account
    sent = OutboxMessage.objects.filter(idempotency_key=call.idempotency_key[:64]).first()
    if sent is not None:
        return {"employee_account": dict(sent.payload.get("account") or {})}
    full_name = _text(call, name, "employee_name", required=True)
    department = _department(_text(call, name, "department"))
    manager_name = _text(call, name, "manager_id")
    manager = person_find(manager_name) if manager_name else None
    start_date = _date(call, name, "start_date")
    given, family = split_name(full_name)
    login = _text(call, name, "it_account")
    number = next_employee_no()
    username = login or (number or "").lower()
    if not username:
        raise _refuse(name, "the variable it_account is missing (no employee number to use)")
    try:
        user = user_create(
            username=username,
            first_name=given,
            last_name=family,
            employee_no=number,
            email=_text(call, name, "email"),
            department=department,
            manager=manager,
        )
    except ValidationError as error:
        problems = "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
        raise _refuse(name, problems) from error
    code = user.employee_no or user.username
    account = {"username": user.username, "employee_no": code, "state": "queued"}
    outbox_put(
        operation="employee.create",
        aggregate=f"employee:{code}",
        payload={
            "code": code,
            "name": full_name,
            "department_code": department.code if department is not None else "",
            "email": user.email,
            "start_date": start_date.isoformat() if start_date else "",
            "account": account,
        },
        idempotency_key=call.idempotency_key,
        instance_id=instance_id,
    )
    return {"employee_account": account}


def register_connectors() -> None:
    """Register the applications (once, from ``ErpBridgeConfig.ready``)."""
    for name in CONNECTORS:
        applications.register(connector(name))
    applications.register(
        Application(
            "erp.post_expense",
            _("Post the expense claim to the ERP"),
            post_expense,
            inline=True,
            description="Queues the approved claim's expense posting for the ERP (outbox "
            "expense.post); variable erp_posting.",
        )
    )
    applications.register(
        Application(
            "erp.reserve_budget",
            _("Reserve budget in the ERP"),
            reserve_budget,
            inline=True,
            description="Queues the claim's expense posting, which uses the cost centre's "
            "budget in the ERP (outbox expense.post); variable erp_posting.",
        )
    )
    applications.register(
        Application(
            "hris.sync_employee",
            _("Synchronize an employee to the HR system"),
            sync_employee,
            inline=True,
            description="Opens the new employee's portal account and queues the employee "
            "for the ERP's HR (outbox employee.create); variable employee_account.",
        )
    )
