"""Countersign steps (会签 / 或签 / 依次 / ratio) on multi-instance user tasks, and added
signers (加签 before / after / alongside, 减签)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal.models import User
from tests.factories import UserFactory
from tests.workflow.approval_helpers import (
    completions,
    deploy_body,
    deploy_steps,
    gateway_on_approved,
    instance,
    live,
    open_task,
    rows,
    settings,
    start,
    tasks,
    user_task,
)
from tests.workflow.engine_helpers import chain
from workflow.engine.runtime import AlreadyHandled
from workflow.models import Task
from workflow.selectors import actions
from workflow.services import approvals
from workflow.services import steps as step_services

pytestmark = pytest.mark.django_db

MI = 'camunda:collection="${reviewers}" camunda:elementVariable="reviewer"'


@pytest.fixture
def reviewers(org) -> list[User]:
    return [UserFactory.create(username=f"r{n}", department=org["finance"]) for n in range(1, 6)]


def countersign(mode: str, *, sequential: bool = False) -> None:
    """start -> Vote (one task per reviewer, ``countersign=mode``) -> After (王芳) -> end."""
    mi = MI + (' isSequential="true"' if sequential else "")
    deploy_steps(
        user_task("Vote", assignee="${reviewer}", props={"countersign": mode}, mi=mi),
        user_task("After", assignee="wangfang"),
    )


def vote(iid: int, name: str, decision: str) -> None:
    task = open_task(iid, "Vote", assignee=name)
    user = User.objects.get(username=name)
    if decision == "approve":
        approvals.task_approve(task.pk, user=user)
    else:
        approvals.task_reject(task.pk, user=user, comment="no")


def votes(iid: int) -> list[tuple[str, str]]:
    """(assignee, state) of the Vote tasks."""
    return [(t[1], t[2]) for t in tasks(iid, "Vote")]


def counts(iid: int) -> tuple[object, object, object]:
    variables = instance(iid).variables
    return variables.get("approved"), variables.get("nrOfApproved"), variables.get("nrOfRejected")


# --- countersign -----------------------------------------------------------------------------


def test_all_passes_when_everyone_approves(employee, colleague, reviewers) -> None:
    countersign("all")
    iid = start(employee, reviewers=["r1", "r2", "r3"])
    assert votes(iid) == [("r1", "open"), ("r2", "open"), ("r3", "open")]
    vote(iid, "r1", "approve")
    vote(iid, "r2", "approve")
    assert live(iid) == [("Vote", "r3", "open")]
    vote(iid, "r3", "approve")
    assert live(iid) == [("After", "wangfang", "open")]
    assert counts(iid) == (True, 3, 0)


def test_all_one_rejection_rejects(employee, colleague, reviewers) -> None:
    countersign("all")
    iid = start(employee, reviewers=["r1", "r2", "r3"])
    vote(iid, "r1", "approve")
    vote(iid, "r2", "reject")
    assert votes(iid) == [("r1", "completed"), ("r2", "completed"), ("r3", "cancelled")]
    assert instance(iid).state == "rejected"
    assert counts(iid) == (False, 1, 1)
    assert completions(iid) == [("Vote", "r1", "approved", ""), ("Vote", "r2", "rejected", "")]


def test_all_rejection_under_route_lets_the_gateway_decide(
    employee, colleague, dept_head, reviewers
) -> None:
    settings(reject="route")
    deploy_body(
        '<startEvent id="start"/>'
        + user_task("Vote", assignee="${reviewer}", props={"countersign": "all"}, mi=MI)
        + user_task("Yes", assignee="wangfang")
        + user_task("No", assignee="lina")
        + '<endEvent id="end"/><endEvent id="end2"/>'
        + chain("start", "Vote")
        + gateway_on_approved("Vote", "Yes", "No")
        + chain("Yes", "end")
        + chain("No", "end2")
    )
    iid = start(employee, reviewers=["r1", "r2"])
    vote(iid, "r1", "reject")
    assert live(iid) == [("No", "lina", "open")]
    assert votes(iid) == [("r1", "completed"), ("r2", "cancelled")]
    assert counts(iid) == (False, 0, 1)


def test_any_first_approval_decides(employee, colleague, reviewers) -> None:
    countersign("any")
    iid = start(employee, reviewers=["r1", "r2", "r3"])
    vote(iid, "r2", "approve")
    assert votes(iid) == [("r1", "cancelled"), ("r2", "completed"), ("r3", "cancelled")]
    assert live(iid) == [("After", "wangfang", "open")]
    assert counts(iid) == (True, 1, 0)


def test_any_first_rejection_decides(employee, colleague, reviewers) -> None:
    countersign("any")
    iid = start(employee, reviewers=["r1", "r2", "r3"])
    vote(iid, "r3", "reject")
    assert votes(iid) == [("r1", "cancelled"), ("r2", "cancelled"), ("r3", "completed")]
    assert instance(iid).state == "rejected"
    assert counts(iid) == (False, 0, 1)


def test_sequence_one_at_a_time(employee, colleague, reviewers) -> None:
    countersign("sequence")
    iid = start(employee, reviewers=["r1", "r2", "r3"])
    assert votes(iid) == [("r1", "open")]
    vote(iid, "r1", "approve")
    assert votes(iid) == [("r1", "completed"), ("r2", "open")]
    vote(iid, "r2", "approve")
    vote(iid, "r3", "approve")
    assert live(iid) == [("After", "wangfang", "open")]
    assert counts(iid) == (True, 3, 0)


def test_sequence_a_rejection_stops_the_line(employee, colleague, reviewers) -> None:
    countersign("sequence")
    iid = start(employee, reviewers=["r1", "r2", "r3"])
    vote(iid, "r1", "approve")
    vote(iid, "r2", "reject")
    assert votes(iid) == [("r1", "completed"), ("r2", "completed")]
    assert instance(iid).state == "rejected"
    assert counts(iid) == (False, 1, 1)


def test_ratio_passes_at_the_share(employee, colleague, reviewers) -> None:
    countersign("ratio:0.6")
    iid = start(employee, reviewers=["r1", "r2", "r3", "r4", "r5"])
    vote(iid, "r1", "approve")
    vote(iid, "r2", "reject")
    vote(iid, "r3", "approve")
    assert len(live(iid)) == 2  # 2 of 5: not yet
    vote(iid, "r4", "approve")  # 3 of 5 = 60 %
    assert votes(iid)[-1] == ("r5", "cancelled")
    assert live(iid) == [("After", "wangfang", "open")]
    assert counts(iid) == (True, 3, 1)


def test_ratio_rejected_when_the_share_is_out_of_reach(employee, colleague, reviewers) -> None:
    countersign("ratio:0.6")
    iid = start(employee, reviewers=["r1", "r2", "r3", "r4", "r5"])
    vote(iid, "r1", "reject")
    vote(iid, "r2", "reject")  # 3 of 5 can still approve
    assert instance(iid).state == "active"
    vote(iid, "r3", "reject")  # at most 2 of 5 now
    assert instance(iid).state == "rejected"
    assert votes(iid)[3:] == [("r4", "cancelled"), ("r5", "cancelled")]
    assert counts(iid) == (False, 0, 3)


def test_countersign_reject_return_policy_returns_to_the_initiator(
    employee, colleague, reviewers
) -> None:
    settings(reject="return")
    countersign("all")
    iid = start(employee, reviewers=["r1", "r2"])
    vote(iid, "r1", "reject")
    assert instance(iid).state == "active"
    assert live(iid) == [("start", "zhangwei", "open")]
    assert votes(iid) == [("r1", "completed"), ("r2", "cancelled")]


# --- added signers (加签, 减签) ----------------------------------------------------------------


def steps() -> None:
    deploy_steps(user_task("A", assignee="lina"), user_task("B", assignee="liuyang"))


def test_signer_before_me(employee, dept_head, colleague) -> None:
    steps()
    iid = start(employee)
    mine = open_task(iid)
    [added] = approvals.task_add_signers(
        mine.pk, user=dept_head, signers=["wangfang"], position="before", comment="check first"
    )
    assert live(iid) == [("A", "lina", "waiting"), ("A", "wangfang", "open")]
    [row] = rows(iid, "signer-added")
    assert (row.actor, row.data) == (
        "lina",
        {"signers": ["wangfang"], "position": "before", "comment": "check first"},
    )
    with pytest.raises(step_services.ActionRefused):
        approvals.task_approve(mine.pk, user=dept_head)
    mine.refresh_from_db()
    assert actions.task_actions(dept_head, mine) == {"remove_signer"}

    approvals.task_approve(added, user=colleague)
    assert live(iid) == [("A", "lina", "open")]
    assert instance(iid).variables.get("approved") is None  # a signer's vote decides nothing
    assert dept_head.notifications.filter(url=f"/workflow/tasks/{mine.pk}/").count() == 1
    approvals.task_approve(mine.pk, user=dept_head)
    assert live(iid) == [("B", "liuyang", "open")]
    assert completions(iid) == [("A", "wangfang", "approved", ""), ("A", "lina", "approved", "")]


def test_signer_after_me(employee, dept_head, colleague) -> None:
    steps()
    iid = start(employee)
    mine = open_task(iid)
    [added] = approvals.task_add_signers(
        mine.pk, user=dept_head, signers=["wangfang"], position="after"
    )
    assert live(iid) == [("A", "lina", "open"), ("A", "wangfang", "pending")]
    with pytest.raises(step_services.ActionRefused):
        approvals.task_approve(added, user=colleague)
    approvals.task_approve(mine.pk, user=dept_head)
    assert live(iid) == [("A", "wangfang", "open")]  # the token waits for the signer
    approvals.task_approve(added, user=colleague)
    assert live(iid) == [("B", "liuyang", "open")]


def test_two_signers_after_me_sign_one_after_the_other(employee, dept_head, colleague, outsider):
    deploy_steps(user_task("A", assignee="lina"), user_task("B", assignee="zhaomin"))
    iid = start(employee)
    mine = open_task(iid)
    first, second = approvals.task_add_signers(
        mine.pk, user=dept_head, signers=["wangfang", "liuyang"], position="after"
    )
    approvals.task_approve(mine.pk, user=dept_head)
    assert live(iid) == [("A", "wangfang", "open"), ("A", "liuyang", "pending")]
    approvals.task_approve(first, user=colleague)
    assert live(iid) == [("A", "liuyang", "open")]
    approvals.task_approve(second, user=outsider)
    assert live(iid) == [("B", "zhaomin", "open")]


def test_signer_alongside_me(employee, dept_head, colleague) -> None:
    steps()
    iid = start(employee)
    mine = open_task(iid)
    [added] = approvals.task_add_signers(
        mine.pk, user=dept_head, signers=["wangfang"], position="alongside"
    )
    assert live(iid) == [("A", "lina", "open"), ("A", "wangfang", "open")]
    approvals.task_approve(mine.pk, user=dept_head)
    assert live(iid) == [("A", "wangfang", "open")]
    approvals.task_approve(added, user=colleague)
    assert live(iid) == [("B", "liuyang", "open")]


def test_add_signers_refuses_bad_choices(employee, dept_head, colleague) -> None:
    steps()
    iid = start(employee)
    mine = open_task(iid)
    for signers, position, field in (
        (["wangfang"], "sideways", "position"),
        ([], "after", "signers"),
        (["lina"], "after", "signers"),
        (["ghost"], "after", "signers"),
    ):
        with pytest.raises(ValidationError) as caught:
            approvals.task_add_signers(mine.pk, user=dept_head, signers=signers, position=position)
        assert list(caught.value.error_dict) == [field]
    approvals.task_add_signers(mine.pk, user=dept_head, signers=["wangfang"], position="after")
    with pytest.raises(ValidationError):  # 王芳 already signs here
        approvals.task_add_signers(mine.pk, user=dept_head, signers=["wangfang"], position="after")
    assert live(iid) == [("A", "lina", "open"), ("A", "wangfang", "pending")]


def test_remove_a_signer_who_has_not_acted(employee, dept_head, colleague, outsider) -> None:
    steps()
    iid = start(employee)
    mine = open_task(iid)
    [added] = approvals.task_add_signers(
        mine.pk, user=dept_head, signers=["wangfang"], position="after"
    )
    assert "remove_signer" in actions.task_actions(dept_head, mine)
    for someone in (colleague, outsider, employee):
        with pytest.raises(step_services.ActionRefused):
            approvals.task_remove_signer(added, user=someone)
    approvals.task_remove_signer(added, user=dept_head)
    assert tasks(iid, "A") == [("A", "lina", "open"), ("A", "wangfang", "cancelled")]
    [row] = rows(iid, "signer-removed")
    assert (row.actor, row.data) == ("lina", {"signer": "wangfang"})
    approvals.task_approve(mine.pk, user=dept_head)
    assert live(iid) == [("B", "liuyang", "open")]


def test_removing_the_last_signer_after_i_approved_moves_on(employee, dept_head, colleague) -> None:
    steps()
    iid = start(employee)
    mine = open_task(iid)
    [added] = approvals.task_add_signers(
        mine.pk, user=dept_head, signers=["wangfang"], position="after"
    )
    approvals.task_approve(mine.pk, user=dept_head)
    approvals.task_remove_signer(added, user=dept_head)
    assert live(iid) == [("B", "liuyang", "open")]


def test_removing_the_signer_before_me_gives_me_back_my_task(
    employee, dept_head, colleague
) -> None:
    steps()
    iid = start(employee)
    mine = open_task(iid)
    [added] = approvals.task_add_signers(
        mine.pk, user=dept_head, signers=["wangfang"], position="before"
    )
    approvals.task_remove_signer(added, user=dept_head)
    assert live(iid) == [("A", "lina", "open")]
    approvals.task_approve(mine.pk, user=dept_head)
    assert live(iid) == [("B", "liuyang", "open")]


def test_remove_refused_after_the_signer_acted(employee, dept_head, colleague) -> None:
    steps()
    iid = start(employee)
    mine = open_task(iid)
    [added] = approvals.task_add_signers(
        mine.pk, user=dept_head, signers=["wangfang"], position="alongside"
    )
    approvals.task_approve(added, user=colleague)
    with pytest.raises(step_services.ActionRefused):
        approvals.task_remove_signer(added, user=dept_head)
    assert Task.objects.get(pk=added).state == "completed"
    with pytest.raises(step_services.ActionRefused):  # not an added signer's task
        approvals.task_remove_signer(mine.pk, user=dept_head)
    with pytest.raises(AlreadyHandled):
        approvals.task_approve(added, user=colleague)
    assert live(iid) == [("A", "lina", "open")]
