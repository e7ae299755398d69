"""Administrators' interventions (suspend, resume, terminate, move, reassign, migrate) and due
dates with their reminder and time-out jobs."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.workflow.approval_helpers import (
    completions,
    deploy_body,
    deploy_steps,
    gateway_on_approved,
    instance,
    live,
    make_admin,
    make_role,
    note_keys,
    open_task,
    rows,
    settings,
    start,
    tasks,
    user_task,
)
from tests.workflow.engine_helpers import chain, make_due
from workflow.models import Job
from workflow.selectors import inbox
from workflow.services import administration, approvals, steps
from workflow.services import jobs as job_services

pytestmark = pytest.mark.django_db


def three_steps() -> None:
    deploy_steps(
        user_task("A", assignee="lina"),
        user_task("B", assignee="wangfang"),
        user_task("C", assignee="liuyang"),
    )


def jobs(iid: int) -> list[tuple[str, str]]:
    return sorted(Job.objects.filter(instance_id=iid).values_list("kind", "element_id"))


# --- suspend, resume, terminate --------------------------------------------------------------


def test_suspend_refuses_actions_and_holds_timers_until_resumed(
    employee, dept_head, superuser
) -> None:
    settings(default_due="P1D", timeout="remind")
    three_steps()
    iid = start(employee)
    task = open_task(iid)
    administration.instance_suspend(iid, by=superuser, reason="audit")
    assert instance(iid).state == "suspended"
    [row] = rows(iid, "instance-suspended")
    assert (row.actor, row.data) == ("admin", {"reason": "audit"})

    for act in (
        lambda: approvals.task_approve(task.pk, user=dept_head),
        lambda: approvals.task_reject(task.pk, user=dept_head, comment="no"),
        lambda: approvals.task_transfer(task.pk, user=dept_head, to="wangfang"),
        lambda: approvals.instance_urge(iid, user=employee),
        lambda: approvals.instance_withdraw(iid, user=employee),
        lambda: administration.instance_suspend(iid, by=superuser),
    ):
        with pytest.raises(steps.ActionRefused):
            act()
    assert live(iid) == [("A", "lina", "open")]

    assert make_due(instance_id=iid, kind="timeout") == 1
    assert job_services.jobs_claim() == []
    assert note_keys(dept_head) == []

    administration.instance_resume(iid, by=superuser)
    assert instance(iid).state == "active"
    assert [r.actor for r in rows(iid, "instance-resumed")] == ["admin"]
    with pytest.raises(steps.ActionRefused):
        administration.instance_resume(iid, by=superuser)
    assert job_services.jobs_run_due() == 1
    assert note_keys(dept_head) == [f"task:{task.pk}:overdue:lina"]
    approvals.task_approve(task.pk, user=dept_head)
    assert live(iid) == [("B", "wangfang", "open")]


def test_terminate_with_a_reason(employee, dept_head, superuser) -> None:
    three_steps()
    iid = start(employee)
    with pytest.raises(ValidationError) as caught:
        administration.instance_terminate(iid, by=superuser, reason=" ")
    assert list(caught.value.error_dict) == ["reason"]
    assert instance(iid).state == "active"
    administration.instance_terminate(iid, by=superuser, reason="duplicate request")
    assert instance(iid).state == "terminated"
    assert tasks(iid) == [("A", "lina", "cancelled")]
    [row] = rows(iid, "instance-terminated")
    assert (row.actor, row.data) == ("admin", {"reason": "duplicate request"})
    assert note_keys(employee) == [f"instance:{iid}:terminated:zhangwei"]
    with pytest.raises(steps.ActionRefused):
        administration.instance_terminate(iid, by=superuser, reason="again")


def test_terminate_a_suspended_instance(employee, dept_head, superuser) -> None:
    three_steps()
    iid = start(employee)
    administration.instance_suspend(iid, by=superuser)
    administration.instance_terminate(iid, by=superuser, reason="stop")
    assert instance(iid).state == "terminated"


def test_move_to_another_step(employee, dept_head, outsider, superuser) -> None:
    three_steps()
    iid = start(employee)
    for target in ("Nope", "end", ""):
        with pytest.raises(ValidationError) as caught:
            administration.instance_move(iid, by=superuser, target=target, reason="skip")
        assert list(caught.value.error_dict) == ["target"]
    with pytest.raises(ValidationError):
        administration.instance_move(iid, by=superuser, target="C", reason="")
    assert live(iid) == [("A", "lina", "open")]

    administration.instance_move(iid, by=superuser, target="C", reason="finance first")
    assert live(iid) == [("C", "liuyang", "open")]
    assert tasks(iid, "A") == [("A", "lina", "cancelled")]
    [row] = rows(iid, "instance-moved")
    assert (row.element_id, row.actor, row.data) == ("C", "admin", {"reason": "finance first"})
    approvals.task_approve(open_task(iid).pk, user=outsider)
    assert instance(iid).state == "completed"


def test_move_back_to_the_start(employee, dept_head, superuser) -> None:
    three_steps()
    iid = start(employee)
    administration.instance_move(iid, by=superuser, target="start", reason="redo")
    assert live(iid) == [("start", "zhangwei", "open")]


def test_reassign_a_task(employee, dept_head, colleague, superuser) -> None:
    three_steps()
    iid = start(employee)
    task = open_task(iid)
    with pytest.raises(ValidationError):
        administration.task_reassign(task.pk, by=superuser, to="ghost")
    administration.task_reassign(task.pk, by=superuser, to="wangfang", reason="lina is away")
    assert live(iid) == [("A", "wangfang", "open")]
    assert note_keys(colleague) == [f"task:{task.pk}:assigned:wangfang:wangfang"]
    with pytest.raises(steps.ActionRefused):
        approvals.task_approve(task.pk, user=dept_head)


def test_a_user_with_the_permission_is_an_admin(employee, dept_head, colleague) -> None:
    three_steps()
    iid = start(employee)
    admin = make_admin(colleague)
    administration.instance_suspend(iid, by=admin)
    administration.instance_resume(iid, by=admin)
    administration.task_reassign(open_task(iid).pk, by=admin, to="lina")
    assert [r.actor for r in rows(iid, "instance-suspended", "instance-resumed")] == [
        "wangfang",
        "wangfang",
    ]


def test_non_admins_are_refused_every_intervention(
    employee, dept_head, colleague, outsider, hr_admin
) -> None:
    three_steps()
    iid = start(employee)
    task = open_task(iid)
    for someone in (employee, dept_head, colleague, outsider, hr_admin):
        for act in (
            lambda u: administration.instance_suspend(iid, by=u),
            lambda u: administration.instance_resume(iid, by=u),
            lambda u: administration.instance_terminate(iid, by=u, reason="x"),
            lambda u: administration.instance_move(iid, by=u, target="C", reason="x"),
            lambda u: administration.task_reassign(task.pk, by=u, to="wangfang"),
            lambda u: administration.instances_migrate([iid], by=u, to_definition_id=1),
        ):
            with pytest.raises(steps.ActionRefused):
                act(someone)
    assert instance(iid).state == "active"
    assert live(iid) == [("A", "lina", "open")]


def test_migrate_instances_to_a_new_version(employee, dept_head, colleague, superuser) -> None:
    deploy_steps(user_task("A", assignee="lina"), user_task("B", assignee="wangfang"))
    at_a = start(employee)
    at_b = start(employee)
    approvals.task_approve(open_task(at_b).pk, user=dept_head)
    done = start(employee)
    approvals.task_approve(open_task(done).pk, user=dept_head)
    approvals.task_approve(open_task(done).pk, user=colleague)
    old = instance(at_a).definition_id

    v2 = deploy_body(
        '<startEvent id="start"/>'
        + user_task("A", assignee="lina")
        + user_task("Z", assignee="wangfang")
        + '<endEvent id="end"/>'
        + chain("start", "A", "Z", "end")
    )
    assert v2 != old
    report = administration.instances_migrate([at_a, at_b, done], by=superuser, to_definition_id=v2)
    assert report.migrated == [at_a]
    assert report.refused == {
        at_b: "Steps missing in the new version: B",
        done: "It has ended.",
    }
    assert instance(at_a).definition_id == v2
    assert instance(at_b).definition_id == old
    [row] = rows(at_a, "instance-migrated")
    assert (row.actor, row.data) == ("admin", {"from": old, "to": v2, "version": 2})
    # the migrated instance runs on the new version
    approvals.task_approve(open_task(at_a).pk, user=dept_head)
    assert live(at_a) == [("Z", "wangfang", "open")]


def test_migrate_refuses_another_process(employee, dept_head, superuser) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    other = deploy_body(
        '<startEvent id="start"/>'
        + user_task("A")
        + '<endEvent id="end"/>'
        + chain("start", "A", "end"),
        key="expense",
    )
    report = administration.instances_migrate([iid], by=superuser, to_definition_id=other)
    assert (report.migrated, report.refused) == ([], {iid: "It is another process."})
    with pytest.raises(ValidationError):
        administration.instances_migrate([iid], by=superuser, to_definition_id=other + 100)


# --- due dates, reminders, time-outs -----------------------------------------------------------


def test_default_due_sets_the_due_date_and_arms_the_jobs(employee, dept_head) -> None:
    settings(default_due="P2D", remind_before="PT4H", timeout="remind")
    three_steps()
    before = timezone.now()
    iid = start(employee)
    task = open_task(iid)
    assert task.due_at is not None
    assert (
        before + datetime.timedelta(days=2)
        <= task.due_at
        <= timezone.now() + datetime.timedelta(days=2)
    )
    assert jobs(iid) == [("reminder", "A"), ("timeout", "A")]
    reminder = Job.objects.get(instance_id=iid, kind="reminder")
    timeout = Job.objects.get(instance_id=iid, kind="timeout")
    assert reminder.due_at == task.due_at - datetime.timedelta(hours=4)
    assert (timeout.due_at, timeout.payload) == (task.due_at, {"policy": "remind"})

    make_due(instance_id=iid, kind="reminder")
    assert job_services.jobs_run_due() == 1
    assert note_keys(dept_head) == [f"task:{task.pk}:due-soon:lina"]
    assert jobs(iid) == [("timeout", "A")]

    make_due(instance_id=iid, kind="timeout")
    assert job_services.jobs_run_due() == 1
    assert note_keys(dept_head) == [
        f"task:{task.pk}:due-soon:lina",
        f"task:{task.pk}:overdue:lina",
    ]
    assert live(iid) == [("A", "lina", "open")]


def test_jobs_go_when_the_step_is_done(employee, dept_head) -> None:
    settings(default_due="P2D", remind_before="PT4H", timeout="remind")
    deploy_steps(user_task("A", assignee="lina"), user_task("B", assignee="wangfang"))
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    assert jobs(iid) == [("reminder", "B"), ("timeout", "B")]


def test_a_step_walked_again_has_one_set_of_jobs(employee, dept_head, colleague) -> None:
    """A loop back to a step (same token) must not find the jobs of its first visit."""
    settings(default_due="P2D", remind_before="PT4H", timeout="remind", reject="route")
    deploy_body(
        '<startEvent id="start"/>'
        + user_task("A", assignee="lina")
        + user_task("B", assignee="wangfang")
        + '<endEvent id="end"/>'
        + chain("start", "A", "B")
        + gateway_on_approved("B", "end", "A")
    )
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    assert jobs(iid) == [("reminder", "B"), ("timeout", "B")]
    approvals.task_reject(open_task(iid).pk, user=colleague, comment="again")
    assert live(iid) == [("A", "lina", "open")]
    assert jobs(iid) == [("reminder", "A"), ("timeout", "A")]


def test_no_due_date_no_jobs(employee, dept_head) -> None:
    three_steps()
    iid = start(employee)
    assert open_task(iid).due_at is None
    assert jobs(iid) == []


def run_timeout(iid: int) -> None:
    assert make_due(instance_id=iid, kind="timeout") == 1
    assert job_services.jobs_run_due() == 1


def test_timeout_escalates_to_the_escalation_role(employee, dept_head, outsider) -> None:
    settings(default_due="PT8H", timeout="escalate", escalation_role=make_role("boss", outsider))
    three_steps()
    iid = start(employee)
    task = open_task(iid)
    run_timeout(iid)
    task.refresh_from_db()
    assert (task.state, task.assignee) == ("open", "")
    assert list(task.candidates.values_list("kind", "value")) == [("group", "boss")]
    assert list(inbox.tasks_todo(outsider)) == [task]
    assert list(inbox.tasks_todo(dept_head)) == []
    [row] = rows(iid, "task-escalated")
    assert row.data == {"role": "boss"}
    assert note_keys(outsider) == [f"task:{task.pk}:escalated:liuyang"]
    assert note_keys(dept_head) == [f"task:{task.pk}:overdue:lina"]


def test_timeout_approves(employee, dept_head, colleague) -> None:
    settings(default_due="PT8H", timeout="approve")
    three_steps()
    iid = start(employee)
    run_timeout(iid)
    assert completions(iid) == [("A", "", "timeout-approved", "")]
    assert live(iid) == [("B", "wangfang", "open")]
    assert instance(iid).variables["approved"] is True


def test_timeout_rejects(employee, dept_head) -> None:
    settings(default_due="PT8H", timeout="reject")
    three_steps()
    iid = start(employee)
    run_timeout(iid)
    assert completions(iid) == [("A", "", "timeout-rejected", "")]
    assert instance(iid).state == "rejected"
    assert note_keys(employee) == [f"instance:{iid}:rejected:zhangwei"]


def test_step_properties_override_the_settings(employee, dept_head) -> None:
    settings(default_due="P1D", timeout="remind")
    deploy_steps(
        user_task("A", assignee="lina", props={"timeout": "approve", "remindBefore": "PT1H"}),
        user_task("B", assignee="wangfang"),
    )
    iid = start(employee)
    task = open_task(iid)
    assert task.due_at is not None
    reminder = Job.objects.get(instance_id=iid, kind="reminder")
    assert reminder.due_at == task.due_at - datetime.timedelta(hours=1)
    assert Job.objects.get(instance_id=iid, kind="timeout").payload == {"policy": "approve"}
    run_timeout(iid)
    assert live(iid) == [("B", "wangfang", "open")]


def test_urge_notifies_about_the_task(employee, dept_head) -> None:
    three_steps()
    iid = start(employee)
    approvals.instance_urge(iid, user=employee)
    note = dept_head.notifications.get()
    task = open_task(iid)
    assert (note.url, note.subject) == (f"/workflow/tasks/{task.pk}/", f"workflow.task:{task.pk}")
