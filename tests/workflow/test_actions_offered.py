"""What the pages and the API offer is what the services accept (issue 14, item 3).

An instance is walked through the states a request goes through — waiting for the manager,
offered to a role, claimed, delegated, with a signer added, returned to its initiator,
suspended, completed, cancelled — and in each, for each person (the initiator, the manager,
the role's members, a process administrator, an outsider), every action is taken through its
service inside a savepoint that is rolled back. An action ``selectors.actions`` offers must
be accepted; one it does not offer must be refused. (Before: a suspended request offered
催办 and 移动 that the services refused, and 撤回 after the next handler had claimed.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from portal.models import User
from tests.factories import UserFactory
from tests.workflow.approval_helpers import (
    deploy_steps,
    make_admin,
    make_role,
    open_task,
    start,
    user_task,
)
from workflow.engine.runtime import EngineError
from workflow.models import ProcessInstance, Task, TaskState
from workflow.selectors import actions
from workflow.services import administration, approvals

pytestmark = pytest.mark.django_db

SPARE = "spare"  # someone with no part in the request: whom tasks are handed to


class _RolledBack(Exception):
    pass


def _attempt(call: Callable[[], Any]) -> bool:
    """Whether the service accepts the action (its effect rolled back either way)."""
    try:
        with transaction.atomic():
            call()
            raise _RolledBack
    except _RolledBack:
        return True
    except (EngineError, PermissionDenied, ValidationError):
        return False


def _task_calls(task: Task, user: User) -> dict[str, Callable[[], Any]]:
    t = task.pk
    return {
        "claim": lambda: approvals.task_claim(t, user=user),
        "unclaim": lambda: approvals.task_unclaim(t, user=user),
        "approve": lambda: approvals.task_approve(t, user=user),
        "reject": lambda: approvals.task_reject(t, user=user, comment="不同意"),
        "return": lambda: approvals.task_return(
            t, user=user, target="initiator", comment="请补充材料"
        ),
        "transfer": lambda: approvals.task_transfer(t, user=user, to=SPARE),
        "delegate": lambda: approvals.task_delegate(t, user=user, to=SPARE),
        "resolve": lambda: approvals.task_resolve(t, user=user),
        "add_signers": lambda: approvals.task_add_signers(
            t, user=user, signers=[SPARE], position="after"
        ),
        "remove_signer": lambda: approvals.task_remove_signer(
            Task.objects.filter(added_by_id=t).values_list("pk", flat=True).first() or t,
            user=user,
        ),
        "reassign": lambda: administration.task_reassign(t, by=user, to=SPARE),
    }


def _instance_calls(instance: ProcessInstance, user: User) -> dict[str, Callable[[], Any]]:
    i = instance.pk
    return {
        "withdraw": lambda: approvals.instance_withdraw(i, user=user),
        "cancel": lambda: approvals.instance_cancel(i, user=user, reason="不需要了"),
        "urge": lambda: approvals.instance_urge(i, user=user, comment="请尽快"),
        "copy": lambda: approvals.instance_copy(i, user=user, recipients=[SPARE]),
        "suspend": lambda: administration.instance_suspend(i, by=user, reason="核查"),
        "resume": lambda: administration.instance_resume(i, by=user, reason="核查完毕"),
        "terminate": lambda: administration.instance_terminate(i, by=user, reason="作废"),
        "move": lambda: administration.instance_move(i, by=user, target="A", reason="重走"),
    }


def _mismatches(state: str, instance_id: int, people: dict[str, User]) -> list[str]:
    instance = ProcessInstance.objects.get(pk=instance_id)
    tasks = list(Task.objects.filter(instance=instance).select_related("instance").order_by("pk"))
    wrong: list[str] = []
    for who, user in people.items():
        offered_here = actions.instance_actions(user, instance)
        for name, call in _instance_calls(instance, user).items():
            accepted = _attempt(call)
            if accepted != (name in offered_here):
                wrong.append(f"{state}: {who} {name} offered={not accepted} accepted={accepted}")
        for task in tasks:
            if task.state not in (TaskState.OPEN, TaskState.COMPLETED):
                continue
            offered_task = actions.task_actions(user, task)
            for name, call in _task_calls(task, user).items():
                if name == "remove_signer" and not Task.objects.filter(added_by=task).exists():
                    continue
                if name == "claim" and task.assignee == user.username:
                    continue  # taking one's own task again is a no-op (a double click)
                accepted = _attempt(call)
                if accepted != (name in offered_task):
                    wrong.append(
                        f"{state}: {who} {name} on {task.element_id}/{task.state} "
                        f"offered={name in offered_task} accepted={accepted}"
                    )
    return wrong


@pytest.fixture
def people(employee: User, dept_head: User, colleague: User, outsider: User) -> dict[str, User]:
    make_role("reviewers", colleague, outsider)
    UserFactory.create(username=SPARE)
    admin = make_admin(UserFactory.create(username="procadmin"))
    return {
        "initiator": employee,
        "manager": dept_head,
        "colleague": User.objects.get(pk=colleague.pk),
        "outsider": User.objects.get(pk=outsider.pk),
        "admin": admin,
    }


@pytest.fixture
def request_id(people: dict[str, User]) -> int:
    """start → A (the initiator's manager) → B (the reviewers' role) → end."""
    deploy_steps(
        user_task("A", assignee="${manager(initiator)}"),
        user_task("B", groups="role:reviewers"),
    )
    return start(people["initiator"])


def test_waiting_for_the_manager(request_id: int, people: dict[str, User]) -> None:
    assert _mismatches("waiting at A", request_id, people) == []


def test_offered_to_a_role_then_claimed(request_id: int, people: dict[str, User]) -> None:
    approvals.task_approve(open_task(request_id).pk, user=people["manager"])
    assert _mismatches("offered to the role", request_id, people) == []
    approvals.task_claim(open_task(request_id).pk, user=people["colleague"])
    assert _mismatches("claimed", request_id, people) == []


def test_delegated_and_with_a_signer(request_id: int, people: dict[str, User]) -> None:
    approvals.task_add_signers(
        open_task(request_id).pk, user=people["manager"], signers=["wangfang"], position="after"
    )
    assert _mismatches("signer added", request_id, people) == []
    other = start(people["initiator"])
    approvals.task_delegate(open_task(other).pk, user=people["manager"], to=SPARE)
    assert _mismatches("delegated", other, people) == []


def test_returned_to_the_initiator(request_id: int, people: dict[str, User]) -> None:
    approvals.task_return(
        open_task(request_id).pk, user=people["manager"], target="initiator", comment="补充"
    )
    assert _mismatches("returned", request_id, people) == []


def test_suspended(request_id: int, people: dict[str, User]) -> None:
    administration.instance_suspend(request_id, by=people["admin"], reason="核查")
    assert _mismatches("suspended", request_id, people) == []


def test_ended(request_id: int, people: dict[str, User]) -> None:
    approvals.task_approve(open_task(request_id).pk, user=people["manager"])
    approvals.task_approve(open_task(request_id).pk, user=people["colleague"])
    assert _mismatches("completed", request_id, people) == []
    cancelled = start(people["initiator"])
    approvals.instance_cancel(cancelled, user=people["initiator"], reason="不需要了")
    assert _mismatches("cancelled", cancelled, people) == []
