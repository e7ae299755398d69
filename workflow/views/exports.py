"""导出 Excel: every inbox tab, the drafts and the console's lists as an .xlsx download, with
the filters the page shows and the page's permission (the inbox: one's own lists; the
console: process administrators, anyone else a 403).

The rows come from ``workflow.selectors.exports`` (names, states in words, at most
``EXPORT_CAP`` rows); this module writes them with openpyxl in write-only mode: the header
bold and frozen, dates in local time, money as numbers shown with two decimals, and text
that a spreadsheet would take for a formula (``=``, ``+``, ``-``, ``@`` first) kept as text.
"""

from __future__ import annotations

import datetime
import io
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from portal.http import signed_in
from workflow.selectors import exports
from workflow.views.console import IncidentFilterForm, InstanceFilterForm, admin_required
from workflow.views.inbox import parse_query

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MONEY_FORMAT = "#,##0.00"
SHEET_TITLE_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def _cell(sheet: WriteOnlyWorksheet, value: Any, kind: str) -> WriteOnlyCell:
    if isinstance(value, datetime.datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        cell = WriteOnlyCell(sheet, value=local.replace(tzinfo=None))
        cell.number_format = DATETIME_FORMAT
        return cell
    if value is None:
        return WriteOnlyCell(sheet, value=None)
    if kind in ("money", "number") and not isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=value)
        if kind == "money":
            cell.number_format = MONEY_FORMAT
        return cell
    text = str(value)
    cell = WriteOnlyCell(sheet, value=text)
    if text.startswith(FORMULA_STARTS):
        # text, never a formula: stored as a string and marked so Excel keeps it one
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def workbook_bytes(sheet: exports.Sheet) -> bytes:
    """The sheet as an .xlsx file."""
    book = Workbook(write_only=True)
    title = sheet.name.translate(SHEET_TITLE_FORBIDDEN)[:31] or "Sheet"
    out: WriteOnlyWorksheet = book.create_sheet(title=title)
    out.freeze_panes = "A2"
    for index, column in enumerate(sheet.columns, start=1):
        out.column_dimensions[get_column_letter(index)].width = column.width
    bold = Font(bold=True)
    header = []
    for column in sheet.columns:
        cell = _cell(out, column.header, "text")
        cell.font = bold
        header.append(cell)
    out.append(header)
    kinds = [column.kind for column in sheet.columns]
    for row in sheet.rows:
        out.append([_cell(out, value, kind) for value, kind in zip(row, kinds, strict=False)])
    if sheet.capped:
        note = _("Only the first %(count)s rows were exported; narrow the filters for the rest.")
        out.append([_cell(out, note % {"count": f"{exports.EXPORT_CAP:,}"}, "text")])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsx_response(sheet: exports.Sheet) -> HttpResponse:
    """The download: ``待办_2026-12-06.xlsx`` (the name as RFC 5987 UTF-8)."""
    response = HttpResponse(workbook_bytes(sheet), content_type=XLSX)
    filename = f"{sheet.name}_{timezone.localdate().isoformat()}.xlsx"
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=filename
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


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
    return xlsx_response(sheet)


@login_required
@require_GET
def drafts_export(request: HttpRequest) -> HttpResponse:
    """草稿箱: one's own drafts."""
    return xlsx_response(exports.drafts_sheet(signed_in(request)))


@admin_required
@require_GET
def console_export(request: HttpRequest) -> HttpResponse:
    """The console's instance list with its filters (a filter in error filters nothing, as
    on the page)."""
    form = InstanceFilterForm(request.GET)
    form.is_valid()
    return xlsx_response(exports.console_instances_sheet(form.filters()))


@admin_required
@require_GET
def console_incidents_export(request: HttpRequest) -> HttpResponse:
    """The console's incidents, open or resolved, with the process filter."""
    form = IncidentFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    sheet = exports.console_incidents_sheet(
        resolved=data.get("status") == "resolved", key=data.get("key") or ""
    )
    return xlsx_response(sheet)


@admin_required
@require_GET
def console_jobs_export(request: HttpRequest) -> HttpResponse:
    """The job queue, job by job."""
    return xlsx_response(exports.console_jobs_sheet())


urlpatterns: list[URLPattern | URLResolver] = [
    path("inbox/export/", inbox_export, name="inbox_export"),
    path("drafts/export/", drafts_export, name="drafts_export"),
    path("console/export/", console_export, name="console_export"),
    path("console/incidents/export/", console_incidents_export, name="console_incidents_export"),
    path("console/jobs/export/", console_jobs_export, name="console_jobs_export"),
]
