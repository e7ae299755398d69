"""Previews of attachments on the task and instance pages.

What a browser shows by itself (images, PDF) is served inline from the portal's own URL;
Word ``.docx`` and Excel ``.xlsx`` files are turned into HTML here (mammoth, openpyxl) and
that HTML is sanitized (nh3) before it reaches a page: no script, no event handler, no
style, no image or link to anything outside — a file uploaded by one person must not run
code in another person's browser. Plain text and CSV are shown as text.

Limits keep a preview cheap: files above :data:`MAX_PREVIEW_BYTES` (or archives that unpack
to more than :data:`MAX_UNPACKED_BYTES`, a zip bomb) are not converted; a spreadsheet shows
at most :data:`MAX_SHEETS` sheets of :data:`MAX_ROWS` rows and :data:`MAX_COLUMNS` columns.
A file that cannot be read raises :class:`PreviewError` with a message for the user.
"""

from __future__ import annotations

import datetime
import zipfile
from dataclasses import dataclass
from typing import IO, Any

import nh3
from django.utils.html import escape
from django.utils.translation import gettext as _

from workflow.models import Attachment

MAX_PREVIEW_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 40 * 1024 * 1024
MAX_TEXT_BYTES = 100 * 1024
MAX_SHEETS = 5
MAX_ROWS = 200
MAX_COLUMNS = 30

INLINE_TYPES = {
    "image/png": "image",
    "image/jpeg": "image",
    "image/gif": "image",
    "image/webp": "image",
    "application/pdf": "pdf",
}
CONVERTED_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/plain": "text",
    "text/csv": "text",
}

# What converted documents may contain: structure and emphasis, nothing that loads or runs.
ALLOWED_TAGS = {
    "p",
    "br",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "sub",
    "sup",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "caption",
    "blockquote",
    "pre",
    "code",
    "span",
    "section",
    "div",
}
ALLOWED_ATTRIBUTES = {"td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


class PreviewError(Exception):
    """The file cannot be previewed; the message says why, for the person who asked."""


@dataclass(frozen=True)
class Preview:
    """What to show: ``kind`` is image | pdf | html | text; ``html`` holds sanitized markup
    (kind html), ``text`` plain text (kind text); ``truncated`` says a limit cut it."""

    kind: str
    html: str = ""
    text: str = ""
    truncated: bool = False


def preview_kind(attachment: Attachment) -> str | None:
    """How ``attachment`` can be previewed: image, pdf, docx, xlsx, text, or None."""
    return INLINE_TYPES.get(attachment.content_type) or CONVERTED_TYPES.get(attachment.content_type)


def is_inline(attachment: Attachment) -> bool:
    """Whether the browser may show the file itself (images and PDF)."""
    return attachment.content_type in INLINE_TYPES


def sanitize(html: str) -> str:
    """Markup safe to put into a page: only :data:`ALLOWED_TAGS`, no attributes but cell
    spans, no script or style content, no URL."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(),
        link_rel=None,
        strip_comments=True,
    )


def _check_archive(handle: IO[bytes]) -> None:
    try:
        with zipfile.ZipFile(handle) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise PreviewError(_("This file is damaged and cannot be previewed.")) from error
    finally:
        handle.seek(0)
    if unpacked > MAX_UNPACKED_BYTES:
        raise PreviewError(_("This file is too large to preview; download it instead."))


def docx_html(handle: IO[bytes]) -> str:
    """A Word document as sanitized HTML (pictures left out)."""
    import mammoth

    _check_archive(handle)
    try:
        result = mammoth.convert_to_html(
            handle, convert_image=mammoth.images.img_element(lambda image: {})
        )
    except Exception as error:  # mammoth raises whatever a broken file makes it meet
        raise PreviewError(_("This file is damaged and cannot be previewed.")) from error
    return sanitize(result.value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if value.time() else value.strftime("%Y-%m-%d")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def xlsx_html(handle: IO[bytes]) -> tuple[str, bool]:
    """An Excel workbook as sanitized HTML tables (cell values, not formulas); True when a
    limit cut something off."""
    import openpyxl

    _check_archive(handle)
    try:
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds of errors on a broken file
        raise PreviewError(_("This file is damaged and cannot be previewed.")) from error
    parts: list[str] = []
    truncated = False
    try:
        sheets = workbook.worksheets
        truncated = len(sheets) > MAX_SHEETS
        for sheet in sheets[:MAX_SHEETS]:
            parts.append(f"<section><h3>{escape(sheet.title)}</h3><table><tbody>")
            for number, row in enumerate(sheet.iter_rows(values_only=True)):
                if number >= MAX_ROWS:
                    truncated = True
                    break
                if len(row) > MAX_COLUMNS:
                    truncated = True
                cells = "".join(f"<td>{escape(_cell(v))}</td>" for v in row[:MAX_COLUMNS])
                parts.append(f"<tr>{cells}</tr>")
            parts.append("</tbody></table></section>")
    except Exception as error:
        raise PreviewError(_("This file is damaged and cannot be previewed.")) from error
    finally:
        workbook.close()
    return sanitize("".join(parts)), truncated


def _text(handle: IO[bytes]) -> tuple[str, bool]:
    data = handle.read(MAX_TEXT_BYTES + 1)
    truncated = len(data) > MAX_TEXT_BYTES
    data = data[:MAX_TEXT_BYTES]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), truncated
        except UnicodeDecodeError:
            continue
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), truncated
    return data.decode("utf-8", errors="replace"), truncated


def preview(attachment: Attachment) -> Preview:
    """The preview of ``attachment``; :class:`PreviewError` when there can be none."""
    kind = preview_kind(attachment)
    if kind is None:
        raise PreviewError(_("There is no preview for this type of file; download it instead."))
    if kind in ("image", "pdf"):
        return Preview(kind)
    if attachment.size > MAX_PREVIEW_BYTES:
        raise PreviewError(_("This file is too large to preview; download it instead."))
    try:
        handle = attachment.file.open("rb")
    except (OSError, ValueError) as error:
        raise PreviewError(_("The file is missing; ask the person who attached it.")) from error
    with handle:
        if kind == "docx":
            return Preview("html", html=docx_html(handle))
        if kind == "xlsx":
            html, truncated = xlsx_html(handle)
            return Preview("html", html=html, truncated=truncated)
        text, truncated = _text(handle)
        return Preview("text", text=text, truncated=truncated)
