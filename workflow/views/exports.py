"""导出 Excel: every inbox tab, the drafts and the console's lists as an .xlsx download
(``?format=csv``: CSV), with the filters the page shows and the page's permission (the
inbox: one's own lists; the console: process administrators, anyone else a 403).

The rows come from ``workflow.selectors.exports`` (names, states in words, at most
``EXPORT_CAP`` rows); ``portal.exports`` writes them.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.http import require_GET

from portal.exports import sheet_response
from portal.http import signed_in
from workflow.selectors import exports
from workflow.views.console import IncidentFilterForm, InstanceFilterForm, admin_required
from workflow.views.inbox import parse_query


@login_required
@require_GET
def inbox_export(request: HttpRequest) -> HttpResponse:
    """The inbox tab of the query string (the page's filters and sort), as the person's own
    list: nobody exports another person's inbox."""
    query = parse_query(request.GET)
    sheet = exports.inbox_sheet(
        signed_in(request),
        query.tab,  # type: ignore[arg-type]
        query.filter,
        sort=query.sort,  # type: ignore[arg-type]
    )
    return sheet_response(sheet, request)


@login_required
@require_GET
def drafts_export(request: HttpRequest) -> HttpResponse:
    """草稿箱: one's own drafts."""
    return sheet_response(exports.drafts_sheet(signed_in(request)), request)


@admin_required
@require_GET
def console_export(request: HttpRequest) -> HttpResponse:
    """The console's instance list with its filters (a filter in error filters nothing, as
    on the page)."""
    form = InstanceFilterForm(request.GET)
    form.is_valid()
    return sheet_response(exports.console_instances_sheet(form.filters()), request)


@admin_required
@require_GET
def console_incidents_export(request: HttpRequest) -> HttpResponse:
    """The console's incidents, open or resolved, with the process filter."""
    form = IncidentFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    sheet = exports.console_incidents_sheet(
        resolved=data.get("status") == "resolved", key=data.get("key") or ""
    )
    return sheet_response(sheet, request)


@admin_required
@require_GET
def console_jobs_export(request: HttpRequest) -> HttpResponse:
    """The job queue, job by job."""
    return sheet_response(exports.console_jobs_sheet(), request)


urlpatterns: list[URLPattern | URLResolver] = [
    path("inbox/export/", inbox_export, name="inbox_export"),
    path("drafts/export/", drafts_export, name="drafts_export"),
    path("console/export/", console_export, name="console_export"),
    path("console/incidents/export/", console_incidents_export, name="console_incidents_export"),
    path("console/jobs/export/", console_jobs_export, name="console_jobs_export"),
]
