"""The approval actions people take on tasks and instances (docs/approvals.md).

Each public function is one transaction: it locks the root instance row first (as every
engine action does), re-reads the task, checks that this person may do this now, validates,
writes, and records a history row. A refusal raises :class:`ActionRefused` (a task handled
meanwhile :class:`AlreadyHandled`, bad form data ``ValidationError``) and changes nothing.
Notifications are written with the action (the bell) and sent on other channels after the
commit.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.models import User
from portal.services import notification_send
from workflow import participants
from workflow.bpmn.model import Element, ElementKind
from workflow.engine import store
from workflow.engine.cache import graph_for_definition
from workflow.engine.runtime import (
    MI_STATE,
    RETURN_MARK,
    SIGNERS_MARK,
    AlreadyHandled,
    Effects,
    EngineError,
    Run,
    Token,
    load_run,
)
from workflow.models import (
    Attachment,
    CarbonCopy,
    Comment,
    Delegation,
    HistoryEvent,
    Incident,
    InstanceState,
    JobKind,
    ProcessDefinition,
    ProcessInstance,
    ProcessSettings,
    RejectPolicy,
    ResubmitPolicy,
    Signer,
    Task,
    TaskCandidate,
    TaskState,
    TimeoutPolicy,
)
from workflow.services import _after_commit, _now, _run_kwargs

SYSTEM = ""  # the actor of what the engine does by itself (a time-out)
LIVE = (TaskState.OPEN, TaskState.WAITING, TaskState.PENDING)


class ActionRefused(EngineError):
    """This person may not take this action on this task or instance now."""


def task_url(task_id: int) -> str:
    return f"/workflow/tasks/{task_id}/"


def instance_url(instance_id: int) -> str:
    return f"/workflow/instances/{instance_id}/"


def is_process_admin(user: User) -> bool:
    return user.is_active and user.has_perm("workflow.manage_processes")


# --- loading under the lock ------------------------------------------------------------------


@dataclass
class Step:
    """A task with its instance's run, loaded under the instance lock."""

    run: Run
    task: Task
    token: Token | None
    element: Element
    settings: ProcessSettings
    effects: Effects = field(default_factory=Effects)


def _load_task(task_id: int, actor: str) -> Step:
    found = Task.objects.filter(pk=task_id).values_list("instance_id", flat=True).first()
    if found is None:
        raise EngineError(_("The task does not exist."))
    store.lock_root_of_instance(found)
    task = Task.objects.select_related("added_by").get(pk=task_id)
    effects = Effects()
    run = load_run(task.instance_id, _now(), **_run_kwargs(effects, actor))
    element = run.graph.elements[task.element_id]
    return Step(
        run,
        task,
        run.tokens.get(task.execution),
        element,
        participants.settings_for(run.instance.key),
        effects,
    )


def _load_instance(instance_id: int, actor: str) -> tuple[Run, Effects]:
    if not ProcessInstance.objects.filter(pk=instance_id).exists():
        raise EngineError(_("The process instance does not exist."))
    store.lock_root_of_instance(instance_id)
    effects = Effects()
    return load_run(instance_id, _now(), **_run_kwargs(effects, actor)), effects


def _require_running(run: Run) -> None:
    if run.instance.state == InstanceState.SUSPENDED:
        raise ActionRefused(_("The process is suspended; nothing can be done on it now."))
    if run.instance.state != InstanceState.ACTIVE:
        raise ActionRefused(_("The process has already ended."))


def _require_open(step: Step) -> None:
    if step.task.state in (TaskState.COMPLETED, TaskState.CANCELLED):
        raise AlreadyHandled(_("This task has already been handled."))
    _require_running(step.run)
    if step.task.state != TaskState.OPEN:
        raise ActionRefused(_("This task is waiting for the signers added before it."))


is_candidate = participants.is_candidate


def _require_handler(step: Step, user: User, *, delegate_may: bool = False) -> None:
    """The person who may act on the task now: its assignee, or a candidate of an
    unassigned task (who thereby claims it). A task with its delegate is the delegate's to
    work on and hand back, not to decide."""
    _require_open(step)
    task = step.task
    if user.username == step.run.instance.initiator and not participants.initiator_may_act(
        step.settings, step.element
    ):
        raise ActionRefused(_("You started this request: someone else approves it."))
    if task.assignee:
        # the absent person may still act on a task their proxy received
        if user.username not in (task.assignee, task.on_behalf_of):
            raise ActionRefused(_("This task is not yours."))
        if task.delegation == Delegation.PENDING and not delegate_may:
            raise ActionRefused(
                _("This task was delegated to you: hand it back to %(owner)s to decide.")
                % {"owner": task.owner}
            )
        return
    if not is_candidate(user, task):
        raise ActionRefused(_("This task is not yours."))
    task.assignee = user.username
    Task.objects.filter(pk=task.pk).update(assignee=user.username)


def _user(name: str, *, field_name: str = "to") -> User:
    found = User.objects.filter(username=name.strip(), is_active=True).first() if name else None
    if found is None:
        raise ValidationError({field_name: [_("No active user %(name)s.") % {"name": name}]})
    return found


# --- notifications ------------------------------------------------------------------------


def _notify(names: Iterable[str], event: str, title: str, url: str, body: str = "") -> None:
    """In-app now (in the action's transaction), e-mail/SMS after commit; ``event`` names
    the event so that nobody is notified twice of it. ``title`` is a format string with
    ``%(…)s`` placeholders already filled in the recipient's language by the caller."""
    for user in User.objects.filter(username__in=set(n for n in names if n), is_active=True):
        notification_send(
            recipient=user,
            kind="workflow",
            title=title,
            body=body,
            url=url,
            dedup_key=f"{event}:{user.username}"[:200],
        )


def _in_language(user_names: Iterable[str]) -> dict[str, list[str]]:
    by_language: dict[str, list[str]] = {}
    for name, language in User.objects.filter(username__in=set(user_names)).values_list(
        "username", "preferred_language"
    ):
        by_language.setdefault(language or "zh-hans", []).append(name)
    return by_language


def notify(names: Iterable[str], event: str, url: str, message: Any, **values: Any) -> None:
    """Notify people, each in their language: ``message`` is an untranslated (lazy) text."""
    for language, group in _in_language(names).items():
        with translation.override(language):
            _notify(group, event, str(message) % values, url)


def handlers_of(task: Task) -> list[str]:
    """Who should hear about an open task: its assignee, else its candidate users and the
    members of its candidate roles (at most 50)."""
    if task.assignee:
        return [task.assignee]
    names: list[str] = []
    for kind, value in TaskCandidate.objects.filter(task=task).values_list("kind", "value"):
        if kind == "user":
            names.append(value)
        elif kind == "group":
            names += participants.role_members(value)
        elif kind == "dept":
            names += participants.dept_members(value)
    return list(dict.fromkeys(names))[:50]


def _tell_handlers(task: Task, event: str, message: Any) -> None:
    """Notify the people who should act on ``task`` of ``event`` (``message`` takes
    ``%(step)s`` and ``%(title)s``). Being given a task is news to each new assignee."""
    if event == "assigned":
        event = f"assigned:{task.assignee}"
    notify(
        handlers_of(task),
        f"task:{task.pk}:{event}",
        task_url(task.pk),
        message,
        step=task.name or task.element_id,
        title=task.instance.title,
    )


def _tell_handlers_of(task_id: int, event: str, message: Any) -> None:
    _tell_handlers(Task.objects.select_related("instance").get(pk=task_id), event, message)


NEW_TASK = gettext_lazy("New task: %(step)s — %(title)s")


def notify_new_tasks(pairs: Sequence[tuple[int, int]]) -> int:
    """Tell the handlers of the tasks just created at these tokens (instance, token)."""
    sent = 0
    for instance_id, number in pairs:
        for task in Task.objects.filter(
            instance_id=instance_id, execution=number, state=TaskState.OPEN
        ).select_related("instance"):
            _tell_handlers(task, "assigned", NEW_TASK)
            sent += 1
    return sent


# --- finishing a step -----------------------------------------------------------------------


def _on_behalf(task: Task, actor: str) -> str:
    """Whom ``actor`` acted for: the absent person of a proxied task, or the owner of a
    delegated one; nobody when the absent person (or owner) acted themself."""
    behalf = task.on_behalf_of or task.owner
    return "" if behalf == actor else behalf


def _mark_done(step: Step, actor: str, outcome: str, data: Mapping[str, Any]) -> None:
    Task.objects.filter(pk=step.task.pk).update(
        state=TaskState.COMPLETED,
        completed_at=step.run.now,
        completed_by=actor,
        outcome=outcome[:32],
        data=dict(data),
    )
    step.task.state = TaskState.COMPLETED


def _settle_signers(step: Step) -> bool:
    """After a task of a token with added signers completed (or a signer was removed):
    open what comes next. True while the token has to keep waiting."""
    task = step.task
    others = Task.objects.filter(
        instance_id=task.instance_id, execution=task.execution, state__in=LIVE
    ).exclude(pk=task.pk)
    if (
        task.signer == Signer.BEFORE
        and task.added_by_id is not None
        and not others.filter(added_by_id=task.added_by_id, signer=Signer.BEFORE).exists()
    ):
        reopened = Task.objects.filter(pk=task.added_by_id, state=TaskState.WAITING).update(
            state=TaskState.OPEN
        )
        if reopened:
            _tell_handlers_of(
                task.added_by_id, "back", gettext_lazy("Back to you: %(step)s — %(title)s")
            )
    chain_owner = task.added_by_id if task.signer == Signer.AFTER else task.pk
    if task.state == TaskState.COMPLETED:
        following = (
            others.filter(added_by_id=chain_owner, signer=Signer.AFTER, state=TaskState.PENDING)
            .order_by("pk")
            .first()
        )
        if following is not None:
            Task.objects.filter(pk=following.pk).update(
                state=TaskState.OPEN, created_at=step.run.now
            )
            _tell_handlers_of(following.pk, "assigned", NEW_TASK)
    return others.exists()


def _copy(
    run: Run,
    names: Iterable[str],
    *,
    sent_by: str,
    element_id: str = "",
    comment: str = "",
) -> list[str]:
    """抄送: give these people read access and tell them, once per person and instance."""
    new: list[str] = []
    for user in User.objects.filter(username__in=set(names), is_active=True):
        _copy_row, created = CarbonCopy.objects.get_or_create(
            instance_id=run.instance.id,
            user=user,
            defaults={
                "sent_by": sent_by,
                "element_id": element_id,
                "comment": comment,
                "created_at": run.now,
            },
        )
        if created:
            new.append(user.username)
    notify(
        new,
        f"copy:{run.instance.id}",
        instance_url(run.instance.id),
        gettext_lazy("Copied to you: %(title)s"),
        title=run.instance.title,
    )
    return new


def _finish(
    step: Step,
    *,
    actor: str,
    outcome: str,
    decision: str,
    values: Mapping[str, Any],
    comment: str = "",
) -> None:
    """Complete the task and move the token on (unless added signers still have to act)."""
    run, task, token, element = step.run, step.task, step.token, step.element
    _mark_done(step, actor, outcome, values)
    run.record(
        "task-completed",
        element,
        started=task.created_at,
        task_id=task.pk,
        actor=actor,
        outcome=outcome,
        on_behalf_of=_on_behalf(task, actor),
        data={"comment": comment} if comment else None,
    )
    variables = dict(values)
    if element.kind is not ElementKind.START_EVENT and not task.signer:
        variables["approved"] = decision == "approved"
    run.set_variables(variables)
    if token is not None and SIGNERS_MARK in token.variables and _settle_signers(step):
        return
    cc = element.properties.get("cc")
    if cc and not task.signer:
        _copy(
            run,
            participants.resolve_people(run, token, cc, element.id),
            sent_by=actor,
            element_id=element.id,
        )
    if token is None:
        return
    token.variables.pop(SIGNERS_MARK, None)
    run.approver = actor if decision == "approved" and actor else ""
    run.decision = decision
    run.reject_policy = step.settings.reject
    back_to = token.variables.pop(RETURN_MARK, None)
    run.touch(token)
    if back_to and step.settings.resubmit == ResubmitPolicy.JUMP and back_to in run.graph.elements:
        run.record("activity", element, started=token.entered_at)
        run.clear_waits(token)
        run.enter(token, back_to)
    else:
        run.leave(token, element)
    run.drain()


def _end_copies(run: Run, settings: ProcessSettings) -> None:
    if run.instance.state == InstanceState.COMPLETED and settings.cc_at_end:
        _copy(run, participants.resolve_people(run, None, settings.cc_at_end, ""), sent_by="")


def _notify_initiator_of_end(run: Run) -> None:
    state = run.instance.state
    messages = {
        InstanceState.COMPLETED: gettext_lazy("Approved: %(title)s"),
        InstanceState.REJECTED: gettext_lazy("Rejected: %(title)s"),
        InstanceState.TERMINATED: gettext_lazy("Stopped by an administrator: %(title)s"),
    }
    message = messages.get(state)  # type: ignore[call-overload]
    if message is not None and run.instance.initiator:
        notify(
            [run.instance.initiator],
            f"instance:{run.instance.id}:{state}",
            instance_url(run.instance.id),
            message,
            title=run.instance.title,
        )


def end_notices(run: Run) -> None:
    """An action ended the instance: the copies of the end, the initiator told."""
    if run.instance.state not in (InstanceState.ACTIVE, InstanceState.SUSPENDED):
        _end_copies(run, participants.settings_for(run.instance.key))
        _notify_initiator_of_end(run)


def _write(step_or_run: Step | Run, effects: Effects) -> None:
    """Write what the action changed; the after-commit work leaves with the commit.
    (Every action refuses an ended instance, so one that is ended now ended now.)"""
    run = step_or_run.run if isinstance(step_or_run, Step) else step_or_run
    run.flush()
    end_notices(run)
    _after_commit(effects)


def _form_values(step: Step, data: Mapping[str, Any] | None) -> dict[str, Any]:
    from workflow.forms import validate_step_data

    return validate_step_data(step.element, variables=step.run.scope(step.token), data=data or {})


def _clean_comment(comment: str, *, required: bool, field_name: str = "comment") -> str:
    text = (comment or "").strip()
    if required and not text:
        raise ValidationError({field_name: [_("Please give a reason.")]})
    if len(text) > 4000:
        raise ValidationError({field_name: [_("At most 4000 characters.")]})
    return text


# --- claim -----------------------------------------------------------------------------------


@transaction.atomic
def task_claim(task_id: int, *, user: User) -> None:
    """Take a group task: a candidate becomes its assignee."""
    step = _load_task(task_id, user.username)
    _require_open(step)
    if step.task.assignee:
        if step.task.assignee == user.username:
            return
        raise AlreadyHandled(_("Someone else has already taken this task."))
    if user.username == step.run.instance.initiator and not participants.initiator_may_act(
        step.settings, step.element
    ):
        raise ActionRefused(_("You started this request: someone else approves it."))
    if not is_candidate(user, step.task):
        raise ActionRefused(_("This task is not yours."))
    Task.objects.filter(pk=task_id).update(assignee=user.username)
    step.run.record("task-claimed", step.element, task_id=task_id, actor=user.username)
    _write(step, step.effects)


@transaction.atomic
def task_unclaim(task_id: int, *, user: User) -> None:
    """Give a claimed group task back to its candidates."""
    step = _load_task(task_id, user.username)
    _require_open(step)
    if step.task.assignee != user.username:
        raise ActionRefused(_("This task is not yours."))
    if not TaskCandidate.objects.filter(task_id=task_id).exists():
        raise ActionRefused(_("This task has no other candidates to give it back to."))
    Task.objects.filter(pk=task_id).update(assignee="")
    step.run.record("task-unclaimed", step.element, task_id=task_id, actor=user.username)
    _write(step, step.effects)


# --- approve, reject ----------------------------------------------------------------------


@transaction.atomic
def task_approve(
    task_id: int, *, user: User, data: Mapping[str, Any] | None = None, comment: str = ""
) -> None:
    """Approve (or submit) the step: the form's data become process variables and
    ``approved`` is true."""
    step = _load_task(task_id, user.username)
    _require_handler(step, user)
    values = _form_values(step, data)
    text = _clean_comment(comment, required=False)
    outcome = "submitted" if step.element.kind is ElementKind.START_EVENT else "approved"
    _finish(
        step, actor=user.username, outcome=outcome, decision="approved", values=values, comment=text
    )
    _write(step, step.effects)


@transaction.atomic
def task_reject(
    task_id: int, *, user: User, comment: str, data: Mapping[str, Any] | None = None
) -> None:
    """Reject the step with a reason; the process settings say what follows (end the
    instance as rejected, return it to the initiator, or let the diagram decide)."""
    step = _load_task(task_id, user.username)
    _require_handler(step, user)
    if step.element.kind is ElementKind.START_EVENT:
        raise ActionRefused(_("Your own request cannot be rejected; cancel it instead."))
    text = _clean_comment(comment, required=True)
    values = _form_values(step, data)
    _reject(step, actor=user.username, outcome="rejected", values=values, comment=text)
    _write(step, step.effects)


def _reject(
    step: Step, *, actor: str, outcome: str, values: Mapping[str, Any], comment: str
) -> None:
    run, _token, element = step.run, step.token, step.element
    policy = step.settings.reject
    countersign = element.multi_instance is not None and "countersign" in element.properties
    if policy == RejectPolicy.ROUTE or countersign:
        # the diagram (or the countersign rule, for one vote of several) decides
        _finish(
            step, actor=actor, outcome=outcome, decision="rejected", values=values, comment=comment
        )
        return
    _mark_done(step, actor, outcome, values)
    run.record(
        "task-completed",
        element,
        started=step.task.created_at,
        task_id=step.task.pk,
        actor=actor,
        outcome=outcome,
        on_behalf_of=_on_behalf(step.task, actor),
        data={"comment": comment} if comment else None,
    )
    run.set_variables({**values, "approved": False})
    run.reject_policy = policy
    if policy == RejectPolicy.RETURN:
        start = run.graph.start_event(None)
        run.move_to(start, None, {RETURN_MARK: element.id} if element.parent_id is None else None)
        _notify_returned(run, start)
    else:
        run.end_instance(InstanceState.REJECTED, element)
    run.drain()


# --- return (退回) ---------------------------------------------------------------------------


def _scope_of(run: Run, token: Token | None) -> int | None:
    """The scope a step's token runs in (a multi-instance task: its body's scope)."""
    if token is None:
        return None
    parent = run.tokens.get(token.parent) if token.parent is not None else None
    if parent is not None and MI_STATE in parent.variables:
        return parent.parent
    return token.parent


def return_targets(task: Task) -> list[tuple[str, str]]:
    """The steps a task may be returned to: the initiator's start, then the user tasks of
    the same scope this instance actually passed, in the order first passed (element id,
    name)."""
    graph = graph_for_definition(
        ProcessInstance.objects.values_list("definition_id", flat=True).get(pk=task.instance_id)
    )
    element = graph.elements.get(task.element_id)
    if element is None:
        return []
    passed = (
        HistoryEvent.objects.filter(
            instance_id=task.instance_id,
            kind="task-completed",
            outcome__in=("approved", "submitted", "completed"),
        )
        .order_by("at", "id")
        .values_list("element_id", flat=True)
    )
    start = graph.start_event(None)
    targets: list[tuple[str, str]] = []
    if element.parent_id is None:
        targets.append(("initiator", start.name or _("The initiator")))
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
        targets.append((element_id, target.name or element_id))
    return targets


def _last_handler(instance_id: int, element_id: str) -> str:
    return (
        Task.objects.filter(
            instance_id=instance_id, element_id=element_id, state=TaskState.COMPLETED
        )
        .order_by("-completed_at", "-pk")
        .values_list("completed_by", flat=True)
        .first()
        or ""
    )


def _give_to(run: Run, token: Token, assignee: str) -> None:
    """The task about to be created at ``token`` goes to ``assignee`` (no candidates)."""
    for waiting, _element, fields in run.tasks:
        if waiting is token and assignee:
            fields["assignee"] = assignee
            fields["candidates"] = []
            fields["on_behalf_of"] = ""


@transaction.atomic
def task_return(task_id: int, *, user: User, target: str, comment: str) -> None:
    """退回: send the instance back to the initiator (``target="initiator"``) or to an
    earlier step it passed; the person who handled that step gets it again. Steps the
    instance never passed are refused."""
    step = _load_task(task_id, user.username)
    _require_handler(step, user)
    if step.element.kind is ElementKind.START_EVENT:
        raise ActionRefused(_("The process can only be returned to a step it has passed."))
    text = _clean_comment(comment, required=True)
    allowed = dict(return_targets(step.task))
    if target not in allowed:
        raise ActionRefused(_("The process can only be returned to a step it has passed."))
    run = step.run
    _mark_done(step, user.username, "returned", {})
    run.record(
        "task-completed",
        step.element,
        started=step.task.created_at,
        task_id=task_id,
        actor=user.username,
        outcome="returned",
        on_behalf_of=_on_behalf(step.task, user.username),
        data={"comment": text, "to": target},
    )
    scope = _scope_of(run, step.token)
    element = run.graph.start_event(None) if target == "initiator" else run.graph.elements[target]
    token = run.move_to(element, scope, {RETURN_MARK: step.element.id})
    run.drain()
    if element.kind is not ElementKind.START_EVENT:
        _give_to(run, token, _last_handler(run.instance.id, element.id))
    _notify_returned(run, element)
    _write(step, step.effects)


def _notify_returned(run: Run, element: Element) -> None:
    if element.kind is ElementKind.START_EVENT:
        names = [run.instance.initiator]
    else:
        names = [_last_handler(run.instance.id, element.id)]
    notify(
        names,
        f"instance:{run.instance.id}:returned:{run.instance.revision}",
        instance_url(run.instance.id),
        gettext_lazy("Returned to you: %(title)s"),
        title=run.instance.title,
    )


# --- withdraw (撤回), cancel (撤销) ----------------------------------------------------------


@transaction.atomic
def instance_withdraw(instance_id: int, *, user: User) -> None:
    """撤回: the person who completed the previous step (or the initiator, before anyone
    acted) takes it back, while the next handler has not acted yet."""
    run, effects = _load_instance(instance_id, user.username)
    _require_running(run)
    mine = (
        Task.objects.filter(instance_id=instance_id, state=TaskState.COMPLETED)
        .order_by("-completed_at", "-pk")
        .first()
    )
    if mine is not None and mine.completed_by != user.username:
        if Task.objects.filter(
            instance_id=instance_id, state=TaskState.COMPLETED, completed_by=user.username
        ).exists() or (run.instance.initiator == user.username):
            raise ActionRefused(
                _("The next handler has already acted; it can no longer be withdrawn.")
            )
        raise ActionRefused(_("Only the person who handled the previous step can withdraw it."))
    if mine is None:
        if run.instance.initiator != user.username:
            raise ActionRefused(_("Only the person who handled the previous step can withdraw it."))
        target = run.graph.start_event(None)
        scope: int | None = None
    else:
        if mine.outcome not in ("approved", "submitted", "completed"):
            raise ActionRefused(_("Only an approved or submitted step can be withdrawn."))
        target = run.graph.elements[mine.element_id]
        if target.kind is ElementKind.USER_TASK and target.multi_instance is not None:
            raise ActionRefused(_("A countersign vote cannot be withdrawn."))
        scope = None if target.parent_id is None else _scope_for_element(run, target)
        if scope is None and target.parent_id is not None:
            raise ActionRefused(_("That step's sub-process has ended; it cannot be withdrawn."))
    if HistoryEvent.objects.filter(
        instance_id=instance_id,
        kind__in=("task-transferred", "task-delegated", "signer-added", "task-claimed"),
        at__gt=mine.completed_at if mine else run.instance.started_at,
    ).exists():
        raise ActionRefused(_("The next handler has already acted; it can no longer be withdrawn."))
    token = run.move_to(target, scope)
    run.drain()
    _give_to(run, token, user.username)
    run.record("withdrawn", target, actor=user.username)
    _write(run, effects)


def _scope_for_element(run: Run, element: Element) -> int | None:
    for token in run.tokens.values():
        if token.element_id == element.parent_id and token.state == "scope":
            return token.number
    return None


@transaction.atomic
def instance_cancel(instance_id: int, *, user: User, reason: str) -> None:
    """撤销: the initiator cancels the whole request, with a reason."""
    run, effects = _load_instance(instance_id, user.username)
    if run.instance.initiator != user.username:
        raise ActionRefused(_("Only the initiator can cancel the request."))
    if run.instance.state not in (InstanceState.ACTIVE, InstanceState.SUSPENDED):
        raise ActionRefused(_("The process has already ended."))
    text = _clean_comment(reason, required=True, field_name="reason")
    handlers = [
        t.assignee for t in Task.objects.filter(instance_id=instance_id, state=TaskState.OPEN)
    ]
    run.end_instance(InstanceState.CANCELLED, None)
    run.record("instance-cancelled", None, actor=user.username, data={"reason": text})
    notify(
        handlers,
        f"instance:{instance_id}:cancelled",
        instance_url(instance_id),
        gettext_lazy("Cancelled by the initiator: %(title)s"),
        title=run.instance.title,
    )
    _write(run, effects)


# --- transfer (转办), delegate (委派) --------------------------------------------------------


def _hand_over(task_id: int, user: User, to: str, comment: str, kind: str, **changes: str) -> None:
    """Give the task to ``to`` (the task row gets ``changes`` besides the new assignee)."""
    step = _load_task(task_id, user.username)
    _require_handler(step, user)
    target = _user(to)
    if target.username == user.username:
        raise ValidationError({"to": [_("Choose someone other than yourself.")]})
    participants.refuse_initiator(
        step.settings, step.element, step.run.instance.initiator, target, field_name="to"
    )
    text = _clean_comment(comment, required=False)
    Task.objects.filter(pk=task_id).update(assignee=target.username, **changes)
    step.run.record(
        kind,
        step.element,
        task_id=task_id,
        actor=user.username,
        data={"to": target.username, "comment": text},
    )
    _tell_handlers_of(task_id, "assigned", NEW_TASK)
    _write(step, step.effects)


@transaction.atomic
def task_transfer(task_id: int, *, user: User, to: str, comment: str = "") -> None:
    """转办: ``to`` owns the task and its decision from now on."""
    _hand_over(
        task_id, user, to, comment, "task-transferred", owner="", delegation="", on_behalf_of=""
    )


@transaction.atomic
def task_delegate(task_id: int, *, user: User, to: str, comment: str = "") -> None:
    """委派: ``to`` works on the task and hands it back; the decision stays with the owner."""
    _hand_over(
        task_id,
        user,
        to,
        comment,
        "task-delegated",
        owner=user.username,
        delegation=Delegation.PENDING,
    )


@transaction.atomic
def task_resolve(
    task_id: int, *, user: User, data: Mapping[str, Any] | None = None, comment: str = ""
) -> None:
    """The delegate hands the task back to its owner, with what they filled in."""
    step = _load_task(task_id, user.username)
    _require_handler(step, user, delegate_may=True)
    if step.task.delegation != Delegation.PENDING:
        raise ActionRefused(_("This task was not delegated to you."))
    values = _form_values(step, data) if data else {}
    text = _clean_comment(comment, required=False)
    Task.objects.filter(pk=task_id).update(
        assignee=step.task.owner, delegation=Delegation.RESOLVED, data=values
    )
    step.run.record(
        "task-resolved",
        step.element,
        task_id=task_id,
        actor=user.username,
        on_behalf_of=step.task.owner,
        data={"comment": text} if text else None,
    )
    _tell_handlers_of(task_id, "back", gettext_lazy("Back to you: %(step)s — %(title)s"))
    _write(step, step.effects)


# --- add / remove signers (加签 / 减签) -------------------------------------------------------


@transaction.atomic
def task_add_signers(
    task_id: int, *, user: User, signers: Sequence[str], position: str, comment: str = ""
) -> list[int]:
    """加签: ask others to sign at this step — ``before`` me (the task comes back to me after
    them), ``after`` me (one after another once I approved), or ``alongside`` me. Returns
    the new tasks' ids."""
    step = _load_task(task_id, user.username)
    _require_handler(step, user)
    if position not in Signer.values:
        raise ValidationError({"position": [_("Choose before, after or alongside.")]})
    if step.token is None:
        raise ActionRefused(_("Signers cannot be added to this task."))
    people = [_user(name, field_name="signers") for name in dict.fromkeys(signers)]
    if not people:
        raise ValidationError({"signers": [_("Choose at least one person.")]})
    busy = set(
        Task.objects.filter(
            instance_id=step.task.instance_id, execution=step.task.execution, state__in=LIVE
        ).values_list("assignee", flat=True)
    )
    for person in people:
        if person.username == user.username or person.username in busy:
            raise ValidationError(
                {"signers": [_("%(name)s already handles this step.") % {"name": person}]}
            )
        participants.refuse_initiator(
            step.settings,
            step.element,
            step.run.instance.initiator,
            person,
            field_name="signers",
        )
    text = _clean_comment(comment, required=False)
    task, run = step.task, step.run
    created = []
    for person in people:
        created.append(
            Task.objects.create(
                instance_id=task.instance_id,
                execution=task.execution,
                definition_key=task.definition_key,
                element_id=task.element_id,
                name=task.name,
                assignee=person.username,
                priority=task.priority,
                form_key=task.form_key,
                created_at=run.now,
                due_at=task.due_at,
                state=TaskState.PENDING if position == Signer.AFTER else TaskState.OPEN,
                added_by=task,
                signer=position,
            )
        )
    if position == Signer.BEFORE:
        Task.objects.filter(pk=task_id).update(state=TaskState.WAITING)
    step.token.variables[SIGNERS_MARK] = True
    run.touch(step.token)
    run.record(
        "signer-added",
        step.element,
        task_id=task_id,
        actor=user.username,
        data={"signers": [p.username for p in people], "position": position, "comment": text},
    )
    for new in created:
        if new.state == TaskState.OPEN:
            _tell_handlers_of(new.pk, "assigned", NEW_TASK)
    _write(step, step.effects)
    return [t.pk for t in created]


@transaction.atomic
def task_remove_signer(task_id: int, *, user: User) -> None:
    """减签: take back a signer one added, while they have not acted."""
    step = _load_task(task_id, user.username)
    task = step.task
    _require_running(step.run)
    if not task.signer or task.added_by is None:
        raise ActionRefused(_("Only an added signer can be removed."))
    if task.state not in LIVE:
        raise ActionRefused(_("This signer has already acted."))
    if user.username not in (task.added_by.assignee, task.added_by.completed_by):
        raise ActionRefused(_("Only the person who added this signer can remove them."))
    Task.objects.filter(pk=task.pk).update(state=TaskState.CANCELLED, completed_at=step.run.now)
    task.state = TaskState.CANCELLED
    step.run.record(
        "signer-removed",
        step.element,
        task_id=task.pk,
        actor=user.username,
        data={"signer": task.assignee},
    )
    if not _settle_signers(step) and step.token is not None:
        # the last one the step waited for: it moves on as approved
        step.token.variables.pop(SIGNERS_MARK, None)
        step.run.approver = ""
        step.run.decision = "approved"
        step.run.reject_policy = step.settings.reject
        step.run.leave(step.token, step.element)
        step.run.drain()
    _write(step, step.effects)


# --- carbon copy (抄送), urge (催办), comments, attachments -----------------------------------


def _may_see(run: Run, user: User) -> bool:
    from workflow.selectors import instances_for

    return instances_for(user).filter(pk=run.instance.id).exists()


@transaction.atomic
def instance_copy(
    instance_id: int, *, user: User, recipients: Sequence[str], comment: str = ""
) -> list[str]:
    """抄送: let people read the instance and tell them; who was copied already is not
    copied or told again. ``recipients``: user names, ``role:code``, ``dept:code``."""
    run, effects = _load_instance(instance_id, user.username)
    # a current handler as ``task_actions`` offers it: the assignee (or the absent person of
    # a proxied task), or a candidate of an unclaimed task
    handles = any(
        user.username in (task.assignee, task.on_behalf_of)
        if task.assignee
        else is_candidate(user, task)
        for task in Task.objects.filter(instance_id=instance_id, state=TaskState.OPEN)
    )
    if not (handles or run.instance.initiator == user.username or is_process_admin(user)):
        raise ActionRefused(_("Only the initiator or a current handler can copy others in."))
    names: list[str] = []
    for item in recipients:
        item = item.strip()
        if item.startswith(("role:", "dept:")):
            names += participants.resolve_people(run, None, item, "")
        elif item:
            names.append(_user(item, field_name="recipients").username)
    if not names:
        raise ValidationError({"recipients": [_("Choose at least one person.")]})
    text = _clean_comment(comment, required=False)
    new = _copy(run, names, sent_by=user.username, comment=text)
    run.record("copied", None, actor=user.username, data={"to": new, "comment": text})
    _write(run, effects)
    return new


def copy_mark_read(instance_id: int, *, user: User) -> None:
    CarbonCopy.objects.filter(instance_id=instance_id, user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def instance_urge(instance_id: int, *, user: User, comment: str = "") -> list[str]:
    """催办: remind the current handlers; once per ``urge_interval_minutes`` per instance."""
    run, effects = _load_instance(instance_id, user.username)
    if run.instance.initiator != user.username and not is_process_admin(user):
        raise ActionRefused(_("Only the initiator can urge the handlers."))
    _require_running(run)
    settings = participants.settings_for(run.instance.key)
    interval = datetime.timedelta(minutes=settings.urge_interval_minutes)
    last = (
        HistoryEvent.objects.filter(instance_id=instance_id, kind="urged")
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if last is not None and run.now - last < interval:
        again = timezone.localtime(last + interval).strftime("%H:%M")
        raise ActionRefused(
            _("The handlers were urged a moment ago; you can urge again after %(time)s.")
            % {"time": again}
        )
    names: list[str] = []
    for task in Task.objects.filter(instance_id=instance_id, state=TaskState.OPEN):
        names += handlers_of(task)
    if not names:
        raise ActionRefused(_("Nobody is working on it at the moment."))
    text = _clean_comment(comment, required=False)
    notify(
        names,
        f"urge:{instance_id}:{run.now.isoformat()}",
        instance_url(instance_id),
        gettext_lazy("Please handle: %(title)s (urged by the initiator)"),
        title=run.instance.title,
    )
    run.record("urged", None, actor=user.username, data={"to": names, "comment": text})
    _write(run, effects)
    return names


@transaction.atomic
def comment_add(instance_id: int, *, user: User, text: str, task_id: int | None = None) -> Comment:
    """A remark on an instance anyone who may see it can write."""
    run, _effects = _load_instance(instance_id, user.username)
    if not _may_see(run, user):
        raise EngineError(_("The process instance does not exist."))
    body = _clean_comment(text, required=True, field_name="text")
    if (
        task_id is not None
        and not Task.objects.filter(pk=task_id, instance_id=instance_id).exists()
    ):
        raise ValidationError({"task": [_("This task is not part of this process.")]})
    return Comment.objects.create(
        instance_id=instance_id, task_id=task_id, author=user, text=body, created_at=run.now
    )


@transaction.atomic
def attachment_add(
    instance_id: int, *, user: User, upload: Any, task_id: int | None = None
) -> Attachment:
    """Attach a file (size and type checked) to an instance one takes part in."""
    from workflow.forms import attachment_content_type, safe_filename, validate_upload

    run, _effects = _load_instance(instance_id, user.username)
    if not _may_see(run, user):
        raise EngineError(_("The process instance does not exist."))
    validate_upload(upload)
    if (
        task_id is not None
        and not Task.objects.filter(pk=task_id, instance_id=instance_id).exists()
    ):
        raise ValidationError({"task": [_("This task is not part of this process.")]})
    name = safe_filename(upload.name)
    upload.name = name
    return Attachment.objects.create(
        instance_id=instance_id,
        task_id=task_id,
        uploaded_by=user,
        file=upload,
        name=name,
        size=upload.size,
        content_type=attachment_content_type(name),
        created_at=run.now,
    )


# --- administrators' intervention ---------------------------------------------------------


def _require_admin(user: User) -> None:
    if not is_process_admin(user):
        raise ActionRefused(_("Only a process administrator can do this."))


@transaction.atomic
def instance_suspend(instance_id: int, *, by: User, reason: str = "") -> None:
    """Hold an instance: nobody can act on it and its timers wait until it is resumed."""
    _require_admin(by)
    run, effects = _load_instance(instance_id, by.username)
    if run.instance.state != InstanceState.ACTIVE:
        raise ActionRefused(_("Only a running process can be suspended."))
    run.instance.state = InstanceState.SUSPENDED
    run.record("instance-suspended", None, actor=by.username, data={"reason": reason.strip()})
    _write(run, effects)


@transaction.atomic
def instance_resume(instance_id: int, *, by: User, reason: str = "") -> None:
    _require_admin(by)
    run, effects = _load_instance(instance_id, by.username)
    if run.instance.state != InstanceState.SUSPENDED:
        raise ActionRefused(_("Only a suspended process can be resumed."))
    run.instance.state = InstanceState.ACTIVE
    run.record("instance-resumed", None, actor=by.username, data={"reason": reason.strip()})
    run.effects.wake_jobs = True  # timers that fell due meanwhile
    _write(run, effects)


@transaction.atomic
def instance_terminate(instance_id: int, *, by: User, reason: str) -> None:
    """Stop an instance for good, with a reason."""
    _require_admin(by)
    text = _clean_comment(reason, required=True, field_name="reason")
    run, effects = _load_instance(instance_id, by.username)
    if run.instance.state not in (InstanceState.ACTIVE, InstanceState.SUSPENDED):
        raise ActionRefused(_("The process has already ended."))
    run.end_instance(InstanceState.TERMINATED, None)
    run.record("instance-terminated", None, actor=by.username, data={"reason": text})
    _write(run, effects)


@transaction.atomic
def instance_move(instance_id: int, *, by: User, target: str, reason: str) -> None:
    """Replace the active steps of the instance's top level by ``target`` (a step of the
    top level)."""
    _require_admin(by)
    text = _clean_comment(reason, required=True, field_name="reason")
    run, effects = _load_instance(instance_id, by.username)
    _require_running(run)
    element = run.graph.elements.get(target)
    if (
        element is None
        or element.parent_id is not None
        or not (element.kind.is_activity or element.kind is ElementKind.START_EVENT)
    ):
        raise ValidationError({"target": [_("Choose a step of the process's main flow.")]})
    run.move_to(element, None)
    run.drain()
    run.record("instance-moved", element, actor=by.username, data={"reason": text})
    _write(run, effects)


@transaction.atomic
def task_reassign(task_id: int, *, by: User, to: str, reason: str = "") -> None:
    """An administrator gives an open task to someone; an incident about nobody being
    able to handle the step is resolved by it."""
    _require_admin(by)
    step = _load_task(task_id, by.username)
    _require_open(step)
    target = _user(to)
    participants.refuse_initiator(
        step.settings, step.element, step.run.instance.initiator, target, field_name="to"
    )
    Task.objects.filter(pk=task_id).update(
        assignee=target.username, owner="", delegation="", on_behalf_of=""
    )
    Incident.objects.filter(
        instance_id=step.task.instance_id,
        element_id=step.task.element_id,
        job_id__isnull=True,
        resolved_at__isnull=True,
    ).update(resolved_at=step.run.now, resolved_by=by.username)
    step.run.record(
        "task-reassigned",
        step.element,
        task_id=task_id,
        actor=by.username,
        data={"to": target.username, "reason": reason.strip()},
    )
    _tell_handlers_of(task_id, "assigned", NEW_TASK)
    _write(step, step.effects)


@dataclass
class MigrationReport:
    migrated: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


def instances_migrate(
    instance_ids: Sequence[int], *, by: User, to_definition_id: int
) -> MigrationReport:
    """Move running instances to another version of their process when every active step
    exists there with the same kind; the others stay and are reported with the reason."""
    _require_admin(by)
    report = MigrationReport()
    target = ProcessDefinition.objects.filter(pk=to_definition_id).first()
    if target is None:
        raise ValidationError({"to_definition": [_("No such process version.")]})
    graph = graph_for_definition(target.pk)
    for instance_id in instance_ids:
        with transaction.atomic():
            try:
                run, _effects = _load_instance(instance_id, by.username)
            except EngineError as error:
                report.refused[instance_id] = str(error)
                continue
            if run.instance.key != target.key:
                report.refused[instance_id] = _("It is another process.")
                continue
            if run.instance.state not in (InstanceState.ACTIVE, InstanceState.SUSPENDED):
                report.refused[instance_id] = _("It has ended.")
                continue
            missing = sorted(
                {
                    t.element_id
                    for t in run.tokens.values()
                    if t.element_id
                    and (
                        t.element_id not in graph.elements
                        or graph.elements[t.element_id].kind
                        is not run.graph.elements[t.element_id].kind
                    )
                }
            )
            if missing:
                report.refused[instance_id] = _("Steps missing in the new version: %(steps)s") % {
                    "steps": ", ".join(missing)
                }
                continue
            previous = run.instance.definition_id
            ProcessInstance.objects.filter(pk=instance_id).update(definition_id=target.pk)
            run.record(
                "instance-migrated",
                None,
                actor=by.username,
                data={"from": previous, "to": target.pk, "version": target.version},
            )
            run.flush()
            report.migrated.append(instance_id)
    return report


# --- due dates: reminders and time-outs (jobs) --------------------------------------------


def due_job(run: Run, number: int, element: Element, kind: str, payload: Mapping[str, Any]) -> None:
    """A task's reminder or time-out job fell due (inside the job's transaction)."""
    tasks = list(
        Task.objects.filter(
            instance_id=run.instance.id,
            execution=number,
            element_id=element.id,
            state=TaskState.OPEN,
        ).select_related("added_by", "instance")
    )
    if not tasks:
        return
    if kind == JobKind.REMINDER:
        for task in tasks:
            _tell_handlers(task, "due-soon", gettext_lazy("Due soon: %(step)s — %(title)s"))
        return
    policy = payload.get("policy") or TimeoutPolicy.REMIND
    settings = participants.settings_for(run.instance.key)
    for task in tasks:
        _tell_handlers(task, "overdue", gettext_lazy("Overdue: %(step)s — %(title)s"))
    task = next((t for t in tasks if not t.signer), tasks[0])
    step = Step(run, task, run.tokens.get(number), element, settings, run.effects)
    if policy == TimeoutPolicy.ESCALATE and settings.escalation_role is not None:
        code = settings.escalation_role.code
        Task.objects.filter(pk=task.pk).update(assignee="", owner="", delegation="")
        TaskCandidate.objects.filter(task=task).delete()
        TaskCandidate.objects.create(task=task, kind="group", value=code)
        run.record("task-escalated", element, task_id=task.pk, data={"role": code})
        task.assignee = ""
        _tell_handlers(task, "escalated", gettext_lazy("Escalated to you: %(step)s — %(title)s"))
    elif policy == TimeoutPolicy.APPROVE:
        _cancel_siblings(task)
        _finish(step, actor=SYSTEM, outcome="auto-approved", decision="approved", values={})
    elif policy == TimeoutPolicy.REJECT:
        _cancel_siblings(task)
        _reject(step, actor=SYSTEM, outcome="auto-rejected", values={}, comment="")


def _cancel_siblings(task: Task) -> None:
    """A time-out decides the step: the added signers' tasks go."""
    Task.objects.filter(
        instance_id=task.instance_id, execution=task.execution, state__in=LIVE
    ).exclude(pk=task.pk).update(state=TaskState.CANCELLED)
