"""Lists as spreadsheets: every app's "export" (导出) writes a :class:`Sheet` of typed cells
with :func:`sheet_response`, as Excel (``.xlsx``, the default) or CSV (``?format=csv``).

An app's selector builds the sheet (its columns with their kinds, its rows in the page's
order, only what the person may see, at most :data:`EXPORT_CAP` rows: :func:`take`); this
module writes it: the header bold and frozen, dates in local time, money as numbers shown
with two decimals, and text that a spreadsheet would take for a formula (``=``, ``+``,
``-``, ``@`` first) kept as text. CSV is UTF-8 with a byte-order mark, so that Excel opens
Chinese as Chinese.
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

__all__ = ["EXPORT_CAP", "CellKind", "Column", "Sheet", "sheet_response", "take"]

EXPORT_CAP = 10_000
"""Rows in one export at most; a longer list is cut there and says so."""

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
SHEET_TITLE_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})

CellKind = Literal["text", "number", "money", "percent", "datetime", "date", "bool"]


@dataclass(frozen=True)
class Column:
    """A column: its header and how its cells are typed (``money``: a number shown with two
    decimals; ``percent``: a fraction shown as a percentage; ``datetime``: local time)."""

    header: str
    kind: CellKind = "text"
    width: int = 14


@dataclass
class Sheet:
    """An export: ``name`` (the list's name, also the file's), its columns and rows, and
    ``capped`` when the list had more than :data:`EXPORT_CAP` rows."""

    name: str
    columns: list[Column]
    rows: list[Sequence[Any]] = field(default_factory=list)
    capped: bool = False


def take(rows: Iterable[Sequence[Any]], cap: int = EXPORT_CAP) -> tuple[list[Sequence[Any]], bool]:
    """At most ``cap`` rows of ``rows`` (read lazily), and whether there were more."""
    taken = list(itertools.islice(rows, cap + 1))
    return taken[:cap], len(taken) > cap


def _local(value: datetime.datetime) -> datetime.datetime:
    return (timezone.localtime(value) if timezone.is_aware(value) else value).replace(tzinfo=None)


def _cap_note(sheet: Sheet) -> str:
    return _("Only the first %(count)s rows were exported; narrow the filters for the rest.") % {
        "count": f"{len(sheet.rows):,}"
    }


# --- Excel ---------------------------------------------------------------------------------------


def _cell(sheet: WriteOnlyWorksheet, value: Any, kind: CellKind) -> WriteOnlyCell:
    if isinstance(value, datetime.datetime):
        cell = WriteOnlyCell(sheet, value=_local(value))
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, datetime.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    if value is None or isinstance(value, bool):
        return WriteOnlyCell(sheet, value=value)
    if kind in ("money", "number", "percent") and not isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=value)
        if kind == "money":
            cell.number_format = MONEY_FORMAT
        elif kind == "percent":
            cell.number_format = PERCENT_FORMAT
        return cell
    text = str(value)
    cell = WriteOnlyCell(sheet, value=text)
    if text.startswith(FORMULA_STARTS):
        # text, never a formula: stored as a string and marked so Excel keeps it one
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def workbook_bytes(sheet: Sheet) -> bytes:
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
        out.append([_cell(out, _cap_note(sheet), "text")])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- CSV -----------------------------------------------------------------------------------------


def _text(value: Any, kind: CellKind) -> Any:
    if isinstance(value, datetime.datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if value is None:
        return ""
    if kind == "percent" and not isinstance(value, str):
        return f"{float(value) * 100:.1f}%"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value  # a spreadsheet would run it as a formula
    return value


def csv_text(sheet: Sheet) -> str:
    """The sheet as CSV text with a byte-order mark."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([column.header for column in sheet.columns])
    kinds = [column.kind for column in sheet.columns]
    for row in sheet.rows:
        writer.writerow([_text(value, kind) for value, kind in zip(row, kinds, strict=False)])
    if sheet.capped:
        writer.writerow([_cap_note(sheet)])
    return buffer.getvalue()


# --- the download --------------------------------------------------------------------------------


def sheet_response(sheet: Sheet, request: HttpRequest | None = None) -> HttpResponse:
    """The download ``<name>_<date>.xlsx``, or ``.csv`` when the request asks
    ``?format=csv`` (the file name as RFC 5987 UTF-8)."""
    as_csv = request is not None and request.GET.get("format") == "csv"
    if as_csv:
        response = HttpResponse(csv_text(sheet), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(workbook_bytes(sheet), content_type=XLSX)
    filename = f"{sheet.name}_{timezone.localdate().isoformat()}.{'csv' if as_csv else 'xlsx'}"
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=filename
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
