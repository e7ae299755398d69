"""A start form with a mistake keeps every file already chosen
(workflow/services/pending_uploads.py and the start page, workflow/views/catalogue.py).

Personas: ``employee`` 张伟 chooses the files; ``colleague`` 王芳 tries his token.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from portal.models import User
from tests.workflow.test_drafts import deploy_process
from workflow.models import Attachment, ProcessInstance
from workflow.services import pending_uploads

START = "/workflow/processes/claim/start/"
TOKEN = re.compile(r'name="meta-kept" value="([^"]+)"')


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def claim(db: None, dept_head: User) -> str:
    return deploy_process("claim")


@pytest.fixture
def login(login: Any) -> Any:
    """Signed in, reading English (the messages below are the English ones)."""

    def _login(user: User) -> Client:
        user.preferred_language = "en"
        user.save(update_fields=["preferred_language"])
        client: Client = login(user)
        return client

    return _login


def post(client: Client, **data: Any) -> Any:
    data.setdefault("meta-idempotency_key", "web:one")
    return client.post(START, {"action": "submit", **data})


def receipt(name: str = "报价单.txt", body: bytes = b"taxi 35 yuan") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="text/plain")


def pending_files(media: Any) -> list[str]:
    folder = media / "workflow" / "pending"
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.django_db
def test_the_files_survive_a_form_error_and_are_attached_at_last(
    login: Any, employee: User, claim: str, media: Any
) -> None:
    client: Client = login(employee)
    first = post(client, reason="", amount="5", **{"meta-attachments": [receipt()]})
    assert first.status_code == 400
    html = first.content.decode()
    assert "报价单.txt" in html and "This field is required." in html
    (token,) = TOKEN.findall(html)
    assert len(pending_files(media)) == 1
    # the mistake corrected; the file is not chosen again, only named by its token, and a
    # second file is chosen now
    second = post(
        client,
        reason="Client visit",
        amount="5",
        **{"meta-kept": token, "meta-attachments": [receipt("hotel.txt", b"2 nights")]},
    )
    assert second.status_code == 302
    instance = ProcessInstance.objects.get()
    attached = {a.name: a.file.read() for a in Attachment.objects.filter(instance=instance)}
    assert attached == {"报价单.txt": b"taxi 35 yuan", "hotel.txt": b"2 nights"}
    assert pending_files(media) == []  # attached: the held copy is gone


@pytest.mark.django_db
def test_two_errors_in_a_row_keep_the_files_once(
    login: Any, employee: User, claim: str, media: Any
) -> None:
    client: Client = login(employee)
    html = post(client, reason="", amount="5", **{"meta-attachments": [receipt()]}).content
    (token,) = TOKEN.findall(html.decode())
    again = post(client, reason="", amount="x", **{"meta-kept": token})
    assert again.status_code == 400
    assert TOKEN.findall(again.content.decode()) == [token]
    assert len(pending_files(media)) == 1


@pytest.mark.django_db
def test_a_file_let_go_is_not_attached(login: Any, employee: User, claim: str, media: Any) -> None:
    client: Client = login(employee)
    post(client, reason="", amount="5", **{"meta-attachments": [receipt()]})
    # ✕ removed the hidden field: the request starts without the file
    assert post(client, reason="Client visit", amount="5").status_code == 302
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_a_bad_file_is_refused_and_the_good_one_kept(
    login: Any, employee: User, claim: str, media: Any
) -> None:
    fake = SimpleUploadedFile("tool.pdf", b"MZ\x90\x00", content_type="application/pdf")
    response = post(
        login(employee), reason="", amount="5", **{"meta-attachments": [receipt(), fake]}
    )
    html = response.content.decode()
    assert "The content of tool.pdf is not a PDF file." in html
    assert len(TOKEN.findall(html)) == 1 and "报价单.txt" in html
    assert len(pending_files(media)) == 1


@pytest.mark.django_db
def test_another_persons_token_is_refused(
    login: Any, employee: User, colleague: User, claim: str, media: Any
) -> None:
    html = post(login(employee), reason="", amount="5", **{"meta-attachments": [receipt()]})
    (token,) = TOKEN.findall(html.content.decode())
    response = post(login(colleague), reason="Client visit", amount="5", **{"meta-kept": token})
    assert response.status_code == 400
    assert "A file chosen earlier is no longer available: choose it again." in (
        response.content.decode()
    )
    assert not ProcessInstance.objects.exists() and not Attachment.objects.exists()
    assert len(pending_files(media)) == 1  # still his


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["forged", "x" * 40 + ":abc"])
def test_a_forged_token_is_refused(
    login: Any, employee: User, claim: str, media: Any, token: str
) -> None:
    response = post(login(employee), reason="Client visit", amount="5", **{"meta-kept": token})
    assert response.status_code == 400
    assert not ProcessInstance.objects.exists()


@pytest.mark.django_db
def test_files_left_behind_are_deleted_after_a_day(employee: User, media: Any) -> None:
    kept = pending_uploads.upload_hold(user=employee, upload=receipt())
    today = datetime.date.today()
    assert pending_uploads.pending_uploads_cleanup(now=today + datetime.timedelta(days=1)) == 0
    assert default_storage.exists(kept.path)
    assert pending_uploads.pending_uploads_cleanup(now=today + datetime.timedelta(days=2)) == 1
    assert not default_storage.exists(kept.path)
    found, problems = pending_uploads.uploads_kept(user=employee, tokens=[kept.token])
    assert found == [] and problems  # its token names a file that is gone
