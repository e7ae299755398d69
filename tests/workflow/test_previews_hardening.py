"""Issue 13, item 3: a hostile Word or Excel file must not tie up the server.

The Office files are built here: the normal ones with the helpers of ``test_previews``, the
hostile ones by rewriting parts of those packages (entity declarations, odd encodings,
duplicate names). The conversion runs in the real worker process; its limits are made small
where a test needs one to bite. No test asserts a duration: the worker is killed by its
limits, and the tests check that it was.
"""

from __future__ import annotations

import ast
import io
import logging
import sys
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache as django_cache
from django.test import Client
from django.utils import translation

from portal.models import User
from tests.workflow.approval_helpers import deploy_steps, start, user_task
from tests.workflow.test_previews import DOCX_TYPE, XLSX_TYPE, attach, docx, paragraph, xlsx
from workflow import preview_worker, previews
from workflow.preview_worker import ConversionRefused

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ENTITIES_MESSAGE = "This document cannot be previewed: it contains XML DTD or entity declarations."
TOO_COMPLEX_MESSAGE = "This document is too complex to preview; download it instead."


@pytest.fixture(autouse=True)
def _empty_preview_cache() -> Iterator[None]:
    """Conversions are cached by content; each test starts with none converted."""
    django_cache.clear()
    yield
    django_cache.clear()


@pytest.fixture
def worker_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kinds of file the real worker was started for, in order."""
    runs: list[str] = []
    real = previews.run_worker

    def counting(kind: str, data: bytes, limits: preview_worker.Limits) -> previews.Converted:
        runs.append(kind)
        return real(kind, data, limits)

    monkeypatch.setattr(previews, "run_worker", counting)
    return runs


# --- hostile packages -----------------------------------------------------------------------------


def repack(
    package: bytes, parts: dict[str, bytes], *, extra: tuple[tuple[str, bytes], ...] = ()
) -> bytes:
    """``package`` with ``parts`` replaced or added and ``extra`` members appended (a name
    may repeat), deflated like a real Office file."""
    with zipfile.ZipFile(io.BytesIO(package)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    members.update(parts)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name" is the point
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in [*members.items(), *extra]:
                archive.writestr(name, data)
    return buffer.getvalue()


def laughs(root: str, levels: int = 10) -> str:
    """A DTD declaring ``lol9``: ten references to ``lol8``, and so on down to "lol" — a
    billion of them when expanded."""
    declarations = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, levels)
    )
    return f"<!DOCTYPE {root} [{declarations}]>"


def document_xml(body: str, *, prolog: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        + prolog
        + f'<w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>'
    )


def laughing_docx() -> bytes:
    xml = document_xml(paragraph("&lol9;"), prolog=laughs("w:document"))
    return repack(docx(""), {"word/document.xml": xml.encode()})


SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
SHARED_STRINGS_REL = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
)


def xlsx_with_shared_strings(text: str, *, prolog: str = "") -> bytes:
    """A workbook whose cell A2 is string 0 of ``xl/sharedStrings.xml`` (which holds ``text``,
    markup allowed), as Excel writes it; openpyxl itself writes inline strings."""
    package = xlsx([["项目", "金额"], ["机票", 1200]])
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        sheet, rels, types = (
            archive.read(name).decode()
            for name in (
                "xl/worksheets/sheet1.xml",
                "xl/_rels/workbook.xml.rels",
                "[Content_Types].xml",
            )
        )
    # openpyxl writes 机票 as it is, or as character references when lxml is installed
    cells = [
        f'<c r="A2" t="inlineStr"><is><t>{t}</t></is></c>' for t in ("机票", "&#26426;&#31080;")
    ]
    (cell,) = [c for c in cells if c in sheet]
    sheet = sheet.replace(cell, '<c r="A2" t="s"><v>0</v></c>')
    rels = rels.replace(
        "</Relationships>",
        f'<Relationship Id="rIdS" Type="{SHARED_STRINGS_REL}" Target="sharedStrings.xml"/>'
        "</Relationships>",
    )
    types = types.replace(
        "</Types>",
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SHARED_STRINGS_TYPE}"/></Types>',
    )
    strings = (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<sst xmlns="http://schemas.openxmlformats'
        f'.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>{text}</t></si></sst>'
    )
    return repack(
        package,
        {
            "xl/worksheets/sheet1.xml": sheet.encode(),
            "xl/_rels/workbook.xml.rels": rels.encode(),
            "[Content_Types].xml": types.encode(),
            "xl/sharedStrings.xml": strings.encode(),
        },
    )


def laughing_xlsx() -> bytes:
    return xlsx_with_shared_strings("&lol9;", prolog=laughs("sst"))


def test_a_billion_laughs_docx_is_refused_with_nothing_produced() -> None:
    result = previews.run_worker("docx", laughing_docx(), previews.conversion_limits())
    assert result == previews.Converted(error="entities")
    with pytest.raises(previews.PreviewError) as refused:
        previews.docx_html(io.BytesIO(laughing_docx()))
    assert str(refused.value) == ENTITIES_MESSAGE


def test_a_billion_laughs_xlsx_is_refused_with_nothing_produced() -> None:
    html, _truncated = previews.xlsx_html(io.BytesIO(xlsx_with_shared_strings("共享的机票")))
    assert "<td>共享的机票</td><td>1200</td>" in html  # the part is read: the test means it
    result = previews.run_worker("xlsx", laughing_xlsx(), previews.conversion_limits())
    assert result == previews.Converted(error="entities")
    with pytest.raises(previews.PreviewError, match="DTD or entity declarations"):
        previews.xlsx_html(io.BytesIO(laughing_xlsx()))


def _utf16(text: str, *, bom: bool) -> bytes:
    encoded = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-le")
    return (b"\xff\xfe" if bom else b"") + encoded


HIDDEN_DECLARATIONS = {
    # the same declarations, encoded so that a search for the bytes "<!ENTITY" misses them
    "utf-16 with a byte-order mark": {
        "word/document.xml": _utf16(
            document_xml(paragraph("&lol9;"), prolog=laughs("w:document")), bom=True
        )
    },
    "utf-16 without a byte-order mark": {
        "word/document.xml": _utf16(
            document_xml(paragraph("&lol9;"), prolog=laughs("w:document")), bom=False
        )
    },
    # in a part other than document.xml, referenced or not
    "styles part": {
        "word/styles.xml": (
            f'<?xml version="1.0"?>{laughs("w:styles")}<w:styles xmlns:w="{W_NS}"/>'
        ).encode()
    },
    "relationships part": {
        "word/_rels/document.xml.rels": (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><Relationships xmlns="http://'
            b'schemas.openxmlformats.org/package/2006/relationships"/>'
        )
    },
    "a part with no .xml name": {
        "word/notes.dat": f"{laughs('notes')}<notes>&lol9;</notes>".encode()
    },
    # an external entity (reads a server file) and a parameter entity
    "external entity": {
        "word/document.xml": document_xml(
            paragraph("&xxe;"),
            prolog='<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        ).encode()
    },
    "parameter entity": {
        "word/document.xml": document_xml(
            paragraph("x"), prolog='<!DOCTYPE w:document [<!ENTITY % p "x">]>'
        ).encode()
    },
    # a document type declaration alone: Word never writes one
    "bare doctype": {
        "word/document.xml": document_xml(
            paragraph("x"), prolog='<!DOCTYPE w:document SYSTEM "http://example.com/x.dtd">'
        ).encode()
    },
}


@pytest.mark.parametrize("parts", HIDDEN_DECLARATIONS.values(), ids=HIDDEN_DECLARATIONS.keys())
def test_declarations_are_found_in_every_part_and_encoding(parts: dict[str, bytes]) -> None:
    package = repack(docx(paragraph("正文")), parts)
    with pytest.raises(ConversionRefused) as refused:
        preview_worker.check_package(package, previews.conversion_limits())
    assert refused.value.kind == "entities"


def test_a_duplicate_part_name_cannot_hide_a_declaration() -> None:
    """``ZipFile.read`` returns the last member of a name; the check reads each."""
    hostile = document_xml(paragraph("&lol9;"), prolog=laughs("w:document")).encode()
    clean = document_xml(paragraph("正文")).encode()
    for first, last in ((hostile, clean), (clean, hostile)):
        package = repack(
            docx(""), {"word/document.xml": first}, extra=(("word/document.xml", last),)
        )
        with pytest.raises(ConversionRefused) as refused:
            preview_worker.check_package(package, previews.conversion_limits())
        assert refused.value.kind == "entities"


def test_an_xml_part_expat_cannot_read_is_refused() -> None:
    """UTF-32 hides a declaration from expat; a parser that reads UTF-32 would see it."""
    xml = document_xml(paragraph("&lol9;"), prolog=laughs("w:document"))
    package = repack(docx(""), {"word/document.xml": xml.encode("utf-32")})
    with pytest.raises(ConversionRefused) as refused:
        preview_worker.check_package(package, previews.conversion_limits())
    assert refused.value.kind == "damaged"
    with pytest.raises(previews.PreviewError, match="damaged"):
        previews.docx_html(io.BytesIO(package))


def test_binary_parts_and_plain_utf16_parts_pass_the_check() -> None:
    clean = document_xml(paragraph("正文"))
    package = repack(
        docx(""),
        {
            "word/document.xml": _utf16(clean, bom=True),
            "word/media/image1.png": b"\x89PNG\r\n\x1a\n<!ENTITY not xml",
        },
    )
    preview_worker.check_package(package, previews.conversion_limits())
    assert "<p>正文</p>" in previews.docx_html(io.BytesIO(package))


# --- normal files still preview -------------------------------------------------------------------


def test_normal_docx_and_xlsx_still_preview(worker_runs: list[str]) -> None:
    html = previews.docx_html(
        io.BytesIO(docx(paragraph("报销说明") + paragraph("Total", bold=True)))
    )
    assert "<p>报销说明</p>" in html and "<strong>Total</strong>" in html
    html, truncated = previews.xlsx_html(io.BytesIO(xlsx([["项目", "金额"], ["机票", 1200]])))
    assert "<h3>费用1</h3>" in html and "<td>机票</td><td>1200</td>" in html and not truncated
    assert worker_runs == ["docx", "xlsx"]


# --- limits ---------------------------------------------------------------------------------------


def many_paragraphs(count: int) -> bytes:
    """A small (deflated) Word file that takes mammoth seconds of CPU and ~200 MB."""
    body = "".join(paragraph(f"第 {n} 行") for n in range(count))
    return repack(docx(""), {"word/document.xml": document_xml(body).encode()})


def test_a_conversion_past_its_cpu_time_is_killed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(previews, "CONVERSION_CPU_SECONDS", 1)
    with (
        caplog.at_level(logging.WARNING, logger="workflow.previews"),
        pytest.raises(previews.PreviewError) as refused,
    ):
        previews.docx_html(io.BytesIO(many_paragraphs(60_000)))
    assert str(refused.value) == TOO_COMPLEX_MESSAGE
    assert "killed by SIG" in caplog.text  # SIGXCPU from the kernel (or SIGKILL)


def test_a_conversion_past_its_memory_is_stopped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(previews, "CONVERSION_MEMORY_BYTES", 100 * 1024 * 1024)
    with (
        caplog.at_level(logging.INFO, logger="workflow.previews"),
        pytest.raises(previews.PreviewError) as refused,
    ):
        previews.docx_html(io.BytesIO(many_paragraphs(60_000)))
    assert str(refused.value) == TOO_COMPLEX_MESSAGE
    assert "too_complex (memory limit)" in caplog.text


def test_a_worker_past_the_wall_clock_is_killed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker that does not use CPU (it sleeps, or waits on something) is killed too."""
    monkeypatch.setattr(previews, "CONVERSION_WALL_SECONDS", 0.5)
    monkeypatch.setattr(
        previews,
        "worker_command",
        lambda kind, limits: [sys.executable, "-c", "import time; time.sleep(60)"],
    )
    with (
        caplog.at_level(logging.WARNING, logger="workflow.previews"),
        pytest.raises(previews.PreviewError, match="too complex"),
    ):
        previews.docx_html(io.BytesIO(docx(paragraph("x"))))
    assert "killed by SIGKILL" in caplog.text


def test_a_worker_that_writes_too_much_is_killed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(previews, "MAX_PREVIEW_HTML_BYTES", 1000)
    flood = "import sys\nwhile True: sys.stdout.write('x' * 65536)"
    monkeypatch.setattr(
        previews, "worker_command", lambda kind, limits: [sys.executable, "-c", flood]
    )
    with (
        caplog.at_level(logging.WARNING, logger="workflow.previews"),
        pytest.raises(previews.PreviewError, match="too complex"),
    ):
        previews.docx_html(io.BytesIO(docx(paragraph("x"))))
    assert "gave no answer" in caplog.text


def test_the_worker_inherits_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer says whether the worker saw SECRET_KEY (which pytest-env sets here)."""
    probe = (
        "import json, os, sys\n"
        "seen = 'SECRET_KEY' in os.environ or 'DJANGO_SETTINGS_MODULE' in os.environ\n"
        "sys.stdout.write(json.dumps({'ok': False, 'error': 'damaged' if seen else 'too_large'}))\n"
        "sys.stdout.write('\\n')"
    )
    monkeypatch.setattr(
        previews, "worker_command", lambda kind, limits: [sys.executable, "-c", probe]
    )
    with pytest.raises(previews.PreviewError, match="too large"):
        previews.docx_html(io.BytesIO(docx(paragraph("x"))))


def test_the_worker_imports_neither_django_nor_the_portal() -> None:
    tree = ast.parse(previews.WORKER_PATH.read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in {"django", "workflow", "portal"}}


def test_a_worker_that_cannot_start_is_not_remembered(
    monkeypatch: pytest.MonkeyPatch, worker_runs: list[str]
) -> None:
    package = docx(paragraph("正文"))
    with monkeypatch.context() as patch:
        patch.setattr(previews, "worker_command", lambda kind, limits: ["/nonexistent/python"])
        with pytest.raises(previews.PreviewError, match="too complex"):
            previews.docx_html(io.BytesIO(package))
    assert "<p>正文</p>" in previews.docx_html(io.BytesIO(package))
    assert len(worker_runs) == 2


# --- output cap -----------------------------------------------------------------------------------


def test_the_html_is_cut_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(previews, "MAX_PREVIEW_HTML_BYTES", 2000)
    result = previews.convert("docx", many_paragraphs(500))
    assert result.truncated
    assert len(result.html.encode()) <= 2000
    assert result.html.startswith("<p>第 0 行</p>") and result.html.endswith("</p>")
    html, truncated = previews.xlsx_html(io.BytesIO(xlsx([["很长的单元格" * 50]] * 100)))
    assert truncated and len(html.encode()) <= 2000 and html.endswith("</section>")


@pytest.mark.parametrize("limit", range(1, 80))
def test_cap_html_never_splits_a_tag_or_a_character(limit: int) -> None:
    html = "<section><h3>费用</h3><table><tbody><tr><td>机票</td></tr></tbody></table></section>"
    cut, truncated = preview_worker.cap_html(html, limit)
    assert truncated
    assert len(cut.encode()) <= limit
    assert preview_worker.sanitize(cut) == cut  # balanced: nothing open, nothing half-written


def test_cap_html_keeps_what_fits() -> None:
    assert preview_worker.cap_html("<p>报销</p>", 100) == ("<p>报销</p>", False)


# --- cache ----------------------------------------------------------------------------------------


def test_a_file_is_converted_once(worker_runs: list[str]) -> None:
    package = docx(paragraph("报销说明"))
    first = previews.convert("docx", package)
    second = previews.convert("docx", package)
    assert first == second and "<p>报销说明</p>" in first.html
    assert worker_runs == ["docx"]


def test_a_refusal_is_converted_once_and_worded_in_each_reader_language(
    worker_runs: list[str],
) -> None:
    broken = repack(docx(""), {"word/document.xml": b"<w:document><w:body>"})
    with pytest.raises(previews.PreviewError, match="damaged"):
        previews.docx_html(io.BytesIO(broken))
    with translation.override("zh-hans"), pytest.raises(previews.PreviewError) as refused:
        previews.docx_html(io.BytesIO(broken))
    assert str(refused.value) == "文件已损坏，无法预览。"
    # one file asked for twice (made once: a zip's entries carry the time they were written,
    # so two builds a second apart would be two files)
    hostile = laughing_docx()
    with pytest.raises(previews.PreviewError, match="DTD or entity"):
        previews.docx_html(io.BytesIO(hostile))
    with pytest.raises(previews.PreviewError, match="DTD or entity"):
        previews.docx_html(io.BytesIO(hostile))
    assert worker_runs == ["docx", "docx"]


def test_other_limits_are_another_conversion(
    monkeypatch: pytest.MonkeyPatch, worker_runs: list[str]
) -> None:
    package = xlsx([[n] for n in range(10)])
    assert not previews.xlsx_html(io.BytesIO(package))[1]
    monkeypatch.setattr(previews, "MAX_ROWS", 3)
    assert previews.xlsx_html(io.BytesIO(package))[1]
    assert worker_runs == ["xlsx", "xlsx"]


def test_a_busy_server_says_try_again_and_remembers_nothing(
    monkeypatch: pytest.MonkeyPatch, worker_runs: list[str]
) -> None:
    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(previews, "CONVERSION_SLOTS", slots)
    package = docx(paragraph("正文"))
    with monkeypatch.context() as patch:
        patch.setattr(previews, "CONVERSION_WALL_SECONDS", 0.01)  # the wait for a turn
        slots.acquire()
        with pytest.raises(previews.PreviewError, match="try again in a moment"):
            previews.docx_html(io.BytesIO(package))
        slots.release()
    assert "<p>正文</p>" in previews.docx_html(io.BytesIO(package))
    assert worker_runs == ["docx"]


# --- through the pages ----------------------------------------------------------------------------


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def _login(user: User) -> Client:
        user.preferred_language = "en"
        user.save(update_fields=["preferred_language"])
        client.force_login(user, backend="portal.backends.UsernameOrEmployeeNoBackend")
        return client

    return _login


@pytest.fixture
def instance_id(employee: User, dept_head: User) -> int:
    deploy_steps(user_task("review", assignee="lina"))
    return start(employee)


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("employee", 200),
        ("dept_head", 200),
        ("colleague", 404),
        ("outsider", 404),
        ("superuser", 200),
    ],
)
@pytest.mark.parametrize(
    ("name", "build"), [("说明.docx", laughing_docx), ("费用.xlsx", laughing_xlsx)]
)
def test_a_hostile_attachment_through_the_preview_url(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    employee: User,
    instance_id: int,
    settings: Any,
    tmp_path: Any,
    worker_runs: list[str],
    persona: str,
    expected: int,
    name: str,
    build: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path
    hostile = attach(instance_id, employee, name, build())
    assert hostile.content_type in (DOCX_TYPE, XLSX_TYPE)
    client = login(request.getfixturevalue(persona))
    url = f"/workflow/attachments/{hostile.pk}/preview/"
    for _ in range(2):
        response = client.get(url, HTTP_HX_REQUEST="true")
        assert response.status_code == expected
    if expected == 200:
        page = response.content.decode()
        assert ENTITIES_MESSAGE in page and len(page) < 20_000
        assert worker_runs == [name.rsplit(".", 1)[1]]
    else:
        assert worker_runs == []


def test_the_page_says_when_the_preview_was_cut(
    login: Callable[[User], Client],
    employee: User,
    instance_id: int,
    settings: Any,
    tmp_path: Any,
    monkeypatch: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(previews, "MAX_PREVIEW_HTML_BYTES", 2000)
    long = attach(instance_id, employee, "长文.docx", many_paragraphs(500))
    page = (
        login(employee)
        .get(f"/workflow/attachments/{long.pk}/preview/", HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert "<p>第 0 行</p>" in page and "<p>第 499 行</p>" not in page
    assert "Only the beginning of the file is shown" in page
