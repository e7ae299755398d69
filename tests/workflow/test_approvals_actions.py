"""Approve, reject (and its policies), return (退回), withdraw (撤回), cancel (撤销), transfer
(转办), delegate (委派) and resolve, as the handler and as everyone else who may not."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tests.workflow.approval_helpers import (
    away,
    completions,
    deploy_body,
    deploy_steps,
    gateway_on_approved,
    instance,
    live,
    make_role,
    open_task,
    rows,
    settings,
    start,
    tasks,
    user_task,
)
from tests.workflow.engine_helpers import chain
from workflow.engine.runtime import AlreadyHandled
from workflow.selectors import actions
from workflow.services import approvals, steps

pytestmark = pytest.mark.django_db

DAYS = (
    '<camunda:formField id="days" type="long" label="Days">'
    '<camunda:validation><camunda:constraint name="required"/>'
    '<camunda:constraint name="min" config="1"/></camunda:validation></camunda:formField>'
)


def two_steps() -> None:
    """start -> A (李娜) -> B (王芳) -> C (刘洋) -> end."""
    deploy_steps(
        user_task("A", assignee="lina"),
        user_task("B", assignee="wangfang"),
        user_task("C", assignee="liuyang"),
    )


# --- approve ---------------------------------------------------------------------------------


def test_approve_with_form_data_sets_variables(employee, dept_head) -> None:
    deploy_steps(user_task("A", assignee="lina", fields=DAYS))
    iid = start(employee, days=0)
    task = open_task(iid)
    with pytest.raises(ValidationError) as refused:
        approvals.task_approve(task.pk, user=dept_head, data={"days": "3", "other": "x"})
    assert list(refused.value.message_dict) == ["other"]
    assert instance(iid).state == "active"
    approvals.task_approve(task.pk, user=dept_head, data={"days": "3"}, comment="ok")
    assert instance(iid).state == "completed"
    assert instance(iid).variables == {"days": 3, "approved": True}
    task.refresh_from_db()
    assert (task.state, task.completed_by, task.outcome, task.data) == (
        "completed",
        "lina",
        "approved",
        {"days": 3},
    )
    [row] = rows(iid, "task-completed")
    assert (row.actor, row.outcome, row.data) == ("lina", "approved", {"comment": "ok"})


def test_approve_with_bad_form_data_changes_nothing(employee, dept_head) -> None:
    deploy_steps(user_task("A", assignee="lina", fields=DAYS))
    iid = start(employee, days=0)
    task = open_task(iid)
    revision = instance(iid).revision
    for data in ({}, {"days": "0"}, {"days": "many"}):
        with pytest.raises(ValidationError) as caught:
            approvals.task_approve(task.pk, user=dept_head, data=data)
        assert list(caught.value.error_dict) == ["days"]
    assert tasks(iid) == [("A", "lina", "open")]
    assert instance(iid).revision == revision
    assert instance(iid).variables == {"days": 0}
    assert rows(iid, "task-completed") == []


def test_acting_on_someone_elses_task_is_refused(employee, dept_head, colleague, outsider) -> None:
    two_steps()
    iid = start(employee)
    task = open_task(iid)
    for act in (
        lambda u: approvals.task_approve(task.pk, user=u),
        lambda u: approvals.task_reject(task.pk, user=u, comment="no"),
        lambda u: approvals.task_return(task.pk, user=u, target="initiator", comment="no"),
        lambda u: approvals.task_transfer(task.pk, user=u, to="wangfang"),
        lambda u: approvals.task_delegate(task.pk, user=u, to="wangfang"),
        lambda u: approvals.task_add_signers(
            task.pk, user=u, signers=["wangfang"], position="after"
        ),
    ):
        for someone in (employee, colleague, outsider):
            with pytest.raises(steps.ActionRefused):
                act(someone)
    assert live(iid) == [("A", "lina", "open")]
    assert [r.kind for r in rows(iid)] == ["instance-start", "activity", "task-created"]


def test_acting_twice_is_already_handled(employee, dept_head) -> None:
    two_steps()
    iid = start(employee)
    task = open_task(iid)
    approvals.task_approve(task.pk, user=dept_head)
    with pytest.raises(AlreadyHandled):
        approvals.task_approve(task.pk, user=dept_head)
    with pytest.raises(AlreadyHandled):
        approvals.task_reject(task.pk, user=dept_head, comment="no")
    with pytest.raises(AlreadyHandled):
        approvals.task_transfer(task.pk, user=dept_head, to="liuyang")
    assert live(iid) == [("B", "wangfang", "open")]
    assert completions(iid) == [("A", "lina", "approved", "")]


# --- reject and its policies -----------------------------------------------------------------


def test_reject_needs_a_comment(employee, dept_head) -> None:
    two_steps()
    iid = start(employee)
    for comment in ("", "   "):
        with pytest.raises(ValidationError) as caught:
            approvals.task_reject(open_task(iid).pk, user=dept_head, comment=comment)
        assert list(caught.value.error_dict) == ["comment"]
    assert live(iid) == [("A", "lina", "open")]
    assert instance(iid).state == "active"


def test_reject_end_policy_ends_the_instance_as_rejected(employee, dept_head) -> None:
    two_steps()
    iid = start(employee)
    approvals.task_reject(open_task(iid).pk, user=dept_head, comment="not now")
    ended = instance(iid)
    assert (ended.state, ended.end_event) == ("rejected", "A")
    assert ended.ended_at is not None
    assert ended.variables["approved"] is False
    assert tasks(iid) == [("A", "lina", "completed")]
    assert completions(iid) == [("A", "lina", "rejected", "")]
    assert rows(iid, "task-completed")[0].data == {"comment": "not now"}
    [end] = rows(iid, "instance-end")
    assert end.outcome == "rejected"


def test_reject_return_policy_gives_it_back_to_the_initiator(employee, dept_head) -> None:
    settings(reject="return")
    two_steps()
    iid = start(employee)
    approvals.task_reject(open_task(iid).pk, user=dept_head, comment="fix it")
    assert instance(iid).state == "active"
    back = open_task(iid)
    assert (back.element_id, back.assignee) == ("start", "zhangwei")
    assert actions.task_actions(employee, back) >= {"approve"}
    assert "reject" not in actions.task_actions(employee, back)
    with pytest.raises(steps.ActionRefused):
        approvals.task_reject(back.pk, user=employee, comment="x")
    # restart (the default): the request walks every step again
    approvals.task_approve(back.pk, user=employee)
    assert live(iid) == [("A", "lina", "open")]
    assert completions(iid)[-1] == ("start", "zhangwei", "submitted", "")


def test_resubmit_jump_goes_straight_back_to_the_step_that_returned_it(
    employee, dept_head, colleague
) -> None:
    settings(reject="return", resubmit="jump")
    two_steps()
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    approvals.task_reject(open_task(iid).pk, user=colleague, comment="fix it")
    back = open_task(iid)
    assert (back.element_id, back.assignee) == ("start", "zhangwei")
    approvals.task_approve(back.pk, user=employee)
    assert live(iid) == [("B", "wangfang", "open")]


def test_reject_route_policy_lets_the_gateway_decide(employee, dept_head, colleague) -> None:
    settings(reject="route")
    deploy_body(
        '<startEvent id="start"/>'
        + user_task("A", assignee="lina")
        + user_task("Yes", assignee="wangfang")
        + user_task("No", assignee="lina")
        + '<endEvent id="end"/><endEvent id="end2"/>'
        + chain("start", "A")
        + gateway_on_approved("A", "Yes", "No")
        + chain("Yes", "end")
        + chain("No", "end2")
    )
    iid = start(employee)
    approvals.task_reject(open_task(iid).pk, user=dept_head, comment="no")
    assert instance(iid).variables["approved"] is False
    assert live(iid) == [("No", "lina", "open")]
    assert completions(iid) == [("A", "lina", "rejected", "")]


# --- return (退回) ---------------------------------------------------------------------------


def test_return_to_the_initiator(employee, dept_head) -> None:
    two_steps()
    iid = start(employee)
    task = open_task(iid)
    assert actions.return_targets(task) == [("initiator", "Request")]
    approvals.task_return(task.pk, user=dept_head, target="initiator", comment="details")
    back = open_task(iid)
    assert (back.element_id, back.assignee) == ("start", "zhangwei")
    [row] = rows(iid, "task-completed")
    assert (row.element_id, row.actor, row.outcome, row.data) == (
        "A",
        "lina",
        "returned",
        {"comment": "details", "to": "initiator"},
    )


def test_return_needs_a_comment(employee, dept_head) -> None:
    two_steps()
    iid = start(employee)
    with pytest.raises(ValidationError):
        approvals.task_return(open_task(iid).pk, user=dept_head, target="initiator", comment="")
    assert live(iid) == [("A", "lina", "open")]


def test_return_to_an_earlier_step_goes_to_who_handled_it(
    employee, colleague, outsider, dept_head
) -> None:
    make_role("finance", outsider, dept_head)
    deploy_steps(
        user_task("A", groups="role:finance"),
        user_task("B", assignee="wangfang"),
        user_task("C", assignee="zhangwei"),
    )
    iid = start(employee)
    approvals.task_claim(open_task(iid).pk, user=outsider)
    approvals.task_approve(open_task(iid).pk, user=outsider)
    task = open_task(iid)
    assert actions.return_targets(task) == [("initiator", "Request"), ("A", "A step")]
    approvals.task_return(task.pk, user=colleague, target="A", comment="recheck")
    back = open_task(iid)
    assert (back.element_id, back.assignee, back.candidates.count()) == ("A", "liuyang", 0)
    assert live(iid) == [("A", "liuyang", "open")]
    # resubmitted (restart): B comes again
    approvals.task_approve(back.pk, user=outsider)
    assert live(iid) == [("B", "wangfang", "open")]


def test_return_refused_for_a_step_not_passed_or_not_in_the_process(
    employee, dept_head, colleague
) -> None:
    two_steps()
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    task = open_task(iid)
    for target in ("C", "B", "Nope", "end"):
        with pytest.raises(steps.ActionRefused):
            approvals.task_return(task.pk, user=colleague, target=target, comment="x")
    assert live(iid) == [("B", "wangfang", "open")]
    assert completions(iid) == [("A", "lina", "approved", "")]


# --- withdraw (撤回) -------------------------------------------------------------------------


def test_withdraw_by_who_completed_the_previous_step(employee, dept_head, colleague) -> None:
    two_steps()
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    approvals.instance_withdraw(iid, user=dept_head)
    assert live(iid) == [("A", "lina", "open")]
    assert tasks(iid, "B") == [("B", "wangfang", "cancelled")]
    [row] = rows(iid, "withdrawn")
    assert (row.element_id, row.actor) == ("A", "lina")


def test_withdraw_refused_after_the_next_handler_approved(employee, dept_head, colleague) -> None:
    two_steps()
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    approvals.task_approve(open_task(iid).pk, user=colleague)
    with pytest.raises(steps.ActionRefused):
        approvals.instance_withdraw(iid, user=dept_head)
    assert live(iid) == [("C", "liuyang", "open")]


def test_withdraw_refused_after_the_next_handler_transferred(
    employee, dept_head, colleague, outsider
) -> None:
    two_steps()
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    approvals.task_transfer(open_task(iid).pk, user=colleague, to="liuyang")
    with pytest.raises(steps.ActionRefused):
        approvals.instance_withdraw(iid, user=dept_head)
    assert live(iid) == [("B", "liuyang", "open")]


def test_withdraw_refused_after_the_next_handler_claimed(employee, dept_head, colleague) -> None:
    deploy_steps(user_task("A", assignee="lina"), user_task("B", groups="dept:SALES-E"))
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    approvals.task_claim(open_task(iid).pk, user=colleague)
    with pytest.raises(steps.ActionRefused):
        approvals.instance_withdraw(iid, user=dept_head)
    assert live(iid) == [("B", "wangfang", "open")]


def test_initiator_withdraws_before_anyone_acted(employee, dept_head) -> None:
    two_steps()
    iid = start(employee)
    approvals.instance_withdraw(iid, user=employee)
    back = open_task(iid)
    assert (back.element_id, back.assignee) == ("start", "zhangwei")
    assert tasks(iid, "A") == [("A", "lina", "cancelled")]
    # submitted again, it starts over
    approvals.task_approve(back.pk, user=employee)
    assert live(iid) == [("A", "lina", "open")]


def test_initiator_cannot_withdraw_once_the_first_handler_acted(employee, dept_head) -> None:
    two_steps()
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    with pytest.raises(steps.ActionRefused):
        approvals.instance_withdraw(iid, user=employee)
    assert live(iid) == [("B", "wangfang", "open")]


def test_someone_else_cannot_withdraw(employee, dept_head, colleague, outsider) -> None:
    two_steps()
    iid = start(employee)
    for someone in (colleague, outsider, dept_head):
        with pytest.raises(steps.ActionRefused):
            approvals.instance_withdraw(iid, user=someone)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    for someone in (colleague, outsider):
        with pytest.raises(steps.ActionRefused):
            approvals.instance_withdraw(iid, user=someone)
    assert live(iid) == [("B", "wangfang", "open")]
    assert rows(iid, "withdrawn") == []


# --- cancel (撤销) ---------------------------------------------------------------------------


def test_initiator_cancels_with_a_reason(employee, dept_head) -> None:
    two_steps()
    iid = start(employee)
    with pytest.raises(ValidationError) as caught:
        approvals.instance_cancel(iid, user=employee, reason="  ")
    assert list(caught.value.error_dict) == ["reason"]
    assert instance(iid).state == "active"

    approvals.instance_cancel(iid, user=employee, reason="plans changed")
    assert instance(iid).state == "cancelled"
    assert tasks(iid) == [("A", "lina", "cancelled")]
    [row] = rows(iid, "instance-cancelled")
    assert (row.actor, row.data) == ("zhangwei", {"reason": "plans changed"})
    assert dept_head.notifications.filter(url=f"/workflow/instances/{iid}/").count() == 1

    with pytest.raises(steps.ActionRefused):
        approvals.instance_cancel(iid, user=employee, reason="again")


def test_someone_else_cannot_cancel(employee, dept_head, outsider, superuser) -> None:
    two_steps()
    iid = start(employee)
    for someone in (dept_head, outsider, superuser):
        with pytest.raises(steps.ActionRefused):
            approvals.instance_cancel(iid, user=someone, reason="no")
    assert instance(iid).state == "active"


def test_cancel_refused_on_an_ended_instance(employee, dept_head) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    assert instance(iid).state == "completed"
    with pytest.raises(steps.ActionRefused):
        approvals.instance_cancel(iid, user=employee, reason="too late")
    assert instance(iid).state == "completed"


# --- transfer (转办), delegate (委派), resolve -------------------------------------------------


def test_transfer_gives_the_decision_to_another(employee, dept_head, colleague) -> None:
    two_steps()
    iid = start(employee)
    task = open_task(iid)
    approvals.task_transfer(task.pk, user=dept_head, to="wangfang", comment="you know it")
    task.refresh_from_db()
    assert (task.assignee, task.owner, task.delegation) == ("wangfang", "", "")
    [row] = rows(iid, "task-transferred")
    assert (row.actor, row.data) == ("lina", {"to": "wangfang", "comment": "you know it"})
    with pytest.raises(steps.ActionRefused):
        approvals.task_approve(task.pk, user=dept_head)
    approvals.task_approve(task.pk, user=colleague)
    # B is 王芳's too: the same approver twice in a row passes it
    assert completions(iid) == [
        ("A", "wangfang", "approved", ""),
        ("B", "", "auto-approved", ""),
    ]


def test_transfer_to_oneself_or_nobody_is_invalid(employee, dept_head, outsider) -> None:
    two_steps()
    iid = start(employee)
    task = open_task(iid)
    for to in ("lina", "ghost", ""):
        with pytest.raises(ValidationError) as caught:
            approvals.task_transfer(task.pk, user=dept_head, to=to)
        assert list(caught.value.error_dict) == ["to"]
    assert open_task(iid).assignee == "lina"


def test_delegate_works_on_it_and_the_owner_decides(employee, dept_head, colleague) -> None:
    deploy_steps(user_task("A", assignee="lina", fields=DAYS), user_task("B", assignee="liuyang"))
    iid = start(employee, days=1)
    task = open_task(iid)
    approvals.task_delegate(task.pk, user=dept_head, to="wangfang")
    task.refresh_from_db()
    assert (task.assignee, task.owner, task.delegation) == ("wangfang", "lina", "pending")
    assert actions.task_actions(colleague, task) & {"approve", "reject", "resolve"} == {"resolve"}
    with pytest.raises(steps.ActionRefused):
        approvals.task_approve(task.pk, user=colleague)
    with pytest.raises(steps.ActionRefused):
        approvals.task_reject(task.pk, user=colleague, comment="no")
    with pytest.raises(steps.ActionRefused):
        approvals.task_resolve(task.pk, user=dept_head)

    approvals.task_resolve(task.pk, user=colleague, data={"days": "2"}, comment="checked")
    task.refresh_from_db()
    assert (task.assignee, task.owner, task.delegation, task.data) == (
        "lina",
        "lina",
        "resolved",
        {"days": 2},
    )
    [row] = rows(iid, "task-resolved")
    assert (row.actor, row.on_behalf_of, row.data) == ("wangfang", "lina", {"comment": "checked"})
    with pytest.raises(steps.ActionRefused):
        approvals.task_resolve(task.pk, user=dept_head)
    with pytest.raises(steps.ActionRefused):
        approvals.task_approve(task.pk, user=colleague)
    approvals.task_approve(task.pk, user=dept_head, data={"days": "2"})
    assert completions(iid) == [("A", "lina", "approved", "")]
    assert live(iid) == [("B", "liuyang", "open")]


def test_return_to_an_earlier_step_with_jump_comes_straight_back(
    employee, dept_head, colleague, outsider
) -> None:
    settings(resubmit="jump")
    two_steps()
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    approvals.task_approve(open_task(iid).pk, user=colleague)
    task = open_task(iid)
    assert actions.return_targets(task) == [
        ("initiator", "Request"),
        ("A", "A step"),
        ("B", "B step"),
    ]
    approvals.task_return(task.pk, user=outsider, target="A", comment="recheck")
    assert live(iid) == [("A", "lina", "open")]
    back = open_task(iid)
    assert [n.body for n in dept_head.notifications.filter(subject=f"workflow.task:{back.pk}")] == [
        "recheck"
    ]
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    assert live(iid) == [("C", "liuyang", "open")]


def test_a_candidate_may_copy_as_offered(employee, outsider, hr_admin) -> None:
    make_role("finance", outsider)
    deploy_steps(user_task("A", groups="role:finance"))
    iid = start(employee)
    task = open_task(iid)
    assert "copy" in actions.task_actions(outsider, task)
    assert approvals.instance_copy(iid, user=outsider, recipients=["zhaomin"]) == ["zhaomin"]


def test_the_absent_person_may_copy_as_offered(employee, dept_head, colleague, hr_admin):
    away(dept_head, colleague)
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    assert "copy" in actions.task_actions(dept_head, open_task(iid))
    assert approvals.instance_copy(iid, user=dept_head, recipients=["zhaomin"]) == ["zhaomin"]
