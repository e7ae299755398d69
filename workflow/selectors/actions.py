"""What a person may do now: the one place that decides which actions the task page, the
instance page and the API offer. Each rule here is the rule its service enforces when the
action is taken (``workflow.services.approvals`` / ``administration``), so an action offered
is accepted and one refused is not offered (tests/workflow/test_actions_offered.py walks
instances through their states to hold both to it).

- ``instance_actions``: on the instance — withdraw, cancel, urge, copy, and the process
  administrators' suspend/resume/terminate/move/reassign;
- ``task_actions``: on a task — claim, approve, reject, return, transfer, delegate, hand back,
  add and remove signers, copy — and the instance's actions;
- ``return_targets``, ``may_withdraw``: the parts of those rules pages also show.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.utils.translation import gettext as _

from portal.models import User
from workflow import participants, translation
from workflow.bpmn.model import Element, ElementKind
from workflow.engine.cache import graph_for_definition
from workflow.models import (
    Delegation,
    InstanceState,
    ProcessInstance,
    Task,
    TaskCandidate,
    TaskState,
)
from workflow.selectors.instance_reads import InstanceReads
from workflow.selectors.visibility import is_process_admin

PASSED_OUTCOMES = ("approved", "submitted", "completed")
"""A step decided this way was passed (a return may go back to it, a withdrawal take it)."""
NEXT_ACTED_KINDS = ("task-transferred", "task-delegated", "signer-added", "task-claimed")
"""What the next handler did that ends the chance to withdraw (besides deciding)."""


def return_targets(task: Task, reads: InstanceReads | None = None) -> list[tuple[str, str]]:
    """The steps a task may be returned to: the initiator's start, then the user tasks of
    the same scope this instance actually passed, in the order first passed (element id,
    name). Worked out once per task object: the task page's actions and its return
    dialog both ask in one request. ``reads``: the page's reads of the instance."""
    known: list[tuple[str, str]] | None = getattr(task, "_return_targets", None)
    if known is not None:
        return list(known)
    targets = _return_targets(task, reads or InstanceReads(task.instance))
    task._return_targets = targets  # type: ignore[attr-defined]
    return list(targets)


def _return_targets(task: Task, reads: InstanceReads) -> list[tuple[str, str]]:
    graph = graph_for_definition(reads.instance.definition_id)
    element = graph.elements.get(task.element_id)
    if element is None:
        return []
    passed = [
        event.element_id
        for event in reads.history
        if event.kind == "task-completed" and event.outcome in PASSED_OUTCOMES
    ]
    start = graph.start_event(None)
    targets: list[tuple[str, str]] = []
    if element.parent_id is None:
        name = translation.step_name(graph.key, start.id, start.name) if start.name else ""
        targets.append(("initiator", name or _("The initiator")))
    seen = {"initiator", task.element_id}
    for element_id in passed:
        target = graph.elements.get(element_id)
        if (
            element_id in seen
            or target is None
            or target.kind is not ElementKind.USER_TASK
            or target.parent_id != element.parent_id
        ):
            continue
        seen.add(element_id)
        targets.append((element_id, translation.step_name(graph.key, element_id, target.name)))
    return targets


def _own_request(user: User, task: Task, element: Element | None) -> bool:
    """The initiator looking at an approval step of their own request (separation of duties:
    ``participants.own_request``); a step no longer in the diagram is nobody's to act on."""
    instance = task.instance
    if element is None:
        return user.username == instance.initiator
    settings = participants.settings_for(instance.definition_key)
    return participants.own_request(user.username, instance.initiator, settings, element)


def _has_candidates(task: Task) -> bool:
    """Whether ``task`` was offered to candidates (read with it by ``task_for``, else now)."""
    known: bool | None = getattr(task, "has_candidates", None)
    if known is not None:
        return known
    return TaskCandidate.objects.filter(task=task).exists()


def _step_actions(user: User, task: Task, reads: InstanceReads) -> set[str]:
    """What the person holding (or offered) an open task of a running instance may do."""
    graph = graph_for_definition(task.instance.definition_id)
    element = graph.elements.get(task.element_id)
    if _own_request(user, task, element):
        return set()
    name = user.username
    mine = bool(task.assignee) and name in (task.assignee, task.on_behalf_of)
    candidate = not task.assignee and participants.is_candidate(user, task)
    actions: set[str] = {"claim"} if candidate else set()
    if mine and task.delegation == Delegation.PENDING:
        return actions | {"resolve"}
    resubmission = element is not None and element.kind is ElementKind.START_EVENT
    if (mine or candidate) and resubmission:
        # a returned request back with its initiator: resubmit it (or cancel it), nobody
        # else takes part in that (``approvals.refuse_at_resubmission``)
        return actions | {"approve", "copy"}
    if mine or candidate:
        actions |= {"approve", "transfer", "delegate", "add_signers", "copy"}
        if element is None or element.kind is not ElementKind.START_EVENT:
            actions.add("reject")
            if return_targets(task, reads):
                actions.add("return")
        if mine and _has_candidates(task):
            actions.add("unclaim")
    return actions


def _has_live_signers(task: Task, reads: InstanceReads) -> bool:
    """Whether signers added to ``task`` (加签) still have their tasks open or pending (a
    signer's task is a task of the same instance)."""
    live = (TaskState.OPEN, TaskState.PENDING)
    return any(t.added_by_id == task.pk and t.state in live for t in reads.tasks)


def task_actions(user: User, task: Task, reads: InstanceReads | None = None) -> set[str]:
    """The actions ``user`` may take on ``task`` now, with those on its instance (what the
    task page and the API offer). ``reads``: the page's reads of the instance, else read
    here (each table once)."""
    instance = task.instance
    reads = reads or InstanceReads(instance)
    running = instance.state == InstanceState.ACTIVE
    actions = instance_actions(user, instance, reads) - {"reassign"}
    if running and task.state == TaskState.OPEN:
        actions |= _step_actions(user, task, reads)
        if is_process_admin(user):
            actions.add("reassign")
    if (
        running
        and user.username in (task.assignee, task.completed_by)
        and _has_live_signers(task, reads)
    ):
        actions.add("remove_signer")
    return actions


def _open_tasks(instance: ProcessInstance) -> list[Task]:
    found = list(Task.objects.filter(instance=instance, state=TaskState.OPEN))
    for task in found:
        task.instance = instance  # their candidacy reads the initiator: no query per task
    return found


def handles(
    user: User, instance: ProcessInstance, open_tasks: Sequence[Task] | None = None
) -> bool:
    """Whether ``user`` is a current handler of ``instance``: the assignee of one of its open
    tasks, the absent person its proxy holds it for, or a candidate of an unclaimed one (who
    may copy others in, ``instance_copy``). ``open_tasks``: already read."""
    name = user.username
    if open_tasks is None:
        open_tasks = _open_tasks(instance)
    return any(
        name in (t.assignee, t.on_behalf_of) if t.assignee else participants.is_candidate(user, t)
        for t in open_tasks
    )


def _others_hold(name: str, open_tasks: Sequence[Task]) -> bool:
    """Whether someone besides ``name`` holds or is offered one of these open tasks (nobody
    urges themselves, ``instance_urge``): an assignee not ``name``, or a task offered to a
    role, a department or another person."""
    if any(t.assignee and t.assignee != name for t in open_tasks):
        return True
    offered = [t.pk for t in open_tasks if not t.assignee]
    return (
        TaskCandidate.objects.filter(task_id__in=offered).exclude(kind="user", value=name).exists()
        if offered
        else False
    )


def instance_actions(
    user: User, instance: ProcessInstance, reads: InstanceReads | None = None
) -> set[str]:
    """The actions ``user`` may take on ``instance`` now (what the instance page offers).
    A suspended request can be cancelled by its initiator and resumed or terminated by an
    administrator; nothing else moves it until it is resumed. The initiator and the process
    administrators urge the handlers of a running one, and copy people in at any time.
    ``reads``: the page's reads of the instance, else read here (each table once)."""
    name = user.username
    admin = is_process_admin(user)
    if instance.state not in (InstanceState.ACTIVE, InstanceState.SUSPENDED):
        # an ended request can still be copied to someone, for their information
        return {"copy"} if admin or instance.initiator == name else set()
    running = instance.state == InstanceState.ACTIVE
    actions: set[str] = set()
    if instance.initiator == name:
        actions.add("cancel")
    reads = reads or InstanceReads(instance)
    open_tasks = reads.open_tasks
    if running and (instance.initiator == name or admin) and _others_hold(name, open_tasks):
        actions.add("urge")
    if may_withdraw(user, instance, reads):
        actions.add("withdraw")
    if handles(user, instance, open_tasks) or instance.initiator == name or admin:
        actions.add("copy")
    if admin:
        actions |= {"suspend", "move"} if running else {"resume"}
        actions.add("terminate")
        if running and open_tasks:
            actions.add("reassign")
    return actions


def withdraw_refusal(
    user: User, instance: ProcessInstance, reads: InstanceReads | None = None
) -> str | None:
    """Why ``user`` may not take the last step back (撤回) now, or None: the person who
    completed the last step (or the initiator, before anyone acted) takes it back while the
    next handler has not acted (claimed, transferred, delegated, added a signer). The rule
    ``instance_withdraw`` enforces under the instance's lock; it also refuses a step whose
    sub-process has ended meanwhile. ``reads``: the page's reads of the instance."""
    if instance.state != InstanceState.ACTIVE:
        return (
            _("The process is suspended; nothing can be done on it now.")
            if instance.state == InstanceState.SUSPENDED
            else _("The process has already ended.")
        )
    name = user.username
    reads = reads or InstanceReads(instance)
    done = [t for t in reads.tasks if t.state == TaskState.COMPLETED]
    last = max(done, key=_completed_order, default=None)
    next_acted = _("The next handler has already acted; it can no longer be withdrawn.")
    not_yours = _("Only the person who handled the previous step can withdraw it.")
    if last is None:
        if instance.initiator != name:
            return not_yours
    elif last.completed_by != name:
        mine = any(t.completed_by == name for t in done) or instance.initiator == name
        return next_acted if mine else not_yours
    else:
        if last.outcome not in PASSED_OUTCOMES:
            return _("Only an approved or submitted step can be withdrawn.")
        element = graph_for_definition(instance.definition_id).elements.get(last.element_id)
        if element is not None and element.multi_instance is not None:
            return _("A countersign vote cannot be withdrawn.")
    since = last.completed_at if last is not None else instance.started_at
    if since is not None and any(
        event.kind in NEXT_ACTED_KINDS and event.at > since for event in reads.history
    ):
        return next_acted
    return None


def _completed_order(task: Task) -> tuple[bool, datetime.datetime, int]:
    # the database's "-completed_at, -pk" (a completed task always has its time)
    at = task.completed_at
    return (at is not None, at or datetime.datetime.min.replace(tzinfo=datetime.UTC), task.pk)


def may_withdraw(user: User, instance: ProcessInstance, reads: InstanceReads | None = None) -> bool:
    """Whether to offer 撤回 to ``user`` (:func:`withdraw_refusal` has no objection)."""
    return withdraw_refusal(user, instance, reads) is None
