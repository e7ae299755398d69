"""The approval actions people take on tasks and instances (docs/approvals.md): claim,
approve, reject, return (退回), withdraw (撤回), cancel (撤销), transfer (转办), delegate (委派)
and hand back, add and remove signers (加签 / 减签), copy (抄送), urge (催办), comments and
attachments.

Each public function is one transaction on a locked step (``workflow.services.steps``): it
checks that this person may do this now, validates, writes, and records a history row. A
refusal raises ``ActionRefused`` (a task handled meanwhile ``AlreadyHandled``, bad form data
``ValidationError``) and changes nothing. Notifications are written with the action (the
bell) and sent on other channels after the commit.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.models import User
from workflow import participants
from workflow.bpmn.model import Element, ElementKind
from workflow.engine.runtime import (
    MI_STATE,
    RETURN_MARK,
    SIGNERS_MARK,
    AlreadyHandled,
    EngineError,
    Run,
    Token,
)
from workflow.forms import (
    attachment_content_type,
    form_for,
    has_step_form,
    safe_filename,
    validate_upload,
)
from workflow.links import instance_url
from workflow.models import (
    LIVE_TASK_STATES,
    Attachment,
    CarbonCopy,
    Comment,
    Delegation,
    HistoryEvent,
    InstanceState,
    ProcessInstance,
    RejectPolicy,
    ResubmitPolicy,
    Signer,
    Task,
    TaskCandidate,
    TaskState,
)
from workflow.participants import is_candidate
from workflow.selectors.actions import handles, return_targets, withdraw_refusal
from workflow.selectors.visibility import instances_for, is_process_admin
from workflow.services.notifications import (
    NEW_TASK,
    copy_people,
    handlers_of,
    notify,
    run_title,
    tell_handlers_of,
    urge_handlers,
)
from workflow.services.steps import (
    ActionRefused,
    Step,
    clean_comment,
    form_values,
    load_instance,
    load_step,
    person_named,
    refuse_own_request,
    require_handler,
    require_open,
    require_running,
    write,
)
from workflow.signatures import signature_mode, signature_png

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
        instance_id=task.instance_id, execution=task.execution, state__in=LIVE_TASK_STATES
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
            tell_handlers_of(
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
            tell_handlers_of(following.pk, "assigned", NEW_TASK)
    return others.exists()


def finish_step(
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
        copy_people(
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


def _signature_of(step: Step, signature: str) -> bytes | None:
    """The decision's signature, checked before anything is written (``workflow.signatures``):
    a step that requires one refuses a decision without it; one that does not ask for a
    signature refuses one, rather than keep what nobody asked for."""
    mode = signature_mode(step.element)
    if not (signature or "").strip():
        if mode == "required":
            raise ValidationError({"signature": [_("Please sign before you confirm.")]})
        return None
    if not mode:
        raise ValidationError({"signature": [_("This step does not take a signature.")]})
    return signature_png(signature)


def _keep_signature(task: Task, drawing: bytes | None) -> None:
    """Store the drawing with the task, in the decision's transaction; called after
    everything else was written, so only a failed commit can leave a file without its row."""
    if drawing is None:
        return
    task.signature.save(f"task-{task.pk}.png", ContentFile(drawing), save=False)
    Task.objects.filter(pk=task.pk).update(signature=task.signature.name)


def _resubmission_data(step: Step, data: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """Resubmitting a returned request starts from what it holds: a field of the start form
    the caller does not send keeps its value (an API call without a body resubmits it as it
    was). A page's post is taken as it is: its form showed those values and leaves an
    unticked check box out."""
    if (
        step.element.kind is not ElementKind.START_EVENT
        or not has_step_form(step.element)
        or isinstance(data, QueryDict)
    ):
        return data
    given = dict(data or {})
    form = form_for(step.element, variables=step.run.scope(step.token))
    for name, form_field in form.fields.items():
        if name in given or form_field.disabled or isinstance(form_field, forms.FileField):
            continue
        value = form.get_initial_for_field(form_field, name)
        if value is not None:
            given[name] = value
    return given


# --- claim -----------------------------------------------------------------------------------


@transaction.atomic
def task_claim(task_id: int, *, user: User) -> None:
    """Take a group task: a candidate becomes its assignee."""
    step = load_step(task_id, user.username)
    require_open(step)
    if step.task.assignee:
        if step.task.assignee == user.username:
            return
        raise AlreadyHandled(_("Someone else has already taken this task."))
    refuse_own_request(step, user)
    if not is_candidate(user, step.task):
        raise ActionRefused(_("This task is not yours."))
    Task.objects.filter(pk=task_id).update(assignee=user.username)
    step.run.record("task-claimed", step.element, task_id=task_id, actor=user.username)
    write(step, step.effects)


@transaction.atomic
def task_unclaim(task_id: int, *, user: User) -> None:
    """Give a claimed group task back to its candidates."""
    step = load_step(task_id, user.username)
    require_open(step)
    if step.task.assignee != user.username:
        raise ActionRefused(_("This task is not yours."))
    if not TaskCandidate.objects.filter(task_id=task_id).exists():
        raise ActionRefused(_("This task has no other candidates to give it back to."))
    Task.objects.filter(pk=task_id).update(assignee="")
    step.run.record("task-unclaimed", step.element, task_id=task_id, actor=user.username)
    write(step, step.effects)


# --- approve, reject ----------------------------------------------------------------------


@transaction.atomic
def task_approve(
    task_id: int,
    *,
    user: User,
    data: Mapping[str, Any] | None = None,
    comment: str = "",
    signature: str = "",
) -> None:
    """Approve (or submit) the step: the form's data become process variables and
    ``approved`` is true; the comment is the approval's opinion (审批意见) in the history,
    the signature (where the step asks for one) is kept with the task."""
    step = load_step(task_id, user.username)
    require_handler(step, user)
    values = form_values(step, _resubmission_data(step, data))
    text = clean_comment(comment, required=False)
    drawing = _signature_of(step, signature)
    outcome = "submitted" if step.element.kind is ElementKind.START_EVENT else "approved"
    finish_step(
        step, actor=user.username, outcome=outcome, decision="approved", values=values, comment=text
    )
    write(step, step.effects)
    _keep_signature(step.task, drawing)


@transaction.atomic
def task_reject(
    task_id: int,
    *,
    user: User,
    comment: str,
    data: Mapping[str, Any] | None = None,
    signature: str = "",
) -> None:
    """Reject the step with a reason; the process settings say what follows (end the
    instance as rejected, return it to the initiator, or let the diagram decide)."""
    step = load_step(task_id, user.username)
    require_handler(step, user)
    if step.element.kind is ElementKind.START_EVENT:
        raise ActionRefused(_("Your own request cannot be rejected; cancel it instead."))
    text = clean_comment(comment, required=True)
    values = form_values(step, data)
    drawing = _signature_of(step, signature)
    reject_step(step, actor=user.username, outcome="rejected", values=values, comment=text)
    write(step, step.effects)
    _keep_signature(step.task, drawing)


def reject_step(
    step: Step, *, actor: str, outcome: str, values: Mapping[str, Any], comment: str
) -> None:
    run, _token, element = step.run, step.token, step.element
    policy = step.settings.reject
    countersign = element.multi_instance is not None and "countersign" in element.properties
    if policy == RejectPolicy.ROUTE or countersign:
        # the diagram (or the countersign rule, for one vote of several) decides
        finish_step(
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
        token = run.move_to(
            start, None, {RETURN_MARK: element.id} if element.parent_id is None else None
        )
        step.returned.append((token.number, comment))
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


def return_refusal(steps: Iterable[str]) -> str:
    """Why a return to a step is refused, naming the steps it may go back to (by name,
    never by element id)."""
    names = "、".join(steps)
    if not names:
        return _("The process can only be returned to a step it has passed.")
    return _("It can only be returned to a step it has passed: %(steps)s.") % {"steps": names}


@transaction.atomic
def task_return(
    task_id: int, *, user: User, target: str, comment: str, signature: str = ""
) -> None:
    """退回: send the instance back to the initiator (``target="initiator"``) or to an
    earlier step it passed; the person who handled that step gets it again. Steps the
    instance never passed are refused."""
    step = load_step(task_id, user.username)
    require_handler(step, user)
    if step.element.kind is ElementKind.START_EVENT:
        raise ActionRefused(_("The process can only be returned to a step it has passed."))
    text = clean_comment(comment, required=True)
    allowed = dict(return_targets(step.task))
    if target not in allowed:
        raise ActionRefused(return_refusal(allowed.values()))
    drawing = _signature_of(step, signature)
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
    step.returned.append((token.number, text))
    write(step, step.effects)
    _keep_signature(step.task, drawing)


# --- withdraw (撤回), cancel (撤销) ----------------------------------------------------------


@transaction.atomic
def instance_withdraw(instance_id: int, *, user: User) -> None:
    """撤回: the person who completed the previous step (or the initiator, before anyone
    acted) takes it back, while the next handler has not acted yet."""
    run, effects = load_instance(instance_id, user.username)
    require_running(run)
    refusal = withdraw_refusal(user, ProcessInstance.objects.get(pk=instance_id))
    if refusal is not None:
        raise ActionRefused(refusal)
    mine = (
        Task.objects.filter(instance_id=instance_id, state=TaskState.COMPLETED)
        .order_by("-completed_at", "-pk")
        .first()
    )
    scope: int | None = None
    if mine is None:
        target = run.graph.start_event(None)
    else:
        target = run.graph.elements[mine.element_id]
        scope = None if target.parent_id is None else _scope_for_element(run, target)
        if scope is None and target.parent_id is not None:
            raise ActionRefused(_("That step's sub-process has ended; it cannot be withdrawn."))
    token = run.move_to(target, scope)
    run.drain()
    _give_to(run, token, user.username)
    run.record("withdrawn", target, actor=user.username)
    write(run, effects)


def _scope_for_element(run: Run, element: Element) -> int | None:
    for token in run.tokens.values():
        if token.element_id == element.parent_id and token.state == "scope":
            return token.number
    return None


@transaction.atomic
def instance_cancel(instance_id: int, *, user: User, reason: str) -> None:
    """撤销: the initiator cancels the whole request, with a reason."""
    run, effects = load_instance(instance_id, user.username)
    if run.instance.initiator != user.username:
        raise ActionRefused(_("Only the initiator can cancel the request."))
    if run.instance.state not in (InstanceState.ACTIVE, InstanceState.SUSPENDED):
        raise ActionRefused(_("The process has already ended."))
    text = clean_comment(reason, required=True, field_name="reason")
    handlers = [
        t.assignee for t in Task.objects.filter(instance_id=instance_id, state=TaskState.OPEN)
    ]
    # The cancel comes first in the history, before the tasks it cancels and the end: the
    # run writes the tasks' lines ahead of its own, so this line is written now.
    HistoryEvent.objects.create(
        instance_id=instance_id,
        definition_key=run.instance.key,
        kind="instance-cancelled",
        actor=user.username,
        at=run.now,
        data={"reason": text},
    )
    run.end_instance(InstanceState.CANCELLED, None)
    notify(
        handlers,
        f"instance:{instance_id}:cancelled",
        instance_url(instance_id),
        gettext_lazy("Cancelled by the initiator: %(title)s"),
        body=text,
        title=run_title(run),
    )
    write(run, effects)


# --- transfer (转办), delegate (委派) --------------------------------------------------------


def refuse_at_resubmission(step: Step) -> None:
    """A returned request waiting for its initiator is theirs to resubmit or cancel: it is
    not handed on, nor are signers added to it."""
    if step.element.kind is ElementKind.START_EVENT:
        raise ActionRefused(
            _("A returned request is resubmitted or cancelled by its initiator, not handed on.")
        )


def _hand_over(task_id: int, user: User, to: str, comment: str, kind: str, **changes: str) -> None:
    """Give the task to ``to`` (the task row gets ``changes`` besides the new assignee)."""
    step = load_step(task_id, user.username)
    require_handler(step, user)
    refuse_at_resubmission(step)
    target = person_named(to)
    if target.username == user.username:
        raise ValidationError({"to": [_("Choose someone other than yourself.")]})
    participants.refuse_initiator(
        step.settings, step.element, step.run.instance.initiator, target, field_name="to"
    )
    text = clean_comment(comment, required=False)
    Task.objects.filter(pk=task_id).update(assignee=target.username, **changes)
    step.run.record(
        kind,
        step.element,
        task_id=task_id,
        actor=user.username,
        data={"to": target.username, "comment": text},
    )
    tell_handlers_of(task_id, "assigned", NEW_TASK)
    write(step, step.effects)


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
    step = load_step(task_id, user.username)
    require_handler(step, user, delegate_may=True)
    if step.task.delegation != Delegation.PENDING:
        raise ActionRefused(_("This task was not delegated to you."))
    values = form_values(step, data) if data else {}
    text = clean_comment(comment, required=False)
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
    tell_handlers_of(task_id, "back", gettext_lazy("Back to you: %(step)s — %(title)s"))
    write(step, step.effects)


# --- add / remove signers (加签 / 减签) -------------------------------------------------------


@transaction.atomic
def task_add_signers(
    task_id: int, *, user: User, signers: Sequence[str], position: str, comment: str = ""
) -> list[int]:
    """加签: ask others to sign at this step — ``before`` me (the task comes back to me after
    them), ``after`` me (one after another once I approved), or ``alongside`` me. Returns
    the new tasks' ids."""
    step = load_step(task_id, user.username)
    require_handler(step, user)
    refuse_at_resubmission(step)
    if position not in Signer.values:
        raise ValidationError({"position": [_("Choose before, after or alongside.")]})
    if step.token is None:
        raise ActionRefused(_("Signers cannot be added to this task."))
    people = [person_named(name, field_name="signers") for name in dict.fromkeys(signers)]
    if not people:
        raise ValidationError({"signers": [_("Choose at least one person.")]})
    busy = set(
        Task.objects.filter(
            instance_id=step.task.instance_id,
            execution=step.task.execution,
            state__in=LIVE_TASK_STATES,
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
    text = clean_comment(comment, required=False)
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
            tell_handlers_of(new.pk, "assigned", NEW_TASK)
    write(step, step.effects)
    return [t.pk for t in created]


@transaction.atomic
def task_remove_signer(task_id: int, *, user: User) -> None:
    """减签: take back a signer one added, while they have not acted."""
    step = load_step(task_id, user.username)
    task = step.task
    require_running(step.run)
    if not task.signer or task.added_by is None:
        raise ActionRefused(_("Only an added signer can be removed."))
    if task.state not in LIVE_TASK_STATES:
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
    write(step, step.effects)


# --- carbon copy (抄送), urge (催办), comments, attachments -----------------------------------


def _may_see(run: Run, user: User) -> bool:
    return instances_for(user).filter(pk=run.instance.id).exists()


@transaction.atomic
def instance_copy(
    instance_id: int, *, user: User, recipients: Sequence[str], comment: str = ""
) -> list[str]:
    """抄送: let people read the instance and tell them; who was copied already is not
    copied or told again. ``recipients``: user names, ``role:code``, ``dept:code``."""
    run, effects = load_instance(instance_id, user.username)
    handler = handles(user, ProcessInstance.objects.get(pk=instance_id))
    if not (handler or run.instance.initiator == user.username or is_process_admin(user)):
        raise ActionRefused(_("Only the initiator or a current handler can copy others in."))
    names: list[str] = []
    for item in recipients:
        item = item.strip()
        if item.startswith(("role:", "dept:")):
            names += participants.resolve_people(run, None, item, "")
        elif item:
            names.append(person_named(item, field_name="recipients").username)
    if not names:
        raise ValidationError({"recipients": [_("Choose at least one person.")]})
    text = clean_comment(comment, required=False)
    new = copy_people(run, names, sent_by=user.username, comment=text)
    if new:  # copying only people copied before changes nothing: no line, nobody told
        run.record("copied", None, actor=user.username, data={"to": new, "comment": text})
    write(run, effects)
    return new


def copy_mark_read(instance_id: int, *, user: User) -> None:
    CarbonCopy.objects.filter(instance_id=instance_id, user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def instance_urge(instance_id: int, *, user: User, comment: str = "") -> list[str]:
    """催办: remind the current handlers; once per ``urge_interval_minutes`` per instance."""
    run, effects = load_instance(instance_id, user.username)
    if run.instance.initiator != user.username and not is_process_admin(user):
        raise ActionRefused(_("Only the initiator can urge the handlers."))
    require_running(run)
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
    open_tasks = list(
        Task.objects.filter(instance_id=instance_id, state=TaskState.OPEN)
        .select_related("instance")
        .order_by("pk")
    )
    handlers = [name for task in open_tasks for name in handlers_of(task)]
    if not handlers:
        raise ActionRefused(_("Nobody is working on it at the moment."))
    if all(name == user.username for name in handlers):
        raise ActionRefused(_("It is waiting for you: there is nobody else to urge."))
    text = clean_comment(comment, required=False)
    names = urge_handlers(open_tasks, urged_by=user.username, comment=text, at=run.now.isoformat())
    run.record("urged", None, actor=user.username, data={"to": names, "comment": text})
    write(run, effects)
    return names


@transaction.atomic
def comment_add(instance_id: int, *, user: User, text: str, task_id: int | None = None) -> Comment:
    """A remark on an instance anyone who may see it can write."""
    run, _effects = load_instance(instance_id, user.username)
    if not _may_see(run, user):
        raise EngineError(_("The process instance does not exist."))
    body = clean_comment(text, required=True, field_name="text")
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
    run, _effects = load_instance(instance_id, user.username)
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
