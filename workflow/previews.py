"""Previews of attachments on the task and instance pages.

What a browser shows by itself (images, PDF) is served inline from the portal's own URL;
Word ``.docx`` and Excel ``.xlsx`` files are turned into HTML (mammoth, openpyxl) and that HTML
is sanitized (nh3) before it reaches a page: no script, no event handler, no style, no image or
link to anything outside — a file uploaded by one person must not run code in another person's
browser. Plain text and CSV are shown as text.

An uploaded Office file is hostile input (issue 13: a 3 KB ``.docx`` of nested XML entities
took 262 s of CPU and made an 84 MB page). So the web process never parses one:

- files above :data:`MAX_PREVIEW_BYTES` are not converted;
- the conversion runs in a separate process (:mod:`workflow.preview_worker`, no Django, no
  database connection, no inherited environment) that refuses a package unpacking to more than
  :data:`MAX_UNPACKED_BYTES` (a zip bomb) or with a DTD or entity declaration in any part, and
  runs under :data:`CONVERSION_CPU_SECONDS` of CPU and :data:`CONVERSION_MEMORY_BYTES` of
  memory; it is killed after :data:`CONVERSION_WALL_SECONDS`;
- at most :data:`MAX_CONCURRENT_CONVERSIONS` run at once in one web process, so the memory limit
  bounds the server and not only one conversion;
- its HTML is cut to :data:`MAX_PREVIEW_HTML_BYTES` (the preview says so) and sanitized again
  here, since it comes from a process that parsed the hostile file;
- the result, or the refusal, is cached (Django's cache) under the file's SHA-256, its kind
  and the limits: a file never changes once attached, so a repeated preview costs a cache
  read, and a hostile file one conversion per cache lifetime however often it is asked for
  or uploaded again.

A spreadsheet shows at most :data:`MAX_SHEETS` sheets of :data:`MAX_ROWS` rows and
:data:`MAX_COLUMNS` columns. A file that cannot be shown raises :class:`PreviewError` with a
message for the user.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import signal
import subprocess
import sys
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol, get_args

from django.core.cache import cache
from django.utils.translation import gettext as _

from workflow.preview_worker import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, ErrorKind, Limits, sanitize

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_TAGS",
    "Converted",
    "Preview",
    "PreviewError",
    "PreviewableFile",
    "convert",
    "docx_html",
    "is_inline",
    "preview",
    "preview_kind",
    "run_worker",
    "sanitize",
    "xlsx_html",
]

logger = logging.getLogger(__name__)

MAX_PREVIEW_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 40 * 1024 * 1024
MAX_PREVIEW_HTML_BYTES = 2 * 1024 * 1024
MAX_TEXT_BYTES = 100 * 1024
MAX_SHEETS = 5
MAX_ROWS = 200
MAX_COLUMNS = 30

# One conversion: the kernel stops the worker past its CPU time or address space, the web
# process kills it past the wall-clock time (which also covers a worker that sleeps or hangs).
# The wall-clock time stays well under gunicorn's --timeout 60 and nginx's 65 s.
CONVERSION_CPU_SECONDS = 10
CONVERSION_MEMORY_BYTES = 512 * 1024 * 1024
CONVERSION_WALL_SECONDS = 20
MAX_CONCURRENT_CONVERSIONS = 2
CONVERSION_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_CONVERSIONS)

# A refusal is kept for less time than a preview: a conversion killed on a busy server might
# succeed on a quiet one.
CACHE_SECONDS = 24 * 60 * 60
FAILURE_CACHE_SECONDS = 60 * 60
# Part of every cache key: bump it when the conversion or the sanitizing policy changes, so a
# shared cache does not serve HTML made under the old rules.
CACHE_FORMAT = "1"

WORKER_PATH = Path(__file__).with_name("preview_worker.py")
# The worker's answer: a JSON header line, then at most MAX_PREVIEW_HTML_BYTES of HTML.
MAX_HEADER_BYTES = 4096

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


class Previewable(Protocol):
    """What a preview needs of a file: a task's attachment, or any other app's file row (a
    knowledge base article's attachment) previewed the same way instead of by a copy."""

    @property
    def file(self) -> Any: ...  # a FieldFile: ``open("rb")``

    @property
    def name(self) -> str: ...

    @property
    def content_type(self) -> str: ...

    @property
    def size(self) -> int: ...


class PreviewableFile(Protocol):
    """What a preview reads of an attachment: the workflow's ``Attachment`` and another app's
    attached file alike (the knowledge base's articles show theirs the same way)."""

    @property
    def content_type(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def file(self) -> Any: ...


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


def preview_kind(attachment: Previewable) -> str | None:
    """How ``attachment`` can be previewed: image, pdf, docx, xlsx, text, or None."""
    return INLINE_TYPES.get(attachment.content_type) or CONVERTED_TYPES.get(attachment.content_type)


def is_inline(attachment: Previewable) -> bool:
    """Whether the browser may show the file itself (images and PDF)."""
    return attachment.content_type in INLINE_TYPES


@dataclass(frozen=True)
class Converted:
    """A conversion's result: sanitized ``html`` and whether a limit cut it (``truncated``),
    or the ``error`` it was refused with."""

    html: str = ""
    truncated: bool = False
    error: ErrorKind | None = None


def _message(error: ErrorKind) -> str:
    messages = {
        "damaged": _("This file is damaged and cannot be previewed."),
        "too_large": _("This file is too large to preview; download it instead."),
        "entities": _(
            "This document cannot be previewed: it contains XML DTD or entity declarations."
        ),
        "too_complex": _("This document is too complex to preview; download it instead."),
    }
    return messages[error]


def conversion_limits() -> Limits:
    """The limits a conversion runs under, read from this module's constants when called."""
    return Limits(
        cpu_seconds=CONVERSION_CPU_SECONDS,
        memory_bytes=CONVERSION_MEMORY_BYTES,
        max_unpacked_bytes=MAX_UNPACKED_BYTES,
        max_html_bytes=MAX_PREVIEW_HTML_BYTES,
        max_sheets=MAX_SHEETS,
        max_rows=MAX_ROWS,
        max_columns=MAX_COLUMNS,
    )


def worker_command(kind: str, limits: Limits) -> list[str]:
    """The worker's command line: this interpreter, isolated (``-I``: no ``PYTHON*``
    variables, no user site-packages, not the script's own folder on the import path), running
    the worker file by path so that not even the ``workflow`` package is imported."""
    return [sys.executable, "-I", str(WORKER_PATH), kind, limits.to_json()]


def _answer(output: bytes, max_html_bytes: int) -> Converted | None:
    """The worker's answer read from its stdout, or None when it is not a whole answer."""
    line, newline, body = output.partition(b"\n")
    if not newline:
        return None
    try:
        header = json.loads(line)
    except ValueError:
        return None
    if not isinstance(header, dict):
        return None
    if header.get("ok") is True:
        size = header.get("bytes")
        if not isinstance(size, int) or size != len(body) or size > max_html_bytes:
            return None
        try:
            html = body.decode()
        except UnicodeDecodeError:
            return None
        return Converted(html=sanitize(html), truncated=bool(header.get("truncated")))
    error = header.get("error")
    if error in get_args(ErrorKind):
        # A refused upload may be an attack: the operator sees which part and why.
        logger.info("the preview worker refused a file: %s (%s)", error, header.get("detail"))
        return Converted(error=error)
    return None


def _ending(status: int) -> str:
    if status < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-status).name}"
        return f"killed by signal {-status}"
    return f"exit status {status}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Reap the worker; one that has not exited a moment after closing its output is killed."""
    try:
        process.wait(timeout=1)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_worker(kind: str, data: bytes, limits: Limits) -> Converted:
    """Convert ``data`` (``kind`` docx or xlsx) in a worker process under ``limits``, killed
    after :data:`CONVERSION_WALL_SECONDS` or when it writes more than the HTML limit allows.
    A worker killed, crashed or answering nonsense is a ``too_complex`` result; one that cannot
    be started at all is a :class:`PreviewError` straight away (it says nothing about the
    file, so it is not cached)."""
    try:
        process = subprocess.Popen(  # noqa: S603 - our interpreter and file, no shell
            worker_command(kind, limits),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},  # the worker parses hostile input: it gets no secret from the environment
        )
    except OSError as error:
        logger.exception("could not start the preview worker")
        raise PreviewError(_message("too_complex")) from error
    stdin, stdout = process.stdin, process.stdout
    if stdin is None or stdout is None:  # pragma: no cover - both are pipes
        raise PreviewError(_message("too_complex"))
    killer = threading.Timer(CONVERSION_WALL_SECONDS, process.kill)
    killer.daemon = True  # never holds up the web process's exit
    killer.start()
    limit = MAX_HEADER_BYTES + limits.max_html_bytes
    try:
        # A worker that dies before reading everything closes the pipe; its exit says why.
        with contextlib.suppress(BrokenPipeError):
            stdin.write(data)
        with contextlib.suppress(BrokenPipeError):
            stdin.close()
        output = stdout.read(limit + 1)
        if len(output) > limit:
            process.kill()
    finally:
        stdout.close()
        _stop(process)
        killer.cancel()
    answer = _answer(output, limits.max_html_bytes) if len(output) <= limit else None
    if answer is not None:
        return answer
    logger.warning(
        "the preview worker for a %s file gave no answer (%s, %d bytes of output)",
        kind,
        _ending(process.returncode),
        len(output),
    )
    return Converted(error="too_complex")


def _cache_key(kind: str, data: bytes, limits: Limits) -> str:
    digest = hashlib.sha256()
    for part in (CACHE_FORMAT, kind, limits.to_json()):
        digest.update(part.encode() + b"\0")
    digest.update(data)
    return f"workflow:preview:{digest.hexdigest()}"


def convert(kind: str, data: bytes) -> Converted:
    """``data``, a ``docx`` or ``xlsx`` file, as sanitized HTML; :class:`PreviewError` when it
    is refused. The result or the refusal is cached under the file's content, its kind and the
    limits (:func:`conversion_limits`), so the same file is converted once per cache lifetime.
    At most :data:`MAX_CONCURRENT_CONVERSIONS` conversions run at once in this process; a
    request that waits :data:`CONVERSION_WALL_SECONDS` for a turn is told to try again."""
    limits = conversion_limits()
    key = _cache_key(kind, data, limits)
    cached = cache.get(key)
    if cached is None:
        if not CONVERSION_SLOTS.acquire(timeout=CONVERSION_WALL_SECONDS):
            raise PreviewError(
                _("Too many documents are being converted right now; try again in a moment.")
            )
        try:
            cached = cache.get(key)  # another request may have converted it meanwhile
            if cached is None:
                result = run_worker(kind, data, limits)
                # Compressed: the default cache is per process and in memory, and a preview
                # may be MAX_PREVIEW_HTML_BYTES of repetitive markup.
                cached = (zlib.compress(result.html.encode(), 1), result.truncated, result.error)
                timeout = CACHE_SECONDS if result.error is None else FAILURE_CACHE_SECONDS
                cache.set(key, cached, timeout)
        finally:
            CONVERSION_SLOTS.release()
    packed, truncated, error = cached
    if error is not None:
        raise PreviewError(_message(error))
    return Converted(html=zlib.decompress(packed).decode(), truncated=truncated)


def _read(handle: IO[bytes]) -> bytes:
    data = handle.read(MAX_PREVIEW_BYTES + 1)
    if len(data) > MAX_PREVIEW_BYTES:
        raise PreviewError(_("This file is too large to preview; download it instead."))
    return data


def docx_html(handle: IO[bytes]) -> str:
    """A Word document as sanitized HTML (pictures left out), cut to
    :data:`MAX_PREVIEW_HTML_BYTES`."""
    return convert("docx", _read(handle)).html


def xlsx_html(handle: IO[bytes]) -> tuple[str, bool]:
    """An Excel workbook as sanitized HTML tables (cell values, not formulas); True when a
    limit cut something off."""
    result = convert("xlsx", _read(handle))
    return result.html, result.truncated


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


def preview(attachment: Previewable) -> Preview:
    """The preview of ``attachment``; :class:`PreviewError` when there can be none. A Word or
    Excel file is converted by :func:`convert`, once per content while the cache keeps it."""
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
        if kind in ("docx", "xlsx"):
            result = convert(kind, _read(handle))
            return Preview("html", html=result.html, truncated=result.truncated)
        text, truncated = _text(handle)
        return Preview("text", text=text, truncated=truncated)
