"""What the CRM's pages print in words rather than as stored codes:

- ``{{ amount|money }}``: an amount as offices write it, 380,000.00 (the one formatting
  function of the portal's money, ``workflow.money.format_amount``);
- ``{{ username|person }}``: a user name as the person's display name (陈杰); for a list,
  ``{% with names=entries|actor_names %}`` (one query) and ``{{ names|name_of:e.actor }}``;
- ``{{ order.state|erp_order_state }}``: an ERP sales order's state in the reader's language;
- ``{% case_history events as rows %}``: a case's history rows with who acted by name and
  the channel a case came in on in words (one query for all the names).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from django import template
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from crm.models import CaseChannel
from crm.selectors.sales import TimelineEntry
from workflow.money import format_amount
from workflow.selectors.visibility import display_names

register = template.Library()

# the states a sales order has in the ERP (``erp_bridge.gateway.OrderState``)
ERP_ORDER_STATES: Final[Mapping[str, Promise]] = {
    "draft": pgettext_lazy("erp order", "draft"),
    "quotation": pgettext_lazy("erp order", "quotation"),
    "confirmed": pgettext_lazy("erp order", "confirmed"),
    "processing": pgettext_lazy("erp order", "processing"),
    "done": pgettext_lazy("erp order", "done"),
    "cancelled": pgettext_lazy("erp order", "cancelled"),
}


@register.filter
def money(value: Any) -> str:
    """12,345.60; nothing for nothing, a value that is not a number unchanged."""
    return format_amount(value)


@register.filter
def person(username: Any) -> str:
    """The display name of the account ``username`` (the user name of an unknown one)."""
    name = str(username or "")
    return display_names([name]).get(name, name) if name else ""


@register.filter
def actor_names(entries: Iterable[TimelineEntry]) -> dict[str, str]:
    """user name -> display name of the actors of a timeline's stage events (``entry.event``),
    in one query."""
    return display_names(entry.event.actor for entry in entries if entry.event is not None)


@register.filter
def name_of(names: Mapping[str, str], username: Any) -> str:
    """``username``'s display name in ``names`` (:func:`actor_names`), else the user name."""
    name = str(username or "")
    return names.get(name, name)


@register.filter
def erp_order_state(state: Any) -> str:
    """The order's state in words; a state this list does not know as the ERP wrote it."""
    text = str(state or "")
    return str(ERP_ORDER_STATES.get(text, text))


@register.simple_tag
def case_history(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each history row (``{"event": CaseEvent, "label": ...}``) with ``who`` (the actor's
    display name) and ``text`` (for the opening, the channel in words)."""
    listed = list(rows)
    names = display_names(row["event"].actor for row in listed)
    channels = dict(CaseChannel.choices)
    shown = []
    for row in listed:
        event = row["event"]
        text = event.text
        if event.kind == "opened" and text in channels:
            text = str(channels[text])
        shown.append({**row, "who": names.get(event.actor, event.actor), "text": text})
    return shown
