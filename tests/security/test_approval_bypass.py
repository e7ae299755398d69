"""The approval chain cannot be skipped, and nobody approves their own request (issue 13,
items 1 and 2), tried as the probe did: through the API, with the demo's expense claim.

- The initiator is the signed-in person (or the OAuth2 application's user), never a variable
  a caller writes: ``{"initiator": "nobody"}`` made ``manager(initiator)`` find nobody and the
  claim skip its approvers.
- A start, an approval, a return and a resubmit take only the fields their form declares;
  every other key (``initiator``, ``approved``, ``approver`` ...) is a field error and
  nothing is started or changed. A negative or non-numeric amount is refused.
- The initiator never acts on an approval step of their own request: not offered it through a
  role or department they belong to, cannot take or approve it, and nobody can hand it to them
  (transfer, delegate, add a signer, reassign, an out-of-office proxy), unless the process
  explicitly allows it for the step.
"""

from __future__ import annotations

import datetime
import secrets
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from portal.models import User
from tests.factories import UserFactory, role
from tests.workflow.approval_helpers import (
    away,
    deploy_steps,
    make_admin,
    open_task,
    settings,
    user_task,
)
from workflow import participants
from workflow.models import (
    Incident,
    InitiatorApproverPolicy,
    ProcessInstance,
    Task,
    TaskState,
)
from workflow.selectors import actions, inbox
from workflow.services import administration, approvals, definitions, engine
from workflow.services.steps import ActionRefused

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parents[2] / "workflow" / "demo"
CLAIM = {
    "reason": "客户拜访差旅",
    "amount": 50000,
    "expense_type": "travel",
    "expense_date": "2026-11-30",
}
REVIEW = "review"  # start (amount) → Finance (role finance_reviewer) → end


@pytest.fixture
def expense_claim(db: None) -> str:
    """The demo's expense claim: 直属上级 (manager(initiator)) → 部门负责人 (deptHead(initiator,
    2)) from 5,000 元 → 财务审核 (role finance_reviewer) → ..."""
    definitions.definition_deploy(
        xml=(DEMO / "expense_claim.bpmn").read_text(encoding="utf-8"),
        source_name="expense_claim.bpmn",
    )
    return "expense_claim"


@pytest.fixture
def reviewers(org: dict[str, Any]) -> tuple[User, User]:
    """Two finance reviewers: 黄丽 (huangli), who claims her own expenses, and 陈静 (chenjing)."""
    finance = role("finance_reviewer", "财务审核")
    first = UserFactory.create(
        username="huangli", first_name="丽", last_name="黄", department=org["finance"]
    )
    second = UserFactory.create(
        username="chenjing", first_name="静", last_name="陈", department=org["finance"]
    )
    for person in (first, second):
        person.groups.add(finance)
        person.preferred_language = "en"
        person.save()
    return first, second


@pytest.fixture
def review(db: None) -> str:
    deploy_steps(
        user_task("Finance", groups="role:finance_reviewer"),
        key=REVIEW,
        start_fields='<camunda:formField id="amount" label="Amount" type="long"/>',
    )
    return REVIEW


def _english(user: User) -> User:
    user.preferred_language = "en"
    user.save()
    return user


def _api(user: User) -> Client:
    client = Client()
    client.force_login(user, backend="portal.backends.UsernameOrEmployeeNoBackend")
    return client


def _post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, body or {}, content_type="application/json")


def _start(client: Client, key: str, variables: dict[str, Any]) -> Any:
    return _post(client, "/api/v1/instances/", {"process_key": key, "variables": variables})


def _fields(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 400, answer.json()
    return answer.json()["error"]["fields"]


# --- 1. the chain cannot be skipped through the API ----------------------------------------------


@pytest.mark.parametrize(
    ("smuggled", "field"),
    [
        ({"initiator": "nobody"}, "initiator"),
        ({"initiator": ""}, "initiator"),
        ({"approved": True}, "approved"),
        ({"approver": "zhangwei"}, "approver"),
        ({"amount": -50000}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"amount": 10**30}, "amount"),
    ],
)
def test_a_start_with_a_variable_the_form_does_not_allow_is_refused(
    expense_claim: str, employee: User, dept_head: User, smuggled: dict[str, Any], field: str
) -> None:
    answer = _start(_api(_english(employee)), expense_claim, {**CLAIM, **smuggled})
    assert field in _fields(answer)
    assert not ProcessInstance.objects.exists()
    assert not Task.objects.exists()


def test_a_large_claim_goes_to_the_initiators_manager_first(
    expense_claim: str, employee: User, dept_head: User
) -> None:
    answer = _start(_api(employee), expense_claim, CLAIM)
    assert answer.status_code == 201, answer.json()
    instance = ProcessInstance.objects.get()
    assert instance.initiator == employee.username
    assert set(instance.variables) <= set(CLAIM) | {"initiator"}
    task = open_task(instance.pk)
    assert (task.element_id, task.assignee) == ("Task_ManagerApproval", dept_head.username)


def test_the_engine_reads_the_real_initiator_whatever_a_variable_says(
    expense_claim: str, employee: User, dept_head: User
) -> None:
    """Even a trusted caller that passes an ``initiator`` variable (the engine's own service,
    a migration script) cannot point the participant rules at someone else."""
    iid = engine.instance_start(
        expense_claim, variables={**CLAIM, "initiator": "nobody"}, initiator=employee
    )
    assert open_task(iid).assignee == dept_head.username
    # a process without camunda:initiator: the name ``initiator`` is still the real one
    deploy_steps(user_task("Approve", assignee="${manager(initiator)}"), key="plain")
    iid = engine.instance_start("plain", variables={"initiator": "nobody"}, initiator=employee)
    assert open_task(iid).assignee == dept_head.username


def test_the_camunda_initiator_variable_is_the_real_initiator(
    employee: User, dept_head: User
) -> None:
    definitions.definition_deploy(
        xml=(
            '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="t">'
            '<process id="starter" isExecutable="true">'
            '<startEvent id="start" camunda:initiator="applicant"/>'
            '<userTask id="Approve" camunda:assignee="${manager(applicant)}"/>'
            '<endEvent id="end"/>'
            '<sequenceFlow id="f1" sourceRef="start" targetRef="Approve"/>'
            '<sequenceFlow id="f2" sourceRef="Approve" targetRef="end"/>'
            "</process></definitions>"
        ),
        source_name="starter.bpmn",
    )
    iid = engine.instance_start("starter", variables={"applicant": "nobody"}, initiator=employee)
    assert ProcessInstance.objects.get(pk=iid).variables["applicant"] == employee.username
    assert open_task(iid).assignee == dept_head.username


def test_an_oauth2_application_starts_as_its_user(
    expense_claim: str, employee: User, dept_head: User
) -> None:
    from oauth2_provider.models import AccessToken, Application

    app = Application.objects.create(
        name="ERP",
        user=employee,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    issued = secrets.token_urlsafe(24)  # made here: no literal credential in the sources
    AccessToken.objects.create(
        user=None,
        application=app,
        token=issued,
        scope="read write",
        expires=timezone.now() + datetime.timedelta(hours=1),
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issued}")
    refused = _start(client, expense_claim, {**CLAIM, "initiator": "nobody"})
    assert "initiator" in _fields(refused)
    answer = _start(client, expense_claim, CLAIM)
    assert answer.status_code == 201, answer.json()
    assert ProcessInstance.objects.get().initiator == employee.username


def test_an_approval_with_undeclared_variables_changes_nothing(
    expense_claim: str, employee: User, dept_head: User
) -> None:
    iid = _start(_api(employee), expense_claim, CLAIM).json()["id"]
    task = open_task(iid)
    answer = _post(
        _api(_english(dept_head)),
        f"/api/v1/tasks/{task.pk}/approve",
        {"data": {"amount": 1}},
    )
    assert list(_fields(answer)) == ["amount"]
    # the demo's amount is a money field: exact text with two decimals
    assert ProcessInstance.objects.get(pk=iid).variables["amount"] == "50000.00"
    assert Task.objects.get(pk=task.pk).state == TaskState.OPEN


def test_a_resubmit_takes_only_the_start_forms_fields(
    expense_claim: str, employee: User, dept_head: User
) -> None:
    iid = _start(_api(employee), expense_claim, CLAIM).json()["id"]
    approvals.task_return(open_task(iid).pk, user=dept_head, target="initiator", comment="金额不对")
    back = open_task(iid)
    assert back.assignee == employee.username
    with pytest.raises(ValidationError) as refused:
        approvals.task_approve(back.pk, user=employee, data={**CLAIM, "initiator": "nobody"})
    assert list(refused.value.message_dict) == ["initiator"]
    approvals.task_approve(back.pk, user=employee, data={**CLAIM, "amount": 4000})
    assert open_task(iid).assignee == dept_head.username


# --- 2. nobody approves their own request ---------------------------------------------------


def test_the_initiator_is_not_offered_their_own_request_through_a_role(
    review: str, reviewers: tuple[User, User]
) -> None:
    claimant, other = reviewers
    iid = _start(_api(claimant), review, {"amount": 900}).json()["id"]
    task = open_task(iid)
    assert task.assignee == ""
    assert list(inbox.tasks_todo(claimant)) == []
    assert list(inbox.tasks_todo(other)) == [task]
    listed = _api(claimant).get("/api/v1/tasks/").json()["results"]
    assert [row["id"] for row in listed] == []

    for action in ("claim", "approve"):
        answer = _post(_api(claimant), f"/api/v1/tasks/{task.pk}/{action}")
        assert answer.status_code == 409, answer.json()
        assert answer.json()["error"]["message"] == (
            "You started this request: someone else approves it."
        )
    assert claimant.username not in {"", Task.objects.get(pk=task.pk).assignee}
    page = _api(claimant).post(f"/workflow/inbox/claim/{task.pk}/")
    assert page.status_code == 404
    assert Task.objects.get(pk=task.pk).assignee == ""

    answer = _post(_api(other), f"/api/v1/tasks/{task.pk}/approve")
    assert answer.status_code == 200, answer.json()
    assert ProcessInstance.objects.get(pk=iid).state == "completed"


def test_the_task_page_offers_the_initiator_no_approval(
    review: str, reviewers: tuple[User, User]
) -> None:
    claimant, _other = reviewers
    iid = _start(_api(claimant), review, {"amount": 900}).json()["id"]
    task = Task.objects.select_related("instance").get(pk=open_task(iid).pk)
    assert actions.task_actions(claimant, task) & {"claim", "approve", "reject"} == set()
    assert "claim" in actions.task_actions(_other, task)


@pytest.mark.parametrize("action", ["transfer", "delegate", "add-signers"])
def test_nobody_hands_the_initiators_request_to_the_initiator(
    review: str, reviewers: tuple[User, User], action: str
) -> None:
    claimant, other = reviewers
    iid = _start(_api(claimant), review, {"amount": 900}).json()["id"]
    task = open_task(iid)
    approvals.task_claim(task.pk, user=other)
    body = (
        {"signers": [claimant.username], "position": "after"}
        if action == "add-signers"
        else {"to": claimant.username}
    )
    answer = _post(_api(other), f"/api/v1/tasks/{task.pk}/{action}", body)
    field = "signers" if action == "add-signers" else "to"
    assert _fields(answer) == {field: ["黄丽 started this request and cannot approve it."]}
    assert list(Task.objects.filter(instance_id=iid).values_list("assignee", "state")) == [
        (other.username, TaskState.OPEN)
    ]


def test_an_administrator_cannot_reassign_it_to_the_initiator(
    review: str, reviewers: tuple[User, User], colleague: User
) -> None:
    claimant, _other = reviewers
    iid = _start(_api(claimant), review, {"amount": 900}).json()["id"]
    task = open_task(iid)
    admin = make_admin(colleague)
    with pytest.raises(ValidationError):
        administration.task_reassign(task.pk, by=admin, to=claimant.username)
    assert Task.objects.get(pk=task.pk).assignee == ""


def test_when_the_initiator_is_the_only_candidate_nobody_is_found(
    review: str, reviewers: tuple[User, User]
) -> None:
    claimant, other = reviewers
    other.groups.clear()
    iid = _start(_api(claimant), review, {"amount": 900}).json()["id"]
    assert Incident.objects.filter(instance_id=iid, resolved_at__isnull=True).exists()
    assert list(inbox.tasks_todo(claimant)) == []


def test_a_named_approver_who_is_the_initiator_is_skipped(employee: User, dept_head: User) -> None:
    deploy_steps(user_task("Approve", assignee="lina"), user_task("After", assignee="wangfang"))
    iid = engine.instance_start("leave", variables={}, initiator=dept_head)
    assert open_task(iid).element_id == "After"


def test_an_out_of_office_proxy_who_is_the_initiator_is_not_used(
    employee: User, dept_head: User
) -> None:
    away(dept_head, employee)
    deploy_steps(user_task("Approve", assignee="${manager(initiator)}"))
    iid = engine.instance_start("leave", variables={}, initiator=employee)
    task = open_task(iid)
    assert (task.assignee, task.on_behalf_of) == (dept_head.username, "")
    with pytest.raises(ActionRefused):
        approvals.task_approve(task.pk, user=employee)


# --- ... unless the process explicitly allows it -------------------------------------------------


def test_a_step_may_allow_the_initiator(reviewers: tuple[User, User]) -> None:
    claimant, _other = reviewers
    deploy_steps(
        user_task(
            "Finance",
            groups="role:finance_reviewer",
            props={participants.INITIATOR_MAY_APPROVE: "true"},
        ),
        key=REVIEW,
    )
    iid = engine.instance_start(REVIEW, variables={}, initiator=claimant)
    task = open_task(iid)
    assert task in inbox.tasks_todo(claimant)
    approvals.task_approve(task.pk, user=claimant)
    assert ProcessInstance.objects.get(pk=iid).state == "completed"


def test_a_process_may_keep_the_initiator_as_approver(reviewers: tuple[User, User]) -> None:
    claimant, _other = reviewers
    deploy_steps(user_task("Finance", groups="role:finance_reviewer"), key=REVIEW)
    settings(REVIEW, initiator_approver=InitiatorApproverPolicy.KEEP)
    iid = engine.instance_start(REVIEW, variables={}, initiator=claimant)
    task = open_task(iid)
    approvals.task_claim(task.pk, user=claimant)
    approvals.task_approve(task.pk, user=claimant)
    assert ProcessInstance.objects.get(pk=iid).state == "completed"
