"""Due dates of steps: the reminder before a due date and what a time-out does (remind,
escalate to the escalation role, approve or reject automatically), run as jobs by the job
runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy

from portal.services import notifications_settle
from workflow import participants
from workflow.bpmn.model import Element
from workflow.engine.runtime import (
    Run,
)
from workflow.models import (
    LIVE_TASK_STATES,
    InstanceState,
    JobKind,
    Task,
    TaskCandidate,
    TaskState,
    TimeoutPolicy,
)
from workflow.services.approvals import finish_step, reject_step
from workflow.services.notifications import (
    TIMED_OUT_APPROVED,
    run_title,
    task_subject,
    tell_handlers,
    tell_initiator,
)
from workflow.services.steps import SYSTEM, Step

# --- due dates: reminders and time-outs (jobs) --------------------------------------------


TIMEOUT_APPROVED = "timeout-approved"
TIMEOUT_REJECTED = "timeout-rejected"
"""The outcomes of a step decided by its time-out (超时自动同意 / 超时自动驳回), distinct from
``auto-approved``: a repeated approver's step passing by itself."""


def due_job(
    run: Run, number: int, element: Element, kind: str, payload: Mapping[str, Any]
) -> Step | None:
    """A task's reminder or time-out job fell due (inside the job's transaction); the step
    a time-out decided, for the caller to write (``steps.flush``)."""
    tasks = list(
        Task.objects.filter(
            instance_id=run.instance.id,
            execution=number,
            element_id=element.id,
            state=TaskState.OPEN,
        ).select_related("added_by", "instance")
    )
    if not tasks:
        return None
    if kind == JobKind.REMINDER:
        for task in tasks:
            tell_handlers(task, "due-soon", gettext_lazy("Due soon: %(step)s — %(title)s"))
        return None
    policy = payload.get("policy") or TimeoutPolicy.REMIND
    settings = participants.settings_for(run.instance.key)
    for task in tasks:
        tell_handlers(task, "overdue", gettext_lazy("Overdue: %(step)s — %(title)s"))
    task = next((t for t in tasks if not t.signer), tasks[0])
    step = Step(run, task, run.tokens.get(number), element, settings, run.effects)
    if policy == TimeoutPolicy.ESCALATE and settings.escalation_role is not None:
        code = settings.escalation_role.code
        Task.objects.filter(pk=task.pk).update(assignee="", owner="", delegation="")
        TaskCandidate.objects.filter(task=task).delete()
        TaskCandidate.objects.create(task=task, kind="group", value=code)
        run.record("task-escalated", element, task_id=task.pk, data={"role": code})
        task.assignee = ""
        told = tell_handlers(
            task, "escalated", gettext_lazy("Escalated to you: %(step)s — %(title)s")
        )
        # the task left its former holder: only the escalation role's notices stay open
        notifications_settle(holders={task_subject(task.pk): set(told)})
    elif policy == TimeoutPolicy.APPROVE:
        _cancel_siblings(task)
        finish_step(step, actor=SYSTEM, outcome=TIMEOUT_APPROVED, decision="approved", values={})
        if run.instance.state == InstanceState.COMPLETED:
            # the initiator hears that nobody decided: this notice stands for "approved"
            tell_initiator(
                run.instance.id,
                run.instance.initiator,
                run_title(run),
                InstanceState.COMPLETED,
                TIMED_OUT_APPROVED,
            )
    elif policy == TimeoutPolicy.REJECT:
        _cancel_siblings(task)
        reject_step(step, actor=SYSTEM, outcome=TIMEOUT_REJECTED, values={}, comment="")
    return step


def _cancel_siblings(task: Task) -> None:
    """A time-out decides the step: the added signers' tasks go."""
    Task.objects.filter(
        instance_id=task.instance_id, execution=task.execution, state__in=LIVE_TASK_STATES
    ).exclude(pk=task.pk).update(state=TaskState.CANCELLED)
