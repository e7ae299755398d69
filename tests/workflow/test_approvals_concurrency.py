"""Races of approval actions on a real database (PostgreSQL): each action locks the root
instance first and re-reads the task under the lock, so the outcome is the same as if the
actions had come one after the other."""

from __future__ import annotations

from functools import partial

import pytest
from django.db import connection

from tests.workflow.approval_helpers import deploy_steps, make_role, open_task, start, user_task
from tests.workflow.test_engine_concurrency import race
from workflow.engine.runtime import AlreadyHandled
from workflow.models import HistoryEvent, ProcessInstance, Task
from workflow.services import approvals, steps

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="races need concurrent connections (PostgreSQL)"
    ),
]


def test_countersigners_approving_at_once_are_all_counted(
    employee, colleague, dept_head, hr_admin, outsider
) -> None:
    deploy_steps(
        user_task(
            "Vote",
            assignee="${voter}",
            props={"countersign": "all"},
            mi='camunda:collection="${voters}" camunda:elementVariable="voter"',
        ),
        user_task("Archive", assignee=hr_admin.username),
    )
    voters = [colleague, dept_head, employee]
    for _round in range(4):
        iid = start(outsider, voters=[v.username for v in voters])
        votes = [open_task(iid, "Vote", assignee=v.username) for v in voters]
        results = race(
            *(
                partial(approvals.task_approve, t.pk, user=v)
                for t, v in zip(votes, voters, strict=True)
            )
        )
        assert results == [None, None, None]
        assert Task.objects.filter(instance_id=iid, element_id="Archive").count() == 1
        assert ProcessInstance.objects.get(pk=iid).variables["nrOfApproved"] == 3


def test_withdraw_racing_the_next_approval_leaves_one_outcome(employee, dept_head, colleague):
    deploy_steps(
        user_task("First", assignee=dept_head.username),
        user_task("Second", assignee=colleague.username),
    )
    for _round in range(6):
        iid = start(employee)
        approvals.task_approve(open_task(iid, "First").pk, user=dept_head)
        second = open_task(iid, "Second")
        withdraw, approve = race(
            partial(approvals.instance_withdraw, iid, user=dept_head),
            partial(approvals.task_approve, second.pk, user=colleague),
        )
        live = list(
            Task.objects.filter(instance_id=iid, state="open").values_list("element_id", flat=True)
        )
        if withdraw is None:  # the withdrawal came first: the approval found the task gone
            assert isinstance(approve, AlreadyHandled)
            assert live == ["First"]
        else:  # the approval came first: too late to withdraw
            assert approve is None
            assert isinstance(withdraw, steps.ActionRefused)
            assert ProcessInstance.objects.get(pk=iid).state == "completed"
        assert HistoryEvent.objects.filter(instance_id=iid, kind="withdrawn").count() == (
            1 if withdraw is None else 0
        )


def test_two_candidates_claiming_at_once_one_gets_it(employee, colleague, dept_head) -> None:
    make_role("reviewers", colleague, dept_head)
    deploy_steps(user_task("Review", groups="role:reviewers"))
    for _round in range(6):
        iid = start(employee)
        task = open_task(iid, "Review")
        results = race(
            partial(approvals.task_claim, task.pk, user=colleague),
            partial(approvals.task_claim, task.pk, user=dept_head),
        )
        losers = [r for r in results if r is not None]
        assert len(losers) == 1 and isinstance(losers[0], AlreadyHandled), results
        task.refresh_from_db()
        winner = colleague if results[0] is None else dept_head
        assert task.assignee == winner.username
