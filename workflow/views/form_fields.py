"""What the fields of a process's forms ask the server while someone fills them in
(docs/forms.md): the department picker's search, and the days a leave takes with the
person's balance. The person picker uses the task page's people search
(``workflow:people``). Each answers a signed-in person with a small partial.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.http import require_GET

from portal import calendar
from portal.http import signed_in
from portal.models import Department

DEPARTMENT_LIMIT = 20
MAX_QUERY_CHARS = 50


@login_required
@require_GET
def department_search(request: HttpRequest) -> HttpResponse:
    """Active departments whose name (Chinese or English) or code contains ``q``, at most
    20, each with its place in the tree."""
    query = request.GET.get("q", "").strip()[:MAX_QUERY_CHARS]
    found: list[Department] = []
    if query:
        found = list(
            Department.objects.filter(is_active=True)
            .filter(
                Q(name__icontains=query) | Q(name_en__icontains=query) | Q(code__icontains=query)
            )
            .order_by("path")[:DEPARTMENT_LIMIT]
        )
    rows = [(d, path_name) for d, path_name in zip(found, _full_names(found), strict=True)]
    return render(
        request, "workflow/partials/_department_results.html", {"rows": rows, "query": query}
    )


def _full_names(departments: list[Department]) -> list[str]:
    """Each department's names from the root down (销售部 / 华东大区), in one query: an
    ancestor's materialized path is a prefix of the department's."""
    step = Department.steplen
    prefixes = {d.path[:end] for d in departments for end in range(step, len(d.path), step)}
    names = {
        a.path: str(a) for a in Department.objects.filter(path__in=prefixes).only("path", "name")
    }
    return [
        " / ".join(
            [
                *(
                    names[d.path[:end]]
                    for end in range(step, len(d.path), step)
                    if d.path[:end] in names
                ),
                str(d),
            ]
        )
        for d in departments
    ]


def _date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        return None


@login_required
@require_GET
def leave_days(request: HttpRequest) -> HttpResponse:
    """The days from ``start`` (``start_half`` am/pm) to ``end`` (``end_half``) as
    :func:`portal.calendar.leave_days` counts them, and the signed-in person's balance of
    ``leave_type`` where the HR data has one; what is wrong, when something is."""
    user = signed_in(request)
    start, end = _date(request.GET.get("start", "")), _date(request.GET.get("end", ""))
    kind = request.GET.get("leave_type", "").strip()[:40]
    label = request.GET.get("leave_label", "").strip()[:40] or kind
    context: dict[str, Any] = {"days": None, "error": "", "balance": None, "label": label}
    if kind:
        context["balance"] = calendar.leave_balance(user, kind)
    if start is not None and end is not None:
        try:
            days = calendar.leave_days(
                start,
                request.GET.get("start_half", "") or calendar.AM,
                end,
                request.GET.get("end_half", "") or calendar.PM,
            )
        except ValidationError as error:
            context["error"] = " ".join(error.messages)
        else:
            context["days"] = days
            balance: Decimal | None = context["balance"]
            context["over"] = balance is not None and days > balance
    return render(request, "workflow/partials/_leave_days.html", context)


urlpatterns: list[URLPattern | URLResolver] = [
    path("forms/departments/", department_search, name="form_departments"),
    path("forms/leave-days/", leave_days, name="form_leave_days"),
]
