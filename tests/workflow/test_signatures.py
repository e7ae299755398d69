"""签名: a step asks for a handwritten signature (``camunda:property name="signature"``); the
drawing is checked (a real PNG, ≤ 300 KB, a plausible size, not blank) and kept with the task
in the decision's transaction — through the task page, the approvals service and the API —
and shown to whoever may see the task (``workflow:task-signature``)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from PIL import Image

from portal.models import User
from tests.factories import english
from tests.workflow.approval_helpers import deploy_steps, open_task, rows, start, user_task
from tests.workflow.signature_helpers import data_url, drawing
from workflow.models import HistoryEvent, ProcessInstance, Task, TaskState
from workflow.services import approvals
from workflow.services.definitions import InvalidBpmn
from workflow.signatures import signature_png

pytestmark = pytest.mark.django_db


def signing(mode: str = "required") -> str:
    return deploy_steps(
        user_task("sign", assignee="lina", props={"signature": mode}),
        user_task("after", assignee="wangfang"),  # the colleague (not the same: no auto-pass)
    )


# --- what counts as a signature ----------------------------------------------------------------


def test_a_drawn_png_is_accepted_and_re_encoded() -> None:
    original = drawing()
    clean = signature_png(data_url(original))
    assert clean.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(clean)) as image:
        assert image.size == (600, 200) and image.mode == "RGBA"
    assert signature_png(base64.b64encode(original).decode())  # plain base64 (the API)


def _refusal(value: str) -> str:
    with pytest.raises(ValidationError) as refused:
        signature_png(value)
    (message,) = refused.value.message_dict["signature"]
    return message


def test_what_is_not_a_png_is_refused() -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (300, 100), "white").save(jpeg, format="JPEG")
    not_png = "The signature is not a PNG image."
    assert _refusal(data_url(jpeg.getvalue())) == not_png
    assert _refusal("data:image/png;base64,not base64 at all!") == not_png
    assert _refusal(data_url(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)) == not_png
    assert _refusal(data_url(b"<svg xmlns='http://www.w3.org/2000/svg'/>")) == not_png


def test_a_blank_pad_is_refused() -> None:
    assert _refusal(data_url(drawing(ink=False))) == (
        "The signature is empty; please sign in the box."
    )
    white = io.BytesIO()
    Image.new("RGB", (600, 200), "white").save(white, format="PNG")
    assert _refusal(data_url(white.getvalue())) == "The signature is empty; please sign in the box."


def test_an_implausible_size_is_refused() -> None:
    assert "not plausible" in _refusal(data_url(drawing(10, 10)))
    assert "not plausible" in _refusal(data_url(drawing(5000, 200)))


def test_more_than_300_kb_is_refused() -> None:
    noise = Image.frombytes("RGBA", (1200, 600), bytes(range(256)) * (1200 * 600 * 4 // 256))
    out = io.BytesIO()
    noise.save(out, format="PNG", compress_level=0)
    assert len(out.getvalue()) > 300 * 1024
    assert _refusal(data_url(out.getvalue())) == "The signature is too large (at most 300 KB)."


# --- kept with the decision ---------------------------------------------------------------------


def test_approve_keeps_the_signature_with_the_task(employee: User, dept_head: User) -> None:
    signing()
    iid = start(employee)
    task = open_task(iid, "sign")
    approvals.task_approve(task.pk, user=dept_head, comment="同意。", signature=data_url(drawing()))
    done = Task.objects.get(pk=task.pk)
    assert done.state == TaskState.COMPLETED and str(done.signature.name).endswith(".png")
    with done.signature.open("rb") as handle, Image.open(handle) as image:
        assert image.size == (600, 200)
    (completed,) = [row for row in rows(iid, "task-completed") if row.task_id == task.pk]
    assert completed.data == {"comment": "同意。"}  # the opinion is the record's comment


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("", "Please sign before you confirm."),
        ("data:image/png;base64,AAAA", "The signature is not a PNG image."),
    ],
)
def test_a_required_signature_missing_or_bad_changes_nothing(
    employee: User, dept_head: User, signature: str, message: str
) -> None:
    signing()
    iid = start(employee)
    task = open_task(iid, "sign")
    history = HistoryEvent.objects.filter(instance_id=iid).count()
    variables = ProcessInstance.objects.get(pk=iid).variables
    with pytest.raises(ValidationError) as refused:
        approvals.task_approve(task.pk, user=dept_head, signature=signature)
    assert refused.value.message_dict == {"signature": [message]}
    after = Task.objects.get(pk=task.pk)
    assert after.state == TaskState.OPEN and not after.signature
    assert HistoryEvent.objects.filter(instance_id=iid).count() == history
    assert ProcessInstance.objects.get(pk=iid).variables == variables


def test_reject_and_return_keep_it_too(employee: User, dept_head: User) -> None:
    signing()
    first = open_task(start(employee), "sign")
    approvals.task_reject(
        first.pk, user=dept_head, comment="不同意。", signature=data_url(drawing())
    )
    assert Task.objects.get(pk=first.pk).signature
    second = open_task(start(employee), "sign")
    with pytest.raises(ValidationError):
        approvals.task_return(second.pk, user=dept_head, target="initiator", comment="请补充")
    approvals.task_return(
        second.pk,
        user=dept_head,
        target="initiator",
        comment="请补充",
        signature=data_url(drawing()),
    )
    assert Task.objects.get(pk=second.pk).signature


def test_optional_may_be_left_out_and_a_step_without_it_takes_none(
    employee: User, dept_head: User, colleague: User
) -> None:
    signing("optional")
    task = open_task(start(employee), "sign")
    approvals.task_approve(task.pk, user=dept_head)
    assert not Task.objects.get(pk=task.pk).signature
    after = open_task(task.instance_id, "after")
    with pytest.raises(ValidationError) as refused:
        approvals.task_approve(after.pk, user=colleague, signature=data_url(drawing()))
    assert refused.value.message_dict == {"signature": ["This step does not take a signature."]}
    assert Task.objects.get(pk=after.pk).state == TaskState.OPEN


# --- the task page -------------------------------------------------------------------------------


def test_the_page_shows_the_pad_and_approves_with_the_drawing(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    signing()
    task = open_task(start(employee), "sign")
    english(dept_head)
    client = login(dept_head)
    html = client.get(reverse("workflow:task", args=[task.pk])).content.decode()
    for action in ("approve", "reject", "return"):
        assert f'name="{action}-signature"' in html and 'data-signature="required"' in html
    assert html.count("data-signature-pad") == 3 and "signature/signature.js" in html
    url = reverse("workflow:task_action", args=[task.pk, "approve"])
    missing = client.post(url, {"approve-comment": "同意", "confirmed": "1"})
    assert missing.status_code == 400
    assert "Please sign before you confirm." in missing.content.decode()
    assert Task.objects.get(pk=task.pk).state == TaskState.OPEN
    blank = client.post(
        url,
        {
            "approve-comment": "同意",
            "approve-signature": data_url(drawing(ink=False)),
            "confirmed": "1",
        },
    )
    assert blank.status_code == 400 and "The signature is empty" in blank.content.decode()
    assert Task.objects.get(pk=task.pk).state == TaskState.OPEN
    done = client.post(
        url,
        {"approve-comment": "同意", "approve-signature": data_url(drawing()), "confirmed": "1"},
    )
    assert done.status_code == 302
    assert Task.objects.get(pk=task.pk).signature


def test_the_signature_is_shown_to_who_may_see_the_task_only(
    login: Callable[[User], Client], employee: User, dept_head: User, outsider: User
) -> None:
    signing()
    task = open_task(start(employee), "sign")
    url = reverse("workflow:task-signature", args=[task.pk])
    assert login(employee).get(url).status_code == 404  # not signed yet
    approvals.task_approve(task.pk, user=dept_head, signature=data_url(drawing()))
    answer = login(employee).get(url)
    assert answer.status_code == 200 and answer["Content-Type"] == "image/png"
    assert b"".join(answer.streaming_content).startswith(b"\x89PNG")  # type: ignore[attr-defined]
    assert login(outsider).get(url).status_code == 404


# --- the API -------------------------------------------------------------------------------------


def test_the_api_approves_with_a_base64_signature(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    signing()
    task = open_task(start(employee), "sign")
    client = login(dept_head)
    detail = client.get(f"/api/v1/tasks/{task.pk}").json()
    assert detail["signature_mode"] == "required" and detail["signature_url"] == ""
    url = f"/api/v1/tasks/{task.pk}/approve"
    refused = client.post(url, json.dumps({"comment": "同意"}), content_type="application/json")
    assert refused.status_code == 400 and "signature" in json.dumps(refused.json())
    assert Task.objects.get(pk=task.pk).state == TaskState.OPEN
    body = {"comment": "同意", "signature": base64.b64encode(drawing()).decode()}
    answer = client.post(url, json.dumps(body), content_type="application/json")
    assert answer.status_code == 200, answer.json()
    assert Task.objects.get(pk=task.pk).signature
    detail = client.get(f"/api/v1/tasks/{task.pk}").json()
    assert detail["signature_url"].endswith(f"/workflow/tasks/{task.pk}/signature.png")


def test_a_step_that_requires_a_signature_is_not_approved_in_bulk(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    signing()
    task = open_task(start(employee), "sign")
    client = login(dept_head)
    html = client.get(reverse("workflow:inbox")).content.decode()
    assert f'name="task" value="{task.pk}"' not in html  # no check box for it
    client.post(
        reverse("workflow:inbox_bulk_approve"),
        {"task": [str(task.pk)], "confirmed": "1", "comment": "同意"},
    )
    assert Task.objects.get(pk=task.pk).state == TaskState.OPEN


def test_the_validator_names_a_misspelt_signature_property() -> None:
    with pytest.raises(InvalidBpmn, match='signature "yes" must be required or optional'):
        signing("yes")
