"""Attachment previews (workflow/previews.py) and the attachment URLs, as each persona.

The Word file is built here as the minimal Office Open XML package mammoth reads (no
python-docx); the Excel file with openpyxl.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from portal.models import User
from tests.workflow.approval_helpers import deploy_steps, open_task, start, user_task
from workflow import previews
from workflow.models import Attachment
from workflow.services import approvals

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def docx(body: str) -> bytes:
    """A Word document whose body is ``body`` (WordprocessingML paragraphs)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org'
            '/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/word/document.xml" '
            f'ContentType="{DOCX_TYPE}.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http:'
            '//schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="word/document.xml"/></Relationships>',
        )
        archive.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
            'openxmlformats.org/wordprocessingml/2006/main"><w:body>'
            + body
            + "</w:body></w:document>",
        )
    return buffer.getvalue()


def paragraph(text: str, *, bold: bool = False) -> str:
    style = "<w:rPr><w:b/></w:rPr>" if bold else ""
    return f"<w:p><w:r>{style}<w:t>{text}</w:t></w:r></w:p>"


def xlsx(rows: list[list[Any]], *, sheets: int = 1) -> bytes:
    workbook = openpyxl.Workbook()
    for number in range(sheets):
        sheet = workbook.active if number == 0 else workbook.create_sheet()
        sheet.title = f"费用{number + 1}"
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# --- conversion -----------------------------------------------------------------------------------


def test_docx_becomes_sanitized_html() -> None:
    html = previews.docx_html(
        io.BytesIO(docx(paragraph("报销说明") + paragraph("Total", bold=True)))
    )
    assert "<p>报销说明</p>" in html and "<strong>Total</strong>" in html


def test_docx_text_that_looks_like_markup_stays_text() -> None:
    html = previews.docx_html(
        io.BytesIO(
            docx(
                paragraph("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;")
            )
        )
    )
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_sanitize_strips_scripts_handlers_and_links() -> None:
    dirty = (
        '<p onclick="steal()">hi<script>alert(1)</script></p><img src="http://x/y.png">'
        '<a href="javascript:alert(1)">x</a><style>p{}</style><td colspan="2" style="x">c</td>'
    )
    clean = previews.sanitize(dirty)
    assert "onclick" not in clean and "script" not in clean and "alert" not in clean
    assert "<img" not in clean and "href" not in clean and "<style" not in clean
    assert "style=" not in clean
    assert "<p>hi</p>" in clean


def test_xlsx_becomes_a_table_with_escaped_cells() -> None:
    html, truncated = previews.xlsx_html(
        io.BytesIO(xlsx([["项目", "金额"], ["机票", 1200], ["<script>alert(1)</script>", 3.0]]))
    )
    assert not truncated
    assert "<h3>费用1</h3>" in html and "<td>机票</td><td>1200</td>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<td>3</td>" in html


def test_xlsx_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(previews, "MAX_ROWS", 3)
    monkeypatch.setattr(previews, "MAX_SHEETS", 1)
    html, truncated = previews.xlsx_html(io.BytesIO(xlsx([[n] for n in range(10)], sheets=2)))
    assert truncated
    assert html.count("<tr>") == 3 and "费用2" not in html


@pytest.mark.parametrize("convert", [previews.docx_html, previews.xlsx_html])
def test_corrupt_files_give_a_clear_message(convert: Any) -> None:
    with pytest.raises(previews.PreviewError, match="damaged"):
        convert(io.BytesIO(b"PK\x03\x04 this is not a real archive"))


def test_a_zip_bomb_is_not_unpacked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(previews, "MAX_UNPACKED_BYTES", 1000)
    with pytest.raises(previews.PreviewError, match="too large"):
        previews.docx_html(io.BytesIO(docx(paragraph("x" * 5000))))


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


def attach(instance_id: int, user: User, name: str, content: bytes) -> Attachment:
    return approvals.attachment_add(
        instance_id, user=user, upload=SimpleUploadedFile(name, content)
    )


def test_upload_from_the_task_page_and_preview_it(
    login: Callable[[User], Client], dept_head: User, instance_id: int, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    task = open_task(instance_id)
    client = login(dept_head)
    upload = SimpleUploadedFile("说明.docx", docx(paragraph("出差三天")), content_type=DOCX_TYPE)
    response = client.post(f"/workflow/tasks/{task.pk}/attach/", {"file": upload})
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.task_id == task.pk and attachment.name == "说明.docx"
    html = client.get(f"/workflow/tasks/{task.pk}/").content.decode()
    assert "说明.docx" in html and f"/workflow/attachments/{attachment.pk}/preview/" in html
    preview = client.get(
        f"/workflow/attachments/{attachment.pk}/preview/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<p>出差三天</p>" in preview
    # without htmx: the instance page shows it
    response = client.get(f"/workflow/attachments/{attachment.pk}/preview/")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "<p>出差三天</p>" in page


def test_a_bad_upload_changes_nothing(
    login: Callable[[User], Client], dept_head: User, instance_id: int, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    task = open_task(instance_id)
    upload = SimpleUploadedFile("virus.pdf", b"MZ\x90\x00 not a pdf")
    response = login(dept_head).post(f"/workflow/tasks/{task.pk}/attach/", {"file": upload})
    assert response.status_code == 400
    assert "is not a PDF file" in response.content.decode()
    assert not Attachment.objects.exists()


def test_inline_and_download(
    login: Callable[[User], Client], employee: User, instance_id: int, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    pdf = attach(instance_id, employee, "发票.pdf", PDF)
    image = attach(instance_id, employee, "票据.png", PNG)
    client = login(employee)
    response = client.get(f"/workflow/attachments/{pdf.pk}/inline/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    # django-stubs' test-client response has no StreamingHttpResponse attributes
    assert b"".join(response.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]
    response = client.get(f"/workflow/attachments/{image.pk}/inline/")
    assert response["Content-Type"] == "image/png"
    response = client.get(f"/workflow/attachments/{pdf.pk}/")
    assert response["Content-Disposition"].startswith("attachment")
    html = client.get(
        f"/workflow/attachments/{pdf.pk}/preview/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<iframe" in html and f"/workflow/attachments/{pdf.pk}/inline/" in html
    html = client.get(
        f"/workflow/attachments/{image.pk}/preview/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<img" in html


def test_a_corrupt_xlsx_preview_says_so(
    login: Callable[[User], Client], employee: User, instance_id: int, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    broken = attach(instance_id, employee, "坏表.xlsx", xlsx([["a"]]))
    # damage it after the upload check: the workbook part goes
    path = broken.file.path
    with zipfile.ZipFile(path) as archive:
        items = [(n, archive.read(n)) for n in archive.namelist() if n != "xl/workbook.xml"]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in items:
            archive.writestr(name, data)
    html = (
        login(employee)
        .get(f"/workflow/attachments/{broken.pk}/preview/", HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert "This file is damaged and cannot be previewed." in html


def test_no_preview_for_other_types(
    login: Callable[[User], Client], employee: User, instance_id: int, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    archive = attach(instance_id, employee, "资料.zip", b"PK\x05\x06" + b"\x00" * 18)
    html = (
        login(employee)
        .get(f"/workflow/attachments/{archive.pk}/preview/", HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert "There is no preview for this type of file" in html


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
def test_attachment_urls_per_persona(
    request: pytest.FixtureRequest,
    login: Callable[[User], Client],
    employee: User,
    instance_id: int,
    settings: Any,
    tmp_path: Any,
    persona: str,
    expected: int,
) -> None:
    settings.MEDIA_ROOT = tmp_path
    pdf = attach(instance_id, employee, "发票.pdf", PDF)
    client = login(request.getfixturevalue(persona))
    for suffix in ("", "inline/"):
        assert client.get(f"/workflow/attachments/{pdf.pk}/{suffix}").status_code == expected
    preview = client.get(f"/workflow/attachments/{pdf.pk}/preview/", HTTP_HX_REQUEST="true")
    assert preview.status_code == expected


def test_attachment_urls_anonymous(
    client: Client, employee: User, instance_id: int, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    pdf = attach(instance_id, employee, "发票.pdf", PDF)
    response = client.get(f"/workflow/attachments/{pdf.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
