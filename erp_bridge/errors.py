"""The ERP's refusals in the user's language.

An adapter that recognises a refusal gives it a stable code (``ErpError.code``,
``erp_bridge/gateway.py``); :data:`REFUSALS` holds one sentence per code, written in English
as a message of the portal's catalogue and translated where it is read (a request's history
is read by people of either language, so the sentence is kept untranslated and the timeline
translates it for each reader). A code the table lacks (or none) shows the ERP's own text,
which is all we know then.
"""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

from erp_bridge.gateway import ErpError

__all__ = ["REFUSALS", "refusal", "refusal_text"]

REFUSALS: dict[str, str] = {
    "unknown_product": gettext_noop("The ERP does not know one of the products."),
    "unknown_customer": gettext_noop("The ERP does not know the customer."),
    "unknown_employee": gettext_noop("The ERP does not know the employee."),
    "closed_period": gettext_noop("The accounting period of this date is closed in the ERP."),
    "auth": gettext_noop(
        "The portal could not sign in to the ERP; an administrator must check it."
    ),
    "not_configured": gettext_noop(
        "No ERP connection is configured; an administrator must set it up."
    ),
    "invalid": gettext_noop("The ERP refused the data as incomplete or invalid."),
    "duplicate": gettext_noop("The ERP already holds this document."),
    "unknown_department": gettext_noop("The ERP does not know the department."),
    "unknown_cost_centre": gettext_noop("The ERP does not know the cost centre."),
    "unknown_order": gettext_noop("The ERP does not know the sales order."),
    "no_budget": gettext_noop("The ERP keeps no budget for this cost centre and year."),
    "unsupported": gettext_noop("The connected ERP does not offer this operation."),
}

UNKNOWN_REFUSAL = gettext_noop("The ERP refused: %(message)s")


def refusal(code: str, message: str) -> tuple[str, dict[str, str]]:
    """``(text, data)`` for a refusal with ``code`` and the ERP's ``message``: the catalogue
    sentence for a known code, else "The ERP refused: <message>", with the data that fill it
    (the ERP's message is kept in both cases, for administrators). Untranslated: the reader's
    language applies when it is shown (``workflow.selectors.timeline.system_event_text``)."""
    data = {"message": message, "code": code}
    return REFUSALS.get(code, UNKNOWN_REFUSAL), data


def refusal_text(error: ErpError | tuple[str, str]) -> str:
    """A refusal in the current language, for a notification or a page."""
    code, message = (error.code, error.message) if isinstance(error, ErpError) else error
    text, data = refusal(code, message)
    return gettext(text) % data if "%(" in text else gettext(text)
