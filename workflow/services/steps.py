"""The locked step every approval action works on, and the checks they share.

:func:`load_step` locks the root instance row (as every engine action does), re-reads the
task and loads the run; ``require_*`` refuse what this person may not do now
(:class:`ActionRefused`, a task handled meanwhile ``AlreadyHandled``); :func:`write` writes
what the action changed and sends the after-commit work; :func:`form_values` and
:func:`clean_comment` are the one way an action takes a step form's values and a comment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.models import User
from portal.selectors import person_find
from workflow import participants
from workflow.bpmn.model import Element
from workflow.engine import store
from workflow.engine.runtime import (
    AlreadyHandled,
    Effects,
    EngineError,
    Run,
    Token,
    load_run,
)
from workflow.forms import validate_step_data
from workflow.models import (
    Delegation,
    InstanceState,
    ProcessInstance,
    ProcessSettings,
    Task,
    TaskState,
)
from workflow.participants import is_candidate
from workflow.services.engine import after_commit, current_time, run_kwargs
from workflow.services.notifications import end_notices, tell_returned

SYSTEM = ""  # the actor of what the engine does by itself (a time-out)

# Why a task of an ended request can no longer be acted on.
ENDED_MESSAGES: dict[str, Any] = {
    InstanceState.CANCELLED: gettext_lazy("The initiator cancelled this request."),
    InstanceState.TERMINATED: gettext_lazy("An administrator stopped this request."),
    InstanceState.REJECTED: gettext_lazy("This request was rejected."),
    InstanceState.COMPLETED: gettext_lazy("This request has already been approved."),
}


class ActionRefused(EngineError):
    """This person may not take this action on this task or instance now."""

    code = "action_refused"


class NotPermitted(ActionRefused):
    """This person may not take this action at all, whatever the request's state (not a
    process administrator): a 403, where a refusal of what the request allows now is a
    409."""

    status = 403
    code = "forbidden"


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
    # tokens the request was returned to (退回), with the reason: their new task's handler is
    # told of the return instead of a "new task"
    returned: list[tuple[int, str]] = field(default_factory=list)


def load_step(task_id: int, actor: str) -> Step:
    found = Task.objects.filter(pk=task_id).values_list("instance_id", flat=True).first()
    if found is None:
        raise EngineError(_("The task does not exist."))
    store.lock_root_of_instance(found)
    task = Task.objects.select_related("added_by").get(pk=task_id)
    effects = Effects()
    run = load_run(task.instance_id, current_time(), **run_kwargs(effects, actor))
    element = run.graph.elements[task.element_id]
    return Step(
        run,
        task,
        run.tokens.get(task.execution),
        element,
        participants.settings_for(run.instance.key),
        effects,
    )


def load_instance(instance_id: int, actor: str) -> tuple[Run, Effects]:
    if not ProcessInstance.objects.filter(pk=instance_id).exists():
        raise EngineError(_("The process instance does not exist."))
    store.lock_root_of_instance(instance_id)
    effects = Effects()
    return load_run(instance_id, current_time(), **run_kwargs(effects, actor)), effects


def require_running(run: Run) -> None:
    if run.instance.state == InstanceState.SUSPENDED:
        raise ActionRefused(_("The process is suspended; nothing can be done on it now."))
    if run.instance.state != InstanceState.ACTIVE:
        raise ActionRefused(_("The process has already ended."))


def require_open(step: Step) -> None:
    if step.task.state == TaskState.CANCELLED and step.run.instance.state in ENDED_MESSAGES:
        # the task went with its request: say what became of the request
        raise ActionRefused(str(ENDED_MESSAGES[step.run.instance.state]))
    task = step.task
    if task.state == TaskState.COMPLETED and task.completed_by not in ("", step.run.actor):
        # another candidate (or the proxy, the absent person) was first
        raise AlreadyHandled(_("Someone else has already handled this task."))
    if task.state in (TaskState.COMPLETED, TaskState.CANCELLED):
        raise AlreadyHandled(_("This task has already been handled."))
    require_running(step.run)
    if step.task.state != TaskState.OPEN:
        raise ActionRefused(_("This task is waiting for the signers added before it."))


def refuse_own_request(step: Step, user: User) -> None:
    """Separation of duties: nobody takes or decides an approval step of a request they
    started (``participants.own_request``)."""
    initiator = step.run.instance.initiator
    if participants.own_request(user.username, initiator, step.settings, step.element):
        raise ActionRefused(_("You started this request: someone else approves it."))


def require_handler(step: Step, user: User, *, delegate_may: bool = False) -> None:
    """The person who may act on the task now: its assignee, or a candidate of an
    unassigned task, who takes it by acting on it (no 认领 first: the first candidate to act
    wins under the instance's lock; another candidate after them is told someone else took
    it). A task with its delegate is the delegate's to work on and hand back, not to
    decide."""
    require_open(step)
    refuse_own_request(step, user)
    task = step.task
    if task.assignee:
        # the absent person may still act on a task their proxy received
        if user.username not in (task.assignee, task.on_behalf_of):
            if is_candidate(user, task):
                # offered to several; another of them took it first (by acting on it)
                raise AlreadyHandled(_("Someone else has already handled this task."))
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


def person_named(name: str, *, field_name: str = "to") -> User:
    """The active person ``name`` (a user name or an employee number) refers to; else a
    field error under ``field_name``."""
    found = person_find(name)
    if found is None:
        raise ValidationError({field_name: [_("No active user %(name)s.") % {"name": name}]})
    return found


def write(step_or_run: Step | Run, effects: Effects) -> None:
    """Write what the action changed; the after-commit work leaves with the commit.
    (Every action refuses an ended instance, so one that is ended now ended now.)"""
    flush(step_or_run)
    after_commit(effects)


def flush(step_or_run: Step | Run) -> None:
    """Write the run with what an end adds to it (the copies at the end and their history
    line), then tell whom a return reached."""
    run = step_or_run.run if isinstance(step_or_run, Step) else step_or_run
    end_notices(run)
    run.flush()
    if isinstance(step_or_run, Step):
        for number, reason in step_or_run.returned:
            pair = (run.instance.id, number)
            created = run.effects.tasks_created
            created[:] = [p for p in created if p != pair]
            tell_returned(run.instance.id, number, reason)
        step_or_run.returned.clear()


def form_values(step: Step, data: Mapping[str, Any] | None) -> dict[str, Any]:
    return validate_step_data(step.element, variables=step.run.scope(step.token), data=data or {})


def clean_comment(comment: str, *, required: bool, field_name: str = "comment") -> str:
    text = (comment or "").strip()
    if required and not text:
        raise ValidationError({field_name: [_("Please give a reason.")]})
    if len(text) > 4000:
        raise ValidationError({field_name: [_("At most 4000 characters.")]})
    return text
