"""The instance page, its diagram partial and its actions (workflow/views/task_pages.py), as each
persona: the initiator 张伟 (employee), the handler 李娜 (dept_head), a copied person, a
candidate, a process administrator, the superuser; 王芳 (colleague) and 刘洋 (outsider) are
not involved (404)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from portal.models import User
from tests.workflow.approval_helpers import (
    deploy_steps,
    make_admin,
    open_task,
    rows,
    start,
    user_task,
)
from workflow.demo import DEMO_DIR
from workflow.models import (
    CarbonCopy,
    Comment,
    Incident,
    InstanceState,
    ProcessInstance,
    Task,
)
from workflow.services import approvals, definitions, engine, jobs
from workflow.services.engine import current_time


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def _login(user: User) -> Client:
        user.preferred_language = "en"
        user.save(update_fields=["preferred_language"])
        client.force_login(user, backend="portal.backends.UsernameOrEmployeeNoBackend")
        return client

    return _login


@pytest.fixture
def process_admin(hr_admin: User) -> User:
    return make_admin(hr_admin)


@pytest.fixture
def instance_id(employee: User, dept_head: User) -> int:
    """张伟's expense claim (the demo process, with a diagram), at 李娜's step."""
    xml = (DEMO_DIR / "expense_claim.bpmn").read_text(encoding="utf-8")
    definitions.definition_deploy(xml=xml, source_name="expense_claim.bpmn")
    return engine.instance_start(
        "expense_claim",
        variables={
            "reason": "客户拜访",
            "amount": 800,
            "expense_type": "office",
            "expense_date": "2025-03-01",
        },
        initiator=employee,
        title="办公用品 800 元",
    )


def url(instance_id: int, action: str = "") -> str:
    return f"/workflow/instances/{instance_id}/" + (f"{action}/" if action else "")


def test_anonymous_is_sent_to_login(client: Client, instance_id: int) -> None:
    for response in (
        client.get(url(instance_id)),
        client.get(url(instance_id, "diagram")),
        client.post(url(instance_id, "urge")),
    ):
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["colleague", "outsider", "hr_admin"])
def test_not_involved_get_404(
    request: pytest.FixtureRequest, login: Callable[[User], Client], instance_id: int, persona: str
) -> None:
    client = login(request.getfixturevalue(persona))
    assert client.get(url(instance_id)).status_code == 404
    assert client.get(url(instance_id, "diagram")).status_code == 404
    assert client.post(url(instance_id, "cancel"), {"cancel-reason": "x"}).status_code == 404
    assert client.post(url(instance_id, "comment"), {"text": "x"}).status_code == 404
    assert ProcessInstance.objects.get(pk=instance_id).state == InstanceState.ACTIVE


def test_initiator_sees_the_instance_and_own_actions(
    login: Callable[[User], Client], employee: User, instance_id: int
) -> None:
    response = login(employee).get(url(instance_id))
    assert response.status_code == 200
    html = response.content.decode()
    assert "办公用品 800 元" in html and "直属上级审批" in html and "李娜" in html
    assert "<svg" in html and "is-active" in html
    assert 'hx-trigger="every 20s"' in html  # the live diagram refreshes
    assert "办公" in html and "800" in html  # business data, labelled and formatted
    for action in ("cancel", "urge", "withdraw", "copy"):
        assert f'data-action="{action}"' in html, action
    for action in ("suspend", "terminate", "move", "reassign"):
        assert f'data-action="{action}"' not in html, action


def test_the_page_reads_its_tasks_and_tokens_once(
    login: Callable[[User], Client],
    employee: User,
    instance_id: int,
    django_assert_max_num_queries: Any,
) -> None:
    """Where it stands (the steps and their holders), its actions and its diagram read the
    instance's tasks and where its tokens are once for the page, and the people it names in
    one query (issue 16: 18 queries before, two of each)."""
    client = login(employee)
    client.get(url(instance_id))  # the first visit reads the copies' receipts too
    with django_assert_max_num_queries(15) as captured:
        html = client.get(url(instance_id)).content.decode()
    tables = [
        query["sql"].split(" FROM ", 1)[1].split()[0]
        for query in captured.captured_queries
        if query["sql"].startswith("SELECT") and " FROM " in query["sql"]
    ]
    assert tables.count('"workflow_task"') == 1, tables
    assert tables.count('"workflow_execution"') == 1, tables
    # the signed-in person, the people the page names, the roles of who may act
    assert tables.count('"portal_user"') == 3, tables
    assert "直属上级审批" in html and "李娜" in html  # the step it waits at, and its holder
    assert 'is-active" data-element-id=' in html  # the diagram's waiting step


def test_handler_sees_a_link_to_the_task(
    login: Callable[[User], Client], dept_head: User, instance_id: int
) -> None:
    task = open_task(instance_id)
    html = login(dept_head).get(url(instance_id)).content.decode()
    assert f'href="/workflow/tasks/{task.pk}/"' in html
    assert 'data-action="copy"' in html and 'data-action="cancel"' not in html


def test_process_admin_and_superuser_see_admin_actions(
    login: Callable[[User], Client], process_admin: User, superuser: User, instance_id: int
) -> None:
    for user in (process_admin, superuser):
        html = login(user).get(url(instance_id)).content.decode()
        for action in ("suspend", "terminate", "move", "reassign", "copy"):
            assert f'data-action="{action}"' in html, action
        assert 'data-action="cancel"' not in html


def test_copied_person_reads_it_and_the_copy_is_marked_read(
    login: Callable[[User], Client], employee: User, colleague: User, instance_id: int
) -> None:
    approvals.instance_copy(instance_id, user=employee, recipients=["wangfang"])
    assert CarbonCopy.objects.get().read_at is None
    html = login(colleague).get(url(instance_id)).content.decode()
    assert "办公用品 800 元" in html
    assert 'data-action="cancel"' not in html and 'data-action="copy"' not in html
    assert CarbonCopy.objects.get().read_at is not None


def test_candidate_sees_the_instance(
    login: Callable[[User], Client], employee: User, outsider: User
) -> None:
    deploy_steps(user_task("review", users="liuyang"))
    instance = start(employee)
    html = login(outsider).get(url(instance)).content.decode()
    assert "This process has no diagram to show." in html
    assert f'href="/workflow/tasks/{open_task(instance).pk}/"' in html


def test_diagram_partial(login: Callable[[User], Client], employee: User, instance_id: int) -> None:
    html = login(employee).get(url(instance_id, "diagram")).content.decode()
    assert html.lstrip().startswith('<div id="diagram"') and "<svg" in html


def test_cancel_with_and_without_reason(
    login: Callable[[User], Client], employee: User, instance_id: int
) -> None:
    client = login(employee)
    response = client.post(url(instance_id, "cancel"), {"cancel-reason": " "})
    assert response.status_code == 400
    assert 'aria-labelledby="dlg-cancel-title" open' in response.content.decode()
    assert ProcessInstance.objects.get(pk=instance_id).state == InstanceState.ACTIVE
    response = client.post(url(instance_id, "cancel"), {"cancel-reason": "不需要了"}, follow=True)
    assert "The request has been cancelled." in response.content.decode()
    assert ProcessInstance.objects.get(pk=instance_id).state == InstanceState.CANCELLED
    assert "不需要了" in response.content.decode()  # in the history


def test_withdraw_by_the_initiator_before_anyone_acted(
    login: Callable[[User], Client], employee: User, instance_id: int
) -> None:
    response = login(employee).post(url(instance_id, "withdraw"), follow=True)
    assert "Withdrawn" in response.content.decode()
    assert open_task(instance_id).assignee == "zhangwei"


def test_withdraw_after_the_next_handler_acted_is_refused(
    login: Callable[[User], Client],
    employee: User,
    dept_head: User,
    colleague: User,
    instance_id: int,
) -> None:
    approvals.task_transfer(open_task(instance_id).pk, user=dept_head, to=colleague.username)
    before = list(Task.objects.values_list("pk", "state", "assignee"))
    response = login(employee).post(url(instance_id, "withdraw"), follow=True)
    assert "it can no longer be withdrawn" in response.content.decode()
    assert list(Task.objects.values_list("pk", "state", "assignee")) == before


def test_urge(
    login: Callable[[User], Client], employee: User, dept_head: User, instance_id: int
) -> None:
    client = login(employee)
    client.post(url(instance_id, "urge"), {"urge-comment": "着急"})
    assert len(rows(instance_id, "urged")) == 1
    response = client.post(url(instance_id, "urge"), {"urge-comment": ""}, follow=True)
    assert "urged a moment ago" in response.content.decode()
    assert len(rows(instance_id, "urged")) == 1


def test_urge_by_the_handler_is_refused(
    login: Callable[[User], Client], dept_head: User, instance_id: int
) -> None:
    response = login(dept_head).post(url(instance_id, "urge"), follow=True)
    assert "Only the initiator can urge the handlers." in response.content.decode()


def test_copy_from_the_instance_page(
    login: Callable[[User], Client], employee: User, colleague: User, instance_id: int
) -> None:
    client = login(employee)
    response = client.post(url(instance_id, "copy"), {"copy-recipients": "nobody"})
    assert response.status_code == 400 and not CarbonCopy.objects.exists()
    response = client.post(url(instance_id, "copy"), {"copy-recipients": "王芳"})
    assert response.status_code == 400  # a display name is not a user name: the picker fills it
    client.post(url(instance_id, "copy"), {"copy-recipients": "wangfang"})
    assert CarbonCopy.objects.get().user == colleague


def test_admin_suspends_resumes_moves_and_terminates(
    login: Callable[[User], Client], process_admin: User, instance_id: int
) -> None:
    client = login(process_admin)
    client.post(url(instance_id, "suspend"), {"suspend-reason": "核查"})
    assert ProcessInstance.objects.get(pk=instance_id).state == InstanceState.SUSPENDED
    html = client.get(url(instance_id)).content.decode()
    assert 'data-action="resume"' in html and 'data-action="suspend"' not in html
    client.post(url(instance_id, "resume"), {"resume-reason": ""})
    assert ProcessInstance.objects.get(pk=instance_id).state == InstanceState.ACTIVE
    # a bad target changes nothing
    response = client.post(url(instance_id, "move"), {"move-target": "nope", "move-reason": "x"})
    assert response.status_code == 400
    client.post(url(instance_id, "move"), {"move-target": "Start_Claim", "move-reason": "重新填写"})
    assert open_task(instance_id).element_id == "Start_Claim"
    assert client.post(url(instance_id, "terminate"), {"terminate-reason": ""}).status_code == 400
    client.post(url(instance_id, "terminate"), {"terminate-reason": "重复提交"})
    assert ProcessInstance.objects.get(pk=instance_id).state == InstanceState.TERMINATED


def test_admin_reassigns_a_task(
    login: Callable[[User], Client], process_admin: User, colleague: User, instance_id: int
) -> None:
    task = open_task(instance_id)
    client = login(process_admin)
    response = client.post(
        url(instance_id, "reassign"),
        {"reassign-task": str(task.pk), "reassign-to": colleague.employee_no},
    )
    assert response.status_code == 302
    assert Task.objects.get(pk=task.pk).assignee == "wangfang"


def test_admin_actions_by_the_initiator_are_refused(
    login: Callable[[User], Client], employee: User, instance_id: int
) -> None:
    response = login(employee).post(
        url(instance_id, "suspend"), {"suspend-reason": ""}, follow=True
    )
    assert "Only a process administrator can do this." in response.content.decode()
    assert ProcessInstance.objects.get(pk=instance_id).state == InstanceState.ACTIVE


def test_comment_on_the_instance(
    login: Callable[[User], Client], dept_head: User, instance_id: int
) -> None:
    client = login(dept_head)
    assert client.post(url(instance_id, "comment"), {"text": ""}).status_code == 400
    client.post(url(instance_id, "comment"), {"text": "已阅"})
    assert Comment.objects.get().task_id is None
    assert "已阅" in client.get(url(instance_id)).content.decode()


def test_incidents_show_the_step_name(
    login: Callable[[User], Client], employee: User, instance_id: int
) -> None:
    Incident.objects.create(
        instance_id=instance_id,
        element_id="Task_ManagerApproval",
        message="ERP timed out",
        created_at=current_time(),
    )
    html = login(employee).get(url(instance_id)).content.decode()
    # in words (issue 15): the error itself is the administrators' technical detail
    assert "直属上级审批</strong>: The other system did not answer in time." in html
    assert "ERP timed out" not in html
    assert "is-failed" in html


def test_csrf_is_required(employee: User, instance_id: int) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee, backend="portal.backends.UsernameOrEmployeeNoBackend")
    response = client.post(url(instance_id, "cancel"), {"cancel-reason": "x"})
    assert response.status_code == 403
    assert ProcessInstance.objects.get(pk=instance_id).state == InstanceState.ACTIVE


def test_unknown_instance_action_is_404(
    login: Callable[[User], Client], employee: User, instance_id: int
) -> None:
    assert login(employee).post(url(instance_id, "approve")).status_code == 404


def test_where_it_stands_names_the_people_of_the_role_not_its_code(
    login: Callable[[User], Client], employee: User, colleague: User
) -> None:
    from tests.workflow.approval_helpers import make_role

    role = make_role("finance_reviewer", colleague)
    role.name, role.name_en = "财务审核员", "Finance reviewer"
    role.save()
    deploy_steps(user_task("review", groups="finance_reviewer"))
    instance = start(employee)
    page = login(employee).get(url(instance)).content.decode()
    assert "王芳" in page  # who can act, by name (the timeline's waiting step)
    assert "finance_reviewer" not in page


def test_a_retry_is_in_the_history_with_who_did_it(
    login: Callable[[User], Client], instance_id: int, process_admin: User
) -> None:
    Incident.objects.create(
        instance_id=instance_id,
        element_id="Task_ManagerApproval",
        message="boom",
        created_at=current_time(),
    )
    (incident,) = Incident.objects.filter(instance_id=instance_id)
    jobs.incident_retry(incident.pk, by=process_admin)
    page = login(process_admin).get(url(instance_id)).content.decode()
    assert "retried the failed step" in page


def test_the_same_label_on_two_steps_is_told_apart_by_the_step(
    login: Callable[[User], Client], dept_head: User, employee: User
) -> None:
    key = deploy_steps(
        user_task(
            "first",
            assignee=dept_head.username,
            fields='<camunda:formField id="first_note" label="备注" type="string"/>',
        ),
        user_task(
            "second",
            assignee=dept_head.username,
            fields='<camunda:formField id="second_note" label="备注" type="string"/>',
        ),
        key="same_label",
    )
    iid = engine.instance_start(
        key, variables={"first_note": "同意", "second_note": "可以"}, initiator=employee
    )
    page = login(employee).get(url(iid)).content.decode()
    assert "first step · 备注" in page and "second step · 备注" in page


def test_withdraw_is_offered_to_the_last_handler_only(
    login: Callable[[User], Client], employee: User, dept_head: User, instance_id: int
) -> None:
    approvals.task_approve(open_task(instance_id).pk, user=dept_head)
    assert 'data-action="withdraw"' not in login(employee).get(url(instance_id)).content.decode()
    assert 'data-action="withdraw"' in login(dept_head).get(url(instance_id)).content.decode()
