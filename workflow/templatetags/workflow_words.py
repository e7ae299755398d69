"""Template filters that put the engine's texts into words (``{% load workflow_words %}``)."""

from __future__ import annotations

from django import template

from workflow.selectors.status import IncidentText, incident_text

register = template.Library()


@register.filter
def incident_words(message: str) -> IncidentText:
    """``{% with text=message|incident_words %}{{ text.words }} … {{ text.detail }}``."""
    return incident_text(message)


@register.filter
def incident_summary(message: str) -> str:
    """``{{ message|incident_summary }}``: only the words (the console shows the detail)."""
    return incident_text(message).words
