"""Who acts at a user task: participant expressions, candidates and claiming, and the rules
applied when a task is created (docs/approvals.md, "Participants")."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory, role
from tests.workflow.approval_helpers import (
    KEY,
    away,
    completions,
    deploy_steps,
    instance,
    make_admin,
    make_role,
    open_task,
    rows,
    settings,
    start,
    tasks,
    user_task,
)
from workflow.engine.runtime import AlreadyHandled
from workflow.models import Incident
from workflow.selectors import inbox, visibility
from workflow.services import administration, approvals, steps

pytestmark = pytest.mark.django_db


# --- participant expressions ---------------------------------------------------------------


def test_manager_of_the_initiator_gets_the_task(employee, dept_head) -> None:
    deploy_steps(user_task("Approve", assignee="${manager(initiator)}"))
    iid = start(employee)
    assert tasks(iid) == [("Approve", "lina", "open")]
    assert list(inbox.tasks_todo(dept_head).values_list("instance_id", flat=True)) == [iid]


def test_department_head_two_levels_up(org, employee) -> None:
    ceo = UserFactory.create(username="ceo", department=org["root"])
    org["root"].head = ceo
    org["root"].save()
    deploy_steps(user_task("Approve", assignee="${deptHead(initiator, 2)}"))
    iid = start(employee)
    assert tasks(iid) == [("Approve", "ceo", "open")]


def test_role_candidates_see_and_claim_the_task(employee, colleague, outsider) -> None:
    reviewer = UserFactory.create(username="reviewer2", department=outsider.department)
    make_role("finance", outsider, reviewer)
    deploy_steps(user_task("Review", groups="role:finance"))
    iid = start(employee)
    task = open_task(iid)
    assert task.assignee == ""
    assert list(task.candidates.values_list("kind", "value")) == [("group", "finance")]
    assert list(inbox.tasks_todo(outsider)) == [task]
    assert list(inbox.tasks_todo(reviewer)) == [task]
    assert list(inbox.tasks_todo(colleague)) == []

    with pytest.raises(steps.ActionRefused):
        approvals.task_claim(task.pk, user=colleague)
    assert open_task(iid).assignee == ""

    approvals.task_claim(task.pk, user=outsider)
    assert open_task(iid).assignee == "liuyang"
    assert [(r.kind, r.actor) for r in rows(iid, "task-claimed")] == [("task-claimed", "liuyang")]
    # claimed: the other candidate no longer has it in the inbox and cannot take it
    assert list(inbox.tasks_todo(reviewer)) == []
    with pytest.raises(AlreadyHandled):
        approvals.task_claim(task.pk, user=reviewer)
    assert open_task(iid).assignee == "liuyang"
    # claiming again one's own claimed task changes nothing
    approvals.task_claim(task.pk, user=outsider)
    assert len(rows(iid, "task-claimed")) == 1

    with pytest.raises(steps.ActionRefused):
        approvals.task_unclaim(task.pk, user=reviewer)
    approvals.task_unclaim(task.pk, user=outsider)
    assert open_task(iid).assignee == ""
    assert [r.actor for r in rows(iid, "task-unclaimed")] == ["liuyang"]
    assert list(inbox.tasks_todo(reviewer)) == [task]


def test_unclaim_refused_for_a_task_without_candidates(employee, dept_head) -> None:
    deploy_steps(user_task("Approve", assignee="lina"))
    iid = start(employee)
    with pytest.raises(steps.ActionRefused):
        approvals.task_unclaim(open_task(iid).pk, user=dept_head)
    assert open_task(iid).assignee == "lina"


def test_department_candidates_include_sub_departments(employee, colleague, outsider) -> None:
    deploy_steps(user_task("Review", groups="dept:SALES"))
    iid = start(employee)
    task = open_task(iid)
    assert list(task.candidates.values_list("kind", "value")) == [("dept", "SALES")]
    # 王芳 is in 华东区, below 销售部
    assert list(inbox.tasks_todo(colleague)) == [task]
    assert list(inbox.tasks_todo(outsider)) == []
    with pytest.raises(steps.ActionRefused):
        approvals.task_claim(task.pk, user=outsider)
    approvals.task_claim(task.pk, user=colleague)
    assert open_task(iid).assignee == "wangfang"


def test_a_candidate_who_approves_claims_the_task(employee, colleague, outsider) -> None:
    deploy_steps(user_task("Review", users="wangfang, liuyang"))
    iid = start(employee)
    task = open_task(iid)
    approvals.task_approve(task.pk, user=colleague)
    assert tasks(iid) == [("Review", "wangfang", "completed")]
    assert instance(iid).state == "completed"


# --- initiator is the approver, same approver twice --------------------------------------------


def test_initiator_as_approver_is_skipped_by_default(employee, dept_head) -> None:
    deploy_steps(
        user_task("Self", assignee="zhangwei"),
        user_task("Approve", assignee="${manager(initiator)}"),
    )
    iid = start(employee)
    assert tasks(iid) == [("Approve", "lina", "open")]
    assert completions(iid) == [("Self", "", "skipped", "")]
    assert rows(iid, "task-completed")[0].data == {"assignee": "zhangwei"}


def test_initiator_as_approver_kept(employee, dept_head) -> None:
    settings(initiator_approver="keep")
    deploy_steps(user_task("Self", assignee="zhangwei"))
    iid = start(employee)
    assert tasks(iid) == [("Self", "zhangwei", "open")]
    assert completions(iid) == []


def test_initiator_expression_itself_is_never_skipped(employee) -> None:
    deploy_steps(user_task("Fill", assignee="${initiator}"))
    iid = start(employee)
    assert tasks(iid) == [("Fill", "zhangwei", "open")]


def test_same_approver_twice_in_a_row_auto_passes(employee, dept_head) -> None:
    deploy_steps(
        user_task("First", assignee="lina"),
        user_task("Second", assignee="${manager(initiator)}"),
        user_task("Third", assignee="wangfang"),
    )
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    assert [t[:2] for t in tasks(iid)] == [("First", "lina"), ("Third", "wangfang")]
    assert completions(iid) == [
        ("First", "lina", "approved", ""),
        ("Second", "", "auto-approved", ""),
    ]
    assert instance(iid).variables["approved"] is True


def test_same_approver_twice_kept_when_the_setting_is_off(employee, dept_head) -> None:
    settings(auto_pass_repeated=False)
    deploy_steps(user_task("First", assignee="lina"), user_task("Second", assignee="lina"))
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    assert tasks(iid) == [("First", "lina", "completed"), ("Second", "lina", "open")]


def test_a_rejection_does_not_auto_pass_the_next_step_of_the_same_person(
    employee, dept_head
) -> None:
    settings(reject="route")
    deploy_steps(user_task("First", assignee="lina"), user_task("Second", assignee="lina"))
    iid = start(employee)
    approvals.task_reject(open_task(iid).pk, user=dept_head, comment="no")
    assert tasks(iid) == [("First", "lina", "completed"), ("Second", "lina", "open")]


# --- nobody to take the step ---------------------------------------------------------------


def no_manager_process(employee) -> int:
    """A step for the manager of someone who has none (``nobody``), then 王芳's step."""
    UserFactory.create(username="nobody", department=None)
    deploy_steps(
        user_task("Approve", assignee="${manager('nobody')}"),
        user_task("Next", assignee="wangfang"),
    )
    return start(employee)


def test_nobody_escalates_to_the_escalation_role(employee, colleague, outsider) -> None:
    settings(empty_assignee="escalate", escalation_role=make_role("escalation", outsider))
    iid = no_manager_process(employee)
    task = open_task(iid)
    assert (task.element_id, task.assignee) == ("Approve", "")
    assert list(task.candidates.values_list("kind", "value")) == [("group", "escalation")]
    assert list(inbox.tasks_todo(outsider)) == [task]


def test_nobody_skips_the_step(employee, colleague) -> None:
    settings(empty_assignee="skip")
    iid = no_manager_process(employee)
    assert tasks(iid) == [("Next", "wangfang", "open")]
    assert completions(iid) == [("Approve", "", "skipped", "")]


def test_nobody_raises_an_incident_that_reassigning_resolves(
    employee, colleague, superuser
) -> None:
    settings(empty_assignee="incident")
    iid = no_manager_process(employee)
    task = open_task(iid)
    assert (task.element_id, task.assignee, task.candidates.count()) == ("Approve", "", 0)
    [incident] = Incident.objects.filter(instance_id=iid)
    assert (incident.element_id, incident.resolved_at) == ("Approve", None)
    assert "choose a handler" in incident.message

    with pytest.raises(steps.ActionRefused):
        administration.task_reassign(task.pk, by=colleague, to="wangfang")
    administration.task_reassign(task.pk, by=superuser, to="wangfang", reason="covering")
    incident.refresh_from_db()
    assert incident.resolved_by == "admin"
    assert incident.resolved_at is not None
    assert open_task(iid).assignee == "wangfang"
    [row] = rows(iid, "task-reassigned")
    assert (row.actor, row.data) == ("admin", {"to": "wangfang", "reason": "covering"})


def test_escalate_without_a_role_raises_an_incident(employee, colleague) -> None:
    settings(empty_assignee="escalate")
    iid = no_manager_process(employee)
    assert Incident.objects.filter(instance_id=iid, element_id="Approve").count() == 1
    assert tasks(iid) == [("Approve", "", "open")]


def test_a_candidate_role_without_members_counts_as_nobody(employee, outsider) -> None:
    """docs: "no assignee and no candidate who exists" — a role nobody holds is nobody."""
    settings(empty_assignee="escalate", escalation_role=make_role("escalation", outsider))
    role("empty_role")
    deploy_steps(user_task("Review", groups="role:empty_role, role:no_such_role"))
    iid = start(employee)
    task = open_task(iid)
    assert list(task.candidates.values_list("kind", "value")) == [("group", "escalation")]
    assert list(inbox.tasks_todo(outsider)) == [task]


# --- out-of-office delegation --------------------------------------------------------------


def test_out_of_office_rule_sends_the_task_to_the_proxy(employee, dept_head, colleague) -> None:
    away(dept_head, colleague, process_keys=[KEY])
    deploy_steps(user_task("Approve", assignee="${manager(initiator)}"))
    iid = start(employee)
    task = open_task(iid)
    assert (task.assignee, task.on_behalf_of) == ("wangfang", "lina")
    assert list(inbox.tasks_todo(colleague)) == [task]
    assert list(inbox.tasks_todo(dept_head)) == []
    assert visibility.instances_for(dept_head).filter(pk=iid).exists()

    approvals.task_approve(task.pk, user=colleague, comment="ok for lina")
    assert completions(iid) == [("Approve", "wangfang", "approved", "lina")]
    assert rows(iid, "task-completed")[0].data == {"comment": "ok for lina"}
    assert instance(iid).state == "completed"


def test_out_of_office_rule_for_another_process_does_not_apply(
    employee, dept_head, colleague
) -> None:
    away(dept_head, colleague, process_keys=["expense"])
    deploy_steps(user_task("Approve", assignee="lina"))
    iid = start(employee)
    assert (open_task(iid).assignee, open_task(iid).on_behalf_of) == ("lina", "")


def test_the_absent_person_may_still_act_on_the_proxied_task(
    employee, dept_head, colleague
) -> None:
    away(dept_head, colleague)
    deploy_steps(user_task("Approve", assignee="lina"))
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    assert completions(iid) == [("Approve", "lina", "approved", "")]


def test_admin_permission_makes_a_process_admin(colleague) -> None:
    assert visibility.is_process_admin(colleague) is False
    assert visibility.is_process_admin(make_admin(colleague)) is True


def test_one_instance_is_visible_to_whom_the_list_shows_it(
    employee, dept_head, colleague, outsider
) -> None:
    """``instance_for`` (a page of one instance, the initiator's own known at once) answers
    as ``instances_for`` does, for each kind of reader, and for no one on a missing one."""
    deploy_steps(user_task("Approve", assignee="${manager(initiator)}"))
    iid = start(employee)
    admin = make_admin(UserFactory.create(username="admin2", department=outsider.department))
    inactive = UserFactory.create(username="gone", department=employee.department)
    started_by_inactive = start(inactive)
    inactive.is_active = False
    inactive.save()
    for reader in (employee, dept_head, colleague, outsider, admin, inactive):
        for pk in (iid, started_by_inactive):
            listed = visibility.instances_for(reader).filter(pk=pk).exists()
            found = visibility.instance_for(reader, pk)
            assert (found is not None) == listed, (reader.username, pk)
            assert found is None or (found.pk == pk and found.definition.key == KEY)
    assert visibility.instance_for(employee, iid) is not None
    assert visibility.instance_for(outsider, iid) is None
    assert visibility.instance_for(inactive, started_by_inactive) is None  # not while inactive
    assert visibility.instance_for(admin, iid + 1000) is None
