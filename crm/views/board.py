"""The pipeline board's cards and their "move to" form, written in Python: a department's
board has up to 180 cards, and the template language spent 40-50 ms of the page on them
(25 variables and a form each); ``format_html`` writes the same markup, escaped, in a few.
The opportunity page's "move to" form is :func:`move_form` too, so the two stay one."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils import dateformat, formats
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from crm.models import Stage
from crm.selectors.sales import Card
from crm.views.common import url_around_id
from workflow.money import format_amount


def stage_options(selected: str) -> SafeString:
    """The options of a "move to" select with ``selected`` chosen: the same for every card
    of a column, so written once per column."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, " selected" if value == selected else "", label)
            for value, label in Stage.choices
        ),
    )


@dataclass(frozen=True)
class Page:
    """What every card of one page shares: the URLs around the id, the CSRF token, the
    ``next`` path and the words, each read or translated once."""

    move_url: tuple[str, str]
    opportunity_url: tuple[str, str]
    csrf_token: str
    next: str
    committed: str
    move_to: str
    lost_reason: str
    move: str
    date_format: str

    @classmethod
    def of(cls, request: HttpRequest) -> Page:
        return cls(
            move_url=url_around_id("crm:opportunity_move"),
            opportunity_url=url_around_id("crm:opportunity"),
            csrf_token=get_token(request),
            next=request.get_full_path(),
            committed=_("committed"),
            move_to=_("Move to"),
            lost_reason=_("lost reason"),
            move=_("Move"),
            date_format=formats.get_format("SHORT_DATE_FORMAT"),
        )


def move_form(page: Page, opportunity_id: int | str, options: SafeString) -> SafeString:
    """The form that moves one opportunity to the stage its select names (the kanban's
    script sends it by fetch when a card is dragged; without script it posts)."""
    return format_html(
        '<form method="post" action="{move_head}{id}{move_tail}" class="sales-move" data-move>'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">\n'
        '  <input type="hidden" name="next" value="{next}">\n'
        '  <label for="move-{id}">{move_to}</label>\n'
        '  <select name="stage" id="move-{id}" data-move-stage>\n    {options}\n  </select>\n'
        '  <input type="text" name="lost_reason" maxlength="200" placeholder="{lost_reason}"'
        ' aria-label="{lost_reason}" class="sales-lost" data-move-reason>\n'
        '  <button type="submit" data-move-button>{move}</button>\n'
        '  <small class="error" role="alert" data-move-error hidden></small>\n'
        "</form>",
        move_head=page.move_url[0],
        move_tail=page.move_url[1],
        id=opportunity_id,
        csrf=page.csrf_token,
        next=page.next,
        move_to=page.move_to,
        options=options,
        lost_reason=page.lost_reason,
        move=page.move,
    )


_MARK = "\x00"  # where a card's id goes in its form, written once per column


def card(page: Page, opportunity: Card, form: list[str]) -> str:
    """One card: the opportunity's name (a link), account, amount, probability, expected
    close, whether committed, owner, and its "move to" form (``form``: the column's form
    split where the id goes). Only the names are text that needs escaping; the rest are
    numbers, dates and the page's own escaped words."""
    pk = opportunity.pk
    close = opportunity.expected_close
    committed = (
        f' · <span class="tag">{escape(page.committed)}</span>' if opportunity.committed else ""
    )
    return (
        f'<li class="sales-card" id="card-{pk}" data-id="{pk}"'
        f' data-position="{int(opportunity.position)}"'
        f' data-move-url="{page.move_url[0]}{pk}{page.move_url[1]}">\n'
        f'  <a class="sales-card-title" href="{page.opportunity_url[0]}{pk}'
        f'{page.opportunity_url[1]}">{escape(opportunity.name)}</a>\n'
        f'  <span class="sales-card-account">{escape(opportunity.account_name)}</span>\n'
        f'  <span class="sales-card-meta"><strong>¥{format_amount(opportunity.amount)}'
        f"</strong> · <span data-probability>{int(opportunity.probability)}</span>% · "
        f"{dateformat.format(close, page.date_format) if close else '—'}{committed}</span>\n"
        f'  <span class="sales-card-owner muted">{escape(opportunity.owner_name)}</span>\n'
        f"  {str(pk).join(form)}\n</li>\n"
    )


def cards(page: Page, opportunities: list[Card], stage: str) -> SafeString:
    """A column's cards (its "move to" form, the same for every card but the id, written
    once)."""
    form = move_form(page, _MARK, stage_options(stage)).split(_MARK)
    return SafeString("".join(card(page, o, form) for o in opportunities))
