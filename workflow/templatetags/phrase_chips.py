"""``{% phrase_chips %}``: the 常用语 (saved phrases) under an opinion box, one tap inserting a
phrase (``static/workflow/opinion.js``). A task page has an opinion box in each of its
action dialogs, each with the same chips: the phrases are escaped and the "manage" link
made once per page (kept on the request), and each box only names its own id —
written here rather than by an included template, which cost 1-2 ms a box."""

from __future__ import annotations

from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

register = template.Library()


def _parts(context: template.Context) -> tuple[list[str], str]:
    """The page's escaped phrases and the group's end (its "manage" link back to the page),
    made once per request (kept on it: every included template has a render context of
    its own)."""
    request = context.get("request")
    back = context.get("page_url") or (request.get_full_path() if request else "")
    made: tuple[str, list[str], str] | None = getattr(request, "_phrase_chips", None)
    if made is None or made[0] != back:
        url = f"{reverse('workflow:phrases')}?next={quote(back, safe='/')}"
        manage = (
            f'  <a class="manage" href="{escape(url)}">{escape(_("Manage saved phrases"))}</a>\n'
            "</div>"
        )
        made = (back, [str(escape(p)) for p in context.get("phrases") or []], manage)
        if request is not None:
            request._phrase_chips = made
    return made[1], made[2]


@register.simple_tag(takes_context=True)
def phrase_chips(context: template.Context, field_id: str) -> SafeString:
    """The chips for the opinion box ``field_id``."""
    phrases, manage = _parts(context)
    box = escape(field_id)
    chips = "".join(
        f'<button type="button" class="chip" title="{p}" data-phrase="{p}" data-for="{box}">'
        f"{p}</button>"
        for p in phrases
    )
    return SafeString(
        f'<div class="phrases" role="group" aria-label="{escape(_("Saved phrases"))}">\n'
        f"  {chips}\n{manage}"
    )
