"""A candidate row knows whether its task is on offer (open and held by nobody): the
database's triggers keep ``TaskCandidate.offered`` whatever writes the task or the row
(migration ``workflow/0013``), and what a person may claim is found from their rows on offer
(``inbox.tasks_claimable``) — the same tasks as testing every open unclaimed task against
the candidacy condition, which the reference below still does."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from portal.models import Department, User
from tests.workflow.approval_helpers import deploy_steps, make_role, open_task, user_task
from workflow.models import ProcessInstance, Task, TaskCandidate, TaskState
from workflow.selectors import inbox as inbox_reads
from workflow.services import approvals, engine

pytestmark = pytest.mark.django_db


def _walked(user: User) -> QuerySet[Task]:
    """The reference: every open unclaimed task tested against the candidacy condition."""
    name = user.username
    named = TaskCandidate.objects.filter(task=OuterRef("pk"), kind="user", value=name)
    roles = [group.role.code for group in user.groups.all() if hasattr(group, "role")]
    departments = (
        [d.code for d in Department.objects.get_ancestors(user.department)]
        if user.department
        else []
    )
    if user.department is not None:
        departments.append(user.department.code)
    shared = TaskCandidate.objects.filter(task=OuterRef("pk")).filter(
        Q(kind="group", value__in=roles) | Q(kind="dept", value__in=departments)
    )
    own = ProcessInstance.objects.filter(pk=OuterRef("instance_id"), initiator=name)
    return Task.objects.filter(state=TaskState.OPEN, assignee="").filter(
        Exists(named) | (Exists(shared) & ~Exists(own))
    )


def _offered(task: Task) -> list[bool | None]:
    return list(TaskCandidate.objects.filter(task=task).values_list("offered", flat=True))


def _start(user: User, key: str, title: str = "Check it") -> int:
    return engine.instance_start(key, variables={}, initiator=user, title=title)


def _claimable(user: User) -> set[int]:
    found = set(inbox_reads.tasks_claimable(user).values_list("pk", flat=True))
    assert found == set(_walked(user).values_list("pk", flat=True))
    return found


def test_the_rows_follow_their_task_on_and_off_offer(employee, colleague, outsider) -> None:
    make_role("clerks", employee, colleague)
    deploy_steps(user_task("Check", groups="clerks, dept:FIN", users="lina"), key="check")
    task = open_task(_start(outsider, "check"))
    assert _offered(task) == [True, True, True]
    approvals.task_claim(task.pk, user=employee)
    assert _offered(task) == [False, False, False]
    assert task.pk not in _claimable(colleague)
    approvals.task_unclaim(task.pk, user=employee)  # back to the pool
    assert _offered(task) == [True, True, True]
    assert task.pk in _claimable(colleague)
    approvals.task_claim(task.pk, user=colleague)
    approvals.task_approve(task.pk, user=colleague, data={})
    assert _offered(Task.objects.get(pk=task.pk)) == [False, False, False]
    assert _claimable(employee) == set()


def test_whatever_writes_the_task_or_the_row(employee, colleague, outsider) -> None:
    """A bulk update of tasks and a row added by the ORM (which does not say): the database
    puts each right."""
    make_role("clerks", employee, colleague)
    deploy_steps(user_task("Check", groups="clerks"), key="check")
    first = open_task(_start(outsider, "check"))
    second = open_task(_start(outsider, "check", "Check again"))
    Task.objects.filter(pk__in=[first.pk, second.pk]).update(assignee="wangfang")
    assert _offered(first) == _offered(second) == [False]
    TaskCandidate.objects.create(task=first, kind="user", value="zhangwei")
    assert _offered(first) == [False, False]
    Task.objects.filter(pk=first.pk).update(assignee="")
    assert _offered(first) == [True, True]
    assert _offered(second) == [False]
    Task.objects.filter(pk=first.pk).update(state=TaskState.CANCELLED)
    assert _offered(first) == [False, False]
    assert _claimable(employee) == set()


def test_what_each_may_claim_is_what_the_walk_finds(
    employee, colleague, outsider, dept_head
) -> None:
    """By name, by role, by a department or one above it; none of them on the person's own
    request."""
    make_role("clerks", employee, colleague)
    deploy_steps(user_task("Check", groups="clerks"), key="check")
    deploy_steps(user_task("Sales", groups="dept:SALES"), key="sales")  # above 华东区
    deploy_steps(user_task("Named", users="zhangwei, lina"), key="named")
    tasks = {
        (key, who.username): open_task(_start(who, key)).pk
        for key in ("check", "sales", "named")
        for who in (employee, outsider)
    }
    assert _claimable(employee) == {
        tasks["check", "liuyang"],
        tasks["sales", "liuyang"],
        tasks["named", "liuyang"],
        # named on their own request: the engine writes no row for the initiator unless the
        # step lets them act (participants.is_candidate)
    }
    assert _claimable(colleague) == {
        tasks["check", "liuyang"],
        tasks["check", "zhangwei"],
        tasks["sales", "liuyang"],
        tasks["sales", "zhangwei"],
    }
    assert _claimable(dept_head) == {
        tasks["sales", "liuyang"],
        tasks["sales", "zhangwei"],
        tasks["named", "liuyang"],
        tasks["named", "zhangwei"],
    }
    assert _claimable(outsider) == set()
    assert inbox_reads.inbox_counts(employee)["todo"] == 3
    # a row naming them on their own request (a step that lets the initiator act) counts
    own = Task.objects.get(pk=tasks["check", "zhangwei"])
    TaskCandidate.objects.create(task=own, kind="user", value="zhangwei")
    assert own.pk in _claimable(employee)
    assert inbox_reads.inbox_counts(employee)["todo"] == 4


def test_postgresql_counts_state_and_assignee_together(db_vendor: str) -> None:
    """The planner's statistics of (state, assignee) together (migration ``workflow/0014``):
    without them it reckoned 28 open unclaimed tasks of 2,073 at 1M tasks and walked them
    all for a 待办 page's listed ids."""
    if db_vendor != "postgresql":
        pytest.skip("PostgreSQL's extended statistics")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT stxkind FROM pg_statistic_ext WHERE stxname = 'workflow_task_state_assignee'"
        )
        assert cursor.fetchall() == [(["m"],)]
