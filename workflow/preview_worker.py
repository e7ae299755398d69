"""The conversion behind :mod:`workflow.previews`, run in a process of its own.

An uploaded Word or Excel file is hostile input: a few kilobytes of XML can declare nested
entities that expand to gigabytes (the "billion laughs"), or simply hold enough small
paragraphs to keep mammoth busy for minutes. So the web process never parses one. It starts
this module as a separate Python (``python -I workflow/preview_worker.py KIND LIMITS``), writes
the file to its stdin and reads the answer from its stdout; the child first lowers its own
CPU-time and address-space limits (``resource.setrlimit``) so the kernel stops it past them,
and the parent kills it past a wall-clock time-out.

The child imports no Django and opens no database connection or file: it needs only mammoth,
openpyxl, nh3 and defusedxml. It is started by path with ``-I`` (isolated mode) so that neither
the environment nor the ``workflow`` folder (whose ``selectors.py`` would shadow the standard
library's) is on its import path.

In the child, before mammoth or openpyxl sees the file, :func:`check_package` refuses a package
whose parts unpack to more than the limit, and one in which any part declares a DTD or an
entity (Word, Excel and WPS never write either). Every part is parsed, whatever its name, with
expat (the parser mammoth and openpyxl themselves read with), so an encoding trick that hides
a declaration from the check hides it from the converter too.

Answer on stdout: one line of JSON (``{"ok": true, "truncated": false, "bytes": 1234}`` or
``{"ok": false, "error": "<kind>", "detail": "..."}``), then that many bytes of UTF-8 HTML,
already sanitized by :func:`sanitize` and cut to ``max_html_bytes``.
"""

from __future__ import annotations

import datetime
import io
import json
import resource
import sys
import zipfile
import zlib
from dataclasses import asdict, dataclass
from html import escape
from typing import Any, Literal
from xml.sax import SAXException
from xml.sax.handler import ContentHandler

import defusedxml.sax
import nh3
from defusedxml import DefusedXmlException

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_TAGS",
    "ConversionRefused",
    "ErrorKind",
    "Limits",
    "cap_html",
    "check_package",
    "convert",
    "main",
    "sanitize",
]

ErrorKind = Literal["damaged", "too_large", "entities", "too_complex"]
KINDS = ("docx", "xlsx")

# Parts an Office package always writes as XML: one that expat cannot read is refused even
# though it declares nothing (another parser might read it where expat gives up).
XML_PART_SUFFIXES = (".xml", ".rels")
MAX_DETAIL_CHARS = 300

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


@dataclass(frozen=True)
class Limits:
    """What one conversion may use and produce; the parent sends them as JSON."""

    cpu_seconds: int
    memory_bytes: int
    max_unpacked_bytes: int
    max_html_bytes: int
    max_sheets: int
    max_rows: int
    max_columns: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Limits:
        return cls(**{key: int(value) for key, value in json.loads(text).items()})


class ConversionRefused(Exception):
    """The file is not converted; ``kind`` says why (the parent words it for the user)."""

    def __init__(self, kind: ErrorKind, detail: str = "") -> None:
        super().__init__(kind, detail)
        self.kind: ErrorKind = kind
        self.detail = detail


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


def cap_html(html: str, max_bytes: int) -> tuple[str, bool]:
    """``html`` cut to at most ``max_bytes`` of UTF-8, and whether it was cut. The cut falls
    before a tag it would split and the rest is sanitized again, which closes the elements
    left open; when closing them overshoots, it cuts earlier."""
    encoded = html.encode()
    if len(encoded) <= max_bytes:
        return html, False
    budget = max_bytes
    while True:
        head = encoded[:budget].decode(errors="ignore")
        if head.rfind("<") > head.rfind(">"):
            head = head[: head.rfind("<")]
        piece = sanitize(head)
        size = len(piece.encode())
        if size <= max_bytes:
            return piece, True
        budget -= size - max_bytes


def _unreadable(error: BaseException) -> ConversionRefused:
    return ConversionRefused("damaged", repr(error)[:MAX_DETAIL_CHARS])


def check_package(data: bytes, limits: Limits) -> None:
    """Refuse (:class:`ConversionRefused`) a package that is not a readable zip
    (``damaged``), unpacks to more than ``max_unpacked_bytes`` (``too_large``: a zip bomb),
    or has a part that declares a DTD or an entity, internal or external (``entities``).

    Every member is parsed, under every name and as often as the archive holds it (a
    duplicate name hides all but the last from ``ZipFile.read``), by expat with defusedxml's
    handlers, which raise at the declaration itself, before any expansion. Expat reads UTF-8
    and UTF-16 with or without a byte-order mark and the encodings Python has single-byte
    codecs for; a part it cannot read at all is not XML to mammoth's minidom or openpyxl's
    defusedxml parser either, but an ``.xml`` or ``.rels`` part that expat cannot read is
    refused as damaged all the same (``XML_PART_SUFFIXES``)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise _unreadable(error) from error
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if sum(info.file_size for info in members) > limits.max_unpacked_bytes:
            raise ConversionRefused("too_large")
        for info in members:
            try:
                with archive.open(info) as stream:
                    defusedxml.sax.parse(
                        stream,
                        ContentHandler(),
                        forbid_dtd=True,
                        forbid_entities=True,
                        forbid_external=True,
                    )
            except DefusedXmlException as error:
                raise ConversionRefused("entities", f"{info.filename}: {error!r}") from error
            except SAXException as error:
                if info.filename.lower().endswith(XML_PART_SUFFIXES):
                    raise _unreadable(error) from error
            except (
                zipfile.BadZipFile,
                OSError,
                ValueError,
                EOFError,
                RuntimeError,  # an encrypted member
                NotImplementedError,  # a compression method zipfile does not have
                zlib.error,
            ) as error:
                raise _unreadable(error) from error


def _docx_html(data: bytes) -> str:
    # Imported here, not at the top: the web process imports this module for sanitize() and
    # Limits and should not load the converters it never runs.
    import mammoth

    result = mammoth.convert_to_html(
        io.BytesIO(data), convert_image=mammoth.images.img_element(lambda image: {})
    )
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


def _xlsx_html(data: bytes, limits: Limits) -> tuple[str, bool]:
    import openpyxl  # see _docx_html

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    parts: list[str] = []
    try:
        sheets = workbook.worksheets
        truncated = len(sheets) > limits.max_sheets
        for sheet in sheets[: limits.max_sheets]:
            parts.append(f"<section><h3>{escape(sheet.title)}</h3><table><tbody>")
            for number, row in enumerate(sheet.iter_rows(values_only=True)):
                if number >= limits.max_rows:
                    truncated = True
                    break
                if len(row) > limits.max_columns:
                    truncated = True
                cells = "".join(
                    f"<td>{escape(_cell(value))}</td>" for value in row[: limits.max_columns]
                )
                parts.append(f"<tr>{cells}</tr>")
            parts.append("</tbody></table></section>")
    finally:
        workbook.close()
    return sanitize("".join(parts)), truncated


def convert(kind: str, data: bytes, limits: Limits) -> tuple[str, bool]:
    """``data`` (a .docx or .xlsx, per ``kind``) as sanitized HTML of at most
    ``max_html_bytes``, and whether a limit cut something off; :class:`ConversionRefused`
    when it is not converted. Runs in the worker process, under its limits."""
    if kind not in KINDS:
        raise ConversionRefused("damaged", f"unknown kind {kind!r}")
    check_package(data, limits)
    try:
        if kind == "docx":
            html, truncated = _docx_html(data), False
        else:
            html, truncated = _xlsx_html(data, limits)
    except MemoryError:
        raise
    except Exception as error:  # the converters raise whatever a broken file makes them meet
        raise _unreadable(error) from error
    html, cut = cap_html(html, limits.max_html_bytes)
    return html, truncated or cut


def apply_limits(limits: Limits) -> None:
    """Lower this process's own limits: past ``cpu_seconds`` of CPU the kernel sends SIGXCPU
    (and SIGKILL a second later), past ``memory_bytes`` of address space an allocation fails;
    no core file is written. A process may always lower its limits, never raise the hard
    ones, so a lower limit already set is kept."""

    def lower(which: int, soft: int, hard: int) -> None:
        _current, ceiling = resource.getrlimit(which)
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        resource.setrlimit(which, (soft, hard))

    lower(resource.RLIMIT_CORE, 0, 0)
    lower(resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1)
    lower(resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes)


def main(argv: list[str]) -> int:
    """The worker: ``argv`` is ``[program, kind, limits-json]``, the file comes on stdin, the
    answer goes to stdout (module docstring). Exit status 0 whenever it answered."""
    kind, limits = argv[1], Limits.from_json(argv[2])
    apply_limits(limits)
    header: dict[str, Any]
    body = b""
    try:
        html, truncated = convert(kind, sys.stdin.buffer.read(), limits)
        body = html.encode()
        header = {"ok": True, "truncated": truncated, "bytes": len(body)}
    except ConversionRefused as refused:
        header = {"ok": False, "error": refused.kind, "detail": refused.detail}
    except MemoryError:
        header = {"ok": False, "error": "too_complex", "detail": "memory limit"}
    out = sys.stdout.buffer
    out.write(json.dumps(header).encode() + b"\n" + body)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
