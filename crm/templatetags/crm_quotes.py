"""``{% account_quotes account as rows %}`` / ``{% opportunity_quotes opportunity as rows %}``:
the quotes of an account (or opportunity) the signed-in person may see, each with its shown
status and the ERP's order (number, shipped, invoiced, paid), for the account's and the
opportunity's pages (``templates/crm/quotes/_account_quotes.html``)."""

from __future__ import annotations

from typing import Any

from django import template

from crm.selectors.quotes import QuoteRow, quote_rows

register = template.Library()


def _user(context: template.Context) -> Any:
    request = context.get("request")
    return getattr(request, "user", None)


@register.simple_tag(takes_context=True)
def account_quotes(context: template.Context, account: Any) -> list[QuoteRow]:
    user = _user(context)
    if user is None or account is None:
        return []
    return quote_rows(user, account_id=account.pk)


@register.simple_tag(takes_context=True)
def opportunity_quotes(context: template.Context, opportunity: Any) -> list[QuoteRow]:
    user = _user(context)
    if user is None or opportunity is None:
        return []
    return quote_rows(user, opportunity_id=opportunity.pk)
