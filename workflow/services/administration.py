"""What a process administrator (``workflow.manage_processes``) does to running requests:
suspend, resume, terminate, move a token, reassign a task, migrate instances to another
version, retry an incident. Each is one transaction with a history row naming who did it
and why (a retry: the retry's, then the job's own run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from portal.models import User
from workflow import participants
from workflow.bpmn.model import ElementKind
from workflow.engine.cache import graph_for_definition
from workflow.engine.runtime import (
    EngineError,
)
from workflow.models import (
    Incident,
    InstanceState,
    Job,
    ProcessDefinition,
    ProcessInstance,
    Task,
)
from workflow.selectors.visibility import is_process_admin
from workflow.services import jobs
from workflow.services.notifications import NEW_TASK, tell_handlers_of
from workflow.services.steps import (
    ActionRefused,
    NotPermitted,
    clean_comment,
    load_instance,
    load_step,
    person_named,
    require_open,
    require_running,
    write,
)

# --- administrators' intervention ---------------------------------------------------------


def _require_admin(user: User) -> None:
    if not is_process_admin(user):
        raise NotPermitted(_("Only a process administrator can do this."))


@transaction.atomic
def instance_suspend(instance_id: int, *, by: User, reason: str = "") -> None:
    """Hold an instance: nobody can act on it and its timers wait until it is resumed."""
    _require_admin(by)
    run, effects = load_instance(instance_id, by.username)
    if run.instance.state != InstanceState.ACTIVE:
        raise ActionRefused(_("Only a running process can be suspended."))
    run.instance.state = InstanceState.SUSPENDED
    run.record("instance-suspended", None, actor=by.username, data={"reason": reason.strip()})
    write(run, effects)


@transaction.atomic
def instance_resume(instance_id: int, *, by: User, reason: str = "") -> None:
    _require_admin(by)
    run, effects = load_instance(instance_id, by.username)
    if run.instance.state != InstanceState.SUSPENDED:
        raise ActionRefused(_("Only a suspended process can be resumed."))
    run.instance.state = InstanceState.ACTIVE
    run.record("instance-resumed", None, actor=by.username, data={"reason": reason.strip()})
    run.effects.wake_jobs = True  # timers that fell due meanwhile
    write(run, effects)


@transaction.atomic
def instance_terminate(instance_id: int, *, by: User, reason: str) -> None:
    """Stop an instance for good, with a reason."""
    _require_admin(by)
    text = clean_comment(reason, required=True, field_name="reason")
    run, effects = load_instance(instance_id, by.username)
    if run.instance.state not in (InstanceState.ACTIVE, InstanceState.SUSPENDED):
        raise ActionRefused(_("The process has already ended."))
    run.end_instance(InstanceState.TERMINATED, None)
    run.record("instance-terminated", None, actor=by.username, data={"reason": text})
    write(run, effects)


@transaction.atomic
def instance_move(instance_id: int, *, by: User, target: str, reason: str) -> None:
    """Replace the active steps of the instance's top level by ``target`` (a step of the
    top level)."""
    _require_admin(by)
    text = clean_comment(reason, required=True, field_name="reason")
    run, effects = load_instance(instance_id, by.username)
    require_running(run)
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
    write(run, effects)


@transaction.atomic
def task_reassign(task_id: int, *, by: User, to: str, reason: str = "") -> None:
    """An administrator gives an open task to someone; an incident about nobody being
    able to handle the step is resolved by it."""
    _require_admin(by)
    step = load_step(task_id, by.username)
    require_open(step)
    target = person_named(to)
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
    tell_handlers_of(task_id, "assigned", NEW_TASK)
    write(step, step.effects)


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
                run, _effects = load_instance(instance_id, by.username)
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


# --- incidents -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryOutcome:
    """What retrying an incident came to: its job ran and the process went on
    (``succeeded``), or the job failed again — then ``error`` says why and
    ``new_incident`` is the incident that now stands for it."""

    incident: Incident
    succeeded: bool
    error: str = ""
    new_incident: Incident | None = None


def incident_retry(incident_id: int, *, by: User) -> RetryOutcome:
    """Retry the failed job of an incident now, once, and say whether it worked: the
    incident is resolved with a history row naming ``by`` (as :func:`jobs.incident_retry`),
    then the job runs in this request, leased to it so no worker takes it meanwhile. A job
    that fails again gets a new incident with the new error (the one the console and API
    report: "Retry failed: …"); one that succeeds is gone and its process went on.

    Only a process administrator, or someone who may change incidents in Django admin, may
    retry (:class:`NotPermitted`); an incident resolved meanwhile is ``AlreadyHandled``.
    Not one transaction: the job's own run must commit (or fail) on its own, as a worker's
    would, so this is called outside any transaction."""
    if not (is_process_admin(by) or (by.is_active and by.has_perm("workflow.change_incident"))):
        raise NotPermitted(_("Only a process administrator can do this."))
    worker = f"retry:{jobs.worker_id()}:{incident_id}"
    job_id = jobs.incident_retry(incident_id, by=by, lease_to=worker)
    if job_id is not None:
        jobs.job_execute(job_id, worker=worker)
    incident = Incident.objects.select_related("instance").get(pk=incident_id)
    failed = Job.objects.filter(pk=job_id or 0).values_list("last_error", flat=True).first()
    if failed is None:
        return RetryOutcome(incident=incident, succeeded=True)
    again = (
        Incident.objects.select_related("instance")
        .filter(job_id=job_id, resolved_at__isnull=True)
        .order_by("-pk")
        .first()
    )
    reason = (again.message if again is not None else failed).strip()
    return RetryOutcome(incident=incident, succeeded=False, error=reason, new_incident=again)
