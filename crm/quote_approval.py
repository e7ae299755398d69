"""The quote approval on the workflow engine (报价折扣审批, ``crm/bpmn/quote_approval.bpmn``):
deployed by the CRM itself the first time a quote needs it (:func:`ensure_deployed`; no
migration, no manual step), started through the one start path
(``workflow.services.starts.request_submit``) as the person who submits the quote.

The approver is the level the approval matrix names (``crm.selectors.quotes.approval_level``):
the quote owner's department head (``${deptHead(owner, 1)}``), the role ``sales_director``
or the role ``general_manager``. The task shows the quote's lines (the step form
``crm.quote_approval``, ``crm/applications.py``); approving runs the inline application
``crm.quote_approve``; a rejection ends the request and the engine's end listener makes the
quote a draft again.

This module only talks to the engine; the quote rows are written by
``crm.services.quotes``.
"""

from __future__ import annotations

from pathlib import Path

from crm.models import Quote
from portal.models import User
from workflow import translation
from workflow.services.approvals import instance_cancel
from workflow.services.definitions import definition_deploy, process_translations_save
from workflow.services.starts import request_submit

__all__ = [
    "APPROVE_APPLICATION",
    "FORM_KEY",
    "PROCESS",
    "approval_cancel",
    "approval_start",
    "ensure_deployed",
]

PROCESS = "crm_quote_approval"
APPROVE_APPLICATION = "crm.quote_approve"
FORM_KEY = "crm.quote_approval"
FILE = Path(__file__).resolve().parent / "bpmn" / "quote_approval.bpmn"

TRANSLATIONS: dict[str, dict[str, str]] = {
    "en": {
        "process": "Quote discount approval",
        "description": "A quote whose discount and total reach the approval matrix is "
        "approved at the level it names: the sales manager (the owner's department head), "
        "the sales director or the general manager. Approving makes the quote valid.",
        "Start_Submit": "Submit the quote",
        "Gateway_Level": "Approval level",
        "Task_SalesManager": "Sales manager's approval",
        "Task_SalesDirector": "Sales director's approval",
        "Task_GeneralManager": "General manager's approval",
        "Task_Approve": "Quote approved",
        "End_Approved": "Approved",
        "field:number": "Quote number",
        "field:owner": "Owner",
        "field:level": "Approval level",
        "enum:level:sales_manager": "Sales manager",
        "enum:level:sales_director": "Sales director",
        "enum:level:general_manager": "General manager",
        "field:account": "Customer",
        "field:total": "Total",
        "field:discount": "Discount (%)",
    }
}


def ensure_deployed(*, translate: bool = True) -> None:
    """Deploy the approval's file: nothing changes while the latest version says the same
    (the engine compares what the file says), a new version when the file changed (running
    approvals finish on theirs). ``translate``: also save its English names, in a
    transaction of its own (pass False inside one), when any is missing or outdated."""
    definition_deploy(xml=FILE.read_bytes(), source_name=FILE.name)
    if translate and any(
        translation.translated(PROCESS, entry, "", language="en") != text
        for entry, text in TRANSLATIONS["en"].items()
    ):
        process_translations_save(key=PROCESS, translations=TRANSLATIONS)


def approval_start(*, by: User, quote: Quote) -> int:
    """Start the approval of ``quote`` (pending, its level set) as ``by``; the request's id.
    Runs in a transaction of its own (``request_submit`` is durable): call it outside one.
    The idempotency key names the quote and this submission's moment, so a retried call
    answers with the same request."""
    instance_id, _created = request_submit(
        user=by,
        key=PROCESS,
        data={
            "number": quote.number,
            "owner": quote.created_by.username,
            "level": quote.approval_level,
            "account": quote.account.name[:200],
            "total": f"{quote.total:.2f}",
            "discount": f"{quote.discount:.2f}",
        },
        title=f"{quote.number} {quote.account.name}"[:200],
        business_key=f"crm-quote-{quote.pk}",
        idempotency_key=f"crm-quote-{quote.pk}-{quote.updated_at.timestamp():.6f}",
    )
    return instance_id


def approval_cancel(*, instance_id: int, by: User, reason: str) -> None:
    """Cancel a returned approval (the owner revises the quote instead of resubmitting the
    same request); joins the caller's transaction."""
    instance_cancel(instance_id, user=by, reason=reason)
