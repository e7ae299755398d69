"""Copies (抄送), urging (催办), the notifications of new tasks, and what each persona may see
and do (workflow/selectors.py)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.models import Notification
from tests.factories import UserFactory
from tests.workflow.approval_helpers import (
    deploy_steps,
    instance,
    instance_url,
    make_admin,
    make_role,
    note_keys,
    notes,
    open_task,
    rows,
    settings,
    start,
    task_url,
    user_task,
)
from workflow.models import CarbonCopy, HistoryEvent
from workflow.selectors import actions, inbox, visibility
from workflow.services import administration, approvals, steps

pytestmark = pytest.mark.django_db


def copied(iid: int) -> list[tuple[str, str, str]]:
    """(user, sent_by, element) of the instance's copies."""
    return sorted(
        CarbonCopy.objects.filter(instance_id=iid).values_list(
            "user__username", "sent_by", "element_id"
        )
    )


# --- copy (抄送) -----------------------------------------------------------------------------


def test_copy_to_people_and_a_role(employee, dept_head, colleague, outsider, hr_admin) -> None:
    make_role("records", hr_admin, outsider)
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    assert not visibility.instances_for(hr_admin).filter(pk=iid).exists()

    new = approvals.instance_copy(
        iid, user=dept_head, recipients=["wangfang", "role:records"], comment="FYI"
    )
    assert sorted(new) == ["liuyang", "wangfang", "zhaomin"]
    assert copied(iid) == [
        ("liuyang", "lina", ""),
        ("wangfang", "lina", ""),
        ("zhaomin", "lina", ""),
    ]
    for person in (colleague, outsider, hr_admin):
        assert notes(person) == [instance_url(iid)]
        assert visibility.instances_for(person).filter(pk=iid).exists()
        assert [c.instance_id for c in visibility.copies_for(person)] == [iid]
    [row] = rows(iid, "copied")
    assert (row.actor, sorted(row.data["to"]), row.data["comment"]) == (
        "lina",
        ["liuyang", "wangfang", "zhaomin"],
        "FYI",
    )

    # copying the same person again: no second row, no second notification
    assert approvals.instance_copy(iid, user=employee, recipients=["wangfang"]) == []
    assert CarbonCopy.objects.filter(instance_id=iid, user=colleague).count() == 1
    assert notes(colleague) == [instance_url(iid)]

    approvals.copy_mark_read(iid, user=colleague)
    assert CarbonCopy.objects.get(instance_id=iid, user=colleague).read_at is not None
    assert CarbonCopy.objects.get(instance_id=iid, user=outsider).read_at is None


def test_copy_refused_for_who_neither_handles_nor_started_it(employee, dept_head, colleague):
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    with pytest.raises(steps.ActionRefused):
        approvals.instance_copy(iid, user=colleague, recipients=["wangfang"])
    assert copied(iid) == []


def test_copy_needs_real_recipients(employee, dept_head) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    for recipients in ([], ["  "], ["ghost"]):
        with pytest.raises(ValidationError) as caught:
            approvals.instance_copy(iid, user=dept_head, recipients=recipients)
        assert list(caught.value.error_dict) == ["recipients"]
    assert copied(iid) == []


def test_cc_step_property_copies_on_completion(employee, dept_head, colleague, outsider) -> None:
    deploy_steps(
        user_task("A", assignee="wangfang", props={"cc": "liuyang, ${manager(initiator)}"}),
        user_task("B", assignee="zhaomin"),
    )
    iid = start(employee)
    assert copied(iid) == []
    approvals.task_approve(open_task(iid).pk, user=colleague)
    assert copied(iid) == [("lina", "wangfang", "A"), ("liuyang", "wangfang", "A")]
    assert notes(outsider) == [instance_url(iid)]


def test_cc_at_end_copies_when_the_process_completes(employee, dept_head, outsider, hr_admin):
    make_role("records", hr_admin)
    settings(cc_at_end="role:records, liuyang")
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    assert instance(iid).state == "completed"
    assert copied(iid) == [("liuyang", "", ""), ("zhaomin", "", "")]
    assert notes(hr_admin) == [instance_url(iid)]


def test_cc_at_end_not_on_a_rejection(employee, dept_head, outsider) -> None:
    settings(cc_at_end="liuyang")
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    approvals.task_reject(open_task(iid).pk, user=dept_head, comment="no")
    assert instance(iid).state == "rejected"
    assert copied(iid) == []


# --- urge (催办) -----------------------------------------------------------------------------


def test_initiator_urges_the_handlers(employee, dept_head, colleague, outsider) -> None:
    make_role("finance", outsider, colleague)
    deploy_steps(user_task("A", groups="role:finance"))
    iid = start(employee)
    assert sorted(approvals.instance_urge(iid, user=employee, comment="please")) == [
        "liuyang",
        "wangfang",
    ]
    assert notes(outsider) == [task_url(open_task(iid).pk)]
    assert notes(colleague) == [task_url(open_task(iid).pk)]
    [row] = rows(iid, "urged")
    assert (row.actor, row.data["comment"]) == ("zhangwei", "please")

    with pytest.raises(steps.ActionRefused) as caught:
        approvals.instance_urge(iid, user=employee)
    again = timezone.localtime(row.at + datetime.timedelta(minutes=30)).strftime("%H:%M")
    assert again in str(caught.value)
    assert notes(outsider) == [task_url(open_task(iid).pk)]

    # after the interval it may urge again
    HistoryEvent.objects.filter(pk=row.pk).update(at=row.at - datetime.timedelta(minutes=31))
    approvals.instance_urge(iid, user=employee)
    assert len(rows(iid, "urged")) == 2
    assert len(notes(outsider)) == 2


def test_only_the_initiator_may_urge(employee, dept_head, colleague, outsider) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    for someone in (dept_head, colleague, outsider):
        with pytest.raises(steps.ActionRefused):
            approvals.instance_urge(iid, user=someone)
    assert rows(iid, "urged") == []
    assert notes(dept_head) == []


# --- notifications of new tasks ----------------------------------------------------------------


def test_a_new_task_notifies_its_assignee_after_commit(
    employee, dept_head, colleague, django_capture_on_commit_callbacks
) -> None:
    colleague.preferred_language = "en"
    colleague.save()
    deploy_steps(user_task("A", assignee="lina"), user_task("B", assignee="wangfang"))
    with django_capture_on_commit_callbacks(execute=True):
        iid = start(employee)
    first = open_task(iid)
    assert notes(dept_head) == [task_url(first.pk)]
    assert note_keys(dept_head) == [f"task:{first.pk}:assigned:lina:lina"]
    assert notes(colleague) == []

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        approvals.task_approve(first.pk, user=dept_head)
    assert len(callbacks) >= 1
    second = open_task(iid)
    [note] = Notification.objects.filter(recipient=colleague)
    assert (note.url, note.title, note.kind) == (
        task_url(second.pk),
        "New task: B step — Leave 3 days",
        "workflow",
    )
    assert notes(dept_head) == [task_url(first.pk)]


def test_new_group_task_notifies_its_candidates(
    employee, colleague, outsider, django_capture_on_commit_callbacks
) -> None:
    make_role("finance", outsider, colleague)
    deploy_steps(user_task("A", groups="role:finance"))
    with django_capture_on_commit_callbacks(execute=True):
        iid = start(employee)
    url = task_url(open_task(iid).pk)
    assert notes(outsider) == [url]
    assert notes(colleague) == [url]
    assert notes(employee) == []


def test_no_notification_before_commit(employee, dept_head) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    start(employee)
    assert notes(dept_head) == []


def test_transfer_notifies_the_new_assignee(employee, dept_head, colleague) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    task = open_task(iid)
    approvals.task_transfer(task.pk, user=dept_head, to="wangfang")
    assert notes(colleague) == [task_url(task.pk)]
    assert note_keys(colleague) == [f"task:{task.pk}:assigned:wangfang:wangfang"]


def test_the_end_notifies_the_initiator(employee, dept_head) -> None:
    deploy_steps(user_task("A", assignee="lina"))
    iid = start(employee)
    approvals.task_approve(open_task(iid).pk, user=dept_head)
    assert note_keys(employee) == [f"instance:{iid}:completed:zhangwei"]


# --- visibility -------------------------------------------------------------------------------


@pytest.fixture
def visible_instance(employee, dept_head, colleague, outsider, hr_admin) -> int:
    """张伟's request at 王芳's step, then a group step of the finance role (刘洋)."""
    make_role("finance", outsider)
    deploy_steps(user_task("A", assignee="wangfang"), user_task("B", groups="role:finance"))
    return start(employee)


def visible(user, iid: int) -> bool:
    return visibility.instances_for(user).filter(pk=iid).exists()


def test_instances_for_each_persona(
    visible_instance, employee, dept_head, colleague, outsider, hr_admin, superuser
) -> None:
    iid = visible_instance
    stranger = UserFactory.create(username="stranger", department=outsider.department)
    assert visible(employee, iid)  # initiator
    assert visible(colleague, iid)  # handler
    assert visible(dept_head, iid)  # head of 销售部, above 华东区
    assert not visible(outsider, iid)  # not yet a candidate
    assert not visible(hr_admin, iid)
    assert not visible(stranger, iid)
    assert visible(superuser, iid)
    assert visible(make_admin(stranger), iid)

    approvals.task_approve(open_task(iid).pk, user=colleague)
    assert visible(outsider, iid)  # candidate of B
    assert visible(colleague, iid)  # handled A
    approvals.instance_copy(iid, user=employee, recipients=["zhaomin"])
    assert visible(hr_admin, iid)  # copied

    employee.is_active = False
    employee.save()
    assert not visible(employee, iid)


def test_task_for_each_persona(visible_instance, employee, colleague, outsider, hr_admin):
    task = open_task(visible_instance)
    assert visibility.task_for(colleague, task.pk) == task
    assert visibility.task_for(employee, task.pk) == task
    assert visibility.task_for(outsider, task.pk) is None
    assert visibility.task_for(hr_admin, task.pk) is None
    assert visibility.task_for(colleague, task.pk + 1000) is None


def test_task_actions_for_each_persona(
    visible_instance, employee, dept_head, colleague, outsider, superuser
) -> None:
    task = open_task(visible_instance)
    handler = {"approve", "reject", "return", "transfer", "delegate", "add_signers", "copy"}
    assert actions.task_actions(colleague, task) == handler
    # the initiator: cancel, urge, copy others in, and take it back while nobody acted yet
    assert actions.task_actions(employee, task) == {"cancel", "urge", "copy", "withdraw"}
    assert actions.task_actions(dept_head, task) == set()
    assert actions.task_actions(outsider, task) == set()
    assert actions.task_actions(superuser, task) == {
        "suspend",
        "terminate",
        "move",
        "reassign",
        "copy",
        "urge",
    }

    approvals.task_approve(task.pk, user=colleague)
    group_task = open_task(visible_instance)
    assert actions.task_actions(outsider, group_task) == {"claim"} | handler
    approvals.task_claim(group_task.pk, user=outsider)
    group_task.refresh_from_db()
    assert actions.task_actions(outsider, group_task) == {"unclaim"} | handler
    # the completed task offers its former handler nothing: the next handler has claimed
    # the next step, so it can no longer be taken back (撤回)
    task.refresh_from_db()
    assert actions.task_actions(colleague, task) == set()

    administration.instance_suspend(visible_instance, by=superuser)
    group_task.refresh_from_db()
    assert actions.task_actions(outsider, group_task) == {"copy"}  # a handler still copies
    # suspended: nothing moves it but resuming, terminating, or its initiator cancelling
    assert actions.task_actions(superuser, group_task) == {"resume", "terminate", "copy"}
    assert actions.task_actions(employee, group_task) == {"cancel", "copy"}


def test_inbox_lists(visible_instance, employee, colleague) -> None:
    task = open_task(visible_instance)
    assert list(inbox.tasks_todo(colleague)) == [task]
    assert list(inbox.tasks_done(colleague)) == []
    assert list(visibility.instances_started(employee).values_list("pk", flat=True)) == [
        visible_instance
    ]
    assert list(visibility.instances_started(colleague)) == []
    approvals.task_approve(task.pk, user=colleague)
    assert list(inbox.tasks_todo(colleague)) == []
    assert [t.pk for t in inbox.tasks_done(colleague)] == [task.pk]
