"""The console's instance rows, written in Python (as the inbox's: ``inbox_rows``): a page
has 25 of them, each with two translated phrases, two dates, a link back and the steps with
their holders, and the template language spent half of the page's time on them (issue 16).
The markup is what ``workflow/partials/_console_rows.html`` wrote, escaped the same way:
the same msgids, the values in them escaped, the dates in local time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _


def _steps(item: Mapping[str, Any]) -> str:
    if not item["steps"]:
        return '<span class="muted">—</span>'
    return "".join(
        f"<div><strong>{escape(step.step)}</strong>"
        + (
            f' <span class="muted">{"、".join(escape(p) for p in step.people)}</span>'
            if step.people
            else ""
        )
        + "</div>"
        for step in item["steps"]
    )


def _row(item: Mapping[str, Any], words: Mapping[str, str], actions: str) -> str:
    i = item["instance"]
    status = item["status"]
    local = timezone.localtime(i.started_at)
    key = f" · {escape(i.business_key)}" if i.business_key else ""
    incidents = (
        f'<span class="tag danger">{i.open_incidents}</span>'
        if i.open_incidents
        else '<span class="muted">0</span>'
    )
    # as {% blocktranslate %}: the values escaped, the translation as it is
    select = _("Select #%(id)s") % {"id": i.pk}
    age = _("age %(age)s") % {"age": conditional_escape(item["age"])}
    return (
        f"\n<tr>\n"
        f'  <td class="pick"><input type="checkbox" name="ids" value="{i.pk}"'
        f' aria-label="{select}"></td>\n'
        f'  <td class="cardtitle"><a href="{escape(item["url"])}">#{i.pk} '
        f"{escape(item['title'] or item['process'])}</a>\n"
        f'    <div class="muted small">{escape(item["process"])} v{i.definition.version}{key}'
        f"</div></td>\n"
        f'  <td data-label="{words["state"]}"><span class="tag status status-'
        f'{escape(status.code)}">{escape(status.label)}</span></td>\n'
        f'  <td data-label="{words["steps"]}">{_steps(item)}</td>\n'
        f'  <td data-label="{words["initiator"]}">{escape(item["initiator"] or "—")}</td>\n'
        f'  <td data-label="{words["started"]}"><time datetime="{dateformat.format(local, "c")}">'
        f'{dateformat.format(local, "Y-m-d H:i")}</time><div class="muted small">{age}</div></td>\n'
        f'  <td data-label="{words["incidents"]}">{incidents}</td>\n'
        f'  <td class="cardaction"><a class="rowaction" href="{actions}?ids={i.pk}&amp;next='
        f'{words["back"]}">{words["actions"]}</a></td>\n'
        f"</tr>\n"
    )


def console_rows(items: Sequence[Mapping[str, Any]], *, back: str) -> SafeString:
    """The ``<tr>`` of each item (the page's table and the "load more" answer); ``back``:
    the page's own path and query, where an action returns."""
    words = {
        "state": escape(_("State")),
        "steps": escape(_("Current steps")),
        "initiator": escape(_("Initiator")),
        "started": escape(_("Started")),
        "incidents": escape(_("Incidents")),
        "actions": escape(_("Actions")),
        "back": escape(quote(back, safe="/")),
    }
    actions = reverse("workflow:console_actions")
    return SafeString("".join(_row(item, words, actions) for item in items))
