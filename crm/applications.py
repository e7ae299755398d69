"""The CRM's parts on the workflow engine, registered by :func:`connect` from the app's
``ready()`` (before its BPMN file can be deployed: deploying checks that every application
a file names is registered):

- the inline application ``crm.quote_approve``: the approval's last step approves the quote
  (in the approver's transaction, so "approve" on the task page makes it valid at once);
- the step form ``crm.quote_approval``: the approval's task page shows the quote's lines,
  totals and discount (a read-only form field; nothing of it is stored);
- the guide source: the task page links to the quote's page for a person who may see it;
- the end listener: an approval that ends without approving (rejected, cancelled) makes the
  quote a draft again, in the ending transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from crm import quote_approval
from crm.models import Quote
from crm.selectors.quotes import quote_with_lines, quotes_for
from crm.services import quotes as services
from portal.models import User
from workflow import events, guides
from workflow.applications import Application, ApplicationCall, ApplicationError, applications
from workflow.forms import register_form

__all__ = ["QuoteApprovalForm", "approve_quote", "connect", "guides_of", "quote_ended"]


def approve_quote(call: ApplicationCall) -> Mapping[str, Any] | None:
    """``crm.quote_approve``: the quote named by the variable ``number`` is approved
    (inline: only this database, in the approval's transaction)."""
    number = call.variables.get("number")
    if call.instance_id is None or not isinstance(number, str) or not number:
        raise ApplicationError("crm.quote_approve: runs only in a quote approval", permanent=True)
    approved = services.quote_approved_by_engine(number=number, instance_id=call.instance_id)
    return {"quote_approved": approved}


class QuoteLinesWidget(forms.Widget):
    """The quote's lines as a table (read-only), from the quote's number (the variable the
    approval's business data shows; the quote's id is no variable of it)."""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        number = value if isinstance(value, str) else ""
        quote_id = Quote.objects.filter(number=number).values_list("pk", flat=True).first()
        quote = quote_with_lines(quote_id) if number and quote_id is not None else None
        html = render_to_string("crm/quotes/_approval_panel.html", {"quote": quote})
        return mark_safe(html)  # noqa: S308  # a template's output, escaped by it


class QuoteApprovalForm(forms.Form):
    """The approval step's form: the quote under approval (by its number), shown with its
    lines."""

    number = forms.CharField(
        label=_("Quote"), required=False, disabled=True, widget=QuoteLinesWidget
    )


def guides_of(user: User, process_key: str, step_id: str) -> list[guides.Guide]:
    """The task page's link to the quote under approval, for a person who may see it: the
    workflow asks with the process and step only, so this answers for the approval's
    process with a link to the approver's quote list (one query, the page filters)."""
    if process_key != quote_approval.PROCESS or not step_id:
        return []
    if not quotes_for(user).filter(status="pending").exists():
        return []
    return [
        guides.Guide(
            str(_("Quotes waiting for approval")), reverse("crm:quote_list") + "?status=pending"
        )
    ]


def quote_ended(instance_id: int, definition_key: str, outcome: str) -> None:
    """The engine's end listener: an approval that ended without approving makes its quote
    a draft again (rejected: the approver's opinion stays readable on the quote)."""
    if definition_key == quote_approval.PROCESS and outcome != "completed":
        services.quote_unsubmitted_by_engine(instance_id=instance_id)


def connect() -> None:
    """Register the application, the step form, the guide source and the end listener
    (once, from ``CrmConfig.ready()``)."""
    applications.register(
        Application(
            quote_approval.APPROVE_APPLICATION,
            _("Approve a CRM quote"),
            approve_quote,
            inline=True,
            description="Approves the pending quote named by the variable number (the quote "
            "approval crm_quote_approval).",
        )
    )
    register_form(quote_approval.FORM_KEY, QuoteApprovalForm)
    guides.sources.register(guides.GuideSource("crm.quotes", guides_of))
    events.instance_end_listeners.register(events.InstanceEndListener("crm.quotes", quote_ended))
