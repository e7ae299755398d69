"""打印 and 抄送 read receipts (issue 15, item 4): the printout of a request as a page and as a
PDF (its data with 大写, the approval record with opinions and signatures, the copies, the
attachments' names), only for who may see the request; who has read a copy, on the
instance page and in the API."""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Callable

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from weasyprint.urls import URLFetchingError

from portal.models import User
from tests.workflow.approval_helpers import deploy_steps, open_task, start, user_task
from workflow.models import CarbonCopy, ProcessDefinition, Task
from workflow.services import approvals
from workflow.views.printout import data_only_fetcher, pdf_bytes

pytestmark = pytest.mark.django_db

KEY = "claim"
FIELDS = (
    '<camunda:formField id="amount" label="报销金额" type="money"/>'
    '<camunda:formField id="traveller" label="出差人" type="person"/>'
    '<camunda:formField id="dept" label="费用部门" type="department"/>'
    '<camunda:formField id="reason" label="事由" type="string"/>'
)
OPINION = "同意，请财务按标准付款"


def _png() -> bytes:
    image = Image.new("RGB", (60, 20), "white")
    for x in range(5, 55):
        image.putpixel((x, 10), (0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def chinese(employee: User, dept_head: User, colleague: User, outsider: User) -> None:
    for user in (employee, dept_head, colleague, outsider):
        user.preferred_language = "zh-hans"
        user.save(update_fields=["preferred_language"])


@pytest.fixture
def approved(
    db: None, employee: User, dept_head: User, colleague: User, hr_admin: User, chinese: None
) -> int:
    """张伟's claim of 12,345.60 for 王芳 (财务部): approved by 李娜 with an opinion and a
    signature, then with the finance step open; 王芳 copied, a file attached."""
    deploy_steps(
        user_task("Approve", assignee="lina"),
        user_task("Finance", assignee="zhaomin"),
        key=KEY,
        start_fields=FIELDS,
    )
    ProcessDefinition.objects.filter(key=KEY).update(name="费用报销")
    instance_id = start(
        employee, KEY, amount="12345.60", traveller="wangfang", dept="FIN", reason="=1+1 出差"
    )
    task = open_task(instance_id)
    approvals.task_approve(task.pk, user=dept_head, comment=OPINION)
    task = Task.objects.get(pk=task.pk)
    task.signature.save("sig.png", ContentFile(_png()))
    approvals.instance_copy(instance_id, user=employee, recipients=["wangfang"])
    approvals.attachment_add(
        instance_id,
        user=employee,
        upload=SimpleUploadedFile("发票.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf"),
    )
    return instance_id


def _print_url(instance_id: int) -> str:
    return f"/workflow/instances/{instance_id}/print/"


def test_the_printout_holds_the_request_its_record_and_signatures(
    approved: int, login: Callable[[User], Client], employee: User
) -> None:
    answer = login(employee).get(_print_url(approved))
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "<nav" not in html.split('<main class="sheet">', 1)[1]  # no navigation on the sheet
    for text in (
        "12,345.60",
        "壹万贰仟叁佰肆拾伍元陆角整",
        "王芳",
        "财务部",
        OPINION,
        "张伟",
        "发票.pdf",
    ):
        assert text in html, text
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', html)
    assert "http://" not in html and "https://" not in html
    assert "=1+1 出差" in html  # printed as typed (HTML escaping is the template's)


def test_outsiders_get_a_404(
    approved: int, login: Callable[[User], Client], outsider: User
) -> None:
    client = login(outsider)
    assert client.get(_print_url(approved)).status_code == 404
    assert client.get(_print_url(approved) + "?format=pdf").status_code == 404
    assert client.get(_print_url(987654)).status_code == 404


def test_anonymous_is_sent_to_sign_in(approved: int, client: Client) -> None:
    answer = client.get(_print_url(approved))
    assert answer.status_code == 302
    assert "login" in answer["Location"]


def _streams(pdf: bytes) -> list[bytes]:
    """The PDF's compressed streams, decompressed (its pages, fonts and object streams)."""
    found = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            found.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return found


def _pdf_text(pdf: bytes) -> str:
    """The characters the PDF's fonts map to Unicode (its ToUnicode maps): what a reader can
    copy out of it."""
    found: list[str] = []
    for data in _streams(pdf):
        if b"beginbf" not in data:
            continue
        for hex_text in re.findall(rb"<([0-9A-Fa-f]{4,})>\s*\]?\s*$", data, re.M):
            text = hex_text.decode()
            for i in range(0, len(text) - 3, 4):
                found.append(chr(int(text[i : i + 4], 16)))
    return "".join(found)


def test_the_pdf_embeds_a_chinese_font_and_the_text(
    approved: int, login: Callable[[User], Client], colleague: User
) -> None:
    answer = login(colleague).get(_print_url(approved) + "?format=pdf")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert answer["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    pdf = answer.content
    assert pdf.startswith(b"%PDF")
    # the font descriptor sits in an object stream or as a plain object, as the writer chose
    fonts = b"".join(re.findall(rb"/FontName /[^\s/>]+", pdf + b"".join(_streams(pdf))))
    assert re.search(rb"/FontName /[A-Z]{6}\+Noto-(Sans|Serif)-CJK-SC", fonts), fonts
    text = _pdf_text(pdf)
    for character in "费用报销壹万贰仟叁佰肆拾伍元陆角整同意张伟王芳":
        assert character in text, character


def test_the_pdf_fetches_nothing() -> None:
    for url in ("http://127.0.0.1:9/x.png", "https://example.org/a.css", "file:///etc/passwd"):
        with pytest.raises(URLFetchingError):
            data_only_fetcher(url)
    assert data_only_fetcher("data:text/plain;base64,aGk=")["file_obj"].read() == b"hi"
    pdf = pdf_bytes(
        '<html><head><link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head>'
        '<body><img src="file:///etc/hostname">你好</body></html>'
    )
    assert pdf.startswith(b"%PDF")


def test_the_buttons_lead_to_the_printout(
    approved: int, login: Callable[[User], Client], employee: User, hr_admin: User
) -> None:
    assert (
        _print_url(approved)
        in login(employee).get(f"/workflow/instances/{approved}/").content.decode()
    )
    task = open_task(approved)
    assert (
        _print_url(approved) in login(hr_admin).get(f"/workflow/tasks/{task.pk}/").content.decode()
    )


# --- 抄送 read receipts ------------------------------------------------------------------------


def test_the_initiator_sees_who_read_the_copy(
    approved: int, login: Callable[[User], Client], employee: User, colleague: User
) -> None:
    page = login(employee).get(f"/workflow/instances/{approved}/").content.decode()
    assert re.search(r'data-testid="copy">王芳 <span class="unread">[^<]+</span>', page)
    login(colleague).get(f"/workflow/instances/{approved}/")
    read_at = CarbonCopy.objects.get(instance_id=approved, user=colleague).read_at
    assert read_at is not None
    page = login(employee).get(f"/workflow/instances/{approved}/").content.decode()
    assert re.search(r'data-testid="copy">王芳 <span class="read">[^<]+ <time', page)


def test_opening_the_task_page_reads_the_copy(
    approved: int, login: Callable[[User], Client], colleague: User
) -> None:
    task = open_task(approved)
    assert login(colleague).get(f"/workflow/tasks/{task.pk}/").status_code == 200
    assert CarbonCopy.objects.get(instance_id=approved, user=colleague).read_at is not None


def test_the_api_gives_each_copy_its_read_at(
    approved: int, login: Callable[[User], Client], employee: User, colleague: User
) -> None:
    body = login(employee).get(f"/api/v1/instances/{approved}").json()
    assert body["copies"] == [
        {
            "user": "wangfang",
            "user_name": "王芳",
            "sent_by": "zhangwei",
            "created_at": body["copies"][0]["created_at"],
            "read_at": None,
        }
    ]
    login(colleague).get(f"/workflow/instances/{approved}/")
    body = login(employee).get(f"/api/v1/instances/{approved}").json()
    assert body["copies"][0]["read_at"] is not None
