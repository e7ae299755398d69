"""The inbox's rows, written in Python: a page has 25 of them, each with a dozen conditions,
half a dozen translated phrases and three dates, and the template language spent more time
on them than the rest of the page (``bench/RESULTS.md``). The markup is what
``workflow/partials/_inbox_rows.html`` wrote, escaped the same way: the phrases are the
same msgids, the values in them escaped, the dates in local time in the language's
formats."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from workflow.views.inbox import Row


@dataclass(frozen=True)
class _Words:
    """The fixed phrases of a page, translated once."""

    opens_elsewhere: str
    urgent: str
    overdue: str
    added_signer: str
    unread: str
    now_at: str
    handled: str
    started: str
    copied: str
    received: str
    due: str
    long_date: str  # the language's DATETIME_FORMAT
    short_date: str  # its SHORT_DATETIME_FORMAT

    @classmethod
    def now(cls) -> _Words:
        return cls(
            opens_elsewhere=escape(_("(opens the other system)")),
            urgent=escape(_("Urgent")),
            overdue=escape(_("Overdue")),
            added_signer=escape(_("Added signer")),
            unread=escape(_("Unread")),
            now_at=escape(_("Now at:")),
            handled=escape(_("Handled")),
            started=escape(_("Started")),
            copied=escape(_("Copied")),
            received=escape(_("Received")),
            due=escape(_("Due")),
            long_date=get_format("DATETIME_FORMAT"),
            short_date=get_format("SHORT_DATETIME_FORMAT"),
        )


def _phrase(text: str, **values: str) -> str:
    """A translated phrase with its values escaped (as ``{% blocktranslate %}``)."""
    return text % {name: conditional_escape(value) for name, value in values.items()}


def _time(moment: datetime.datetime, words: _Words, *, title: bool = False) -> tuple[str, str]:
    """A ``<time>``'s attributes and text: ISO 8601 (the date filter's "c") and the
    language's short format, in local time; ``title``: the long format as its title."""
    local = timezone.localtime(moment)
    long = f' title="{escape(dateformat.format(local, words.long_date))}"' if title else ""
    short = escape(dateformat.format(local, words.short_date))
    return f'datetime="{local.isoformat()}"{long}>', short


def _tag(css: str, text: str) -> str:
    return f'<span class="tag{css}">{text}</span>'


def _pick(row: Row) -> str:
    """A task of mine gets a place for the bulk approval's box (the box when approvable)."""
    if row.kind != "task":
        return ""
    box = ""
    if row.approvable:
        label = _phrase(_("Select %(title)s"), title=row.title)
        box = (
            f'<input type="checkbox" name="task" value="{row.obj.pk}" form="bulk-form"'
            f' aria-label="{label}">'
        )
    return f'<span class="pick">{box}</span>'


def _marks(row: Row, words: _Words) -> list[str]:
    marks = []
    if row.urgent:
        marks.append(_tag(" urgent", words.urgent))
    if row.overdue:
        marks.append(_tag(" overdue", words.overdue))
    if row.on_behalf_of:
        marks.append(_tag("", _phrase(_("On behalf of %(name)s"), name=row.on_behalf_of)))
    if row.delegated_by:
        marks.append(_tag("", _phrase(_("Delegated by %(name)s"), name=row.delegated_by)))
    if row.signer:
        marks.append(_tag("", f"{words.added_signer} · {escape(row.signer)}"))
    if row.kind == "done" and row.outcome:
        marks.append(_tag(f" outcome outcome-{escape(row.outcome_key)}", escape(row.outcome)))
    if row.state:
        marks.append(_tag(f" status status-{escape(row.state_key)}", escape(row.state)))
    if row.unread:
        marks.append(_tag(" unread", words.unread))
    return marks


def _summary(text: str) -> str:
    return f'<span class="summary">{escape(Truncator(text).chars(120))}</span>'


def _meta(row: Row, words: _Words) -> list[str]:
    kind = row.kind
    meta = []
    if row.step:
        step = escape(row.step) if row.external else _phrase(_("Step: %(step)s"), step=row.step)
        meta.append(f'<span class="step">{step}</span>')
    if row.initiator and kind != "instance":
        meta.append(f"<span>{_phrase(_('Initiator: %(name)s'), name=row.initiator)}</span>")
    if row.sent_by:
        meta.append(f"<span>{_phrase(_('Copied by %(name)s'), name=row.sent_by)}</span>")
    if kind in ("instance", "copy") and row.steps:
        holders = ", ".join(
            escape(h.step) + (f" ({'、'.join(escape(p) for p in h.people)})" if h.people else "")
            for h in row.steps
        )
        meta.append(f'<span class="now">{words.now_at} {holders}</span>')
    if kind == "external" and row.obj.summary:
        meta.append(_summary(row.obj.summary))
    if kind == "copy" and row.obj.comment:
        meta.append(_summary(row.obj.comment))
    return meta


def _side(row: Row, words: _Words) -> list[str]:
    side = []
    if row.at:
        said = {
            "done": words.handled,
            "instance": words.started,
            "copy": words.copied,
        }.get(row.kind, words.received)
        attributes, text = _time(row.at, words, title=True)
        side.append(f"<time {attributes}{said} {text}</time>")
    if row.due_at and row.kind != "done":
        late = " late" if row.overdue else ""
        attributes, text = _time(row.due_at, words)
        side.append(f'<span class="due{late}">{words.due} <time {attributes}{text}</time></span>')
    return side


def _row(row: Row, words: _Words) -> str:
    external = row.external
    classes = f"inbox-row kind-{escape(row.kind)}"
    classes += " unread" if row.unread else ""
    classes += " approvable" if row.approvable else ""
    process = _phrase(_("From %(source)s"), source=row.process) if external else escape(row.process)
    target = ' target="_blank" rel="noopener noreferrer"' if external else ""
    away = (
        f' <span aria-hidden="true">↗</span><span class="sr">{words.opens_elsewhere}</span>'
        if external
        else ""
    )
    external_tag = " external" if external else ""
    marks = "\n      ".join(_marks(row, words))
    meta = "\n      ".join(_meta(row, words))
    side = "\n    ".join(_side(row, words))
    return (
        f'\n<li class="{classes}" data-testid="row">\n  {_pick(row)}\n  <div class="body">\n'
        f'    <div class="head">\n'
        f'      <span class="tag process{external_tag}">{process}</span>\n'
        f'      <a class="title" href="{escape(row.url)}"{target}>{escape(row.title)}'
        f"{away}</a>\n    </div>\n"
        f'    <div class="marks">\n      {marks}\n    </div>\n'
        f'    <div class="meta muted">\n      {meta}\n    </div>\n'
        f'  </div>\n  <div class="side">\n    {side}\n  </div>\n</li>\n'
    )


def inbox_rows(rows: list[Row]) -> SafeString:
    """The ``<li>`` of each row (the page's list and the "load more" answer)."""
    words = _Words.now()
    return SafeString("".join(_row(row, words) for row in rows))
