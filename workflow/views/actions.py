"""The actions the task and instance pages offer, as a table: each one's name, label, form and
the one service it calls (``workflow.services.approvals`` / ``administration``), with its
confirmation text. Which of them a person is offered is ``workflow.selectors.actions``; this
table only says how each is taken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from django import forms
from django.http import (
    Http404,
    QueryDict,
)
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.models import User
from workflow.bpmn.model import ElementKind
from workflow.engine.graph import Graph
from workflow.forms import has_step_form, step_fields
from workflow.models import (
    LIVE_TASK_STATES,
    ProcessInstance,
    Task,
    TaskState,
)
from workflow.selectors import actions as offered
from workflow.selectors.timeline import display_name, step_name
from workflow.selectors.visibility import display_names
from workflow.services import administration, approvals
from workflow.signatures import signature_mode
from workflow.views.action_forms import (
    AddSignersForm,
    CopyForm,
    EmptyForm,
    HandOverForm,
    MoveForm,
    OptionalReasonForm,
    ReassignForm,
    ReassignTaskForm,
    RejectForm,
    RemoveSignerForm,
    RequiredReasonForm,
    ResubmitForm,
    ReturnForm,
    StepCommentForm,
    UrgeForm,
    add_signature,
)

# --- the actions -------------------------------------------------------------------------------


@dataclass
class Target:
    """What an action acts on: the instance, and the task when taken on the task page."""

    user: User
    instance: ProcessInstance
    task: Task | None
    graph: Graph
    step_data: QueryDict | None = None


@dataclass(frozen=True)
class Action:
    """One action of the pages: its label, its form, the approvals call (returning the
    success message), whether it asks for confirmation in a dialog, whether it uses the
    step form, and whether the task is no longer the user's afterwards."""

    name: str
    label: Any
    form: Callable[..., forms.Form]
    run: Callable[[Target, dict[str, Any]], str]
    confirm: Any = ""
    danger: bool = False
    help: Any = ""  # what the action does, in words, under the dialog's question
    step: bool = False
    leaves: bool = False


def _task(target: Target) -> Task:
    if target.task is None:
        raise Http404
    return target.task


def _return_targets(target: Target) -> list[tuple[str, str]]:
    return offered.return_targets(target.task) if target.task is not None else []


def _signer_choices(target: Target) -> list[tuple[int, str]]:
    if target.task is None:
        return []
    signers = Task.objects.filter(added_by=target.task, state__in=LIVE_TASK_STATES).order_by("pk")
    names = display_names(s.assignee for s in signers)
    return [(s.pk, names.get(s.assignee, s.assignee)) for s in signers]


def _move_targets(target: Target) -> list[tuple[str, str]]:
    return [
        (e.id, step_name(target.graph, e.id))
        for e in target.graph.elements.values()
        if e.parent_id is None and (e.kind.is_activity or e.kind is ElementKind.START_EVENT)
    ]


def _open_task_choices(target: Target) -> list[tuple[int, str]]:
    tasks = Task.objects.filter(instance=target.instance, state=TaskState.OPEN).order_by("pk")
    names = display_names(t.assignee for t in tasks)
    return [
        (t.pk, f"{t.name or t.element_id} — {names.get(t.assignee, t.assignee) or _('unassigned')}")
        for t in tasks
    ]


def _step_values(target: Target) -> dict[str, Any] | None:
    """The step form's fields of what was posted (nothing else may become a variable)."""
    task = _task(target)
    element = target.graph.elements.get(task.element_id)
    if element is None or target.step_data is None or not has_step_form(element):
        return None
    return step_fields(element, target.step_data)


def _approve(t: Target, d: dict[str, Any]) -> str:
    approvals.task_approve(
        _task(t).pk,
        user=t.user,
        data=_step_values(t),
        comment=d["comment"],
        signature=d.get("signature", ""),
    )
    return _("Approved.")


def _reject(t: Target, d: dict[str, Any]) -> str:
    approvals.task_reject(
        _task(t).pk,
        user=t.user,
        comment=d["comment"],
        data=_step_values(t),
        signature=d.get("signature", ""),
    )
    return _("Rejected.")


def _return(t: Target, d: dict[str, Any]) -> str:
    approvals.task_return(
        _task(t).pk,
        user=t.user,
        target=d["target"],
        comment=d["comment"],
        signature=d.get("signature", ""),
    )
    return _("Returned.")


def _transfer(t: Target, d: dict[str, Any]) -> str:
    approvals.task_transfer(_task(t).pk, user=t.user, to=d["to"], comment=d["comment"])
    return _("Transferred to %(name)s.") % {"name": display_name(d["to"])}


def _delegate(t: Target, d: dict[str, Any]) -> str:
    approvals.task_delegate(_task(t).pk, user=t.user, to=d["to"], comment=d["comment"])
    return _("Delegated to %(name)s.") % {"name": display_name(d["to"])}


def _resolve(t: Target, d: dict[str, Any]) -> str:
    approvals.task_resolve(_task(t).pk, user=t.user, data=_step_values(t), comment=d["comment"])
    return _("Handed back.")


def _add_signers(t: Target, d: dict[str, Any]) -> str:
    approvals.task_add_signers(
        _task(t).pk, user=t.user, signers=d["signers"], position=d["position"], comment=d["comment"]
    )
    return _("Signers added.")


def _remove_signer(t: Target, d: dict[str, Any]) -> str:
    approvals.task_remove_signer(d["signer"], user=t.user)
    return _("Signer removed.")


def _copy(t: Target, d: dict[str, Any]) -> str:
    new = approvals.instance_copy(
        t.instance.pk, user=t.user, recipients=d["recipients"], comment=d["comment"]
    )
    if not new:
        return _("Everyone chosen had already been copied.")
    return _("Copied to %(names)s.") % {"names": "、".join(display_names(new).values())}


def _urge(t: Target, d: dict[str, Any]) -> str:
    approvals.instance_urge(t.instance.pk, user=t.user, comment=d["comment"])
    return _("The handlers have been reminded.")


def _withdraw(t: Target, d: dict[str, Any]) -> str:
    approvals.instance_withdraw(t.instance.pk, user=t.user)
    return _("Withdrawn: the step is back with you.")


def _cancel(t: Target, d: dict[str, Any]) -> str:
    approvals.instance_cancel(t.instance.pk, user=t.user, reason=d["reason"])
    return _("The request has been cancelled.")


def _suspend(t: Target, d: dict[str, Any]) -> str:
    administration.instance_suspend(t.instance.pk, by=t.user, reason=d["reason"])
    return _("The process is suspended.")


def _resume(t: Target, d: dict[str, Any]) -> str:
    administration.instance_resume(t.instance.pk, by=t.user, reason=d["reason"])
    return _("The process is running again.")


def _terminate(t: Target, d: dict[str, Any]) -> str:
    administration.instance_terminate(t.instance.pk, by=t.user, reason=d["reason"])
    return _("The process has been terminated.")


def _move(t: Target, d: dict[str, Any]) -> str:
    administration.instance_move(t.instance.pk, by=t.user, target=d["target"], reason=d["reason"])
    return _("The process has been moved.")


def _reassign(t: Target, d: dict[str, Any]) -> str:
    administration.task_reassign(d["task"], by=t.user, to=d["to"], reason=d["reason"])
    return _("Reassigned to %(name)s.") % {"name": display_name(d["to"])}


def _reassign_here(t: Target, d: dict[str, Any]) -> str:
    return _reassign(t, {**d, "task": _task(t).pk})


def _form(cls: type[forms.Form]) -> Callable[..., forms.Form]:
    return lambda target, data=None, prefix=None: cls(data, prefix=prefix)


def _form_with(
    cls: Callable[..., forms.Form], keyword: str, choices: Callable[[Target], Iterable[Any]]
) -> Callable[..., forms.Form]:
    return lambda target, data=None, prefix=None: cls(
        data, prefix=prefix, **{keyword: choices(target)}
    )


def _signed(make: Callable[..., forms.Form]) -> Callable[..., forms.Form]:
    """A decision's form (approve, reject, return) with the signature its step asks for."""

    def build(target: Target, data: Any = None, prefix: str | None = None) -> forms.Form:
        form = make(target, data, prefix=prefix)
        if target.task is not None:
            add_signature(form, signature_mode(target.graph.elements.get(target.task.element_id)))
        return form

    return build


_ACTIONS = [
    Action(
        "approve",
        gettext_lazy("Approve"),
        _signed(_form(StepCommentForm)),
        _approve,
        gettext_lazy("Approve this step?"),
        step=True,
        leaves=True,
    ),
    Action(
        "reject",
        gettext_lazy("Reject"),
        _signed(_form(RejectForm)),
        _reject,
        gettext_lazy("Reject this request? Please give a reason."),
        danger=True,
        step=True,
        leaves=True,
    ),
    Action(
        "return",
        gettext_lazy("Return"),
        _signed(_form_with(ReturnForm, "targets", _return_targets)),
        _return,
        gettext_lazy(
            "Return it to an earlier step (退回)? The person who handled it gets it again."
        ),
        danger=True,
        leaves=True,
    ),
    Action(
        "transfer",
        gettext_lazy("Transfer"),
        _form(HandOverForm),
        _transfer,
        gettext_lazy("Transfer (转办): the person you choose decides instead of you."),
        leaves=True,
    ),
    Action(
        "delegate",
        gettext_lazy("Delegate"),
        _form(HandOverForm),
        _delegate,
        gettext_lazy(
            "Delegate (委派): the person you choose works on it, then it comes back to you."
        ),
        leaves=True,
    ),
    Action(
        "resolve",
        gettext_lazy("Hand back"),
        _form(StepCommentForm),
        _resolve,
        gettext_lazy("Hand the task back to its owner with what you filled in?"),
        step=True,
        leaves=True,
    ),
    Action(
        "add_signers",
        gettext_lazy("Add signers"),
        _form(AddSignersForm),
        _add_signers,
        gettext_lazy("Add signers (加签) before you, after you, or alongside you."),
    ),
    Action(
        "remove_signer",
        gettext_lazy("Remove signer"),
        _form_with(RemoveSignerForm, "signers", _signer_choices),
        _remove_signer,
        gettext_lazy("Remove a signer you added (减签) who has not acted yet?"),
        danger=True,
    ),
    Action(
        "copy",
        gettext_lazy("CC"),
        _form(CopyForm),
        _copy,
        gettext_lazy("Copy people in (抄送): they may read this request."),
    ),
    Action(
        "urge",
        gettext_lazy("Urge"),
        _form(UrgeForm),
        _urge,
        gettext_lazy("Remind the current handlers (催办)?"),
    ),
    Action(
        "withdraw",
        gettext_lazy("Withdraw"),
        _form(EmptyForm),
        _withdraw,
        gettext_lazy("Withdraw (撤回) what you just submitted or approved?"),
        help=gettext_lazy(
            "Withdrawing takes your last step back while the next approver has not acted on "
            "it yet: the request comes back to you, to change and submit again. The request "
            "does not end. To end it for good, cancel it instead."
        ),
    ),
    Action(
        "cancel",
        gettext_lazy("Cancel request"),
        _form(RequiredReasonForm),
        _cancel,
        gettext_lazy("Cancel (撤销) the whole request?"),
        danger=True,
        leaves=True,
        help=gettext_lazy(
            "Cancelling ends the request for good: the approvers' open tasks are withdrawn "
            "and it cannot be resumed or submitted again. To change something and submit it "
            "again, withdraw it instead while the next approver has not acted."
        ),
    ),
    Action(
        "suspend",
        gettext_lazy("Suspend"),
        _form(OptionalReasonForm),
        _suspend,
        gettext_lazy("Suspend the process? Nobody can act on it until it is resumed."),
        danger=True,
    ),
    Action(
        "resume",
        gettext_lazy("Resume"),
        _form(OptionalReasonForm),
        _resume,
        gettext_lazy("Resume the process?"),
    ),
    Action(
        "terminate",
        gettext_lazy("Terminate"),
        _form(RequiredReasonForm),
        _terminate,
        gettext_lazy("Terminate the process for good? This cannot be undone."),
        danger=True,
        leaves=True,
    ),
    Action(
        "move",
        gettext_lazy("Move"),
        _form_with(MoveForm, "targets", _move_targets),
        _move,
        gettext_lazy("Replace the active steps by the step you choose?"),
        danger=True,
        leaves=True,
    ),
]
TASK_ACTIONS: dict[str, Action] = {a.name: a for a in _ACTIONS}
INSTANCE_ACTIONS: dict[str, Action] = {
    a.name: a
    for a in _ACTIONS
    if a.name in {"copy", "urge", "withdraw", "cancel", "suspend", "resume", "terminate", "move"}
}
TASK_ACTIONS["reassign"] = Action(
    "reassign",
    gettext_lazy("Reassign"),
    _form(ReassignTaskForm),
    _reassign_here,
    gettext_lazy("Give this task to someone else (administrators)."),
    leaves=True,
)
INSTANCE_ACTIONS["reassign"] = Action(
    "reassign",
    gettext_lazy("Reassign"),
    _form_with(ReassignForm, "tasks", _open_task_choices),
    _reassign,
    gettext_lazy("Give an open task to someone else (administrators)."),
)


# --- page context ------------------------------------------------------------------------------

RESUBMIT = replace(
    TASK_ACTIONS["approve"],
    form=_form(ResubmitForm),
    label=gettext_lazy("Resubmit"),
    confirm=gettext_lazy("Submit this request again?"),
)
# the actions shown as buttons in the sticky bar on a phone; the others under "More"
# (no 认领 on the pages: a task offered to several people is taken by the first to act on it;
# the API keeps claim and unclaim)
PRIMARY = ("approve", "reject", "resolve")
# on the instance page, under "More": ending or stopping the request (撤销 is not put beside
# 撤回 as a second red button)
INSTANCE_MENU = ("cancel", "suspend", "terminate", "move")
ORDER = list(TASK_ACTIONS)
