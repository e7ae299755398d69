"""The service cases' step on the workflow engine (``crm/bpmn/case_escalation.bpmn``), the
CRM's notification kind and the "my cases near breach" portlet. :func:`connect` registers
them; the app's ``ready()`` calls it before any case can start an escalation run (deploying
checks that every application a file names is registered)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.selectors.cases import cases_near_breach, next_due
from crm.services import cases as services
from portal import registry
from portal.http import signed_in
from workflow.applications import (
    Application,
    ApplicationCall,
    ApplicationError,
    Parameter,
    applications,
)

__all__ = ["connect", "escalate", "near_breach_context"]


def escalate(call: ApplicationCall) -> Mapping[str, Any] | None:
    """``crm.case_escalate``: raise the case to the step's level if it is still overdue on
    the deadline this run watches (inline: it writes only the CRM's tables and a notice, in
    the timer's transaction)."""
    case_id = call.variables.get("case")
    due = call.variables.get("due")
    if not isinstance(case_id, int) or isinstance(case_id, bool) or not isinstance(due, str):
        raise ApplicationError(
            "crm.case_escalate: needs the variables case and due", permanent=True
        )
    level_text = str(call.parameters.get("level", ""))
    if level_text not in ("1", "2"):
        raise ApplicationError("crm.case_escalate: level must be 1 or 2", permanent=True)
    escalated = services.case_escalate(case_id=case_id, level=int(level_text), due=due)
    return {f"escalated_{level_text}": escalated}


def near_breach_context(request: HttpRequest) -> dict[str, Any]:
    """The portlet's rows: my open cases whose next deadline is near or past."""
    now = timezone.now()
    rows = [
        {"case": case, "due": next_due(case), "overdue": (next_due(case) or now) < now}
        for case in cases_near_breach(signed_in(request), now=now)
    ]
    return {"rows": rows}


def connect() -> None:
    """Register the escalation step and the CRM's notification kind (from ``ready()``; a
    second call changes nothing); the kind only if the app did not register it already."""
    if services.KIND not in registry.notification_kinds:
        registry.notification_kinds.register(
            registry.NotificationKind(services.KIND, _("Customers (CRM)"))
        )
    if services.ESCALATION_APPLICATION in applications:
        return
    applications.register(
        Application(
            services.ESCALATION_APPLICATION,
            _("Escalate an overdue service case"),
            escalate,
            parameters=(
                Parameter("level", "string", description="1: the team lead, 2: the manager"),
            ),
            inline=True,
            description="Raises the service case (variable case) to the level and notifies "
            "the handler's team lead (1) or the manager above (2), if the case is still "
            "unresolved, not waiting for the customer, and still due at the variable due.",
        )
    )
