"""The invoked applications that reach the company's other systems.

A service task names one (``camunda:class="erp.reserve_budget"``); the call is a job, run by
a worker after the commit, as a JSON ``POST`` of the process variables to the system's
bridge endpoint, ``<base URL>/<operation>``, with the job's idempotency key in the
``Idempotency-Key`` header, so a retried call is recognised by the receiver. The JSON answer
becomes the process variable named after the application (``erp_reserve_budget``).

Base URLs come from the environment (``ERP_BRIDGE_URL``, ``HRIS_BRIDGE_URL``,
``DMS_BRIDGE_URL``). A system that is not configured fails the call permanently, so the job
becomes an incident that says what to set, and nothing is sent anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from workflow.applications import (
    Application,
    ApplicationCall,
    ApplicationError,
    applications,
    bridge_http_call,
)

# application name -> (setting with the base URL, operation path)
CONNECTORS: dict[str, tuple[str, str, Any]] = {
    "erp.reserve_budget": ("ERP_BRIDGE_URL", "reserve_budget", _("Reserve budget in the ERP")),
    "hris.sync_employee": (
        "HRIS_BRIDGE_URL",
        "sync_employee",
        _("Synchronize an employee to the HR system"),
    ),
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


def register_connectors() -> None:
    for name in CONNECTORS:
        applications.register(connector(name))
