"""``{% process_icon process %}``: a process's icon tile (workflow/icons.py)."""

from __future__ import annotations

from typing import Any

from django import template

from workflow.icons import process_icon as icon_for

register = template.Library()


@register.inclusion_tag("workflow/partials/_process_icon.html")
def process_icon(process: Any) -> dict[str, Any]:
    """The tile of ``process`` (anything with ``icon``, ``name`` and ``category``)."""
    return {
        "icon": icon_for(
            icon=getattr(process, "icon", "") or "",
            name=str(process.name),
            category=str(getattr(process, "category", "") or ""),
        )
    }
