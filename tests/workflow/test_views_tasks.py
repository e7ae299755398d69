"""The task page and its actions (workflow/views/task_pages.py, actions.py), as each persona.

The process is the demo expense claim (it has a diagram): 张伟 (employee) claims 3,200 yuan,
the step 直属上级审批 goes to his manager 李娜 (dept_head). 王芳 (colleague) and 刘洋
(outsider) have nothing to do with it: the task page is a 404 for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from portal.models import Notification, User
from portal.selectors import unread_notifications
from tests.factories import UserFactory
from tests.workflow.approval_helpers import (
    deploy_steps,
    make_admin,
    make_role,
    open_task,
    rows,
    start,
    user_task,
)
from workflow.demo import DEMO_DIR
from workflow.models import (
    CarbonCopy,
    Comment,
    Execution,
    HistoryEvent,
    Incident,
    InstanceState,
    Phrase,
    ProcessInstance,
    Task,
)
from workflow.selectors.instance_reads import InstanceReads
from workflow.selectors.task_page import task_for_page
from workflow.services import approvals, definitions, engine

CLAIM = {
    "reason": "上海客户拜访差旅",
    "amount": 3200,
    "expense_type": "travel",
    "expense_date": "2025-03-01",
    "_private_marker": "SECRET-MARKER-VALUE",
}


def deploy_claim() -> None:
    xml = (DEMO_DIR / "expense_claim.bpmn").read_text(encoding="utf-8")
    definitions.definition_deploy(xml=xml, source_name="expense_claim.bpmn")


@pytest.fixture
def claim(employee: User, dept_head: User) -> Task:
    """张伟's open expense claim, at 李娜's step."""
    deploy_claim()
    instance_id = engine.instance_start(
        "expense_claim",
        variables=CLAIM,
        initiator=employee,
        title="差旅报销 3200 元",
        business_key="BX-2025-001",
    )
    return open_task(instance_id)


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    """Sign in as ``user``, who reads the portal in English (the messages asserted)."""

    def _login(user: User) -> Client:
        user.preferred_language = "en"
        user.save(update_fields=["preferred_language"])
        client.force_login(user, backend="portal.backends.UsernameOrEmployeeNoBackend")
        return client

    return _login


@pytest.fixture
def process_admin(hr_admin: User) -> User:
    return make_admin(hr_admin)


def url(task: Task, action: str = "") -> str:
    return f"/workflow/tasks/{task.pk}/" + (f"{action}/" if action else "")


# --- the page, per persona ------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client: Client, claim: Task) -> None:
    response = client.get(url(claim))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    response = client.post(url(claim, "approve"), {"confirmed": "1"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert Task.objects.get(pk=claim.pk).state == "open"


@pytest.mark.parametrize("persona", ["colleague", "outsider"])
def test_people_not_involved_get_404(
    request: pytest.FixtureRequest, login: Callable[[User], Client], claim: Task, persona: str
) -> None:
    client = login(request.getfixturevalue(persona))
    assert client.get(url(claim)).status_code == 404
    assert client.post(url(claim, "approve"), {"confirmed": "1"}).status_code == 404
    assert client.post(url(claim, "comment"), {"text": "hi"}).status_code == 404
    assert Task.objects.get(pk=claim.pk).state == "open"
    assert not Comment.objects.exists()


def test_assignee_sees_everything_and_every_action(
    login: Callable[[User], Client], dept_head: User, claim: Task
) -> None:
    response = login(dept_head).get(url(claim))
    assert response.status_code == 200
    html = response.content.decode()
    # header
    assert "直属上级审批" in html and "差旅报销 3200 元" in html and "BX-2025-001" in html
    assert "张伟" in html  # the initiator by display name
    # the step form (nothing to fill in at this step) and the one opinion box of approving
    assert 'id="stepform"' in html and 'name="approve-comment"' in html
    assert html.count('name="approve-comment"') == 1
    # business data with labels and formatted values, never the private marker
    assert "报销事由" in html and "上海客户拜访差旅" in html
    assert "差旅" in html and "3,200" in html
    assert "_private_marker" not in html and "SECRET-MARKER-VALUE" not in html
    # the diagram, current step highlighted
    assert "<svg" in html and "is-active" in html
    # the approval flow: who submitted it, and the step waiting for her
    assert '<li class="tl-entry flow-node kind-start' in html and "Submitted" in html
    assert '<li class="tl-entry flow-node kind-now' in html
    # the actions she may take, each with its dialog
    for action in ("approve", "reject", "transfer", "delegate", "add_signers", "copy"):
        assert f'data-action="{action}"' in html, action
    assert 'id="dlg-reject"' in html and 'id="dlg-transfer"' in html
    assert 'data-action="cancel"' not in html  # the initiator's


def test_initiator_sees_read_only_form_and_own_actions(
    login: Callable[[User], Client], employee: User, claim: Task
) -> None:
    response = login(employee).get(url(claim))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="stepform"' not in html
    # the approver's opinion is their decision's comment: this step has no form of its own
    assert "This step has no form to fill in." in html
    assert 'data-action="approve"' not in html
    assert 'data-action="cancel"' in html and 'data-action="urge"' in html


def test_process_admin_sees_all_variables_and_admin_actions(
    login: Callable[[User], Client], process_admin: User, claim: Task
) -> None:
    response = login(process_admin).get(url(claim))
    assert response.status_code == 200
    html = response.content.decode()
    assert "initiator" in html  # an undeclared variable, shown to administrators
    assert "_private_marker" not in html
    for action in ("suspend", "terminate", "move", "reassign"):
        assert f'data-action="{action}"' in html, action
    assert 'data-action="approve"' not in html


def test_superuser_sees_the_page(
    login: Callable[[User], Client], superuser: User, claim: Task
) -> None:
    response = login(superuser).get(url(claim))
    assert response.status_code == 200
    assert 'data-action="reassign"' in response.content.decode()


def test_hr_admin_without_permission_gets_404(
    login: Callable[[User], Client], hr_admin: User, claim: Task
) -> None:
    assert login(hr_admin).get(url(claim)).status_code == 404


def test_copied_person_sees_the_page_read_only(
    login: Callable[[User], Client], employee: User, colleague: User, claim: Task
) -> None:
    approvals.instance_copy(claim.instance_id, user=employee, recipients=["wangfang"])
    response = login(colleague).get(url(claim))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-action="approve"' not in html and 'id="stepform"' not in html


def test_a_candidate_takes_the_task_by_approving_it(
    login: Callable[[User], Client], employee: User, colleague: User
) -> None:
    """No 认领 on the page (issue 15): the first candidate to act takes the task."""
    deploy_steps(user_task("review", users="wangfang,liuyang"))
    task = open_task(start(employee))
    client = login(colleague)
    html = client.get(url(task)).content.decode()
    assert 'data-action="claim"' not in html and 'data-action="approve"' in html
    assert client.post(url(task, "claim")).status_code == 404
    response = client.post(url(task, "approve"), {"confirmed": "1"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.state, task.assignee, task.completed_by) == ("completed", "wangfang", "wangfang")


def test_task_without_diagram_shows_a_note(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    deploy_steps(user_task("review", assignee="lina"))
    task = open_task(start(employee))
    html = login(dept_head).get(url(task)).content.decode()
    assert "This process has no diagram to show." in html
    assert "This step has no form to fill in." in html


# --- approve --------------------------------------------------------------------------------------


def test_approve_asks_for_confirmation_without_javascript(
    login: Callable[[User], Client], dept_head: User, claim: Task
) -> None:
    client = login(dept_head)
    response = client.post(url(claim, "approve"), {"approve-comment": "同意"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="dlg-approve"' in html and 'id="dlg-approve" class="action-dialog"' in html
    assert 'aria-labelledby="dlg-approve-title" open' in html
    assert "同意</textarea>" in html  # what she typed is kept
    assert Task.objects.get(pk=claim.pk).state == "open"


def test_approve_with_confirmation(
    login: Callable[[User], Client], dept_head: User, claim: Task
) -> None:
    client = login(dept_head)
    response = client.post(
        url(claim, "approve"),
        {"approve-comment": "情况属实", "confirmed": "1"},
    )
    assert response.status_code == 302
    task = Task.objects.get(pk=claim.pk)
    assert task.state == "completed" and task.outcome == "approved"
    instance = ProcessInstance.objects.get(pk=claim.instance_id)
    assert "confirmed" not in instance.variables and "approve-comment" not in instance.variables
    done = HistoryEvent.objects.get(task_id=claim.pk, kind="task-completed")
    assert done.data == {"comment": "情况属实"}
    follow = client.get(response["Location"])
    assert follow.status_code in (200, 302, 404)
    page = client.get(url(claim)).content.decode()
    assert "approved" in page and "情况属实" in page and "李娜" in page


def test_approve_with_invalid_step_data_changes_nothing(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    fields = (
        '<camunda:formField id="days" label="Days" type="long">'
        '<camunda:validation><camunda:constraint name="required"/>'
        '<camunda:constraint name="max" config="10"/></camunda:validation></camunda:formField>'
    )
    deploy_steps(user_task("review", assignee="lina", fields=fields))
    task = open_task(start(employee))
    response = login(dept_head).post(url(task, "approve"), {"days": "99", "confirmed": "1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Ensure this value is less than or equal to 10." in html
    assert Task.objects.get(pk=task.pk).state == "open"


def test_approve_refused_when_already_handled(
    login: Callable[[User], Client], dept_head: User, claim: Task
) -> None:
    client = login(dept_head)
    approvals.task_approve(claim.pk, user=dept_head)
    response = client.post(url(claim, "approve"), {"confirmed": "1"}, follow=True)
    assert response.status_code == 200
    assert "This task has already been handled." in response.content.decode()


def test_approve_by_initiator_is_refused(
    login: Callable[[User], Client], employee: User, claim: Task
) -> None:
    response = login(employee).post(url(claim, "approve"), {"confirmed": "1"}, follow=True)
    assert "You started this request: someone else approves it." in response.content.decode()
    assert Task.objects.get(pk=claim.pk).state == "open"


def test_csrf_is_required(dept_head: User, claim: Task) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(dept_head, backend="portal.backends.UsernameOrEmployeeNoBackend")
    response = client.post(url(claim, "approve"), {"confirmed": "1"})
    assert response.status_code == 403
    assert Task.objects.get(pk=claim.pk).state == "open"


def test_unknown_action_is_404(
    login: Callable[[User], Client], dept_head: User, claim: Task
) -> None:
    assert login(dept_head).post(url(claim, "explode")).status_code == 404


def test_get_on_an_action_is_refused(
    login: Callable[[User], Client], dept_head: User, claim: Task
) -> None:
    assert login(dept_head).get(url(claim, "approve")).status_code == 405


# --- reject, return -------------------------------------------------------------------------------


def test_reject_needs_a_reason(
    login: Callable[[User], Client], dept_head: User, claim: Task
) -> None:
    client = login(dept_head)
    response = client.post(url(claim, "reject"), {"reject-comment": "", "confirmed": "1"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert Task.objects.get(pk=claim.pk).state == "open"
    response = client.post(url(claim, "reject"), {"reject-comment": "发票不全", "confirmed": "1"})
    assert response.status_code == 302
    assert Task.objects.get(pk=claim.pk).outcome == "rejected"
    assert ProcessInstance.objects.get(pk=claim.instance_id).state == InstanceState.REJECTED


def test_return_offers_the_valid_steps_and_returns(
    login: Callable[[User], Client], employee: User, dept_head: User, colleague: User
) -> None:
    deploy_steps(user_task("first", assignee="wangfang"), user_task("second", assignee="lina"))
    instance_id = start(employee)
    approvals.task_approve(open_task(instance_id).pk, user=colleague)
    task = open_task(instance_id)
    client = login(dept_head)
    html = client.get(url(task) + "?action=return").content.decode()
    assert 'id="dlg-return"' in html and '<option value="initiator"' in html
    assert '<option value="first"' in html
    assert 'aria-labelledby="dlg-return-title" open' in html  # opened without JavaScript
    # a step the instance never passed is refused, nothing changes
    response = client.post(url(task, "return"), {"return-target": "nowhere", "return-comment": "x"})
    assert response.status_code == 400
    assert Task.objects.get(pk=task.pk).state == "open"
    response = client.post(
        url(task, "return"), {"return-target": "first", "return-comment": "请补充说明"}
    )
    assert response.status_code == 302
    assert Task.objects.get(pk=task.pk).outcome == "returned"
    assert open_task(instance_id).element_id == "first"


# --- transfer, delegate, resolve, signers, copy, urge, cancel, withdraw ---------------------------


def test_transfer_by_employee_number_and_unknown_person(
    login: Callable[[User], Client], dept_head: User, colleague: User, claim: Task
) -> None:
    client = login(dept_head)
    response = client.post(url(claim, "transfer"), {"transfer-to": "nobody-here"})
    assert response.status_code == 400
    assert "Nobody active is called nobody-here." in response.content.decode()
    assert Task.objects.get(pk=claim.pk).assignee == "lina"
    response = client.post(url(claim, "transfer"), {"transfer-to": colleague.employee_no})
    assert response.status_code == 302
    assert Task.objects.get(pk=claim.pk).assignee == "wangfang"


def test_transfer_to_oneself_is_an_error(
    login: Callable[[User], Client], dept_head: User, claim: Task
) -> None:
    response = login(dept_head).post(url(claim, "transfer"), {"transfer-to": "lina"})
    assert response.status_code == 400
    assert "Choose someone other than yourself." in response.content.decode()


def test_delegate_then_resolve(
    login: Callable[[User], Client], dept_head: User, colleague: User, claim: Task
) -> None:
    response = login(dept_head).post(
        url(claim, "delegate"), {"delegate-to": "wangfang", "delegate-comment": "请核对"}
    )
    assert response.status_code == 302
    client = login(colleague)
    html = client.get(url(claim)).content.decode()
    assert 'data-action="resolve"' in html and 'data-action="approve"' not in html
    assert "李娜" in html  # delegated by
    response = client.post(
        url(claim, "resolve"),
        {"resolve-comment": "已核对", "confirmed": "1"},
    )
    assert response.status_code == 302
    task = Task.objects.get(pk=claim.pk)
    assert task.assignee == "lina" and task.delegation == "resolved"


def test_add_and_remove_signer(
    login: Callable[[User], Client], dept_head: User, colleague: User, claim: Task
) -> None:
    client = login(dept_head)
    response = client.post(
        url(claim, "add_signers"), {"add_signers-signers": "wangfang", "add_signers-position": "x"}
    )
    assert response.status_code == 400
    assert not Task.objects.filter(added_by=claim).exists()
    response = client.post(
        url(claim, "add_signers"),
        {"add_signers-signers": "wangfang", "add_signers-position": "alongside"},
    )
    assert response.status_code == 302
    signer = Task.objects.get(added_by=claim)
    html = client.get(url(claim)).content.decode()
    assert 'data-action="remove_signer"' in html and f'<option value="{signer.pk}"' in html
    response = client.post(url(claim, "remove_signer"), {"remove_signer-signer": str(signer.pk)})
    assert response.status_code == 302
    assert Task.objects.get(pk=signer.pk).state == "cancelled"


def test_copy_people_and_roles(
    login: Callable[[User], Client], dept_head: User, colleague: User, outsider: User, claim: Task
) -> None:
    make_role("auditors", outsider)
    response = login(dept_head).post(
        url(claim, "copy"), {"copy-recipients": "wangfang, role:auditors", "copy-comment": ""}
    )
    assert response.status_code == 302
    copied = set(CarbonCopy.objects.values_list("user__username", flat=True))
    assert copied == {"wangfang", "liuyang"}


def test_copy_needs_someone(login: Callable[[User], Client], dept_head: User, claim: Task) -> None:
    response = login(dept_head).post(url(claim, "copy"), {"copy-recipients": ""})
    assert response.status_code == 400
    assert not CarbonCopy.objects.exists()


def test_urge_twice_is_refused(
    login: Callable[[User], Client], employee: User, claim: Task
) -> None:
    client = login(employee)
    response = client.post(url(claim, "urge"), {"urge-comment": "请尽快"}, follow=True)
    assert "The handlers have been reminded." in response.content.decode()
    response = client.post(url(claim, "urge"), {"urge-comment": ""}, follow=True)
    assert "urged a moment ago" in response.content.decode()
    assert len(rows(claim.instance_id, "urged")) == 1


def test_cancel_needs_a_reason_and_goes_to_the_inbox(
    login: Callable[[User], Client], employee: User, claim: Task
) -> None:
    client = login(employee)
    assert client.post(url(claim, "cancel"), {"cancel-reason": ""}).status_code == 400
    assert ProcessInstance.objects.get(pk=claim.instance_id).state == InstanceState.ACTIVE
    response = client.post(url(claim, "cancel"), {"cancel-reason": "行程取消"})
    assert response.status_code == 302
    assert ProcessInstance.objects.get(pk=claim.instance_id).state == InstanceState.CANCELLED


def test_cancel_by_the_assignee_is_refused(
    login: Callable[[User], Client], dept_head: User, claim: Task
) -> None:
    response = login(dept_head).post(url(claim, "cancel"), {"cancel-reason": "x"}, follow=True)
    assert "Only the initiator can cancel the request." in response.content.decode()
    assert ProcessInstance.objects.get(pk=claim.instance_id).state == InstanceState.ACTIVE


def test_withdraw_from_the_done_task(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    deploy_steps(user_task("first", assignee="lina"), user_task("second", assignee="wangfang"))
    instance_id = start(employee)
    task = open_task(instance_id)
    approvals.task_approve(task.pk, user=dept_head)
    client = login(dept_head)
    assert 'data-action="withdraw"' in client.get(url(task)).content.decode()
    response = client.post(url(task, "withdraw"))
    assert response.status_code == 302
    assert open_task(instance_id).element_id == "first"


def test_admin_reassigns_from_the_task_page(
    login: Callable[[User], Client], process_admin: User, colleague: User, claim: Task
) -> None:
    client = login(process_admin)
    response = client.post(url(claim, "reassign"), {"reassign-to": "wangfang"})
    assert response.status_code == 302
    assert Task.objects.get(pk=claim.pk).assignee == "wangfang"


def test_reassign_by_non_admin_is_refused(
    login: Callable[[User], Client], dept_head: User, colleague: User, claim: Task
) -> None:
    response = login(dept_head).post(
        url(claim, "reassign"), {"reassign-to": "wangfang"}, follow=True
    )
    assert "Only a process administrator can do this." in response.content.decode()
    assert Task.objects.get(pk=claim.pk).assignee == "lina"


# --- comments and attachments ---------------------------------------------------------------------


def test_comment_on_the_task(login: Callable[[User], Client], dept_head: User, claim: Task) -> None:
    client = login(dept_head)
    assert client.post(url(claim, "comment"), {"text": ""}).status_code == 400
    assert not Comment.objects.exists()
    response = client.post(url(claim, "comment"), {"text": "请补充发票"})
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert comment.task_id == claim.pk
    assert "请补充发票" in client.get(url(claim)).content.decode()


# --- the person picker ----------------------------------------------------------------------------


def test_people_picker(
    client: Client, login: Callable[[User], Client], outsider: User, colleague: User
) -> None:
    assert client.get("/workflow/people/?q=wang").status_code == 302
    c = login(outsider)
    html = c.get("/workflow/people/?q=wang").content.decode()
    assert 'data-pick="wangfang"' in html and "王芳" in html
    html = c.get("/workflow/people/?q=王芳").content.decode()
    assert 'data-pick="wangfang"' in html
    html = c.get(f"/workflow/people/?q={colleague.employee_no}").content.decode()
    assert 'data-pick="wangfang"' in html
    html = c.get("/workflow/people/?q=zzzz").content.decode()
    assert "Nobody matches" in html
    assert c.get("/workflow/people/").status_code == 200


def test_a_request_returned_to_its_initiator_is_resubmitted_not_approved(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    deploy_steps(user_task("approve", assignee="lina"))
    instance = start(employee)
    task = open_task(instance)
    approvals.task_return(task.pk, user=dept_head, target="initiator", comment="请补充发票")
    back = open_task(instance)
    assert back.assignee == "zhangwei"
    page = login(employee).get(f"/workflow/tasks/{back.pk}/").content.decode()
    assert "Resubmit" in page
    assert "Submit this request again?" in page


# --- speed ---------------------------------------------------------------------------------------


def _leave_with_a_past(employee: User, colleague: User, people: int) -> Task:
    """张伟's demo leave request at 李娜's step (上级审批), after 王芳 confirmed the hand-over
    with an opinion; 张伟 has copied ``people`` people in, one by one, and added as many
    remarks and files."""
    xml = (DEMO_DIR / "leave_request.bpmn").read_text(encoding="utf-8")
    definitions.definition_deploy(xml=xml, source_name="leave_request.bpmn")
    instance_id = engine.instance_start(
        "leave_request",
        initiator=employee,
        title="张伟的请假申请：年假 2 天",
        variables={
            "leave_type": "annual",
            "start_date": "2025-03-03",
            "start_half": "am",
            "end_date": "2025-03-04",
            "end_half": "pm",
            "days": 2,
            "reason": "回老家探亲",
            "handover": colleague.username,
        },
    )
    approvals.task_approve(
        open_task(instance_id).pk,
        user=colleague,
        data={"handover_opinion": "客户跟进已交接"},
        comment="已交接",
    )
    for n in range(people):
        other = UserFactory.create(username=f"reader{n}", first_name=f"读者{n}", last_name="陈")
        approvals.instance_copy(instance_id, user=employee, recipients=[other.username])
        approvals.comment_add(instance_id, user=employee, text=f"补充说明 {n}")
        approvals.attachment_add(
            instance_id, user=employee, upload=SimpleUploadedFile(f"证明{n}.txt", b"leave")
        )
    return open_task(instance_id)


def test_the_task_page_does_not_query_per_row(
    login: Callable[[User], Client],
    employee: User,
    colleague: User,
    dept_head: User,
    django_assert_max_num_queries: Any,
) -> None:
    task = _leave_with_a_past(employee, colleague, people=12)
    client = login(dept_head)
    client.get(url(task))  # the first visit marks the notice of the task read
    # 41 before issue 16, then 18. Now 10: the session, the person, their permissions, the
    # task (with its definition's name, whether it was offered to candidates, the bell's
    # count, whether a notice of it is unread, whether the person has phrases of their own,
    # whether a guide source has something for the step, where the request waits and
    # whether it has an open incident), the copies, the instance's tasks, its history, the
    # comments, the people named (the approval record, the holder, the person field) and
    # the attachments. A person with phrases of their own, a step with a guide, an open
    # incident or an unread notice of the task: a query more each.
    with django_assert_max_num_queries(10):
        response = client.get(url(task))
    html = response.content.decode()
    assert response.status_code == 200
    assert "张伟的请假申请：年假 2 天" in html
    assert f'action="/workflow/tasks/{task.pk}/approve/"' in html
    assert "已交接" in html  # 王芳's opinion in the approval record
    for n in range(12):
        assert f"补充说明 {n}" in html
        assert f"证明{n}.txt" in html
        assert f"陈读者{n}" in html
    assert html.count("/workflow/attachments/") >= 12


def test_what_the_task_page_reads_with_its_task_still_shows(
    login: Callable[[User], Client],
    employee: User,
    colleague: User,
    dept_head: User,
    django_assert_max_num_queries: Any,
) -> None:
    """The task page reads with its task (issue 16) the bell's count, whether a notice of
    the task is unread, whether the person has phrases of their own, whether the request has
    an open incident and where it waits: each still shows as before, and the notices of the
    task are read."""
    task = _leave_with_a_past(employee, colleague, people=1)
    subject = f"workflow.task:{task.pk}"
    Notification.objects.create(recipient=dept_head, kind="task", title="待审批", subject=subject)
    Notification.objects.create(recipient=dept_head, kind="other", title="另一件事")
    Phrase.objects.create(owner=dept_head, text="同意，注意交接")
    Incident.objects.create(
        instance_id=task.instance_id,
        element_id="Task_HandoverConfirm",
        message="ERP timed out",
        created_at=timezone.now(),
    )
    client = login(dept_head)
    # the 10 of the page, and what this one has more: its own phrases, the incident, and
    # the notice of the task to mark read
    with django_assert_max_num_queries(13):
        html = client.get(url(task)).content.decode()
    assert not unread_notifications(dept_head).filter(subject=subject).exists()
    assert unread_notifications(dept_head).count() == 1
    assert 'data-testid="unread-count">1</span>' in html  # the other notice only
    assert "同意，注意交接" in html
    assert 'class="notice incidents"' in html
    assert 'is-failed" data-element-id="Task_HandoverConfirm"' in html
    assert 'is-active" data-element-id="Task_ManagerApproval"' in html
    again = client.get(url(task)).content.decode()  # nothing left to mark read
    assert 'data-testid="unread-count">1</span>' in again


def test_where_the_request_waits_is_read_with_the_task(
    login: Callable[[User], Client], employee: User, colleague: User, dept_head: User
) -> None:
    """Every token's place, read with the task in one text (issue 16), is painted."""
    task = _leave_with_a_past(employee, colleague, people=0)
    numbers = Execution.objects.filter(instance_id=task.instance_id).count()
    for offset, element in enumerate(["Task_HandoverConfirm", "Start_Leave"], start=1):
        Execution.objects.create(
            instance_id=task.instance_id,
            number=numbers + 100 + offset,
            element_id=element,
            state="waiting",
            entered_at=timezone.now(),
        )
    found = task_for_page(dept_head, task.pk, notice_subject="")
    assert found is not None
    waiting_at: str | None = getattr(found, "waiting_at", None)  # annotated by the read
    waiting = InstanceReads(found.instance, waiting_at=waiting_at).waiting
    assert waiting == set(
        Execution.objects.filter(instance_id=task.instance_id).values_list("element_id", flat=True)
    )
    assert waiting >= {"Task_ManagerApproval", "Task_HandoverConfirm", "Start_Leave"}
    html = login(dept_head).get(url(task)).content.decode()
    for element in sorted(waiting):
        assert f'is-active" data-element-id="{element}"' in html
