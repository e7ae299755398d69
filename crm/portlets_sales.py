"""The sales boxes on the portal's 工作台 (registered in ``CrmConfig.ready``): my open
follow-ups, the soonest due first, and my pipeline by stage. One or two bounded queries each."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from crm.selectors import sales as selectors
from portal.http import signed_in


def followups_context(request: HttpRequest) -> dict[str, Any]:
    return {"followups": selectors.my_followups(signed_in(request)), "now": timezone.now()}


def pipeline_context(request: HttpRequest) -> dict[str, Any]:
    return {"pipeline": selectors.my_pipeline(signed_in(request))}
