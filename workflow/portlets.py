"""The workflow's boxes on the portal's 工作台 (registered in ``WorkflowConfig.ready``): my
to-dos with the inbox's counts, my requests with their status, copies to read, and quick
starts for the processes I start most. Each builds its context from
``workflow.selectors.home`` in a few bounded queries."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from portal.context_processors import set_nav_badge
from portal.http import signed_in
from workflow.selectors import home
from workflow.views.inbox import badge_html


def todo_context(request: HttpRequest) -> dict[str, Any]:
    summary = home.todo_summary(signed_in(request), now=timezone.now())
    # the same count as the navigation's inbox entry: shown there without a request of its own
    set_nav_badge(request, "inbox", badge_html(request, summary.todo))
    return {"todo": summary}


def requests_context(request: HttpRequest) -> dict[str, Any]:
    return {"requests": home.my_requests(signed_in(request))}


def copies_context(request: HttpRequest) -> dict[str, Any]:
    return {"copies": home.unread_copies(signed_in(request))}


def quick_start_context(request: HttpRequest) -> dict[str, Any]:
    processes, personal = home.quick_starts(signed_in(request))
    return {"processes": processes, "personal": personal}
